// THP migration entries and __split_huge_pmd_locked() racing with lockless pmd readers, on
// arm64 with the <= 6.9 encoding. Splitting a pmd that holds a migration entry must not call
// pmdp_invalidate(): there pmd_mkinvalid() sets PMD_PRESENT_INVALID, pmd_present() turns
// true, and a lockless reader takes the swap bits for a pfn (3a5a8d343e1c).
import { EV_PMD_LOCKLESS } from '../check/trace.js';
import { checkGotPage, checkPmdLeafPfn, walkCheckTables } from '../check/oracle.js';
import { W_PMD_LOCKLESS, winReaderClose, winReaderOpen, winWiden } from '../check/windows.js';
import type { Cpu } from '../machine/cpu.js';
import { H_READER_OP, H_WRITER_OP } from '../machine/cpu.js';
import { FANOUT, VMA_PRESENT } from '../machine/layout.js';
import { LVL_PMD } from '../arch/arch.js';
import { folioPutRefs, folioRefTryAdd } from '../mm/folio.js';
import {
  migrateFolioCopy, migrationDone, removeMigrationPmd, removeMigrationPtes, setPmdMigrationEntry, splitHugePmdMigration,
} from '../mm/huge_memory.js';
import { mmapPopulate, munmapVma, VM_FAULT_OK } from '../mm/memory.js';
import { mmAlloc } from '../mm/mm.js';
import { MmuGather } from '../mm/mmu_gather.js';
import { allocHugeFolio, folioHead } from '../mm/page_alloc.js';
import { entryOffset, pmdOffsetLockless, pteOffsetOfPmd } from '../mm/pgtable.js';
import { VM_HUGEPAGE, VM_READ, VM_WRITE, vmaAddr, vmaDefine } from '../mm/vma.js';
import { localIrqRestore, localIrqSave } from '../sync/irq.js';
import { type OutcomeDef, defineScenario } from './scenario.js';

const MM = 0;
const BASE = 0x8000;

const READER_OUTCOMES: OutcomeDef[] = [
  { name: 'huge-mapped', expect: 'ACCEPTABLE', doc: 'the pmd was a present huge pmd: got and released the folio' },
  { name: 'migration-entry', expect: 'ACCEPTABLE', doc: 'a pmd migration entry: the reader would wait for the migration (pmd_migration_entry_wait)' },
  { name: 'pte-table', expect: 'ACCEPTABLE', doc: 'a pte table (after a split): read the pte' },
  { name: 'none', expect: 'ACCEPTABLE', doc: 'nothing mapped (between unmap and refault)' },
  { name: 'changed-under-us', expect: 'INTERESTING', doc: 'the pmd changed between the read and the re-check, or the folio was being freed' },
];
const R_HUGE = 0, R_MIGRATION = 1, R_TABLE = 2, R_NONE = 3, R_CHANGED = 4;

const WRITER_OUTCOMES: OutcomeDef[] = [
  { name: 'migrated-pmd', expect: 'ACCEPTABLE', doc: 'migrated a PMD-mapped THP: migration entry, copy, remove_migration_pmd' },
  { name: 'migrated-split', expect: 'INTERESTING', doc: 'split the pmd while it held a migration entry (__split_huge_pmd_locked), then remove_migration_ptes' },
  { name: 'remapped', expect: 'ACCEPTABLE', doc: 'unmapped a pte-mapped range and faulted a THP back in' },
  { name: 'no-memory', expect: 'ACCEPTABLE', doc: 'no free PMD-sized folio to migrate to' },
];
const W_PMD = 0, W_SPLIT = 1, W_REMAP = 2, W_NOMEM = 3;

interface ReaderState {
  pmds: number;
}
interface WriterState {
  pmds: number;
  tlb: MmuGather;
}

/** The lockless part of follow_pmd_mask() / page_vma_mapped_walk(): read the pmd once, trust
 *  pmd_present() and pmd_leaf(), take the folio, re-check the pmd. */
function locklessPmdRead(c: Cpu, vpn: number): number {
  const m = c.mem;
  const a = c.arch;
  c.nrWalk = 0;
  c.walkStamp = m.load(c.gStamp);
  const pmdp = pmdOffsetLockless(c, MM, vpn);
  if (pmdp < 0) return R_NONE;
  winReaderOpen(c, W_PMD_LOCKLESS, vpn);
  const pmd = m.load(pmdp); // pmdp_get_lockless()
  c.trace(EV_PMD_LOCKLESS, vpn, pmd);
  winWiden(c, W_PMD_LOCKLESS);
  let r: number;
  if (a.pmdNone(pmd)) r = R_NONE;
  else if (!a.pmdPresent(pmd)) r = R_MIGRATION;
  else if (a.pmdLeaf(pmd)) {
    const head = a.pmdPfn(pmd); // pmd_folio()
    if (!checkPmdLeafPfn(c, head, vpn, pmd)) r = R_CHANGED;
    else if (!folioRefTryAdd(c, head, 1)) r = R_CHANGED;
    else {
      if (m.load(pmdp) !== pmd) r = R_CHANGED;
      else {
        checkGotPage(c, head + (vpn & (FANOUT - 1)), head, vpn);
        r = R_HUGE;
      }
      folioPutRefs(c, head, 1, vpn);
    }
  } else {
    // __pte_offset_map() from the pmd value we read; pte entries are read once too
    const ptep = pteOffsetOfPmd(c, pmd, vpn);
    const pte = m.load(ptep);
    r = R_TABLE;
    if (a.ptePresent(pte)) {
      const head = folioHead(c.L, a.ptePfn(pte));
      if (folioRefTryAdd(c, head, 1)) {
        if (m.load(ptep) === pte && m.load(pmdp) === pmd) checkGotPage(c, a.ptePfn(pte), head, vpn);
        folioPutRefs(c, head, 1, vpn);
      }
    }
  }
  winReaderClose(c, W_PMD_LOCKLESS);
  return r;
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
  params: { pmds: { value: 4, doc: 'PMD-sized VMAs, each one THP' } },
  windows: { 'pmd.lockless-read': 'split.migration-pmd', 'split.migration-pmd': null },
  bugs: [
    {
      name: 'invalidate-nonpresent',
      doc: '__split_huge_pmd_locked calls pmdp_invalidate on a pmd migration entry: arm64 <= 6.9 makes it "present"',
      fixedBy: '3a5a8d343e1c',
      expectKinds: ['wild-pfn'],
    },
  ],
  detects: ['wild-pfn', 'stale-page', 'pgtable-use-after-free', 'refcount-underflow', 'refcount-leak'],
  scratchWords: 0,

  boot(c, p) {
    mmAlloc(c, MM, p.mmLevels);
    for (let i = 0; i < p.params.pmds; i++) {
      vmaDefine(c.mem, c.L, MM, i, BASE + i * FANOUT, BASE + (i + 1) * FANOUT, VM_READ | VM_WRITE | VM_HUGEPAGE, false);
      if (mmapPopulate(c, MM, i) !== VM_FAULT_OK) throw new Error('split-migration: out of frames');
    }
  },

  reader: {
    outcomes: READER_OUTCOMES,
    init: (_c, p): ReaderState => ({ pmds: p.params.pmds }),
    op(c: Cpu, s: ReaderState) {
      const t0 = c.mem.now();
      const vpn = BASE + (c.mem.random() % (s.pmds * FANOUT));
      localIrqSave(c); // the lockless reader's protection against the tables going away
      const r = locklessPmdRead(c, vpn);
      walkCheckTables(c, vpn);
      localIrqRestore(c);
      c.outcomes[r]++;
      c.hists[H_READER_OP].recordValue(Math.round(c.mem.now() - t0));
    },
  },

  writer: {
    outcomes: WRITER_OUTCOMES,
    init: (_c, p): WriterState => ({ pmds: p.params.pmds, tlb: new MmuGather() }),
    op(c: Cpu, s: WriterState) {
      const m = c.mem;
      const a = c.arch;
      const t0 = m.now();
      const i = m.random() % s.pmds;
      const vpn = BASE + i * FANOUT;
      const pmdp = entryOffset(c, MM, vpn, LVL_PMD, false);
      const pmd = pmdp < 0 ? 0 : m.load(pmdp);
      if (pmdp >= 0 && a.pmdPresent(pmd) && a.pmdLeaf(pmd)) {
        const nhead = allocHugeFolio(c, MM); // the migration target
        if (nhead < 0) {
          c.outcomes[W_NOMEM]++;
          return;
        }
        const head = setPmdMigrationEntry(c, pmdp);
        if (head < 0) {
          folioPutRefs(c, nhead, 1, vpn);
          return;
        }
        migrateFolioCopy(c, nhead, head); // the old folio is unreachable and stable now
        if ((m.random() & 1) === 0) {
          const entry = m.load(pmdp);
          if (removeMigrationPmd(c, pmdp, entry, nhead, vpn)) c.outcomes[W_PMD]++;
        } else {
          const table = splitHugePmdMigration(c, pmdp, vpn);
          if (table >= 0) {
            removeMigrationPtes(c, table, nhead, vpn);
            c.outcomes[W_SPLIT]++;
          }
        }
        migrationDone(c, head, vpn);
      } else if (m.load(vmaAddr(c.L, MM, i, VMA_PRESENT)) === 1) {
        // a pte-mapped THP (or nothing): unmap it, freeing its pte table, then fault a THP in
        munmapVma(c, MM, i, s.tlb, vpn, vpn + FANOUT);
        mmapPopulate(c, MM, i);
        c.outcomes[W_REMAP]++;
      } else {
        mmapPopulate(c, MM, i);
        c.outcomes[W_REMAP]++;
      }
      c.hists[H_WRITER_OP].recordValue(Math.round(m.now() - t0));
    },
  },
});
