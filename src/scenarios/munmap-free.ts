// munmap and re-mmap of whole VMAs, their pte and pmd tables freed through mmu_gather,
// racing with GUP-fast readers over the same ranges. The strategy decides how the free
// waits for walkers (IPI flush, call_rcu, synchronize_rcu); the bug frees without waiting.
import { V_PGTABLE_UAF, V_STALE_PAGE, V_WILD_PFN } from '../check/oracle.js';
import { V_REFCOUNT_LEAK } from '../check/accounting.js';
import type { Cpu } from '../machine/cpu.js';
import { FANOUT, MAX_VMAS, VMA_PRESENT } from '../machine/layout.js';
import { V_REFCOUNT_UNDERFLOW } from '../mm/folio.js';
import { GUP_MAX } from '../machine/cpu.js';
import { W_GUP_PIN_RECHECK, W_GUP_WALK } from '../mm/gup.js';
import { W_MUNMAP_UNLINK_FREE, mmapPopulate, munmapVma, VM_FAULT_OK } from '../mm/memory.js';
import { mmAlloc } from '../mm/mm.js';
import { MmuGather } from '../mm/mmu_gather.js';
import { VM_HUGEPAGE, VM_READ, VM_WRITE, vmaAddr, vmaDefine } from '../mm/vma.js';
import { gupGetReader } from './gup-reader.js';
import { defineScenario } from './scenario.js';

const MM = 0;
const PUD_SPAN = FANOUT * FANOUT;

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
    vmas: { value: 4, min: 1, max: MAX_VMAS, doc: 'VMAs, each alone under its own pud (an mm holds MAX_VMAS)' },
    pmds: { value: 2, min: 1, max: FANOUT, doc: 'pmd ranges per VMA (the first ones THP-eligible in even VMAs; a pud holds 64)' },
    nr: { value: 8, min: 1, max: GUP_MAX, doc: 'largest GUP request in pages (GUP_MAX pages per call)' },
  },
  windows: [[W_GUP_WALK, W_MUNMAP_UNLINK_FREE], W_GUP_PIN_RECHECK, W_MUNMAP_UNLINK_FREE],
  bugs: {
    'free-before-sync': {
      doc: 'free the page tables right after pmd_clear/pud_clear, without the flush or grace period',
      changes: 'free_pgtables / tlb_finish_mmu',
      expectKinds: [V_PGTABLE_UAF],
    },
  },
  detects: [V_PGTABLE_UAF, V_STALE_PAGE, V_WILD_PFN, V_REFCOUNT_UNDERFLOW, V_REFCOUNT_LEAK],

  boot(c, p) {
    mmAlloc(c, MM, p.mmLevels);
    const pages = p.params.pmds * FANOUT;
    for (let i = 0; i < p.params.vmas; i++) {
      const flags = VM_READ | VM_WRITE | (i % 2 === 0 ? VM_HUGEPAGE : 0);
      vmaDefine(c.mem, c.L, MM, i, vmaBase(i), vmaBase(i) + pages, flags, false);
      if (mmapPopulate(c, MM, i) !== VM_FAULT_OK) throw new Error('out of frames populating the VMAs');
    }
  },

  reader: gupGetReader({
    mm: MM,
    init: (_c, p): ReaderState => ({ vmas: p.params.vmas, vmaPages: p.params.pmds * FANOUT, maxNr: p.params.nr }),
    start: (c, s, nr) => vmaBase(c.mem.random() % s.vmas) + (c.mem.random() % (s.vmaPages - nr + 1)),
  }),

  writer: {
    outcomes: {
      munmap: { expect: 'ACCEPTABLE', doc: 'unmapped a VMA and freed its pte and pmd tables' },
      'mmap-populate': { expect: 'ACCEPTABLE', doc: 'mapped a VMA again and faulted it in (THP where eligible)' },
      'populate-short': { expect: 'INTERESTING', doc: 'the populate stopped early (out of frames, or unmapped again meanwhile)' },
    },
    init: (_c, p): WriterState => ({ vmas: p.params.vmas, vmaPages: p.params.pmds * FANOUT, tlb: new MmuGather() }),
    op(c: Cpu, s: WriterState) {
      const i = c.mem.random() % s.vmas;
      // an unlocked peek: two writers may both act on one VMA, which the mm code handles
      if (c.mem.load(vmaAddr(c.L, MM, i, VMA_PRESENT)) === 1) {
        // the neighbours' bounds: nothing else lives under this VMA's pud
        munmapVma(c, MM, i, s.tlb, vmaBase(i), vmaBase(i) + PUD_SPAN);
        return 'munmap';
      }
      return mmapPopulate(c, MM, i) === VM_FAULT_OK ? 'mmap-populate' : 'populate-short';
    },
  },
});
