// x86-64 (arch/x86/include/asm/pgtable.h, pgtable_types.h) on 32-bit emulated entries:
// pfn << 12 | flags, with the kernel's flag bits.
import { type Arch, LVL_PGD, LVL_PMD } from './arch.js';
import { staticLevels } from './levels.js';

const _PAGE_PRESENT = 1 << 0;
const _PAGE_RW = 1 << 1;
const _PAGE_USER = 1 << 2;
const _PAGE_ACCESSED = 1 << 5;
const _PAGE_DIRTY = 1 << 6;
const _PAGE_PSE = 1 << 7;
const _PAGE_PROTNONE = 1 << 8; // shares the GLOBAL bit, as in the kernel
const _PAGE_SPECIAL = 1 << 9;
const _PAGE_TABLE = _PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED | _PAGE_DIRTY;
const PFN_SHIFT = 12;
// swap entries: PRESENT, PSE and PROTNONE clear so that pmd_present() is false
const SWP_TYPE_SHIFT = 1;
const SWP_TYPE_MASK = 0xf;
const SWP_MIGRATION_READ = 14;
const SWP_MIGRATION_WRITE = 15;

/** __pte_access_permitted(): PRESENT|USER, plus RW for a write (pmd_access_permitted too) */
function accessPermitted(v: number, write: boolean): boolean {
  const need = _PAGE_PRESENT | _PAGE_USER | (write ? _PAGE_RW : 0);
  return (v & need) === need;
}

export const x86_64: Arch = {
  name: 'x86-64',
  broadcastFlush: 'paravirt/INVLPGB flushes',
  levelChoices: [4, 5],
  hasPteSpecial: true,
  emptyPte: 0,
  emptyEntry: () => 0,

  pteNone: (pte) => pte === 0,
  ptePresent: (pte) => (pte & (_PAGE_PRESENT | _PAGE_PROTNONE)) !== 0,
  pteProtnone: (pte) => (pte & (_PAGE_PRESENT | _PAGE_PROTNONE)) === _PAGE_PROTNONE,
  pteWrite: (pte) => (pte & _PAGE_RW) !== 0,
  pteSpecial: (pte) => (pte & _PAGE_SPECIAL) !== 0,
  pteAccessPermitted: accessPermitted,
  ptePfn: (pte) => pte >>> PFN_SHIFT,
  mkPte: (pfn, write) => (pfn << PFN_SHIFT) | _PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED | (write ? _PAGE_RW | _PAGE_DIRTY : 0),
  pteWrprotect: (pte) => pte & ~_PAGE_RW,
  pteMkspecial: (pte) => pte | _PAGE_SPECIAL,

  pmdNone: (pmd) => pmd === 0,
  // an invalidated THP keeps PSE and so stays "present" for the kernel
  pmdPresent: (pmd) => (pmd & (_PAGE_PRESENT | _PAGE_PROTNONE | _PAGE_PSE)) !== 0,
  pmdLeaf: (pmd) => (pmd & _PAGE_PSE) !== 0,
  pmdAccessPermitted: accessPermitted,
  pmdWrite: (pmd) => (pmd & _PAGE_RW) !== 0,
  pmdPfn: (pmd) => pmd >>> PFN_SHIFT,
  mkPmdLeaf: (pfn, write) => (pfn << PFN_SHIFT) | _PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED | _PAGE_PSE | (write ? _PAGE_RW | _PAGE_DIRTY : 0),
  pmdMkinvalid: (pmd) => pmd & ~(_PAGE_PRESENT | _PAGE_PROTNONE),

  upperNone: (_level, v) => v === 0,
  upperLeaf: (level, v) => level > LVL_PMD && level < LVL_PGD && (v & _PAGE_PSE) !== 0,

  mkTableEntry: (_level, tablePfn) => (tablePfn << PFN_SHIFT) | _PAGE_TABLE,
  tablePfn: (_level, v) => v >>> PFN_SHIFT,

  mkMigrationEntry: (pfn, write) => (pfn << PFN_SHIFT) | ((write ? SWP_MIGRATION_WRITE : SWP_MIGRATION_READ) << SWP_TYPE_SHIFT),
  isMigrationEntry: (v) => {
    if ((v & (_PAGE_PRESENT | _PAGE_PROTNONE | _PAGE_PSE)) !== 0 || v === 0) return false;
    const t = (v >>> SWP_TYPE_SHIFT) & SWP_TYPE_MASK;
    return t === SWP_MIGRATION_READ || t === SWP_MIGRATION_WRITE;
  },
  swpOffset: (v) => v >>> PFN_SHIFT,

  ...staticLevels,
};
