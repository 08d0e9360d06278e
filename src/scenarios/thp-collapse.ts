// khugepaged's anonymous collapse_huge_page() racing with O_DIRECT GUP-fast readers; the
// application MADV_DONTNEEDs THPs, which frees the deposited old table at once.
// Fixed: pmdp_collapse_flush, tlb_remove_table_sync_one, then isolate (refcounts), and
// GUP-fast re-checks the pmd after its pin.
import { LVL_PMD } from '../arch/arch.js';
import { V_REFCOUNT_LEAK } from '../check/accounting.js';
import { V_PGTABLE_UAF, V_STALE_PAGE } from '../check/oracle.js';
import type { Cpu } from '../machine/cpu.js';
import { FANOUT, MAX_VMAS } from '../machine/layout.js';
import { V_REFCOUNT_UNDERFLOW } from '../mm/folio.js';
import { W_GUP_PIN_RECHECK, W_GUP_WALK } from '../mm/gup.js';
import { COLLAPSE_NOMEM, COLLAPSE_OK, COLLAPSE_PINNED, COLLAPSE_SKIP, W_COLLAPSE, collapseHugePage, zapHugePmd } from '../mm/khugepaged.js';
import { mmapPmdRanges, mmapPopulate } from '../mm/memory.js';
import { mmAlloc } from '../mm/mm.js';
import { MmuGather } from '../mm/mmu_gather.js';
import { freeTable } from '../mm/page_alloc.js';
import { entryOffset } from '../mm/pgtable.js';
import { VM_READ, VM_WRITE } from '../mm/vma.js';
import { V_LOST_DMA_WRITE, V_PIN_NOT_MAPPED, W_DIO_DMA, odirectInit, odirectReader } from './odirect.js';
import { BUG_GUP_NO_PMD_RECHECK } from './gup-reader.js';
import { defineScenario } from './scenario.js';

const MM = 0;
const BASE = 0x10000;

const COLLAPSE_OUTCOME = {
  [COLLAPSE_OK]: 'collapsed',
  [COLLAPSE_SKIP]: 'collapse-skip',
  [COLLAPSE_PINNED]: 'collapse-abort-pinned',
  [COLLAPSE_NOMEM]: 'collapse-nomem',
} as const;

interface WriterState {
  pmds: number;
  tlb: MmuGather;
  /** scratch: the table deposited under huge pmd i (pgtable_trans_huge_deposit) */
  deposit: number;
  /** scratch: two counters per range, [2i] bumped before MADV_DONTNEED of range i starts,
   *  [2i + 1] after it (and the refault) ended */
  discard: number;
}

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
  params: { pmds: { value: 2, min: 1, max: MAX_VMAS, doc: 'PMD-sized VMAs that khugepaged collapses (one VMA each: an mm holds MAX_VMAS)' } },
  // one range: the O_DIRECT reader's page is in the range being collapsed
  explore: { params: { pmds: 1 } },
  scratch: (p) => ({ deposit: p.params.pmds, discard: 2 * p.params.pmds }),
  windows: [[W_GUP_PIN_RECHECK, W_COLLAPSE], W_GUP_WALK, W_DIO_DMA, W_COLLAPSE],
  bugs: {
    'gup-no-pmd-recheck': BUG_GUP_NO_PMD_RECHECK,
    'collapse-no-ipi': {
      doc: 'collapse_huge_page skips tlb_remove_table_sync_one: a walker still inside the old table when MADV_DONTNEED frees it (pte_free, no RCU)',
      changes: 'collapse_huge_page',
      fixedBy: '2ba99c5e0881',
      strategies: ['rcu'],
      expectKinds: [V_PGTABLE_UAF],
      // a collapse, then the MADV_DONTNEED that frees the table it deposited
      exhaustiveOps: { writer: 2 },
    },
    'isolate-before-flush': {
      doc: '__collapse_huge_page_isolate checks the refcounts before pmdp_collapse_flush: a pin can land in between and its DMA write is lost',
      changes: 'collapse_huge_page',
      expectKinds: [V_LOST_DMA_WRITE, V_PIN_NOT_MAPPED],
    },
  },
  // one khugepaged: two collapsing writers would race on the same range's deposited table
  // and discard counters, which the kernel serializes (one khugepaged thread, mmap_lock)
  maxWriters: 1,
  detects: [V_LOST_DMA_WRITE, V_PIN_NOT_MAPPED, V_PGTABLE_UAF, V_STALE_PAGE, V_REFCOUNT_UNDERFLOW, V_REFCOUNT_LEAK],

  boot(c, p) {
    mmAlloc(c, MM, p.mmLevels);
    mmapPmdRanges(c, MM, BASE, p.params.pmds, VM_READ | VM_WRITE);
  },

  teardown(c, p) {
    // exit: withdraw and free the tables still deposited under huge pmds
    for (let i = 0; i < p.params.pmds; i++) {
      const t = c.mem.xchg(p.scratch.deposit + i, 0);
      if (t > 0) freeTable(c, t);
    }
  },

  reader: odirectReader({
    mm: MM,
    init: (c, p) => ({ io: odirectInit(c), pages: p.params.pmds * FANOUT, discard: p.scratch.discard }),
    pick: (c, s) => BASE + (c.mem.random() % s.pages),
    discard: (s, vpn) => s.discard + 2 * ((vpn - BASE) >>> 6),
  }),

  writer: {
    outcomes: {
      collapsed: { expect: 'ACCEPTABLE', doc: 'khugepaged collapsed 64 ptes into a THP and deposited the old table' },
      'collapse-skip': { expect: 'ACCEPTABLE', doc: 'not a pte table' },
      'collapse-abort-pinned': { expect: 'INTERESTING', doc: 'isolation after the flush saw a pin and put the old table back' },
      'collapse-nomem': { expect: 'ACCEPTABLE', doc: 'no free PMD-sized folio' },
      'discarded-thp': { expect: 'ACCEPTABLE', doc: 'the application MADV_DONTNEEDed a THP (its deposited table freed at once) and faulted small pages back' },
    },
    init: (_c, p): WriterState => ({ pmds: p.params.pmds, tlb: new MmuGather(), deposit: p.scratch.deposit, discard: p.scratch.discard }),
    op(c: Cpu, s: WriterState) {
      const m = c.mem;
      const i = m.random() % s.pmds;
      const vpn = BASE + i * FANOUT;
      const pmdp = entryOffset(c, MM, vpn, LVL_PMD, false);
      if (pmdp >= 0 && c.arch.pmdLeaf(m.load(pmdp))) {
        // the application drops a THP range (MADV_DONTNEED) and touches it again: small pages
        m.add(s.discard + 2 * i, 1);
        zapHugePmd(c, MM, vpn, s.deposit + i, s.tlb);
        mmapPopulate(c, MM, i);
        m.add(s.discard + 2 * i + 1, 1);
        return 'discarded-thp';
      }
      return COLLAPSE_OUTCOME[collapseHugePage(c, MM, vpn, s.deposit + i) as keyof typeof COLLAPSE_OUTCOME];
    },
  },
});
