// mm_struct setup (kernel/fork.c mm_alloc + pgd_alloc).
import { LVL_PGD } from '../arch/arch.js';
import type { Cpu } from '../machine/cpu.js';
import { MM_LEVELS, MM_PGD, MM_PTL, frameAddr, mmAddr } from '../machine/layout.js';
import { spinLock, spinUnlock } from '../sync/spinlock.js';
import { allocTable } from './page_alloc.js';

/** mm_alloc(): an empty mm of `levels` page-table levels. */
export function mmAlloc(c: Cpu, mm: number, levels: number): void {
  const pgd = allocTable(c, mm, LVL_PGD, 0, levels);
  if (pgd < 0) throw new Error('out of frames for a pgd');
  c.mem.store(mmAddr(c.L, mm, MM_LEVELS), levels);
  c.mem.store(mmAddr(c.L, mm, MM_PGD), pgd);
}

/** crst_table_upgrade() (arch/s390/mm/pgalloc.c): grow an mm to `levels` at run time. A new
 *  top table's first entry points at the old top; then mm->pgd switches and every CPU
 *  flushes. A walker that read the old mm->pgd keeps walking a valid (old) top table.
 *  Caller holds mmap_write_lock. Returns false when out of frames. */
export function crstTableUpgrade(c: Cpu, mm: number, levels: number): boolean {
  const m = c.mem;
  const a = c.arch;
  for (let l = m.load(mmAddr(c.L, mm, MM_LEVELS)) + 1; l <= levels; l++) {
    const old = m.load(mmAddr(c.L, mm, MM_PGD));
    const top = allocTable(c, mm, LVL_PGD, 0, l);
    if (top < 0) return false;
    m.store(frameAddr(c.L, top, 0), a.mkTableEntry(LVL_PGD, old, l));
    spinLock(c, mmAddr(c.L, mm, MM_PTL));
    m.store(mmAddr(c.L, mm, MM_PGD), top);
    m.store(mmAddr(c.L, mm, MM_LEVELS), l);
    spinUnlock(c, mmAddr(c.L, mm, MM_PTL));
    c.strategy.flushTlb(c); // __tlb_flush_mm: every CPU of the mm
  }
  return true;
}
