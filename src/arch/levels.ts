// Page-table geometry shared by every arch here: each level indexes FANOUT_SHIFT bits, and
// an mm with fewer levels than five folds the levels between its top table (the "pgd") and
// the first real one below it (pgtable-nop4d.h; s390's 3-level mm folds p4d and pud).
import { FANOUT_SHIFT } from '../machine/layout.js';
import { LVL_PGD } from './arch.js';

const isFolded = (level: number, mmLevels: number): boolean => level < LVL_PGD && level >= mmLevels;

export function levelShift(level: number, mmLevels: number): number {
  // a folded level shares the shift of the first real level above it (the top)
  return ((level < mmLevels ? level : mmLevels) - 1) * FANOUT_SHIFT;
}

// Integer arithmetic only (no Math.min, no >>> 0): vpns stay below 2^30 (withinReach), so
// every value here is a small integer and the walk's optimized code never leaves int32.
export const staticLevels = {
  index: (level: number, mmLevels: number, vpn: number): number => (vpn >> levelShift(level, mmLevels)) & ((1 << FANOUT_SHIFT) - 1),
  addrEnd: (level: number, mmLevels: number, vpn: number, end: number): number => {
    // pgtable-nop4d.h: a folded level spans the whole range its pgd entry spans
    if (isFolded(level, mmLevels)) return end;
    const span = 1 << levelShift(level, mmLevels);
    const boundary = (vpn + span) & -span;
    return boundary < end ? boundary : end;
  },
  folded: isFolded,
  span: (level: number, mmLevels: number): number => 1 << levelShift(level, mmLevels),
};
