// Page-table geometry shared by arches whose folding is static per mm (x86-64's
// pgtable_l5_enabled, arm64's CONFIG_PGTABLE_LEVELS): every level indexes FANOUT_SHIFT bits
// and a missing p4d is folded into the pgd (pgtable-nop4d.h).
import { FANOUT_SHIFT } from '../machine/layout.js';
import { LVL_P4D } from './arch.js';

export function levelShift(level: number, mmLevels: number): number {
  // a folded level shares the shift of the first real level above it (the top)
  return (Math.min(level, mmLevels) - 1) * FANOUT_SHIFT;
}

export const staticLevels = {
  index: (level: number, mmLevels: number, vpn: number): number => (vpn >>> levelShift(level, mmLevels)) & ((1 << FANOUT_SHIFT) - 1),
  addrEnd: (level: number, mmLevels: number, vpn: number, end: number): number => {
    // pgtable-nop4d.h: a folded p4d spans the whole range its pgd entry spans
    if (level === LVL_P4D && mmLevels < 5) return end;
    const span = 1 << levelShift(level, mmLevels);
    const boundary = ((vpn + span) & ~(span - 1)) >>> 0;
    return boundary - 1 < end - 1 ? boundary : end;
  },
  folded: (level: number, mmLevels: number): boolean => level === LVL_P4D && mmLevels < 5,
  span: (level: number, mmLevels: number): number => 1 << levelShift(level, mmLevels),
};
