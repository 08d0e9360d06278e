// s390 (arch/s390/include/asm/pgtable.h) on 32-bit emulated entries, pfn << 12 | flags.
// Page-table entries: _PAGE_INVALID 0x400 (an empty pte is 0x400, not 0: a zero pte is a
// valid translation of pfn 0), _PAGE_PROTECT 0x200, _PAGE_PRESENT 0x001 (software),
// _PAGE_WRITE 0x002, _PAGE_SPECIAL 0x040. Region and segment entries: table origin, the
// table type in 0x0c (R1 0x0c, R2 0x08, R3 0x04, segment 0x00), table length 0x03,
// _REGION_ENTRY_INVALID / _SEGMENT_ENTRY_INVALID 0x20, _SEGMENT_ENTRY_LARGE 0x400.
// mms have 3, 4 or 5 levels: the top table is an R3, R2 or R1 table. Tables have 64
// entries here (2048 region/segment and 256 pte entries in the kernel; consistent sizes).
import { type Arch, LVL_PGD, LVL_PMD } from './arch.js';
import { staticLevels } from './levels.js';

const _PAGE_PRESENT = 0x001;
const _PAGE_WRITE = 0x002;
const _PAGE_YOUNG = 0x004;
const _PAGE_SPECIAL = 0x040;
const _PAGE_PROTECT = 0x200;
const _PAGE_INVALID = 0x400;
const _REGION_ENTRY_TL = 0x03;
const _REGION_ENTRY_INVALID = 0x20;
const _SEGMENT_ENTRY_INVALID = 0x20;
const _SEGMENT_ENTRY_EMPTY = _SEGMENT_ENTRY_INVALID;
const _SEGMENT_ENTRY_LARGE = 0x400;
const _SEGMENT_ENTRY_WRITE = 0x002;
const _SEGMENT_ENTRY_PROTECT = 0x200;
const PFN_SHIFT = 12;
// swap ptes: _PAGE_INVALID | _PAGE_PROTECT, type in bits 1..5
const SWP_TYPE_SHIFT = 1;
const SWP_TYPE_MASK = 0x1f;
const SWP_MIGRATION_READ = 30;
const SWP_MIGRATION_WRITE = 31;

/** _REGION_ENTRY_TYPE_R3/R2/R1 of a table at our level `level` in an mm of mmLevels. */
function regionType(level: number, mmLevels: number): number {
  return (Math.min(level, mmLevels) - 2) << 2; // 3 -> R3 0x04, 4 -> R2 0x08, 5 -> R1 0x0c
}

export const s390: Arch = {
  name: 's390',
  broadcastFlush: 'IDTE/IPTE broadcasts',
  levelChoices: [3, 4, 5],
  levelsOfTop: (topEntry) => ((topEntry & 0x0c) >> 2) + 2, // R3 -> 3, R2 -> 4, R1 -> 5
  hasPteSpecial: true,
  emptyPte: _PAGE_INVALID,
  emptyEntry: (level, mmLevels) => (level === LVL_PMD ? _SEGMENT_ENTRY_EMPTY : regionType(level, mmLevels) | _REGION_ENTRY_INVALID),

  pteNone: (pte) => pte === _PAGE_INVALID,
  ptePresent: (pte) => (pte & _PAGE_PRESENT) !== 0,
  pteProtnone: (pte) => (pte & (_PAGE_PRESENT | _PAGE_INVALID)) === (_PAGE_PRESENT | _PAGE_INVALID) && (pte & _PAGE_PROTECT) !== 0,
  pteWrite: (pte) => (pte & _PAGE_WRITE) !== 0,
  pteSpecial: (pte) => (pte & _PAGE_SPECIAL) !== 0,
  // every user pte is user-accessible on s390; present, valid for the MMU, and writable for a write
  pteAccessPermitted: (pte, write) => (pte & (_PAGE_PRESENT | _PAGE_INVALID)) === _PAGE_PRESENT && (!write || (pte & _PAGE_WRITE) !== 0),
  ptePfn: (pte) => pte >>> PFN_SHIFT,
  mkPte: (pfn, write) => (pfn << PFN_SHIFT) | _PAGE_PRESENT | _PAGE_YOUNG | (write ? _PAGE_WRITE : _PAGE_PROTECT),
  pteWrprotect: (pte) => (pte & ~_PAGE_WRITE) | _PAGE_PROTECT,
  pteMkspecial: (pte) => pte | _PAGE_SPECIAL,

  pmdNone: (pmd) => pmd === _SEGMENT_ENTRY_EMPTY,
  pmdPresent: (pmd) => pmd !== _SEGMENT_ENTRY_EMPTY,
  pmdLeaf: (pmd) => pmd !== _SEGMENT_ENTRY_EMPTY && (pmd & _SEGMENT_ENTRY_LARGE) !== 0,
  pmdAccessPermitted: (pmd, write) => (pmd & _SEGMENT_ENTRY_INVALID) === 0 && (!write || (pmd & _SEGMENT_ENTRY_WRITE) !== 0),
  pmdWrite: (pmd) => (pmd & _SEGMENT_ENTRY_WRITE) !== 0,
  pmdPfn: (pmd) => pmd >>> PFN_SHIFT,
  mkPmdLeaf: (pfn, write) => (pfn << PFN_SHIFT) | _SEGMENT_ENTRY_LARGE | (write ? _SEGMENT_ENTRY_WRITE : _SEGMENT_ENTRY_PROTECT),
  pmdMkinvalid: (pmd) => pmd | _SEGMENT_ENTRY_INVALID,

  // pud_none() & co: the entry is the empty entry of its table (invalid, no origin)
  upperNone: (_level, v) => (v & _REGION_ENTRY_INVALID) !== 0 && v >>> PFN_SHIFT === 0,
  upperLeaf: (level, v) => level > LVL_PMD && level < LVL_PGD && (v & _REGION_ENTRY_INVALID) === 0 && (v & _SEGMENT_ENTRY_LARGE) !== 0,

  mkTableEntry: (level, tablePfn, mmLevels) => (level === LVL_PMD ? tablePfn << PFN_SHIFT : (tablePfn << PFN_SHIFT) | regionType(level, mmLevels) | _REGION_ENTRY_TL),
  tablePfn: (_level, v) => v >>> PFN_SHIFT,

  mkMigrationEntry: (pfn, write) => (pfn << PFN_SHIFT) | _PAGE_INVALID | _PAGE_PROTECT | ((write ? SWP_MIGRATION_WRITE : SWP_MIGRATION_READ) << SWP_TYPE_SHIFT),
  isMigrationEntry: (v) => {
    if ((v & (_PAGE_INVALID | _PAGE_PROTECT | _PAGE_PRESENT)) !== (_PAGE_INVALID | _PAGE_PROTECT)) return false;
    const t = (v >>> SWP_TYPE_SHIFT) & SWP_TYPE_MASK;
    return t === SWP_MIGRATION_READ || t === SWP_MIGRATION_WRITE;
  },
  swpOffset: (v) => v >>> PFN_SHIFT,

  ...staticLevels,
};
