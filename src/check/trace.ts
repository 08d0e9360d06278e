// A CPU's trace ring: the last TRACE_LEN events it passed, kept in CPU-local memory
// (not emulated memory: recording costs three plain stores), dumped with a violation.
export const TRACE_LEN = 32;

export const EV_NAMES = [
  'none',
  'gup_fast_fallback(vpn, nr)',
  'local_irq_save',
  'READ_ONCE(*pmdp)(vpn, pmd)',
  'ptep_get_lockless(vpn, pte)',
  'try_grab_folio_fast(pfn)',
  'gup re-check failed(vpn, now)',
  'local_irq_restore(nr)',
  'ptep_clear_flush(vpn, pte)',
  'write_protect_page refcount check(pfn, refcount)',
  'set_pte_at(vpn, pte)',
  'replace_page(vpn, kpfn)',
  'pmd_clear/pud_clear(vpn, table pfn)',
  'flush_tlb_mm_range',
  'free table(pfn, gen)',
  'tlb_finish_mmu(pages, tables)',
  'gup slow path(vpn, nr)',
  'dma write(pfn, token)',
  'unpin_user_page(pfn)',
  'verify through mapping(vpn, slot value)',
  'mmap populate(vpn, huge)',
  'READ_ONCE(*pudp)(vpn, pud)',
  'gup_fast_pmd_leaf(vpn, pmd)',
  'sync selftest(obj, step)',
  '__split_huge_pmd_locked(vpn, pmd)',
  'set_pmd_migration_entry(pfn, on)',
  'lockless pmd read(vpn, pmd)',
] as const;

export const EV_GUP = 1;
export const EV_IRQ_SAVE = 2;
export const EV_PMD = 3;
export const EV_PTE = 4;
export const EV_GRAB = 5;
export const EV_RECHECK_FAIL = 6;
export const EV_IRQ_RESTORE = 7;
export const EV_CLEAR_FLUSH = 8;
export const EV_KSM_CHECK = 9;
export const EV_SET_PTE = 10;
export const EV_REPLACE = 11;
export const EV_UNLINK = 12;
export const EV_FLUSH = 13;
export const EV_FREE_TABLE = 14;
export const EV_TLB_FINISH = 15;
export const EV_GUP_SLOW = 16;
export const EV_DMA = 17;
export const EV_UNPIN = 18;
export const EV_VERIFY = 19;
export const EV_POPULATE = 20;
export const EV_PUD = 21;
export const EV_PMD_LEAF = 22;
export const EV_SYNC = 23;
export const EV_SPLIT = 24;
export const EV_MIGRATION = 25;
export const EV_PMD_LOCKLESS = 26;
