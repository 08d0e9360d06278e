// The arch layer: the helpers of include/linux/pgtable.h that the model needs, as one
// interface. Generic code in mm/ never looks at a bit of an entry: it asks the arch.
// Entries are 32-bit emulated values; the predicates are the kernel's.
//
// Levels are numbered by the table an entry lives in: 1 = pte table, 2 = pmd table,
// 3 = pud table, 4 = p4d table, 5 = pgd. An mm with fewer levels folds the missing
// ones (pgtable-nop4d.h): pXdOffsetLockless returns the parent pointer for them.

export type ArchName = 'x86-64' | 'arm64' | 's390';
export const ARCH_NAMES: readonly ArchName[] = ['x86-64', 'arm64', 's390'];

export const LVL_PTE = 1;
export const LVL_PMD = 2;
export const LVL_PUD = 3;
export const LVL_P4D = 4;
export const LVL_PGD = 5;

export interface Arch {
  readonly name: ArchName;
  /** the TLB flush that waits for no CPU (the rcu strategies' flush), as this arch calls it */
  readonly broadcastFlush: string;
  /** Page-table depths an mm of this arch may have (x86-64: 4 or 5, pgtable_l5_enabled). */
  readonly levelChoices: readonly number[];
  /** s390's pgd_offset_raw(): an mm's depth read from its top table's entry type (it can
   *  grow at run time, crst_table_upgrade). Absent: the depth is fixed per mm. */
  levelsOfTop?(topEntry: number): number;
  /** CONFIG_ARCH_HAS_PTE_SPECIAL: without it gup_fast_pte_range returns 0 at once. */
  readonly hasPteSpecial: boolean;
  /** The value of an empty pte: what pte_clear() writes (0 on x86-64). */
  readonly emptyPte: number;
  /** The value of an empty entry of `level` (pmd_clear(), pud_clear() ...) in an mm of
   *  mmLevels levels: 0 on x86-64 and arm64; on s390 it carries the table's type. */
  emptyEntry(level: number, mmLevels: number): number;

  /** pte_none(): the entry maps nothing and is not a swap entry. */
  pteNone(pte: number): boolean;
  /** pte_present(): the entry maps a page (protnone included). */
  ptePresent(pte: number): boolean;
  /** pte_protnone(): present for the kernel, not accessible (NUMA hinting). */
  pteProtnone(pte: number): boolean;
  /** pte_write() */
  pteWrite(pte: number): boolean;
  /** pte_special(): no struct page refcount behind it (only where hasPteSpecial). */
  pteSpecial(pte: number): boolean;
  /** pte_access_permitted(pte, write): may a user access of this kind go through? */
  pteAccessPermitted(pte: number, write: boolean): boolean;
  /** pte_pfn() */
  ptePfn(pte: number): number;
  /** pfn_pte(pfn, prot): a present user pte; writable or read-only. */
  mkPte(pfn: number, write: boolean): number;
  /** pte_wrprotect() */
  pteWrprotect(pte: number): number;
  /** pte_mkspecial() */
  pteMkspecial(pte: number): number;

  /** pmd_none() */
  pmdNone(pmd: number): boolean;
  /** pmd_present(): true for an invalidated (pmdp_invalidate) huge pmd too. */
  pmdPresent(pmd: number): boolean;
  /** pmd_leaf(): a present huge (block) mapping. */
  pmdLeaf(pmd: number): boolean;
  /** pmd_access_permitted(pmd, write) */
  pmdAccessPermitted(pmd: number, write: boolean): boolean;
  /** pmd_write() */
  pmdWrite(pmd: number): boolean;
  /** pmd_pfn(): first pfn of a leaf */
  pmdPfn(pmd: number): number;
  /** pmd_mkhuge(pfn_pmd(pfn, prot)) */
  mkPmdLeaf(pfn: number, write: boolean): number;
  /** pmd_mkinvalid(): invalidates a present PMD; do not call for a non-present one. */
  pmdMkinvalid(pmd: number): number;

  /** pud_none() / p4d_none() / pgd_none() */
  upperNone(level: number, v: number): boolean;
  /** pud_leaf() and friends (we never map a huge pud; the walker still checks). */
  upperLeaf(level: number, v: number): boolean;

  /** pmd_populate() / pud_populate() / p4d_populate() / pgd_populate(): entry pointing at a table. */
  mkTableEntry(level: number, tablePfn: number, mmLevels: number): number;
  /** pmd_pgtable() / pud_pgtable() ...: pfn of the table an entry points at (no check). */
  tablePfn(level: number, v: number): number;

  /** make_migration_entry() + swp_entry_to_pte(): a non-present entry carrying a pfn. */
  mkMigrationEntry(pfn: number, write: boolean): number;
  /** is_migration_entry(pte_to_swp_entry()) for a non-present, non-none entry */
  isMigrationEntry(v: number): boolean;
  /** swp_offset() */
  swpOffset(v: number): number;

  /** pXd_index(): index of vpn in a table of `level` for an mm of `mmLevels`. */
  index(level: number, mmLevels: number, vpn: number): number;
  /** pXd_addr_end(addr, end) in pages: the end of this entry's span, capped at end. */
  addrEnd(level: number, mmLevels: number, vpn: number, end: number): number;
  /** Is `level` folded away in an mm of mmLevels levels? */
  folded(level: number, mmLevels: number): boolean;
  /** Pages one entry of `level` spans in an mm of `mmLevels`. */
  span(level: number, mmLevels: number): number;
}

/** The arch without CONFIG_ARCH_HAS_PTE_SPECIAL (a configuration a scenario may model):
 *  no special bit, so generic code must tell pfn mappings apart by other means. */
export function withoutPteSpecial(a: Arch): Arch {
  return { ...a, hasPteSpecial: false, pteSpecial: () => false, pteMkspecial: (pte: number) => pte };
}
