// Page-table access for the writers and the locked readers (mm/memory.c, mm/pgtable-generic.c):
// walking down with allocation, the split page-table locks, pte_offset_map_lock().
import { LVL_PGD, LVL_PMD, LVL_PTE } from '../arch/arch.js';
import type { Cpu } from '../machine/cpu.js';
import { SMP_WMB } from '../machine/mem.js';
import {
  FANOUT_SHIFT, FRAME_WORDS, type Layout, MD_PTL, MD_TYPE, MM_LEVELS, PageType, MM_PGD, MM_PTL, frameAddr, mdAddr, mmAddr,
} from '../machine/layout.js';
import { walkEnterTable, walkEntryLive } from '../check/oracle.js';
import { rcuReadLock, rcuReadUnlock } from '../sync/rcu.js';
import { spinLock, spinUnlock } from '../sync/spinlock.js';
import { allocTable, freeTable } from './page_alloc.js';
import { defineTrace } from '../check/trace.js';

export const EV_PMD = defineTrace('READ_ONCE(*pmdp)', 'addr', 'pmd');
export const EV_PTE = defineTrace('ptep_get_lockless', 'addr', 'pte');
export const EV_SET_PTE = defineTrace('set_pte_at', 'addr', 'pte');
export const EV_CLEAR_FLUSH = defineTrace('ptep/pmdp_clear_flush', 'addr', 'entry');
export const EV_FREE_TABLE = defineTrace('pte_free / __tlb_remove_table', 'pfn', 'gen');

/** The frame an entry pointer lives in (virt_to_page of a page-table pointer). */
export function pfnOfPtr(L: Layout, p: number): number {
  return ((p - L.framesBase) / FRAME_WORDS) | 0;
}

/** pte_lockptr() / pmd_lockptr(): the split lock in the struct page of the table holding p. */
export function tableLockptr(L: Layout, p: number): number {
  return mdAddr(L, pfnOfPtr(L, p), MD_PTL);
}

export function mmLevels(c: Cpu, mm: number): number {
  return c.mem.load(mmAddr(c.L, mm, MM_LEVELS));
}

/** pgd_offset() for a lockless walker: READ_ONCE(mm->pgd) once (s390), and the depth of that very
 *  table (s390's pgd_offset_raw reads it from the table's entry type: crst_table_upgrade can
 *  grow the mm under the walker; elsewhere the mm's depth is fixed). The depth goes to
 *  c.walkLevels. Returns the pgd entry pointer for vpn. */
export function pgdOffsetLockless(c: Cpu, mm: number, vpn: number): number {
  const m = c.mem;
  const a = c.arch;
  // s390 reads its top table and depth at run time (crst_table_upgrade replaces both);
  // elsewhere mm->pgd and the depth are fixed at mmAlloc: plain reads
  const top = a.levelsOfTop ? m.load(mmAddr(c.L, mm, MM_PGD)) : m.peek(mmAddr(c.L, mm, MM_PGD));
  const levels = a.levelsOfTop ? a.levelsOfTop(m.load(frameAddr(c.L, top, 0))) : m.peek(mmAddr(c.L, mm, MM_LEVELS));
  c.walkLevels = levels;
  return frameAddr(c.L, top, a.index(LVL_PGD, levels, vpn));
}

/** pte_offset_map(&pmd, addr): the pte for vpn in the table a pmd value points at. */
export function pteOffsetOfPmd(c: Cpu, pmd: number, vpn: number): number {
  return frameAddr(c.L, c.arch.tablePfn(LVL_PMD, pmd), c.arch.index(LVL_PTE, LVL_PGD, vpn));
}

/** pgd_offset(mm, addr) */
export function pgdOffset(c: Cpu, mm: number, levels: number, vpn: number): number {
  return frameAddr(c.L, c.mem.load(mmAddr(c.L, mm, MM_PGD)), c.arch.index(LVL_PGD, levels, vpn));
}

/** pXd_alloc(): populate the empty entry at p with a new table of `level`, under the lock
 *  that serializes populating it (pmd_lock for a pte table, mm->page_table_lock above).
 *  Returns the entry's value, or -1 when out of memory. */
function pxdPopulate(c: Cpu, mm: number, p: number, level: number, vpn: number): number {
  const m = c.mem;
  const a = c.arch;
  const levels = mmLevels(c, mm);
  const table = allocTable(c, mm, level, vpn, levels);
  if (table < 0) return -1;
  const lock = level === LVL_PTE ? tableLockptr(c.L, p) : mmAddr(c.L, mm, MM_PTL);
  spinLock(c, lock);
  let v = m.load(p);
  if (a.upperNone(level + 1, v)) {
    // pmd_install() / __pud_alloc(): smp_wmb() "so that the pte setup is visible before the
    // pte is made visible": the zeroed table before the entry a lockless walker follows (its
    // loads are address-dependent on the entry)
    m.fence(SMP_WMB);
    v = a.mkTableEntry(level + 1, table, levels);
    m.store(p, v);
    spinUnlock(c, lock);
  } else {
    spinUnlock(c, lock);
    freeTable(c, table); // somebody else populated it first; ours was never visible
  }
  return v;
}

/** The pointer to the entry of `level` that covers vpn (pmd_alloc & co. when alloc), or -1.
 *  For writers holding mmap_lock: tables above the pmd are never freed under it. */
export function entryOffset(c: Cpu, mm: number, vpn: number, level: number, alloc: boolean): number {
  const m = c.mem;
  const a = c.arch;
  const levels = mmLevels(c, mm);
  // an address beyond what the top table reaches has no entry (TASK_SIZE; s390's asce_limit,
  // which mmap raises with crst_table_upgrade first): never index the top table with it
  if (!withinReach(levels, vpn)) return -1;
  let p = pgdOffset(c, mm, levels, vpn);
  for (let lvl = LVL_PGD - 1; lvl >= level; lvl--) {
    if (a.folded(lvl, levels)) continue; // p4d_offset() on a folded p4d is the pgd entry
    let v = m.load(p);
    if (a.upperNone(lvl + 1, v)) {
      if (!alloc) return -1;
      v = pxdPopulate(c, mm, p, lvl, vpn);
      if (v === -1) return -1;
    }
    if (lvl === LVL_PTE && (a.pmdLeaf(v) || !a.pmdPresent(v))) return -1; // no pte table under a huge or non-present pmd
    p = frameAddr(c.L, a.tablePfn(lvl + 1, v), a.index(lvl, levels, vpn));
  }
  return p;
}

/** __pte_alloc(): make sure the pmd at pmdp points at a pte table. false when out of memory. */
export function pteAlloc(c: Cpu, mm: number, pmdp: number, vpn: number): boolean {
  if (!c.arch.pmdNone(c.mem.load(pmdp))) return true;
  return pxdPopulate(c, mm, pmdp, LVL_PTE, vpn) !== -1;
}

/** pte_offset_map_lock(): map the pte table the pmd points at (under rcu_read_lock, as
 *  __pte_offset_map does), take its ptl, then re-check pmd_same(): if the pmd changed
 *  meanwhile (a table retracted or freed) retry from the pmd. Returns ptep, or -1 when
 *  the pmd maps no pte table (none, huge, migration). The caller ends with pteUnmapUnlock. */
export function pteOffsetMapLock(c: Cpu, pmdp: number, vpn: number): number {
  const m = c.mem;
  const a = c.arch;
  for (;;) {
    rcuReadLock(c);
    const pmd = m.load(pmdp);
    if (a.pmdNone(pmd) || !a.pmdPresent(pmd) || a.pmdLeaf(pmd)) {
      rcuReadUnlock(c);
      return -1;
    }
    const ptep = pteOffsetOfPmd(c, pmd, vpn);
    const ptl = tableLockptr(c.L, ptep);
    spinLock(c, ptl);
    // pmd_same() after taking the ptl: the table may have been detached while we waited
    if (c.bug['lock-no-pmd-same'] || m.load(pmdp) === pmd) return ptep;
    spinUnlock(c, ptl);
    rcuReadUnlock(c);
  }
}

/** pte_unmap_unlock() */
export function pteUnmapUnlock(c: Cpu, ptep: number): void {
  spinUnlock(c, tableLockptr(c.L, ptep));
  rcuReadUnlock(c);
}

/** pmd_lock(): the lock of the pmd table holding pmdp. */
export function pmdLock(c: Cpu, pmdp: number): number {
  const ptl = tableLockptr(c.L, pmdp);
  spinLock(c, ptl);
  return ptl;
}

/** The lockless descent of a reader inside irq-off or rcu_read_lock (pmdp_get_lockless
 *  callers: follow_pmd_mask, page_vma_mapped_walk, __pte_offset_map): each level read once,
 *  each table's generation recorded for the oracle. Returns pmdp, or -1. */
export function pmdOffsetLockless(c: Cpu, mm: number, vpn: number): number {
  const m = c.mem;
  const a = c.arch;
  let p = pgdOffsetLockless(c, mm, vpn);
  const levels = c.walkLevels;
  let wi = -1; // the top table is the mm's own: not freed under a walker
  for (let lvl = LVL_PGD - 1; lvl >= LVL_PMD; lvl--) {
    if (a.folded(lvl, levels)) continue;
    const v = m.load(p);
    if (!walkEntryLive(c, wi, p, vpn)) return -1;
    if (a.upperNone(lvl + 1, v)) return -1;
    const table = a.tablePfn(lvl + 1, v);
    const type = tableType(c, table);
    wi = walkEnterTable(c, table, vpn, type);
    if (type !== PageType.PageTable) return -1;
    p = frameAddr(c.L, table, a.index(lvl, levels, vpn));
  }
  return p;
}

/** The type of the frame a lockless walker is about to use as a table, -1 if no such frame.
 *  The emulator's limit, not the kernel's: a walker can follow only a frame whose type is
 *  PageType.PageTable now. A real CPU would go on and read whatever a freed (or never-table)
 *  frame holds; the emulated walk stops, after the oracle has judged the frame with this
 *  same value (walkEnterTable), so a use-after-free is reported and never dereferenced. The
 *  emulator's own bookkeeping, not a kernel access: a plain read (Mem.peek). A frame freed an
 *  instant before reads as a table still; the walk then reads its stale entries, which every
 *  step bounds-checks, and the oracle's generation checks report it. */
export function tableType(c: Cpu, pfn: number): number {
  return pfn > 0 && pfn < c.L.totalFrames ? c.mem.peek(mdAddr(c.L, pfn, MD_TYPE)) : -1;
}

/** Does an mm of `levels` levels reach vpn (the pages its top table can map)? */
export function withinReach(levels: number, vpn: number): boolean {
  return vpn >= 0 && vpn < 1 << (levels * FANOUT_SHIFT); // levels <= 5: below 2^30
}
