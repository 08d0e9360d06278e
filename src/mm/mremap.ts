// mremap(2) of a mapping to another address (mm/mremap.c): move_vma() makes the new VMA,
// move_page_tables() moves the page tables, a whole pte table at a time where a PMD-sized
// extent allows (move_normal_pmd), then the old range is unmapped (do_vmi_munmap ->
// unmap_region: whatever is left is zapped, free_pgtables frees what no VMA needs).
//
// move_normal_pmd() does not free the table it moves: it hangs it under another pmd. A lockless
// walker that read the old pmd just before pmd_clear() goes on inside a table that now maps
// the new address. GUP-fast's pmd re-check after its pin sees the old pmd changed and drops the
// page; the table itself stays allocated (it is the new mapping's), and when it is freed later
// (munmap of the new range) that free waits for walkers as every table free does (the flush's
// IPI, or the grace period of tlb_remove_table / call_rcu).
//
// Not modelled: move_ptes() and move_huge_pmd() (a range that cannot move at the pmd level),
// take_rmap_locks(), the mmu notifier, uffd-wp.
import { LVL_PMD } from '../arch/arch.js';
import { defineTrace } from '../check/trace.js';
import { defineWindow, winWiden, winWriterClose, winWriterOpen } from '../check/windows.js';
import type { Cpu } from '../machine/cpu.js';
import { FANOUT, FANOUT_SHIFT, MM_MMAP_LOCK, VMA_PRESENT, frameAddr, mmAddr } from '../machine/layout.js';
import { downWrite, upWrite } from '../sync/rwsem.js';
import { spinLock, spinUnlock } from '../sync/spinlock.js';
import { freePgtables, unmapPageRange } from './memory.js';
import { type MmuGather, tlbFinishMmu, tlbGatherMmu } from './mmu_gather.js';
import { folioHead } from './page_alloc.js';
import { entryOffset, mmLevels, pmdLock, tableLockptr } from './pgtable.js';
import { folioMoveRmap } from './rmap.js';
import { vmaAddr, vmaEnd, vmaStart } from './vma.js';

export const W_MREMAP_MOVE = defineWindow({
  name: 'mremap.move-pmd', role: 'writer', shift: FANOUT_SHIFT,
  doc: 'move_normal_pmd: from pmd_clear() of the old pmd to the flush of the old range (a walker that read the old pmd is inside the table the new pmd maps)',
});
export const EV_MOVE_PMD_CLEAR = defineTrace('move_normal_pmd: pmd_clear(old_pmd)', 'addr', 'pmd');
export const EV_MOVE_PMD_POPULATE = defineTrace('move_normal_pmd: pmd_populate(new_pmd)', 'addr', 'pmd');

// what mremapVma did with the range's page table
export const MREMAP_MOVED_PMD = 0; //  move_normal_pmd moved the pte table
export const MREMAP_NO_TABLE = 1; //   nothing under the old pmd to move
export const MREMAP_NOT_MOVED = 2; //  the table could not move at the pmd level (the new pmd is
//                                     populated, or the old one is no table): the old range's
//                                     unmap zaps what it maps (the model has no move_ptes)

/** The pte table of the PMD-aligned old range, moved under the new pmd. Oracle bookkeeping,
 *  no kernel step: the pages the table maps are mapped at the new address now, and their
 *  records follow (folioMoveRmap). The kernel's rmap needs no change (the new VMA's vm_pgoff
 *  keeps each folio's index). Reads the table with the checker's plain reads: mmap_lock for
 *  write and the pmd lock keep every writer of these ptes out. */
function moveTableRmap(c: Cpu, table: number, oldAddr: number, newAddr: number): void {
  const a = c.arch;
  const L = c.L;
  for (let i = 0; i < FANOUT; i++) {
    const pte = c.mem.peek(frameAddr(L, table, i));
    if (!a.ptePresent(pte) || a.pteSpecial(pte)) continue;
    const pfn = a.ptePfn(pte);
    if (pfn <= 0 || pfn >= L.totalFrames) continue;
    const head = folioHead(L, pfn);
    // a small folio's record is its own vpn; a pte-mapped large folio's, its PMD-aligned base
    if (head === pfn) folioMoveRmap(c, head, oldAddr + i, newAddr + i);
    else folioMoveRmap(c, head, oldAddr, newAddr);
  }
}

/** move_normal_pmd(): hang the pte table under old_pmd (for the PMD-aligned oldAddr) under
 *  new_pmd (newAddr). Caller holds mmap_lock for write. false: not moved. */
export function moveNormalPmd(c: Cpu, mm: number, oldAddr: number, newAddr: number, oldPmdp: number, newPmdp: number): boolean {
  const m = c.mem;
  const a = c.arch;
  // WARN_ON_ONCE(!pmd_none(*new_pmd)): free_pgtables() should have released it
  if (!a.pmdNone(m.load(newPmdp))) return false;
  // both pmd locks; the order does not matter under the exclusive mmap_lock
  const oldPtl = pmdLock(c, oldPmdp);
  const newPtl = tableLockptr(c.L, newPmdp); // pmd_lockptr(mm, new_pmd)
  if (newPtl !== oldPtl) spinLock(c, newPtl); // spin_lock_nested(new_ptl, SINGLE_DEPTH_NESTING)
  const pmd = m.load(oldPmdp);
  // racing with collapse? retract_page_tables() may have cleared it (it takes no mmap_lock)
  let moved = false;
  if (!a.pmdNone(pmd) && a.pmdPresent(pmd) && !a.pmdLeaf(pmd)) {
    const table = a.tablePfn(LVL_PMD, pmd);
    winWriterOpen(c, W_MREMAP_MOVE, oldAddr);
    // pmd_clear(old_pmd): a walker that reads the old pmd from here finds none, and one that
    // read it before fails its pmd re-check. (The bug: the table stays under the old pmd too)
    if (!c.bug['move-pmd-keep-old']) {
      m.store(oldPmdp, a.emptyEntry(LVL_PMD, mmLevels(c, mm)));
      c.trace(EV_MOVE_PMD_CLEAR, oldAddr, pmd);
    }
    // oracle: the pages are mapped at the new address before the new pmd makes them reachable
    // there, and stopped being mapped at the old one when the old pmd was cleared
    moveTableRmap(c, table, oldAddr, newAddr);
    // VM_BUG_ON(!pmd_none(*new_pmd)); pmd_populate(mm, new_pmd, pmd_pgtable(pmd))
    const npmd = a.mkTableEntry(LVL_PMD, table, mmLevels(c, mm));
    m.store(newPmdp, npmd);
    c.trace(EV_MOVE_PMD_POPULATE, newAddr, npmd);
    winWiden(c, W_MREMAP_MOVE);
    // flush_tlb_range(vma, old_addr, old_addr + PMD_SIZE): an IPI that waits for every walker
    // with irqs off, or a broadcast invalidation that waits for nobody (the strategy)
    c.strategy.flushTlb(c);
    winWriterClose(c, W_MREMAP_MOVE);
    moved = true;
  }
  if (newPtl !== oldPtl) spinUnlock(c, newPtl);
  spinUnlock(c, oldPtl);
  return moved;
}

/** move_page_tables() for one PMD-aligned, PMD-sized range. Caller holds mmap_lock for write.
 *  Returns MREMAP_*. */
export function movePageTablesPmd(c: Cpu, mm: number, oldAddr: number, newAddr: number): number {
  const a = c.arch;
  const oldPmdp = entryOffset(c, mm, oldAddr, LVL_PMD, false); // get_old_pmd()
  if (oldPmdp < 0 || a.pmdNone(c.mem.load(oldPmdp))) return MREMAP_NO_TABLE;
  const newPmdp = entryOffset(c, mm, newAddr, LVL_PMD, true); // alloc_new_pmd()
  if (newPmdp < 0) return MREMAP_NOT_MOVED;
  return moveNormalPmd(c, mm, oldAddr, newAddr, oldPmdp, newPmdp) ? MREMAP_MOVED_PMD : MREMAP_NOT_MOVED;
}

/** mremap(old, PMD_SIZE, PMD_SIZE, MREMAP_MAYMOVE | MREMAP_FIXED, new) of VMA slot `from` (one
 *  PMD-aligned, PMD-sized range) to VMA slot `to` (a range reserved for it, not present):
 *  mmap_write_lock; move_vma(): copy_vma() (the new VMA), move_page_tables(), then
 *  do_vmi_munmap() of the old range (unmap_region: zap what is left there, free_pgtables()
 *  between floor and ceiling, the neighbours' bounds). Returns MREMAP_*. */
export function mremapVma(c: Cpu, mm: number, from: number, to: number, tlb: MmuGather, floor: number, ceiling: number): number {
  const m = c.mem;
  const lock = mmAddr(c.L, mm, MM_MMAP_LOCK);
  downWrite(c, lock);
  const oldAddr = vmaStart(c, mm, from);
  const oldEnd = vmaEnd(c, mm, from);
  const newAddr = vmaStart(c, mm, to);
  m.store(vmaAddr(c.L, mm, to, VMA_PRESENT), 1); // copy_vma()
  const r = movePageTablesPmd(c, mm, oldAddr, newAddr);
  m.store(vmaAddr(c.L, mm, from, VMA_PRESENT), 0); // do_vmi_munmap(): vma_start_write + detach
  tlbGatherMmu(tlb);
  unmapPageRange(c, mm, from, tlb, oldAddr, oldEnd); // unmap_vmas()
  freePgtables(c, mm, tlb, oldAddr, oldEnd, floor, ceiling);
  tlbFinishMmu(c, tlb);
  upWrite(c, lock);
  return r;
}
