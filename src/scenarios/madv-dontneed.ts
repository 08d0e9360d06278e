// madvise(MADV_DONTNEED) of THP and small-page ranges (zap_page_range_single through
// mmu_gather: clear, flush, then free the pages) and the refault that follows, racing with
// GUP-fast FOLL_GET readers. The pages are freed only after the flush; a walker that read a
// huge pmd just before the zap takes its speculative reference and re-checks the pmd. Where
// the flush waits for nobody (RCU table freeing: a TLBI broadcast, no IPI), the folio can be
// freed and handed to another range while the walker is still on its way: only the re-check
// stops it from returning another mapping's pages.
import { V_REFCOUNT_LEAK } from '../check/accounting.js';
import { V_PGTABLE_UAF, V_STALE_PAGE, V_WILD_PFN } from '../check/oracle.js';
import type { Cpu } from '../machine/cpu.js';
import { GUP_MAX } from '../machine/cpu.js';
import { FANOUT, MAX_VMAS } from '../machine/layout.js';
import { V_REFCOUNT_UNDERFLOW } from '../mm/folio.js';
import { W_GUP_PMD_RECHECK, W_GUP_WALK } from '../mm/gup.js';
import { VM_FAULT_OK, W_ZAP, mmapPmdRanges, mmapPopulate, zapPageRangeSingle } from '../mm/memory.js';
import { mmAlloc } from '../mm/mm.js';
import { MmuGather } from '../mm/mmu_gather.js';
import { VM_HUGEPAGE, VM_READ, VM_WRITE } from '../mm/vma.js';
import { gupGetReader } from './gup-reader.js';
import { defineScenario } from './scenario.js';

const MM = 0;
const BASE = 0x30000;

export const madvDontneed = defineScenario({
  id: 'madv-dontneed',
  title: 'madvise(MADV_DONTNEED) zap_page_range_single of THPs and small pages vs GUP-fast',
  seed: 'GUP-fast vs zap: the speculative reference and the pmd re-check of gup_fast_pmd_leaf',
  commits: ['mm/gup.c gup_fast_pmd_leaf: pmd_val(orig) != pmd_val(*pmdp) after the try-get', 'mm/memory.c zap_page_range_single + tlb_finish_mmu (pages freed after the flush)'],
  selftest: false,
  arches: ['x86-64', 'arm64'],
  strategies: ['rcu', 'ipi'],
  defaultStrategy: 'rcu',
  defaults: { readers: 1, writers: 1, frames: 2048, huge: 12, widen: { 'gup.pmd-leaf-recheck': '20us', 'zap.clear-free': '1us' } },
  params: {
    ranges: { value: 8, min: 2, max: MAX_VMAS, doc: 'PMD-sized THP ranges, one VMA each (an mm holds MAX_VMAS); a freed THP is refaulted into another' },
    nr: { value: 4, min: 1, max: GUP_MAX, doc: 'largest GUP request in pages' },
  },
  // two ranges: the THP zapped under a walker is the one refaulted into the other range
  explore: { params: { ranges: 2 } },
  windows: [[W_GUP_WALK, W_ZAP], [W_GUP_PMD_RECHECK, W_ZAP], W_ZAP],
  bugs: {
    'gup-no-pmd-leaf-recheck': {
      doc: 'gup_fast_pmd_leaf skips the pmd re-check after its try-get: a THP zapped and refaulted elsewhere meanwhile is returned for this address',
      changes: 'gup_fast_pmd_leaf',
      strategies: ['rcu'], // under ipi the flush waits for the walker: the folio cannot be freed under it
      expectKinds: [V_STALE_PAGE],
      // two zaps: the first empties the other range, the second frees the walker's THP into it
      // (one zap refaults a range that is still mapped)
      exhaustiveOps: { writer: 2 },
    },
  },
  detects: [V_STALE_PAGE, V_WILD_PFN, V_PGTABLE_UAF, V_REFCOUNT_UNDERFLOW, V_REFCOUNT_LEAK],

  boot(c, p) {
    mmAlloc(c, MM, p.mmLevels);
    mmapPmdRanges(c, MM, BASE, p.params.ranges, VM_READ | VM_WRITE | VM_HUGEPAGE);
  },

  reader: gupGetReader({
    mm: MM,
    init: (_c, p) => ({ pages: p.params.ranges * FANOUT, maxNr: p.params.nr }),
    start: (c, s, nr) => BASE + (c.mem.random() % (s.pages - nr + 1)),
  }),

  writer: {
    outcomes: {
      'zapped-refaulted': { expect: 'ACCEPTABLE', doc: 'MADV_DONTNEED zapped a range (its THP freed after the flush) and the application touched it again' },
      'refault-short': { expect: 'ACCEPTABLE', doc: 'the refault ran out of frames' },
    },
    init: (_c, p) => ({ ranges: p.params.ranges, tlb: new MmuGather() }),
    op(c: Cpu, s: { ranges: number; tlb: MmuGather }) {
      const i = c.mem.random() % s.ranges;
      zapPageRangeSingle(c, MM, i, s.tlb, BASE + i * FANOUT, BASE + (i + 1) * FANOUT);
      // the application touches another range back in: the THP just freed goes there
      const j = (i + 1 + (c.mem.random() % (s.ranges - 1))) % s.ranges;
      return mmapPopulate(c, MM, j) === VM_FAULT_OK ? 'zapped-refaulted' : 'refault-short';
    },
  },
});
