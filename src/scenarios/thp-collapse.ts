// khugepaged's anonymous collapse_huge_page() racing with O_DIRECT GUP-fast readers; the
// application MADV_DONTNEEDs THPs, which frees the deposited old table at once.
// Fixed: pmdp_collapse_flush, tlb_remove_table_sync_one, then isolate (refcounts), and
// GUP-fast re-checks the pmd after its pin.
import type { Cpu } from '../machine/cpu.js';
import { H_WRITER_OP } from '../machine/cpu.js';
import { FANOUT } from '../machine/layout.js';
import { COLLAPSE_NOMEM, COLLAPSE_OK, COLLAPSE_PINNED, COLLAPSE_SKIP, collapseHugePage, zapHugePmd } from '../mm/khugepaged.js';
import { mmapPopulate } from '../mm/memory.js';
import { mmAlloc } from '../mm/mm.js';
import { MmuGather } from '../mm/mmu_gather.js';
import { freeTable } from '../mm/page_alloc.js';
import { entryOffset } from '../mm/pgtable.js';
import { LVL_PMD } from '../arch/arch.js';
import { VM_READ, VM_WRITE, vmaDefine } from '../mm/vma.js';
import { ODIRECT_OUTCOMES, type OdirectState, odirectInit, odirectOp } from './odirect.js';
import { type OutcomeDef, defineScenario } from './scenario.js';

const MM = 0;
const BASE = 0x10000;

const WRITER_OUTCOMES: OutcomeDef[] = [
  { name: 'collapsed', expect: 'ACCEPTABLE', doc: 'khugepaged collapsed 64 ptes into a THP and deposited the old table' },
  { name: 'collapse-skip', expect: 'ACCEPTABLE', doc: 'not a pte table' },
  { name: 'collapse-abort-pinned', expect: 'INTERESTING', doc: 'isolation after the flush saw a pin and put the old table back' },
  { name: 'collapse-nomem', expect: 'ACCEPTABLE', doc: 'no free PMD-sized folio' },
  { name: 'discarded-thp', expect: 'ACCEPTABLE', doc: 'the application MADV_DONTNEEDed a THP (its deposited table freed at once) and faulted small pages back' },
];
const W_DISCARD = 4;
const OUT: Record<number, number> = { [COLLAPSE_OK]: 0, [COLLAPSE_SKIP]: 1, [COLLAPSE_PINNED]: 2, [COLLAPSE_NOMEM]: 3 };

interface WriterState {
  pmds: number;
  tlb: MmuGather;
}

const deposit = (c: Cpu, i: number): number => c.L.scratchBase + i;
/** [0] bumped before MADV_DONTNEED of range i starts, [1] after it (and the refault) ended */
const discard = (c: Cpu, i: number): number => c.L.scratchBase + 16 + 2 * i;

export const thpCollapse = defineScenario({
  id: 'thp-collapse',
  title: 'khugepaged collapse_huge_page (anon) vs FOLL_PIN|FOLL_WRITE GUP-fast',
  seed: 'GUP guarantees vs KSM/khugepaged (2016 thread); 70cbc3cc78a9, 2ba99c5e0881',
  commits: ['70cbc3cc78a9 mm/gup: fix the fast GUP race against THP collapse', '2ba99c5e0881 mm/khugepaged: fix GUP-fast interaction by sending IPI'],
  selftest: false,
  arches: ['x86-64', 'arm64'],
  strategies: ['rcu', 'ipi'],
  defaultStrategy: 'rcu',
  defaults: { readers: 1, writers: 1, frames: 4096, huge: 8, widen: { 'gup.pin-recheck': '10us', 'collapse.flush-isolate': '15us', 'dio.dma': '50us' } },
  params: { pmds: { value: 2, doc: 'PMD-sized VMAs that khugepaged collapses' } },
  windows: { 'gup.pin-recheck': 'collapse.flush-isolate', 'gup.walk': null, 'dio.dma': null, 'collapse.flush-isolate': null },
  bugs: [
    {
      name: 'gup-no-pmd-recheck',
      doc: 'gup_fast_pte_range re-checks the pte but not the pmd after the pin; as before 70cbc3cc78a9, collapse sends no IPI either (2ba99c5e0881 came later)',
      fixedBy: '70cbc3cc78a9',
      strategies: ['rcu'],
      expectKinds: ['lost-dma-write', 'pin-not-mapped', 'pgtable-use-after-free'],
    },
    {
      name: 'collapse-no-ipi',
      doc: 'collapse_huge_page skips tlb_remove_table_sync_one: a walker still inside the old table when MADV_DONTNEED frees it (pte_free, no RCU)',
      fixedBy: '2ba99c5e0881',
      strategies: ['rcu'],
      expectKinds: ['pgtable-use-after-free'],
    },
    {
      name: 'isolate-before-flush',
      doc: '__collapse_huge_page_isolate checks the refcounts before pmdp_collapse_flush: a pin can land in between and its DMA write is lost',
      expectKinds: ['lost-dma-write', 'pin-not-mapped'],
    },
  ],
  detects: ['lost-dma-write', 'pin-not-mapped', 'pgtable-use-after-free', 'stale-page', 'refcount-underflow', 'refcount-leak'],
  scratchWords: 48,

  boot(c, p) {
    mmAlloc(c, MM, p.mmLevels);
    for (let i = 0; i < p.params.pmds; i++) {
      vmaDefine(c.mem, c.L, MM, i, BASE + i * FANOUT, BASE + (i + 1) * FANOUT, VM_READ | VM_WRITE, false);
      if (mmapPopulate(c, MM, i) !== 0) throw new Error('thp-collapse: out of frames');
    }
  },

  teardown(c, p) {
    // exit: withdraw and free the tables still deposited under huge pmds
    for (let i = 0; i < p.params.pmds; i++) {
      const t = c.mem.xchg(deposit(c, i), 0);
      if (t > 0) freeTable(c, t);
    }
  },

  reader: {
    outcomes: ODIRECT_OUTCOMES,
    init: (c, p) => ({ io: odirectInit(c), pages: p.params.pmds * FANOUT }),
    op(c: Cpu, s: { io: OdirectState; pages: number }) {
      const off = c.mem.random() % s.pages;
      odirectOp(c, s.io, MM, BASE + off, null, discard(c, off >>> 6));
    },
  },

  writer: {
    outcomes: WRITER_OUTCOMES,
    init: (_c, p): WriterState => ({ pmds: p.params.pmds, tlb: new MmuGather() }),
    op(c: Cpu, s: WriterState) {
      const m = c.mem;
      const t0 = m.now();
      const i = m.random() % s.pmds;
      const vpn = BASE + i * FANOUT;
      const pmdp = entryOffset(c, MM, vpn, LVL_PMD, false);
      if (pmdp >= 0 && c.arch.pmdLeaf(m.load(pmdp))) {
        // the application drops a THP range (MADV_DONTNEED) and touches it again: small pages
        m.add(discard(c, i), 1);
        zapHugePmd(c, MM, vpn, deposit(c, i), s.tlb);
        mmapPopulate(c, MM, i);
        m.add(discard(c, i) + 1, 1);
        c.outcomes[W_DISCARD]++;
      } else {
        c.outcomes[OUT[collapseHugePage(c, MM, vpn, deposit(c, i))]]++;
      }
      c.hists[H_WRITER_OP].recordValue(Math.round(m.now() - t0));
    },
  },
});
