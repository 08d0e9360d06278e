// THP migration entries and __split_huge_pmd_locked() racing with lockless pmd readers, on
// arm64 with the <= 6.9 encoding. Splitting a pmd that holds a migration entry must not call
// pmdp_invalidate(): there pmd_mkinvalid() sets PMD_PRESENT_INVALID, pmd_present() turns
// true, and a lockless reader takes the swap bits for a pfn (3a5a8d343e1c).
import { LVL_PMD } from '../arch/arch.js';
import { V_REFCOUNT_LEAK } from '../check/accounting.js';
import { V_PGTABLE_UAF, V_STALE_PAGE, V_WILD_PFN, walkCheckTables } from '../check/oracle.js';
import type { Cpu } from '../machine/cpu.js';
import { FANOUT, MAX_VMAS, VMA_PRESENT } from '../machine/layout.js';
import { V_REFCOUNT_UNDERFLOW } from '../mm/folio.js';
import { W_SPLIT_INVALIDATE } from '../mm/huge_memory.js';
import { mmapPmdRanges, mmapPopulate, munmapVma } from '../mm/memory.js';
import { MIGRATE_NOMEM, MIGRATE_PMD, MIGRATE_RACED, MIGRATE_SPLIT, migrateHugePmd } from '../mm/migrate.js';
import { mmAlloc } from '../mm/mm.js';
import { MmuGather } from '../mm/mmu_gather.js';
import { PMD_READ_CHANGED, PMD_READ_HUGE, PMD_READ_MIGRATION, PMD_READ_NONE, PMD_READ_TABLE, W_PMD_LOCKLESS, pmdReadLockless } from '../mm/page_vma_mapped.js';
import { entryOffset } from '../mm/pgtable.js';
import { VM_HUGEPAGE, VM_READ, VM_WRITE, vmaAddr } from '../mm/vma.js';
import { localIrqRestore, localIrqSave } from '../sync/irq.js';
import { defineScenario } from './scenario.js';

const MM = 0;
const BASE = 0x8000;

const READ_OUTCOME = {
  [PMD_READ_HUGE]: 'huge-mapped',
  [PMD_READ_MIGRATION]: 'migration-entry',
  [PMD_READ_TABLE]: 'pte-table',
  [PMD_READ_NONE]: 'none',
  [PMD_READ_CHANGED]: 'changed-under-us',
} as const;
const MIGRATE_OUTCOME = {
  [MIGRATE_PMD]: 'migrated-pmd',
  [MIGRATE_SPLIT]: 'migrated-split',
  [MIGRATE_NOMEM]: 'no-memory',
  [MIGRATE_RACED]: 'migration-raced',
} as const;

interface WriterState {
  pmds: number;
  tlb: MmuGather;
}

export const splitMigration = defineScenario({
  id: 'split-migration',
  title: 'THP migration entries + __split_huge_pmd_locked vs lockless pmd readers (arm64 <= 6.9)',
  seed: 'split vs GUP-fast (2024, commit 3a5a8d343e1c)',
  commits: ['3a5a8d343e1c mm: huge_memory: don\'t call pmdp_invalidate on a non-present pmd'],
  selftest: false,
  arches: ['arm64'],
  strategies: ['rcu', 'ipi'],
  defaultStrategy: 'rcu',
  defaults: { readers: 1, writers: 1, frames: 2048, huge: 24, widen: { 'split.migration-pmd': '2us', 'pmd.lockless-read': '1us' } },
  params: { pmds: { value: 4, min: 1, max: MAX_VMAS, doc: 'PMD-sized VMAs, each one THP (one VMA each: an mm holds MAX_VMAS)' } },
  windows: [[W_PMD_LOCKLESS, W_SPLIT_INVALIDATE], W_SPLIT_INVALIDATE],
  bugs: {
    'invalidate-nonpresent': {
      doc: '__split_huge_pmd_locked calls pmdp_invalidate on a pmd migration entry: arm64 <= 6.9 makes it "present"',
      changes: '__split_huge_pmd_locked',
      fixedBy: '3a5a8d343e1c',
      expectKinds: [V_WILD_PFN],
    },
  },
  // one migrating writer: two would migrate, unmap and refault the same THP at once, which
  // the kernel serializes (folio lock, mmap_lock) and this writer does not
  maxWriters: 1,
  detects: [V_WILD_PFN, V_STALE_PAGE, V_PGTABLE_UAF, V_REFCOUNT_UNDERFLOW, V_REFCOUNT_LEAK],

  boot(c, p) {
    mmAlloc(c, MM, p.mmLevels);
    mmapPmdRanges(c, MM, BASE, p.params.pmds, VM_READ | VM_WRITE | VM_HUGEPAGE);
  },

  reader: {
    outcomes: {
      'huge-mapped': { expect: 'ACCEPTABLE', doc: 'the pmd was a present huge pmd: got and released the folio' },
      'migration-entry': { expect: 'ACCEPTABLE', doc: 'a pmd migration entry: the reader would wait for the migration (pmd_migration_entry_wait)' },
      'pte-table': { expect: 'ACCEPTABLE', doc: 'a pte table (after a split): read the pte' },
      none: { expect: 'ACCEPTABLE', doc: 'nothing mapped (between unmap and refault)' },
      'changed-under-us': { expect: 'INTERESTING', doc: 'the pmd changed between the read and the re-check, or the folio was being freed' },
    },
    init: (_c, p) => ({ pmds: p.params.pmds }),
    op(c: Cpu, s: { pmds: number }) {
      const vpn = BASE + (c.mem.random() % (s.pmds * FANOUT));
      localIrqSave(c); // the lockless reader's protection against the tables going away
      const r = pmdReadLockless(c, MM, vpn);
      walkCheckTables(c, vpn);
      localIrqRestore(c);
      return READ_OUTCOME[r as keyof typeof READ_OUTCOME];
    },
  },

  writer: {
    outcomes: {
      'migrated-pmd': { expect: 'ACCEPTABLE', doc: 'migrated a PMD-mapped THP: migration entry, copy, remove_migration_pmd' },
      'migrated-split': { expect: 'INTERESTING', doc: 'split the pmd while it held a migration entry (__split_huge_pmd_locked), then remove_migration_ptes' },
      'migration-raced': { expect: 'ACCEPTABLE', doc: 'the pmd changed before the migration entry was set, or the entry was gone at the split: nothing migrated' },
      remapped: { expect: 'ACCEPTABLE', doc: 'unmapped a pte-mapped range and faulted a THP back in' },
      'no-memory': { expect: 'ACCEPTABLE', doc: 'no free PMD-sized folio to migrate to' },
    },
    init: (_c, p): WriterState => ({ pmds: p.params.pmds, tlb: new MmuGather() }),
    op(c: Cpu, s: WriterState) {
      const m = c.mem;
      const a = c.arch;
      const i = m.random() % s.pmds;
      const vpn = BASE + i * FANOUT;
      const pmdp = entryOffset(c, MM, vpn, LVL_PMD, false);
      const pmd = pmdp < 0 ? 0 : m.load(pmdp);
      if (pmdp >= 0 && a.pmdPresent(pmd) && a.pmdLeaf(pmd)) {
        return MIGRATE_OUTCOME[migrateHugePmd(c, MM, pmdp, vpn, (m.random() & 1) !== 0) as keyof typeof MIGRATE_OUTCOME];
      }
      // a pte-mapped THP (or nothing): unmap it, freeing its pte table, then fault a THP in
      if (m.load(vmaAddr(c.L, MM, i, VMA_PRESENT)) === 1) munmapVma(c, MM, i, s.tlb, vpn, vpn + FANOUT);
      mmapPopulate(c, MM, i);
      return 'remapped';
    },
  },
});
