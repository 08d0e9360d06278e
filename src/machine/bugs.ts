// Historical bugs are switches, not forks: each flag changes one step of the fixed
// protocol at the place the kernel changed it. Scenarios declare which names they accept.
export class Bugs {
  /** munmap-free: free page tables right after unlinking them, before the flush / grace period */
  freeBeforeSync = false;
  /** ksm-merge: write_protect_page checks the refcount before ptep_clear_flush */
  ksmCheckBeforeClear = false;
  /** gup_fast_pte_range skips the pte (and pmd) re-check after taking the reference */
  gupNoRecheck = false;
  /** split-migration: __split_huge_pmd_locked calls pmdp_invalidate on a migration entry */
  invalidateNonpresent = false;
  /** fork-cow: GUP-fast with FOLL_PIN ignores mm->write_protect_seq */
  noWriteProtectSeq = false;
  /** thp-collapse: gup_fast_pte_range re-checks the pte but not the pmd (before 70cbc3cc78a9) */
  gupNoPmdRecheck = false;
  /** thp-collapse: collapse_huge_page skips tlb_remove_table_sync_one (before 2ba99c5e0881) */
  collapseNoIpi = false;
  /** thp-collapse: __collapse_huge_page_isolate checks the refcounts before pmdp_collapse_flush */
  isolateBeforeFlush = false;
  /** pfnmap-special: GUP-fast walks ptes on an arch without pte_special */
  gupfastWithoutPteSpecial = false;
  /** pfnmap-special: a driver inserts pfns at fault time into a COW VM_PFNMAP mapping */
  faultInsertCowPfnmap = false;
  /** retract-pgtable: pte_free_defer frees the table at once, without RCU */
  freeWithoutRcu = false;
  /** retract-pgtable: the detached table is not emptied first: its ptes are cleared to a
   *  literal 0 after pmdp_collapse_flush (and 0 is not an empty pte on s390) */
  detachedNotEmpty = false;
  /** retract-pgtable: pte_offset_map_lock skips the pmd_same() re-check after taking the ptl */
  lockNoPmdSame = false;
  /** s390-folding: GUP-fast walks folded levels through its stack copy of the entry above
   *  (pud_offset(&p4d_copy)) with static pXd_addr_end (before d3f7b1bb2040) */
  stackCopyWalk = false;
  /** selftest: synchronize_rcu / expedited / call_rcu do not wait for readers */
  rcuNoWait = false;
  /** selftest: the IPI broadcast does not wait for irq-off CPUs to acknowledge */
  ipiNoWait = false;
  /** selftest: the lock selftest skips spin_lock / down_write around its critical sections */
  lockNone = false;
}

export const BUG_FIELDS: Record<string, keyof Bugs> = {
  'free-before-sync': 'freeBeforeSync',
  'ksm-check-before-clear': 'ksmCheckBeforeClear',
  'gup-no-recheck': 'gupNoRecheck',
  'invalidate-nonpresent': 'invalidateNonpresent',
  'no-write-protect-seq': 'noWriteProtectSeq',
  'gup-no-pmd-recheck': 'gupNoPmdRecheck',
  'collapse-no-ipi': 'collapseNoIpi',
  'isolate-before-flush': 'isolateBeforeFlush',
  'gupfast-without-pte-special': 'gupfastWithoutPteSpecial',
  'fault-insert-cow-pfnmap': 'faultInsertCowPfnmap',
  'free-without-rcu': 'freeWithoutRcu',
  'detached-not-empty': 'detachedNotEmpty',
  'lock-no-pmd-same': 'lockNoPmdSame',
  'stack-copy-walk': 'stackCopyWalk',
  'rcu-no-wait': 'rcuNoWait',
  'ipi-no-wait': 'ipiNoWait',
  'lock-none': 'lockNone',
};

export function bugsFrom(names: readonly string[]): Bugs {
  const b = new Bugs();
  for (const n of names) {
    const f = BUG_FIELDS[n];
    if (f === undefined) throw new Error(`unknown bug switch ${n}`);
    b[f] = true;
  }
  return b;
}
