// mm_struct setup (kernel/fork.c mm_alloc + pgd_alloc).
import { LVL_PGD } from '../arch/arch.js';
import type { Cpu } from '../machine/cpu.js';
import { MM_LEVELS, MM_PGD, mmAddr } from '../machine/layout.js';
import { allocTable } from './page_alloc.js';

/** mm_alloc(): an empty mm of `levels` page-table levels. */
export function mmAlloc(c: Cpu, mm: number, levels: number): void {
  const pgd = allocTable(c, mm, LVL_PGD, 0, levels);
  if (pgd < 0) throw new Error('out of frames for a pgd');
  c.mem.store(mmAddr(c.L, mm, MM_LEVELS), levels);
  c.mem.store(mmAddr(c.L, mm, MM_PGD), pgd);
}
