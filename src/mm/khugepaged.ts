// khugepaged's anonymous collapse (mm/khugepaged.c collapse_huge_page) and the zap of a
// huge pmd that frees the table deposited by it (mm/huge_memory.c zap_huge_pmd).
import { LVL_PMD } from '../arch/arch.js';
import { winWiden, winWriterClose, winWriterOpen } from '../check/windows.js';
import type { Cpu } from '../machine/cpu.js';
import { RELAXED } from '../machine/mem.js';
import { FANOUT, FANOUT_SHIFT, MD_FLAGS, MD_GEN, MM_MMAP_LOCK, PG_TABLE_DETACHED, PageType, frameAddr, mdAddr, mmAddr } from '../machine/layout.js';
import { callRcu } from '../sync/rcu.js';
import { downRead, downWrite, upRead, upWrite } from '../sync/rwsem.js';
import { spinLock, spinUnlock } from '../sync/spinlock.js';
import { folioMapcount, folioPutRefs, folioRefCount } from './folio.js';
import { copyPage } from './memory.js';
import { type MmuGather, tlbFinishMmu, tlbGatherMmu, tlbRemovePage } from './mmu_gather.js';
import { allocHugeFolio, folioHead, freeTable } from './page_alloc.js';
import { entryOffset, mmLevels, pmdLock, tableLockptr } from './pgtable.js';
import { folioAddNewAnonRmap, folioRemoveRmap } from './rmap.js';
import { defineTrace } from '../check/trace.js';
import { defineWindow } from '../check/windows.js';
import { EV_CLEAR_FLUSH, EV_FREE_TABLE } from './pgtable.js';

export const EV_ISOLATE = defineTrace('__collapse_huge_page_isolate: refcount check', 'pfn', 'refcount');
export const W_COLLAPSE = defineWindow({ name: 'collapse.flush-isolate', role: 'writer', doc: 'collapse_huge_page: from pmdp_collapse_flush to the end of __collapse_huge_page_isolate (the isolate to the flush, with isolate-before-flush)' });
export const W_RETRACT = defineWindow({ name: 'retract.detach', role: 'writer', shift: FANOUT_SHIFT, doc: 'retract_page_tables: from pmdp_collapse_flush to pte_free_defer' });

export const COLLAPSE_OK = 0;
export const COLLAPSE_SKIP = 1; //        not a pte table (already huge, or empty)
export const COLLAPSE_PINNED = 2; //      __collapse_huge_page_isolate found a reference it cannot explain
export const COLLAPSE_NOMEM = 3;

/** __collapse_huge_page_isolate(): every page must be a small anon page whose references
 *  are all explained by its mappings (a GUP pin or get is not). Caller holds the pte lock. */
function collapseIsolate(c: Cpu, ptep0: number): boolean {
  const m = c.mem;
  const a = c.arch;
  for (let i = 0; i < FANOUT; i++) {
    const pte = m.load(ptep0 + i);
    if (!a.ptePresent(pte) || !a.pteWrite(pte)) return false;
    const head = folioHead(c.L, a.ptePfn(pte));
    if (head !== a.ptePfn(pte) || m.load(mdAddr(c.L, head, 0)) !== PageType.Anon) return false;
    c.trace(EV_ISOLATE, head, folioRefCount(c, head));
    if (folioRefCount(c, head) !== folioMapcount(c, head)) return false;
  }
  return true;
}

/** collapse_huge_page(): replace the pte table under one pmd by a PMD-sized folio.
 *  `deposit` is the word where the old table is deposited for the huge pmd. */
export function collapseHugePage(c: Cpu, mm: number, vpn: number, deposit: number): number {
  const m = c.mem;
  const a = c.arch;
  const lock = mmAddr(c.L, mm, MM_MMAP_LOCK);
  vpn &= ~(FANOUT - 1);
  const nhead = allocHugeFolio(c, mm); // allocated before any lock, as khugepaged does
  if (nhead < 0) return COLLAPSE_NOMEM;
  downWrite(c, lock);
  const pmdp = entryOffset(c, mm, vpn, LVL_PMD, false);
  const pmd = pmdp < 0 ? 0 : m.load(pmdp);
  if (pmdp < 0 || a.pmdNone(pmd) || a.pmdLeaf(pmd) || !a.pmdPresent(pmd)) {
    upWrite(c, lock);
    folioPutRefs(c, nhead, 1, vpn);
    return COLLAPSE_SKIP;
  }
  const table = a.tablePfn(LVL_PMD, pmd);
  const ptep0 = frameAddr(c.L, table, 0);
  const ptl = tableLockptr(c.L, ptep0);
  if (c.bug['isolate-before-flush']) {
    // the historical order: a GUP-fast pin can land after this check, before the flush
    winWriterOpen(c, W_COLLAPSE, vpn);
    spinLock(c, ptl);
    const ok = collapseIsolate(c, ptep0);
    spinUnlock(c, ptl);
    winWiden(c, W_COLLAPSE);
    if (!ok) {
      winWriterClose(c, W_COLLAPSE);
      upWrite(c, lock);
      folioPutRefs(c, nhead, 1, vpn);
      return COLLAPSE_PINNED;
    }
  } else {
    winWriterOpen(c, W_COLLAPSE, vpn);
  }
  // pmdp_collapse_flush(): GUP-fast must not find this table any more...
  const pmdPtl = pmdLock(c, pmdp);
  const orig = m.xchg(pmdp, a.emptyEntry(LVL_PMD, mmLevels(c, mm)), RELAXED); // (arm64: xchg_relaxed; the flush orders it)
  c.strategy.flushTlb(c);
  spinUnlock(c, pmdPtl);
  c.trace(EV_CLEAR_FLUSH, vpn, orig);
  // ...and no walker may still be inside it: tlb_remove_table_sync_one() (2ba99c5e0881).
  // (Before 70cbc3cc78a9 added the pmd re-check there was no IPI here either: the
  // gup-no-pmd-recheck declaration implies this switch.)
  if (!c.bug['collapse-no-ipi']) c.strategy.tlbRemoveTableSyncOne(c);
  winWiden(c, W_COLLAPSE);
  // map the old table from the stack copy of the pmd, then isolate: a pin taken before
  // the flush shows up in the refcounts here
  spinLock(c, ptl);
  if (!c.bug['isolate-before-flush'] && !collapseIsolate(c, ptep0)) {
    spinUnlock(c, ptl);
    const p2 = pmdLock(c, pmdp);
    m.store(pmdp, orig); // pmd_populate(): put the old table back
    spinUnlock(c, p2);
    winWriterClose(c, W_COLLAPSE);
    upWrite(c, lock);
    folioPutRefs(c, nhead, 1, vpn);
    return COLLAPSE_PINNED;
  }
  winWriterClose(c, W_COLLAPSE);
  // __collapse_huge_page_copy(): copy, clear the old ptes, release the old pages
  for (let i = 0; i < FANOUT; i++) {
    const pte = m.load(ptep0 + i);
    const page = a.ptePfn(pte);
    copyPage(c, nhead + i, page);
    m.store(ptep0 + i, a.emptyPte);
    folioRemoveRmap(c, page);
    folioPutRefs(c, page, 1, vpn + i);
  }
  spinUnlock(c, ptl);
  m.store(deposit, table); // pgtable_trans_huge_deposit()
  folioAddNewAnonRmap(c, nhead, vpn);
  const p3 = pmdLock(c, pmdp);
  m.store(pmdp, a.mkPmdLeaf(nhead, true)); // set_pmd_at()
  spinUnlock(c, p3);
  upWrite(c, lock);
  return COLLAPSE_OK;
}

/** MADV_DONTNEED of a huge pmd: zap_huge_pmd() withdraws the deposited table and frees it
 *  at once (zap_deposited_table -> pte_free): safe only because the collapse made sure no
 *  walker was still inside that table. Returns false if the pmd was not huge. */
export function zapHugePmd(c: Cpu, mm: number, vpn: number, deposit: number, tlb: MmuGather): boolean {
  const m = c.mem;
  const a = c.arch;
  const lock = mmAddr(c.L, mm, MM_MMAP_LOCK);
  downRead(c, lock);
  const pmdp = entryOffset(c, mm, vpn, LVL_PMD, false);
  if (pmdp < 0 || !a.pmdLeaf(m.load(pmdp))) {
    upRead(c, lock);
    return false;
  }
  tlbGatherMmu(tlb);
  const ptl = pmdLock(c, pmdp);
  const old = m.xchg(pmdp, a.emptyEntry(LVL_PMD, mmLevels(c, mm)), RELAXED); // pmdp_huge_get_and_clear_full()
  const table = m.xchg(deposit, 0, RELAXED); // pgtable_trans_huge_withdraw() (under the pmd lock)
  if (table > 0) {
    c.trace(EV_FREE_TABLE, table, m.load(mdAddr(c.L, table, MD_GEN)));
    freeTable(c, table); // zap_deposited_table(): pte_free(), no RCU, no flush first
  }
  spinUnlock(c, ptl);
  const head = a.pmdPfn(old);
  folioRemoveRmap(c, head);
  tlbRemovePage(tlb, head, vpn);
  tlbFinishMmu(c, tlb);
  upRead(c, lock);
  return true;
}

export const RETRACT_OK = 0;
export const RETRACT_SKIP = 1;

/** Unmaps every pte of a table, pages to the gather (the file's small folios, replaced by a
 *  huge one in the page cache). The ptes read as `clearTo` afterwards. */
function clearTablePtes(c: Cpu, ptep0: number, vpn: number, tlb: MmuGather, clearTo: number): void {
  const m = c.mem;
  const a = c.arch;
  for (let i = 0; i < FANOUT; i++) {
    const pte = m.xchg(ptep0 + i, clearTo, RELAXED); // ptep_get_and_clear()
    if (!a.ptePresent(pte)) continue;
    const head = folioHead(c.L, a.ptePfn(pte));
    folioRemoveRmap(c, head);
    tlbRemovePage(tlb, head, vpn + i);
  }
}

/** collapse_pte_mapped_thp() + retract_page_tables() (file/shmem, after Hugh Dickins'
 *  pte_offset_map series): under the pmd lock and the nested pte lock, empty the table,
 *  pmdp_collapse_flush(), then pte_free_defer(). No mmap_lock: faults run concurrently and
 *  rely on pte_offset_map_lock()'s pmd_same() re-check; lockless readers rely on RCU and
 *  on the detached table reading empty. */
export function retractPageTables(c: Cpu, mm: number, vpn: number, tlb: MmuGather): number {
  const m = c.mem;
  const a = c.arch;
  vpn &= ~(FANOUT - 1);
  const pmdp = entryOffset(c, mm, vpn, LVL_PMD, false);
  const pmd = pmdp < 0 ? 0 : m.load(pmdp);
  if (pmdp < 0 || a.pmdNone(pmd) || a.pmdLeaf(pmd) || !a.pmdPresent(pmd)) return RETRACT_SKIP;
  const table = a.tablePfn(LVL_PMD, pmd);
  const ptep0 = frameAddr(c.L, table, 0);
  tlbGatherMmu(tlb);
  const pml = pmdLock(c, pmdp);
  const ptl = tableLockptr(c.L, ptep0);
  spinLock(c, ptl); // spin_lock_nested(ptl, SINGLE_DEPTH_NESTING)
  let present = 0;
  for (let i = 0; i < FANOUT; i++) if (a.ptePresent(m.load(ptep0 + i))) present++;
  // khugepaged_max_ptes_none: collapse only a range that is mostly populated
  if (m.load(pmdp) !== pmd || present < FANOUT / 2) {
    spinUnlock(c, ptl);
    spinUnlock(c, pml);
    return RETRACT_SKIP;
  }
  // the table must read as empty before anybody can find it detached
  if (!c.bug['detached-not-empty']) clearTablePtes(c, ptep0, vpn, tlb, a.emptyPte);
  winWriterOpen(c, W_RETRACT, vpn);
  m.xchg(pmdp, a.emptyEntry(LVL_PMD, mmLevels(c, mm)), RELAXED); // pmdp_collapse_flush(): the flush after it orders it
  c.strategy.flushTlb(c);
  m.store(mdAddr(c.L, table, MD_FLAGS), m.load(mdAddr(c.L, table, MD_FLAGS)) | PG_TABLE_DETACHED);
  c.trace(EV_CLEAR_FLUSH, vpn, pmd);
  if (c.bug['detached-not-empty']) {
    // the bug: emptied too late, and with 0, which on s390 is not an empty pte
    winWiden(c, W_RETRACT);
    clearTablePtes(c, ptep0, vpn, tlb, 0);
  }
  spinUnlock(c, ptl);
  spinUnlock(c, pml);
  if (c.bug['free-without-rcu']) {
    c.trace(EV_FREE_TABLE, table, m.load(mdAddr(c.L, table, MD_GEN)));
    freeTable(c, table); // the bug: lockless pte_offset_map() readers may still be inside
  } else {
    c.trace(EV_FREE_TABLE, table, -1);
    callRcu(c, table); // pte_free_defer()
  }
  winWriterClose(c, W_RETRACT);
  tlbFinishMmu(c, tlb); // flush, then drop the pages' references
  return RETRACT_OK;
}
