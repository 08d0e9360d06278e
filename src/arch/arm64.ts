// arm64 with the encoding of kernels up to 6.9 (arch/arm64/include/asm/pgtable.h,
// pgtable-hwdef.h), mapped onto 32-bit emulated entries. Kernel bit -> our bit:
//   PTE_VALID 0 -> 0, PTE_TABLE_BIT/PTE_TYPE_PAGE 1 -> 1, PTE_SPECIAL 56 -> 2,
//   PTE_PROT_NONE 58 -> 3, PMD_PRESENT_INVALID 59 -> 4, PTE_WRITE (DBM) 51 -> 5,
//   PTE_USER (AP[1]) 6 -> 6, PTE_RDONLY (AP[2]) 7 -> 7, PTE_AF 10 -> 10, pfn -> bits 12+.
// Swap entries: VALID, PROT_NONE and PRESENT_INVALID clear; type in bits 5..9, offset from
// bit 10 (the kernel's offset also starts below the pfn field), so the pfn read from a swap
// entry is offset >> 2: a wild pfn, as on real hardware.
import { type Arch, LVL_PGD, LVL_PMD } from './arch.js';
import { staticLevels } from './levels.js';

const PTE_VALID = 1 << 0;
const PTE_TABLE = 1 << 1; // table descriptor at pgd..pmd, page descriptor at pte level
const PTE_SPECIAL = 1 << 2;
const PTE_PROT_NONE = 1 << 3;
const PMD_PRESENT_INVALID = 1 << 4;
const PTE_WRITE = 1 << 5;
const PTE_USER = 1 << 6;
const PTE_RDONLY = 1 << 7;
const PTE_AF = 1 << 10;
const PFN_SHIFT = 12;
const SWP_TYPE_SHIFT = 5;
const SWP_TYPE_MASK = 0x1f;
const SWP_OFFSET_SHIFT = 10;
const SWP_MIGRATION_READ = 30;
const SWP_MIGRATION_WRITE = 31;

/** pte_present() up to 6.9: VALID or PROT_NONE */
const present = (v: number): boolean => (v & (PTE_VALID | PTE_PROT_NONE)) !== 0;
/** pte_access_permitted(): pte_valid_user() and, for a write, pte_write() */
const accessPermitted = (v: number, write: boolean): boolean =>
  (v & (PTE_VALID | PTE_USER)) === (PTE_VALID | PTE_USER) && (!write || (v & PTE_WRITE) !== 0);
/** pmd_present() up to 6.9: pte_present(pmd_pte(pmd)) || pmd_present_invalid(pmd) */
const pmdPresent = (v: number): boolean => present(v) || (v & PMD_PRESENT_INVALID) !== 0;
const prot = (write: boolean): number => PTE_VALID | PTE_USER | PTE_AF | (write ? PTE_WRITE : PTE_RDONLY);

export const arm64: Arch = {
  name: 'arm64',
  broadcastFlush: 'TLBI broadcasts',
  levelChoices: [4],
  hasPteSpecial: true,
  emptyPte: 0,
  emptyEntry: () => 0,

  pteNone: (pte) => pte === 0,
  ptePresent: present,
  pteProtnone: (pte) => (pte & (PTE_VALID | PTE_PROT_NONE)) === PTE_PROT_NONE,
  pteWrite: (pte) => (pte & PTE_WRITE) !== 0,
  pteSpecial: (pte) => (pte & PTE_SPECIAL) !== 0,
  pteAccessPermitted: accessPermitted,
  ptePfn: (pte) => pte >>> PFN_SHIFT,
  mkPte: (pfn, write) => (pfn << PFN_SHIFT) | PTE_TABLE | prot(write),
  pteWrprotect: (pte) => (pte & ~PTE_WRITE) | PTE_RDONLY,
  pteMkspecial: (pte) => pte | PTE_SPECIAL,

  pmdNone: (pmd) => pmd === 0,
  pmdPresent,
  /** pmd_leaf(): present and not a table: true for a present-invalid migration entry too */
  pmdLeaf: (pmd) => pmdPresent(pmd) && (pmd & PTE_TABLE) === 0,
  pmdAccessPermitted: accessPermitted,
  pmdWrite: (pmd) => (pmd & PTE_WRITE) !== 0,
  pmdPfn: (pmd) => pmd >>> PFN_SHIFT,
  mkPmdLeaf: (pfn, write) => (pfn << PFN_SHIFT) | prot(write),
  /** pmd_mkinvalid() up to 6.9: set PMD_PRESENT_INVALID, clear PMD_SECT_VALID. On a
   *  migration entry this turns swap bits into a "present" leaf (3a5a8d343e1c). */
  pmdMkinvalid: (pmd) => (pmd | PMD_PRESENT_INVALID) & ~PTE_VALID,

  upperNone: (_level, v) => v === 0,
  upperLeaf: (level, v) => level > LVL_PMD && level < LVL_PGD && present(v) && (v & PTE_TABLE) === 0,

  mkTableEntry: (_level, tablePfn) => (tablePfn << PFN_SHIFT) | PTE_VALID | PTE_TABLE,
  tablePfn: (_level, v) => v >>> PFN_SHIFT,

  mkMigrationEntry: (pfn, write) => (pfn << SWP_OFFSET_SHIFT) | ((write ? SWP_MIGRATION_WRITE : SWP_MIGRATION_READ) << SWP_TYPE_SHIFT),
  isMigrationEntry: (v) => {
    if (v === 0 || (v & (PTE_VALID | PTE_PROT_NONE | PMD_PRESENT_INVALID)) !== 0) return false;
    const t = (v >>> SWP_TYPE_SHIFT) & SWP_TYPE_MASK;
    return t === SWP_MIGRATION_READ || t === SWP_MIGRATION_WRITE;
  },
  swpOffset: (v) => v >>> SWP_OFFSET_SHIFT,

  ...staticLevels,
};
