// get_user_pages: the lockless fast path and the slow path it falls back to (mm/gup.c).
//
// The contract, from the comment above gup_fast_pte_range():
//   GUP-fast: (1) pin the page, then (2) check that the pte is unchanged.
//   A writer that must know a page is not pinned: (1) clear the pte and flush, then
//   (2) check the pin count.
// Page tables do not vanish under the walk because it runs with irqs off: the table free
// waits for an IPI acknowledgement, or for an RCU grace period (an irq-off section is one).
import { LVL_P4D, LVL_PGD, LVL_PMD, LVL_PTE, LVL_PUD } from '../arch/arch.js';
import { V_PIN_DETACHED, checkGotPage, tableDetached, walkCheckTables, walkEnterTable, walkEntryLive } from '../check/oracle.js';
import { winReaderClose, winReaderOpen, winWiden } from '../check/windows.js';
import type { Cpu } from '../machine/cpu.js';
import { ADDR_DEP, RELAXED } from '../machine/mem.js';
import { defineStat } from '../machine/stats.js';
import { FANOUT, FANOUT_SHIFT, MD_FLAGS, MD_PINCOUNT, MD_TYPE, PG_DIRTY_TRACKED, MM_MMAP_LOCK, MM_WP_SEQ, PageType, frameAddr, mdAddr, mmAddr } from '../machine/layout.js';
import { localIrqRestore, localIrqSave } from '../sync/irq.js';
import { downRead, upRead } from '../sync/rwsem.js';
import { rawReadSeqcount, readSeqcountRetry } from '../sync/seqcount.js';
import { spinUnlock } from '../sync/spinlock.js';
import { FOLL_LONGTERM, FOLL_PIN, FOLL_WRITE, folioRefAdd, gupPutFolio, tryGrabFolioFast, GUP_PIN_COUNTING_BIAS } from './folio.js';
import { VM_FAULT_OK, handleMmFault } from './memory.js';
import { folioHead } from './page_alloc.js';
import { entryOffset, pgdOffsetLockless, tableType, withinReach, pmdLock, pteOffsetMapLock, pteUnmapUnlock } from './pgtable.js';
import { pageAnonExclusive } from './rmap.js';
import { VM_IO, VM_PFNMAP, VM_WRITE, findVma, vmaFlags, vmaNeedsDirtyTracking } from './vma.js';
import { V_WILD_PFN } from '../check/oracle.js';
import { defineTrace } from '../check/trace.js';
import { defineWindow } from '../check/windows.js';
import { EV_PMD, EV_PTE } from './pgtable.js';

export const EV_PUD = defineTrace('READ_ONCE(*pudp)', 'addr', 'pud');
export const EV_GUP = defineTrace('gup_fast_fallback', 'addr', 'nr');
export const EV_IRQ_SAVE = defineTrace('local_irq_save');
export const EV_IRQ_RESTORE = defineTrace('local_irq_restore', 'nr');
export const EV_GRAB = defineTrace('try_grab_folio_fast', 'pfn');
export const EV_RECHECK_FAIL = defineTrace('gup_fast_pte_range: re-check failed', 'addr', 'pte');
export const EV_PMD_LEAF = defineTrace('gup_fast_pmd_leaf', 'addr', 'pmd');
export const EV_GUP_SLOW = defineTrace('__get_user_pages (slow path)', 'addr', 'nr');
export const W_GUP_WALK = defineWindow({ name: 'gup.walk', whole: true, role: 'reader', doc: 'gup_fast_fallback: local_irq_save to local_irq_restore, the whole lockless walk' });
export const W_GUP_PMD_RECHECK = defineWindow({ name: 'gup.pmd-leaf-recheck', role: 'reader', shift: FANOUT_SHIFT, doc: 'gup_fast_pmd_leaf: from the pmd read to its re-check after the try-get' });
export const W_GUP_PIN_RECHECK = defineWindow({ name: 'gup.pin-recheck', role: 'reader', doc: 'gup_fast_pte_range: from ptep_get_lockless to the pte re-check after the pin' });

export const S_SLOW = defineStat('slowGup', 'slow-path GUP calls');
export const S_PAGES_GOT = defineStat('pagesGot', 'pages returned by GUP (fast + slow)');
export const S_FAST_PAGES = defineStat('fastPages', 'pages returned by GUP-fast');

// why GUP-fast stopped short (the caller turns it into an outcome)
export const GUP_FAST_OK = 0;
export const GUP_FAST_NOT_PRESENT = 1; //  none, swap or migration entry
export const GUP_FAST_PERM = 2; //         protnone, !pte_access_permitted, special
export const GUP_FAST_REFZERO = 3; //      folio_ref_try_add refused: the page is being freed
export const GUP_FAST_RECHECK = 4; //      the pte or pmd changed between the read and the pin
export const GUP_FAST_UNSHARE = 5; //      gup_must_unshare()
export const GUP_FAST_SEQ = 6; //          write_protect_seq: a fork is (or was) copying the mm
export const GUP_FAST_TABLE_GONE = 7; //   the walk reached a frame that is no page table (tableType)

/** gup_must_unshare(): FOLL_PIN without FOLL_WRITE of an anon page that is not exclusive.
 *  (The bug ro-pin-no-unshare: never, as before a7f226604170: an R/O pin on a COW-shared
 *  page, which the next write fault copies away from.) */
function gupMustUnshare(c: Cpu, flags: number, head: number): boolean {
  if ((flags & (FOLL_PIN | FOLL_WRITE)) !== FOLL_PIN || c.bug['ro-pin-no-unshare']) return false;
  const type = c.mem.load(mdAddr(c.L, head, MD_TYPE));
  if (type !== PageType.Anon && type !== PageType.Ksm) return false;
  return type === PageType.Ksm || !pageAnonExclusive(c, head);
}

/** gup_fast_pte_range() */
function gupFastPteRange(c: Cpu, pmd: number, pmdp: number, addr: number, end: number, flags: number): boolean {
  const m = c.mem;
  const a = c.arch;
  const write = (flags & FOLL_WRITE) !== 0;
  // without pte_special GUP-fast cannot tell a pfnmap pte from a page: everything
  // pte-mapped takes the slow path, whose check_vma_flags refuses VM_PFNMAP
  if (!a.hasPteSpecial && !c.bug['gupfast-without-pte-special']) return fail(c, GUP_FAST_PERM);
  const table = a.tablePfn(LVL_PMD, pmd);
  // pte_offset_map(&pmd, addr): from the walker's copy of the pmd
  const type = tableType(c, table);
  const wi = walkEnterTable(c, table, addr, type); // oracle: remember and judge the frame
  if (type !== PageType.PageTable) return fail(c, GUP_FAST_TABLE_GONE);
  let ptep = frameAddr(c.L, table, a.index(LVL_PTE, LVL_PGD, addr));
  do {
    winReaderOpen(c, W_GUP_PIN_RECHECK, addr);
    const pte = m.load(ptep, ADDR_DEP); // ptep_get_lockless(): the table came from the pmd read above
    c.trace(EV_PTE, addr, pte);
    if (!walkEntryLive(c, wi, ptep, addr)) return failWin(c, GUP_FAST_TABLE_GONE); // oracle: a freed table, at its first access
    if (!a.ptePresent(pte)) return failWin(c, GUP_FAST_NOT_PRESENT);
    if (a.pteProtnone(pte) || !a.pteAccessPermitted(pte, write) || a.pteSpecial(pte)) return failWin(c, GUP_FAST_PERM);
    const page = a.ptePfn(pte);
    if (page <= 0 || page >= c.L.totalFrames) {
      checkGotPage(c, page, page, addr); // a wild pfn: report it, never dereference it
      return failWin(c, GUP_FAST_NOT_PRESENT);
    }
    winWiden(c, W_GUP_PIN_RECHECK);
    const head = folioHead(c.L, page);
    // gup_fast_folio_allowed(): no longterm writable pin of a dirty-tracked file page here
    if (!gupFastFolioAllowed(c, head, flags)) return failWin(c, GUP_FAST_PERM);
    if (!tryGrabFolioFast(c, head, 1, flags)) return failWin(c, GUP_FAST_REFZERO);
    c.trace(EV_GRAB, page, 0);
    // oracle: was the table retracted before the re-check? (PG_TABLE_DETACHED is set after
    // the pmd is cleared: read before the re-check, set means the pmd had changed)
    const detached = tableDetached(c, table);
    // the re-check after the pin: a writer that cleared the pte and flushed before checking
    // the refcount either sees our reference, or we see its change here (the pmd too:
    // 70cbc3cc78a9, a THP collapse may have replaced the whole table)
    if (!c.bug['gup-no-recheck'] && ((!c.bug['gup-no-pmd-recheck'] && m.load(pmdp) !== pmd) || m.load(ptep) !== pte)) {
      c.trace(EV_RECHECK_FAIL, addr, m.load(ptep));
      gupPutFolio(c, head, 1, flags, addr);
      return failWin(c, GUP_FAST_RECHECK);
    }
    winReaderClose(c, W_GUP_PIN_RECHECK);
    if (detached) c.violation(V_PIN_DETACHED, addr, `took pfn ${page} through pte 0x${(pte >>> 0).toString(16)} of table ${table}, retracted before the re-check: the pmd re-check (70cbc3cc78a9) would have seen it`);
    if (!a.pteWrite(pte) && gupMustUnshare(c, flags, head)) {
      gupPutFolio(c, head, 1, flags, addr);
      return fail(c, GUP_FAST_UNSHARE);
    }
    checkGotPage(c, page, head, addr);
    c.pages[c.nrPages++] = page;
    ptep++;
    addr++;
  } while (addr !== end);
  return true;
}

/** gup_fast_folio_allowed(): GUP-fast has no VMA, so a FOLL_LONGTERM | FOLL_WRITE pin asks
 *  the folio: a page of a file that needs dirty tracking goes to the slow path, whose
 *  check_vma_flags refuses it. (The bug longterm-write-dirty-tracked lets it through.) */
function gupFastFolioAllowed(c: Cpu, head: number, flags: number): boolean {
  if ((flags & (FOLL_LONGTERM | FOLL_WRITE)) !== (FOLL_LONGTERM | FOLL_WRITE) || c.bug['longterm-write-dirty-tracked']) return true;
  return (c.mem.load(mdAddr(c.L, head, MD_FLAGS), ADDR_DEP) & PG_DIRTY_TRACKED) === 0; // (the folio came from the pte)
}

function fail(c: Cpu, reason: number): boolean {
  c.gupFastReason = reason;
  return false;
}
function failWin(c: Cpu, reason: number): boolean {
  winReaderClose(c, W_GUP_PIN_RECHECK);
  c.gupFastReason = reason;
  return false;
}

/** gup_fast_pmd_leaf(): refs on the folio, then the pmd re-check. */
function gupFastPmdLeaf(c: Cpu, orig: number, pmdp: number, addr: number, end: number, flags: number): boolean {
  const a = c.arch;
  c.trace(EV_PMD_LEAF, addr, orig);
  if (!a.pmdAccessPermitted(orig, (flags & FOLL_WRITE) !== 0)) return fail(c, GUP_FAST_PERM);
  const head = a.pmdPfn(orig);
  if (head < c.L.hugeBase || head >= c.L.totalFrames) {
    checkGotPage(c, head, head, addr);
    return fail(c, GUP_FAST_NOT_PRESENT);
  }
  const refs = end - addr;
  winReaderOpen(c, W_GUP_PMD_RECHECK, addr);
  winWiden(c, W_GUP_PMD_RECHECK);
  if (!tryGrabFolioFast(c, head, refs, flags)) {
    winReaderClose(c, W_GUP_PMD_RECHECK);
    return fail(c, GUP_FAST_REFZERO);
  }
  // re-check: pmd_val(orig) != pmd_val(*pmdp). A zap that cleared the pmd and freed the
  // folio after a flush that did not wait for us may have handed it to another mapping
  if (!c.bug['gup-no-pmd-leaf-recheck'] && c.mem.load(pmdp) !== orig) {
    winReaderClose(c, W_GUP_PMD_RECHECK);
    gupPutFolio(c, head, refs, flags, addr);
    return fail(c, GUP_FAST_RECHECK);
  }
  winReaderClose(c, W_GUP_PMD_RECHECK);
  if (!a.pmdWrite(orig) && gupMustUnshare(c, flags, head)) {
    gupPutFolio(c, head, refs, flags, addr);
    return fail(c, GUP_FAST_UNSHARE);
  }
  const first = head + (addr & (FANOUT - 1));
  for (let i = 0; i < refs; i++) {
    checkGotPage(c, first + i, head, addr + i);
    c.pages[c.nrPages++] = first + i;
  }
  return true;
}

/** gup_fast_pmd_range() */
function gupFastPmdRange(c: Cpu, pudp: number, pud: number, addr: number, end: number, flags: number, levels: number): boolean {
  const m = c.mem;
  const a = c.arch;
  const table = a.tablePfn(LVL_PUD, pud);
  const type = tableType(c, table);
  const wi = walkEnterTable(c, table, addr, type); // oracle: remember and judge the frame
  if (type !== PageType.PageTable) return fail(c, GUP_FAST_TABLE_GONE);
  // pmd_offset_lockless(pudp, pud, addr): the pmd level is never folded here
  let pmdp = frameAddr(c.L, table, a.index(LVL_PMD, levels, addr));
  do {
    const pmd = m.load(pmdp, ADDR_DEP); // pmdp_get_lockless(): the table came from the pud read above
    c.trace(EV_PMD, addr, pmd);
    if (!walkEntryLive(c, wi, pmdp, addr)) return fail(c, GUP_FAST_TABLE_GONE);
    const next = a.addrEnd(LVL_PMD, levels, addr, end);
    if (a.pmdNone(pmd) || !a.pmdPresent(pmd)) return fail(c, GUP_FAST_NOT_PRESENT);
    if (a.pmdLeaf(pmd)) {
      if (!gupFastPmdLeaf(c, pmd, pmdp, addr, next, flags)) return false;
    } else if (!gupFastPteRange(c, pmd, pmdp, addr, next, flags)) {
      return false;
    }
    pmdp++;
    addr = next;
  } while (addr !== end);
  return true;
}

/** gup_fast_pud_range() */
function gupFastPudRange(c: Cpu, p4dp: number, p4d: number, addr: number, end: number, flags: number, levels: number): boolean {
  const m = c.mem;
  const a = c.arch;
  let pudp: number;
  let wi = -1; // a folded pud is read from the table above
  const stackCopy = c.bug['stack-copy-walk'];
  const folded = a.folded(LVL_PUD, levels);
  if (folded && !stackCopy) {
    // a folded pud (s390 3-level), as a folded p4d above: the entry above, read again
    const pud = a.levelsOfTop === undefined ? p4d : m.load(p4dp, ADDR_DEP);
    c.trace(EV_PUD, addr, pud);
    if (a.upperNone(LVL_PUD, pud) || a.upperLeaf(LVL_PUD, pud)) return fail(c, GUP_FAST_NOT_PRESENT);
    return gupFastPmdRange(c, p4dp, pud, addr, end, flags, levels);
  }
  if (stackCopy) {
    m.store(c.aStack + SP_P4D, p4d);
    m.store(c.aStack + SP_P4D + 1, addr);
    m.store(c.aStack + SP_P4D + 2, end);
    m.store(c.aStack + SP_P4D + 3, flags);
  }
  if (folded) {
    // (only under the bug, from here) pud_offset(&p4d) on the stack copy, and pudp++ walks
    // on over the stack
    pudp = c.aStack + SP_P4D;
  } else {
    const table = a.tablePfn(LVL_P4D, p4d);
    const type = tableType(c, table);
    wi = walkEnterTable(c, table, addr, type); // oracle: remember and judge the frame
    if (type !== PageType.PageTable) return fail(c, GUP_FAST_TABLE_GONE);
    pudp = frameAddr(c.L, table, a.index(LVL_PUD, levels, addr)); // pud_offset_lockless(p4dp, p4d, addr)
  }
  do {
    if (pudp < c.L.framesBase && pudp !== c.aStack + SP_P4D) return walkedStack(c, pudp, addr);
    const pud = m.load(pudp, ADDR_DEP); // READ_ONCE(*pudp): an address dependency on the p4d
    c.trace(EV_PUD, addr, pud);
    if (!walkEntryLive(c, wi, pudp, addr)) return fail(c, GUP_FAST_TABLE_GONE);
    const next = a.addrEnd(LVL_PUD, stackCopy ? LVL_PGD : levels, addr, end);
    if (a.upperNone(LVL_PUD, pud)) return fail(c, GUP_FAST_NOT_PRESENT);
    if (a.upperLeaf(LVL_PUD, pud)) return fail(c, GUP_FAST_NOT_PRESENT); // no huge puds in this model
    if (!gupFastPmdRange(c, pudp, pud, addr, next, flags, levels)) return false;
    pudp++;
    addr = next;
  } while (addr !== end);
  return true;
}

/** gup_fast_p4d_range() */
function gupFastP4dRange(c: Cpu, pgdp: number, pgd: number, addr: number, end: number, flags: number, levels: number): boolean {
  const m = c.mem;
  const a = c.arch;
  let p4dp: number;
  let wi = -1; // a folded p4d is the pgd entry
  const stackCopy = c.bug['stack-copy-walk'];
  const folded = a.folded(LVL_P4D, levels);
  if (folded && !stackCopy) {
    // p4d_offset_lockless() on a folded p4d: the generic one is p4d_offset(&pgd), the
    // walker's own copy of the pgd entry, so READ_ONCE(*p4dp) reads the value already read
    // (no access to the table); s390, folding at run time, points into the table and reads
    // the entry again. One entry: it spans the whole range.
    const p4d = a.levelsOfTop === undefined ? pgd : m.load(pgdp, ADDR_DEP);
    if (a.upperNone(LVL_P4D, p4d)) return fail(c, GUP_FAST_NOT_PRESENT);
    return gupFastPudRange(c, pgdp, p4d, addr, end, flags, levels);
  }
  if (stackCopy) {
    // the walker's frame, as it would sit on its stack: the pgd it was passed by value,
    // then its live locals
    m.store(c.aStack + SP_PGD, pgd);
    m.store(c.aStack + SP_PGD + 1, addr);
    m.store(c.aStack + SP_PGD + 2, end);
    m.store(c.aStack + SP_PGD + 3, flags);
  }
  if (folded) {
    // (only under the bug, from here) s390 with the generic p4d_offset_lockless(),
    // p4d_offset(&pgd) on the stack copy, and p4dp++ walks on over the stack
    p4dp = c.aStack + SP_PGD;
  } else {
    const table = a.tablePfn(LVL_PGD, pgd);
    const type = tableType(c, table);
    wi = walkEnterTable(c, table, addr, type); // oracle: remember and judge the frame
    if (type !== PageType.PageTable) return fail(c, GUP_FAST_TABLE_GONE);
    p4dp = frameAddr(c.L, table, a.index(LVL_P4D, levels, addr));
  }
  do {
    if (p4dp < c.L.framesBase && p4dp !== c.aStack + SP_PGD) return walkedStack(c, p4dp, addr);
    const p4d = m.load(p4dp, ADDR_DEP); // READ_ONCE(*p4dp): an address dependency on the pgd
    if (!walkEntryLive(c, wi, p4dp, addr)) return fail(c, GUP_FAST_TABLE_GONE);
    // pXd_addr_end_folded(); the bug used the static p4d_addr_end of the 5-level geometry
    const next = a.addrEnd(LVL_P4D, stackCopy ? LVL_PGD : levels, addr, end);
    if (a.upperNone(LVL_P4D, p4d)) return fail(c, GUP_FAST_NOT_PRESENT);
    if (!gupFastPudRange(c, p4dp, p4d, addr, next, flags, levels)) return false;
    p4dp++;
    addr = next;
  } while (addr !== end);
  return true;
}

// the walker's frame in the CPU's stack words (only the stack-copy-walk bug takes its address)
const SP_PGD = 0;
const SP_P4D = 8;

/** The walk read an entry from stack memory beyond the copy it was pointed at: garbage
 *  walked as a page table. */
function walkedStack(c: Cpu, p: number, addr: number): boolean {
  c.violation(V_WILD_PFN, addr, `walked the CPU's stack as a page table: read 0x${(c.mem.load(p) >>> 0).toString(16)} at stack word ${p - c.aStack} (pXd_offset on a stack copy, static pXd_addr_end)`);
  return fail(c, GUP_FAST_TABLE_GONE);
}

/** gup_fast_pgd_range() */
function gupFastPgdRange(c: Cpu, mm: number, addr: number, end: number, flags: number): boolean {
  const m = c.mem;
  const a = c.arch;
  let pgdp = pgdOffsetLockless(c, mm, addr);
  const levels = c.walkLevels;
  // gup_fast_permitted(): nothing beyond what this mm's top table can reach (s390's asce limit)
  if (!withinReach(levels, end - 1)) return fail(c, GUP_FAST_NOT_PRESENT);
  do {
    const pgd = m.load(pgdp);
    const next = a.addrEnd(LVL_PGD, c.bug['stack-copy-walk'] ? LVL_PGD : levels, addr, end);
    if (a.upperNone(LVL_PGD, pgd)) return fail(c, GUP_FAST_NOT_PRESENT);
    if (!gupFastP4dRange(c, pgdp, pgd, addr, next, flags, levels)) return false;
    pgdp++;
    addr = next;
  } while (addr !== end);
  return true;
}

/** gup_fast(): pages got are c.pages[0..return). c.gupFastReason says why it stopped short. */
export function gupFast(c: Cpu, mm: number, start: number, nr: number, flags: number): number {
  const m = c.mem;
  let seq = 0;
  c.nrPages = 0;
  c.trace(EV_GUP, start, nr);
  c.gupFastReason = GUP_FAST_OK;
  const checkSeq = (flags & FOLL_PIN) !== 0 && !c.bug['no-write-protect-seq'];
  if (checkSeq) {
    // a fork in progress (odd) may be write-protecting ptes it is about to share
    seq = rawReadSeqcount(c, mmAddr(c.L, mm, MM_WP_SEQ));
    if ((seq & 1) !== 0) {
      c.gupFastReason = GUP_FAST_SEQ;
      return 0;
    }
  }
  localIrqSave(c); // from here no IPI is acknowledged and no grace period can end
  c.trace(EV_IRQ_SAVE, 0, 0);
  c.nrWalk = 0;
  c.walkStamp = m.peek(c.gStamp); // oracle bookkeeping
  winReaderOpen(c, W_GUP_WALK, start);
  gupFastPgdRange(c, mm, start, start + nr, flags);
  walkCheckTables(c, start);
  winReaderClose(c, W_GUP_WALK);
  c.trace(EV_IRQ_RESTORE, c.nrPages, 0);
  localIrqRestore(c);
  if (checkSeq && readSeqcountRetry(c, mmAddr(c.L, mm, MM_WP_SEQ), seq)) {
    // a fork started meanwhile: what we pinned may be COW-shared now; give it all back
    for (let i = 0; i < c.nrPages; i++) gupPutFolio(c, folioHead(c.L, c.pages[i]), 1, flags, start + i);
    c.nrPages = 0;
    c.gupFastReason = GUP_FAST_SEQ;
  }
  c.stats[S_FAST_PAGES.id] += c.nrPages;
  return c.nrPages;
}

/** follow_page_mask() + faultin_page() for one page, mmap_lock held for read. Appends to
 *  c.pages; false when the address cannot be got (-EFAULT, -ENOMEM). */
function followOrFault(c: Cpu, mm: number, vpn: number, flags: number): boolean {
  const m = c.mem;
  const a = c.arch;
  const write = (flags & FOLL_WRITE) !== 0;
  for (let tries = 0; tries < 8; tries++) {
    // the oracle's "during the walk" starts before the lookup: an unmap by a concurrent
    // MADV_DONTNEED (mmap_lock read too) after our unlock is a legitimate race
    c.walkStamp = m.peek(c.gStamp); // oracle bookkeeping
    const pmdp = entryOffset(c, mm, vpn, LVL_PMD, false);
    if (pmdp >= 0) {
      const pmd = m.load(pmdp);
      if (a.pmdLeaf(pmd)) {
        const ptl = pmdLock(c, pmdp);
        const cur = m.load(pmdp);
        if (a.pmdLeaf(cur) && a.pmdAccessPermitted(cur, write)) {
          const head = a.pmdPfn(cur);
          grabLocked(c, head, flags);
          spinUnlock(c, ptl);
          checkGotPage(c, head + (vpn & (FANOUT - 1)), head, vpn);
          c.pages[c.nrPages++] = head + (vpn & (FANOUT - 1));
          return true;
        }
        spinUnlock(c, ptl);
      } else if (!a.pmdNone(pmd)) {
        const ptep = pteOffsetMapLock(c, pmdp, vpn);
        if (ptep >= 0) {
          const pte = m.load(ptep);
          // vm_normal_page(): a special pte has no struct page to return
          const ok = a.ptePresent(pte) && a.pteAccessPermitted(pte, write) && !a.pteSpecial(pte);
          const head = ok ? folioHead(c.L, a.ptePfn(pte)) : 0;
          if (ok && !(!a.pteWrite(pte) && gupMustUnshare(c, flags, head))) {
            grabLocked(c, head, flags);
            pteUnmapUnlock(c, ptep);
            checkGotPage(c, a.ptePfn(pte), head, vpn);
            c.pages[c.nrPages++] = a.ptePfn(pte);
            return true;
          }
          pteUnmapUnlock(c, ptep);
        }
      }
    }
    // faultin_page(): FOLL_WRITE breaks COW; an R/O pin of a shared anon page takes an
    // unshare fault (the page becomes exclusive, the pte stays read-only); else a read fault
    if (handleMmFault(c, mm, vpn, write, !write && (flags & FOLL_PIN) !== 0) !== VM_FAULT_OK) return false;
  }
  return false;
}

/** try_grab_folio() under the ptl: the folio cannot be freed, the ref cannot fail. */
function grabLocked(c: Cpu, head: number, flags: number): void {
  if ((flags & FOLL_PIN) === 0 || head >= c.L.hugeBase) folioRefAdd(c, head, 1);
  else folioRefAdd(c, head, GUP_PIN_COUNTING_BIAS);
  if ((flags & FOLL_PIN) !== 0 && head >= c.L.hugeBase) c.mem.add(mdAddr(c.L, head, MD_PINCOUNT), 1, RELAXED);
}

/** __get_user_pages_locked(): the slow path, under mmap_lock. Appends to c.pages. */
export function gupSlow(c: Cpu, mm: number, start: number, nr: number, flags: number): number {
  c.stats[S_SLOW.id]++;
  c.trace(EV_GUP_SLOW, start, nr);
  const lock = mmAddr(c.L, mm, MM_MMAP_LOCK);
  const before = c.nrPages;
  downRead(c, lock);
  for (let vpn = start; vpn < start + nr; vpn++) {
    const vma = findVma(c, mm, vpn);
    if (vma < 0) break; // -EFAULT
    const vf = vmaFlags(c, mm, vma);
    // check_vma_flags(): no GUP on VM_IO | VM_PFNMAP, no write to a read-only mapping
    if ((vf & (VM_IO | VM_PFNMAP)) !== 0) break;
    if ((flags & FOLL_WRITE) !== 0 && (vf & VM_WRITE) === 0) break;
    // writable_file_mapping_allowed(): no longterm writable pin of a dirty-tracked file
    if ((flags & (FOLL_LONGTERM | FOLL_WRITE)) === (FOLL_LONGTERM | FOLL_WRITE) && vmaNeedsDirtyTracking(c, vf) && !c.bug['longterm-write-dirty-tracked']) break;
    if (!followOrFault(c, mm, vpn, flags)) break;
  }
  upRead(c, lock);
  return c.nrPages - before;
}

/** pin_user_pages_fast() / get_user_pages_fast(): GUP-fast, and the slow path for the rest. */
export function getUserPagesFast(c: Cpu, mm: number, start: number, nr: number, flags: number): number {
  const n = gupFast(c, mm, start, nr, flags);
  const total = n < nr ? n + gupSlow(c, mm, start + n, nr - n, flags) : n;
  c.stats[S_PAGES_GOT.id] += total;
  return total;
}

/** unpin_user_pages() / put_page() for everything in c.pages[0..n). */
export function putUserPages(c: Cpu, n: number, flags: number, start: number): void {
  for (let i = 0; i < n; i++) gupPutFolio(c, folioHead(c.L, c.pages[i]), 1, flags, start + i);
}
