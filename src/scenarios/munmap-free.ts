// munmap and re-mmap of whole VMAs, their pte and pmd tables freed through mmu_gather,
// racing with GUP-fast readers over the same ranges. The strategy decides how the free
// waits for walkers (IPI flush, call_rcu, synchronize_rcu); the bug frees without waiting.
import type { Cpu } from '../machine/cpu.js';
import { H_READER_OP, H_WRITER_OP } from '../machine/cpu.js';
import { FANOUT, VMA_PRESENT } from '../machine/layout.js';
import { FOLL_GET } from '../mm/folio.js';
import { GUP_FAST_OK, GUP_FAST_RECHECK, GUP_FAST_REFZERO, GUP_FAST_TABLE_GONE, getUserPagesFast, putUserPages } from '../mm/gup.js';
import { mmapPopulate, munmapVma, VM_FAULT_OK } from '../mm/memory.js';
import { mmAlloc } from '../mm/mm.js';
import { MmuGather } from '../mm/mmu_gather.js';
import { VM_HUGEPAGE, VM_READ, VM_WRITE, vmaAddr, vmaDefine } from '../mm/vma.js';
import { type OutcomeDef, defineScenario } from './scenario.js';

const MM = 0;
const PUD_SPAN = FANOUT * FANOUT;

const READER_OUTCOMES: OutcomeDef[] = [
  { name: 'fast-ok', expect: 'ACCEPTABLE', doc: 'GUP-fast got every page' },
  { name: 'fast-retry-pte-changed', expect: 'INTERESTING', doc: 'the re-check after the reference saw the pte/pmd change under it' },
  { name: 'fast-refcount-zero', expect: 'INTERESTING', doc: 'a page being freed refused the reference' },
  { name: 'slow-ok', expect: 'ACCEPTABLE', doc: 'GUP-fast stopped short; the slow path got the rest' },
  { name: 'slow-efault', expect: 'ACCEPTABLE', doc: 'the range was unmapped: -EFAULT' },
  { name: 'walked-freed-table', expect: 'FORBIDDEN', doc: 'the walker entered a table frame that had been freed' },
];
const R_FAST = 0, R_RECHECK = 1, R_REFZERO = 2, R_SLOW = 3, R_EFAULT = 4, R_FREED = 5;

const WRITER_OUTCOMES: OutcomeDef[] = [
  { name: 'munmap', expect: 'ACCEPTABLE', doc: 'unmapped a VMA and freed its pte and pmd tables' },
  { name: 'mmap-populate', expect: 'ACCEPTABLE', doc: 'mapped a VMA again and faulted it in (THP where eligible)' },
  { name: 'populate-short', expect: 'INTERESTING', doc: 'the populate stopped early (out of frames, or unmapped again meanwhile)' },
];
const W_MUNMAP = 0, W_MMAP = 1, W_SHORT = 2;

interface ReaderState {
  vmas: number;
  vmaPages: number;
  maxNr: number;
}
interface WriterState {
  vmas: number;
  vmaPages: number;
  tlb: MmuGather;
}

function vmaBase(i: number): number {
  return (i + 1) * PUD_SPAN; // each VMA alone under its pud: free_pgtables frees its pmd table
}

export const munmapFree = defineScenario({
  id: 'munmap-free',
  title: 'munmap / free_pgtables through mmu_gather vs GUP-fast',
  seed: 'Why page tables do not vanish under the walker (IPI vs MMU_GATHER_RCU_TABLE_FREE)',
  commits: ['mm/mmu_gather.c tlb_remove_table (RCU table free)', 'arch/x86 native_flush_tlb_multi (IPI)'],
  selftest: false,
  arches: ['x86-64', 'arm64', 's390'],
  strategies: ['ipi', 'rcu', 'rcu-sync', 'rcu-exp'],
  defaultStrategy: 'ipi',
  defaults: { readers: 1, writers: 1, frames: 8192, huge: 16, widen: { 'gup.pin-recheck': '1us' } },
  params: {
    vmas: { value: 4, doc: 'VMAs, each alone under its own pud' },
    pmds: { value: 2, doc: 'pmd ranges per VMA (the first ones THP-eligible in even VMAs)' },
    nr: { value: 8, doc: 'largest GUP request in pages' },
  },
  windows: { 'gup.walk': 'munmap.unlink-free', 'gup.pin-recheck': null, 'munmap.unlink-free': null },
  bugs: [
    {
      name: 'free-before-sync',
      doc: 'free the page tables right after pmd_clear/pud_clear, without the flush or grace period',
      expectKinds: ['pgtable-use-after-free'],
    },
  ],
  detects: ['pgtable-use-after-free', 'stale-page', 'wild-pfn', 'refcount-underflow', 'refcount-leak'],
  scratchWords: 0,

  boot(c, p) {
    mmAlloc(c, MM, p.mmLevels);
    const pages = p.params.pmds * FANOUT;
    for (let i = 0; i < p.params.vmas; i++) {
      const flags = VM_READ | VM_WRITE | (i % 2 === 0 ? VM_HUGEPAGE : 0);
      vmaDefine(c.mem, c.L, MM, i, vmaBase(i), vmaBase(i) + pages, flags, false);
      if (mmapPopulate(c, MM, i) !== VM_FAULT_OK) throw new Error('munmap-free: out of frames populating the VMAs');
    }
  },

  reader: {
    outcomes: READER_OUTCOMES,
    init: (_c, p): ReaderState => ({ vmas: p.params.vmas, vmaPages: p.params.pmds * FANOUT, maxNr: p.params.nr }),
    op(c: Cpu, s: ReaderState) {
      const m = c.mem;
      const t0 = m.now();
      const nr = 1 + (m.random() % s.maxNr);
      const start = vmaBase(m.random() % s.vmas) + (m.random() % (s.vmaPages - nr + 1));
      const n = getUserPagesFast(c, MM, start, nr, FOLL_GET);
      const r = c.gupFastReason;
      if (r === GUP_FAST_RECHECK) c.outcomes[R_RECHECK]++;
      else if (r === GUP_FAST_REFZERO) c.outcomes[R_REFZERO]++;
      else if (r === GUP_FAST_TABLE_GONE) c.outcomes[R_FREED]++;
      if (r === GUP_FAST_OK) c.outcomes[R_FAST]++;
      else c.outcomes[n === nr ? R_SLOW : R_EFAULT]++;
      putUserPages(c, n, FOLL_GET, start);
      c.hists[H_READER_OP].recordValue(Math.round(m.now() - t0));
    },
  },

  writer: {
    outcomes: WRITER_OUTCOMES,
    init: (_c, p): WriterState => ({ vmas: p.params.vmas, vmaPages: p.params.pmds * FANOUT, tlb: new MmuGather() }),
    op(c: Cpu, s: WriterState) {
      const t0 = c.mem.now();
      const i = c.mem.random() % s.vmas;
      // an unlocked peek: two writers may both act on one VMA, which the mm code handles
      if (c.mem.load(vmaAddr(c.L, MM, i, VMA_PRESENT)) === 1) {
        // the neighbours' bounds: nothing else lives under this VMA's pud
        munmapVma(c, MM, i, s.tlb, vmaBase(i), vmaBase(i) + PUD_SPAN);
        c.outcomes[W_MUNMAP]++;
      } else {
        const r = mmapPopulate(c, MM, i);
        c.outcomes[r === VM_FAULT_OK ? W_MMAP : W_SHORT]++;
      }
      c.hists[H_WRITER_OP].recordValue(Math.round(c.mem.now() - t0));
    },
  },
});
