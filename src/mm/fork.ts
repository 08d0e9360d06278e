// fork's page-table copy and the child's exit (kernel/fork.c dup_mmap, mm/memory.c
// copy_page_range / copy_present_pte, mm/mmap.c exit_mmap).
import { LVL_PGD, LVL_PMD } from '../arch/arch.js';
import { winWiden, winWriterClose, winWriterOpen } from '../check/windows.js';
import type { Cpu } from '../machine/cpu.js';
import { RELAXED } from '../machine/mem.js';
import { FANOUT, MM_MMAP_LOCK, MM_PGD, MM_LEVELS, MM_VMA_COUNT, MM_WP_SEQ, PageType, VMA_PRESENT, frameAddr, mmAddr } from '../machine/layout.js';
import { downWrite, upWrite } from '../sync/rwsem.js';
import { writeSeqcountBegin, writeSeqcountEnd } from '../sync/seqcount.js';
import { spinLock, spinUnlock } from '../sync/spinlock.js';
import { folioMaybeDmaPinned, folioRefAdd } from './folio.js';
import { copyPage } from './memory.js';
import { type MmuGather } from './mmu_gather.js';
import { allocAnonPage, folioHead, freeTable } from './page_alloc.js';
import { entryOffset, pteAlloc, pteOffsetOfPmd, tableLockptr } from './pgtable.js';
import { clearPageAnonExclusive, folioAddNewAnonRmap } from './rmap.js';
import { mmAlloc } from './mm.js';
import { munmapVma } from './memory.js';
import { vmaAddr, vmaDefine, vmaEnd, vmaFlags, vmaStart } from './vma.js';
import { MD_MAPCOUNT, mdAddr } from '../machine/layout.js';
import { defineWindow } from '../check/windows.js';

export const W_FORK_DUP = defineWindow({ name: 'fork.dup-wrprotect', role: 'writer', doc: 'copy_present_pte: from folio_try_dup_anon_rmap_pte (the pin check) to ptep_set_wrprotect' });

/** copy_present_pte() for an anon page, both ptls held. Returns false when out of memory. */
function copyPresentPte(c: Cpu, srcPtep: number, dstPtep: number, vpn: number): boolean {
  const m = c.mem;
  const a = c.arch;
  const pte = m.load(srcPtep);
  const page = a.ptePfn(pte);
  const head = folioHead(c.L, page);
  winWriterOpen(c, W_FORK_DUP, vpn);
  // folio_try_dup_anon_rmap_pte(): a maybe-pinned page is never COW-shared: copy it now
  // (the bug fork-no-pin-copy: shared anyway, as before 70e806e4e645)
  if (folioMaybeDmaPinned(c, head) && !c.bug['fork-no-pin-copy']) {
    winWriterClose(c, W_FORK_DUP);
    const copy = allocAnonPage(c, 1, PageType.Anon);
    if (copy < 0) return false;
    copyPage(c, copy, page);
    folioAddNewAnonRmap(c, copy, vpn);
    m.store(dstPtep, a.mkPte(copy, true));
    return true;
  }
  m.add(mdAddr(c.L, head, MD_MAPCOUNT), 1, RELAXED); // atomic_inc(&folio->_mapcount)
  folioRefAdd(c, head, 1);
  if (c.bug['fork-no-wrprotect']) {
    // the bug: both mms map the page writable and it stays exclusive: no COW at all
    winWriterClose(c, W_FORK_DUP);
    m.store(dstPtep, pte);
    return true;
  }
  clearPageAnonExclusive(c, head);
  winWiden(c, W_FORK_DUP);
  // ptep_set_wrprotect(): from here a GUP-fast pin of this pte fails its re-check; one that
  // got in before is caught by write_protect_seq
  const wp = a.pteWrprotect(pte);
  m.store(srcPtep, wp);
  winWriterClose(c, W_FORK_DUP);
  m.store(dstPtep, wp);
  return true;
}

/** copy_page_range() of [start, end) from `parent` into `child`: pte tables are copied
 *  under both ptls (copy_pte_range), each present anon pte by copy_present_pte. The caller
 *  holds mmap_write_lock and write_protect_seq. Returns false when out of memory. */
export function copyPageRange(c: Cpu, parent: number, child: number, start: number, end: number): boolean {
  const m = c.mem;
  const a = c.arch;
  let ok = true;
  for (let vpn = start; vpn < end && ok; ) {
    const next = Math.min(end, (vpn + FANOUT) & ~(FANOUT - 1));
    const srcPmdp = entryOffset(c, parent, vpn, LVL_PMD, false);
    const spmd = srcPmdp < 0 ? 0 : m.load(srcPmdp);
    if (srcPmdp >= 0 && a.pmdPresent(spmd) && !a.pmdLeaf(spmd)) {
      const dstPmdp = entryOffset(c, child, vpn, LVL_PMD, true);
      if (dstPmdp < 0 || !pteAlloc(c, child, dstPmdp, vpn)) {
        ok = false;
        break;
      }
      const dst0 = pteOffsetOfPmd(c, m.load(dstPmdp), vpn);
      const src0 = pteOffsetOfPmd(c, spmd, vpn);
      // copy_pte_range(): the child's ptl, then the parent's nested
      const dptl = tableLockptr(c.L, dst0);
      const sptl = tableLockptr(c.L, src0);
      spinLock(c, dptl);
      spinLock(c, sptl);
      for (let v = vpn, i = 0; v < next && ok; v++, i++) {
        if (a.ptePresent(m.load(src0 + i))) ok = copyPresentPte(c, src0 + i, dst0 + i, v);
      }
      spinUnlock(c, sptl);
      spinUnlock(c, dptl);
    }
    vpn = next;
  }
  return ok;
}

/** dup_mmap() of VMA 0 of `parent` into `child` (an empty mm slot), under the parent's
 *  mmap_write_lock and write_protect_seq (raw_write_seqcount_begin in copy_page_range). */
export function forkMm(c: Cpu, parent: number, child: number): boolean {
  const m = c.mem;
    const lock = mmAddr(c.L, parent, MM_MMAP_LOCK);
  downWrite(c, lock);
  mmAlloc(c, child, m.load(mmAddr(c.L, parent, MM_LEVELS)));
  const start = vmaStart(c, parent, 0);
  const end = vmaEnd(c, parent, 0);
  vmaDefine(m, c.L, child, 0, start, end, vmaFlags(c, parent, 0), true);
  const seq = mmAddr(c.L, parent, MM_WP_SEQ);
  // copy_page_range(): raw_write_seqcount_begin, so a GUP-fast pin that lands during the
  // copy gives itself back (gup_fast_fallback's read_seqcount_retry)
  writeSeqcountBegin(c, seq);
  const ok = copyPageRange(c, parent, child, start, end);
  writeSeqcountEnd(c, seq);
  c.strategy.flushTlb(c); // flush_tlb_mm(oldmm): the parent's ptes were write-protected
  upWrite(c, lock);
  return ok;
}

/** free_pgtables() at exit: every table below `table` and the table itself. */
function freeAllTables(c: Cpu, table: number, level: number, levels: number): void {
  const a = c.arch;
  for (let i = 0; i < FANOUT; i++) {
    const v = c.mem.load(frameAddr(c.L, table, i));
    if (a.upperNone(level, v)) continue;
    if (level === LVL_PMD) {
      if (!a.pmdLeaf(v) && a.pmdPresent(v)) freeTable(c, a.tablePfn(LVL_PMD, v));
      continue;
    }
    let child = level - 1;
    while (a.folded(child, levels)) child--;
    freeAllTables(c, a.tablePfn(level, v), child, levels);
  }
  freeTable(c, table);
}

/** exit_mmap(): unmap every VMA, free every table and the pgd. Nobody walks this mm any
 *  more (its users are gone), so the tables are freed at once. */
export function exitMmap(c: Cpu, mm: number, tlb: MmuGather): void {
  const m = c.mem;
  const n = m.load(mmAddr(c.L, mm, MM_VMA_COUNT));
  for (let v = 0; v < n; v++) if (m.load(vmaAddr(c.L, mm, v, VMA_PRESENT)) !== 0) munmapVma(c, mm, v, tlb, 0, 1 << 30);
  const pgd = m.load(mmAddr(c.L, mm, MM_PGD));
  m.store(mmAddr(c.L, mm, MM_PGD), 0);
  freeAllTables(c, pgd, LVL_PGD, m.load(mmAddr(c.L, mm, MM_LEVELS)));
}
