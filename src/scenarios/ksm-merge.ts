// KSM merging pages that "O_DIRECT" readers pin with FOLL_PIN|FOLL_WRITE, write a token
// into through the pin, and unpin. Afterwards the token must be visible through the
// mapping: a merge that let a pin land after its refcount check loses the write.
import { V_REFCOUNT_LEAK } from '../check/accounting.js';
import { V_PGTABLE_UAF, V_STALE_PAGE } from '../check/oracle.js';
import { V_REFCOUNT_UNDERFLOW } from '../mm/folio.js';
import { W_GUP_PIN_RECHECK, W_GUP_WALK } from '../mm/gup.js';
import { KSM_ABORT_CHANGED, KSM_ABORT_PINNED, KSM_MERGED, KSM_OOM, KSM_SKIP, W_KSM_CLEAR_CHECK, ksmMergeOne } from '../mm/ksm.js';
import { mmapPopulate } from '../mm/memory.js';
import { mmAlloc } from '../mm/mm.js';
import { VM_READ, VM_WRITE, vmaDefine } from '../mm/vma.js';
import { V_LOST_DMA_WRITE, V_PIN_NOT_MAPPED, W_DIO_DMA, odirectInit, odirectReader } from './odirect.js';
import { defineScenario } from './scenario.js';

const MM = 0;
const BASE = 0x4000; // vpn of the VMA

const MERGE_OUTCOME = {
  [KSM_MERGED]: 'ksm-merged',
  [KSM_SKIP]: 'ksm-skip',
  [KSM_ABORT_PINNED]: 'ksm-abort-pinned',
  [KSM_ABORT_CHANGED]: 'ksm-abort-changed',
  [KSM_OOM]: 'ksm-oom',
} as const;

export const ksmMerge = defineScenario({
  id: 'ksm-merge',
  title: 'KSM write_protect_page vs FOLL_PIN|FOLL_WRITE (O_DIRECT) GUP-fast',
  seed: 'GUP guarantees vs KSM/khugepaged (2016 thread)',
  commits: ['mm/ksm.c write_protect_page: "ok this is a tricky one" comment (clear+flush, then check the count)', 'mm/gup.c gup_fast_pte_range re-check'],
  selftest: false,
  arches: ['x86-64', 'arm64', 's390'],
  strategies: ['ipi', 'rcu', 'rcu-sync', 'rcu-exp'],
  defaultStrategy: 'rcu',
  defaults: { readers: 1, writers: 1, frames: 4096, huge: 0, widen: { 'gup.pin-recheck': '2us', 'ksm.clear-check': '2us', 'dio.dma': '5us' } },
  params: {
    // each merge copies the page into a new KSM page: half the frames for the VMA, half for copies and tables
    pages: { value: 16, min: 1, max: (k) => Math.floor(k.frames / 2), doc: 'pages in the VMA that readers pin and KSM merges (at most half the frames)' },
  },
  explore: { params: { pages: 4 } },
  windows: [[W_GUP_PIN_RECHECK, W_KSM_CLEAR_CHECK], W_GUP_WALK, W_DIO_DMA, W_KSM_CLEAR_CHECK],
  bugs: {
    'ksm-check-before-clear': {
      doc: 'write_protect_page checks the refcount before ptep_clear_flush: a pin can land in between',
      changes: 'write_protect_page',
      expectKinds: [V_LOST_DMA_WRITE, V_PIN_NOT_MAPPED],
      needsParallelism: 'the pin must land between the refcount check and the clear, a few microseconds of the writer: a time-shared reader is rarely on a CPU then (missed in 30 s once in 8 runs beside two busy processes)',
    },
    'ksm-flush-after-check': {
      doc: 'write_protect_page checks the refcount before flushing its pte clear: ptep_get_and_clear (arm64 xchg_relaxed) orders nothing, so the check can read the refcount from before a GUP-fast pin whose re-check read the pte from before the clear (store buffering); the flush\'s barrier is what the kernel relies on',
      changes: 'write_protect_page',
      expectKinds: [V_LOST_DMA_WRITE, V_PIN_NOT_MAPPED],
      memory: ['lkmm'],
    },
    'gup-no-recheck': {
      doc: 'gup_fast_pte_range skips the pte re-check after the pin (shows where the flush does not wait for walkers)',
      changes: 'gup_fast_pte_range',
      strategies: ['rcu', 'rcu-sync', 'rcu-exp'],
      expectKinds: [V_LOST_DMA_WRITE, V_PIN_NOT_MAPPED, V_STALE_PAGE],
    },
  },
  detects: [V_LOST_DMA_WRITE, V_PIN_NOT_MAPPED, V_STALE_PAGE, V_PGTABLE_UAF, V_REFCOUNT_UNDERFLOW, V_REFCOUNT_LEAK],

  boot(c, p) {
    mmAlloc(c, MM, p.mmLevels);
    vmaDefine(c.mem, c.L, MM, 0, BASE, BASE + p.params.pages, VM_READ | VM_WRITE, false);
    if (mmapPopulate(c, MM, 0) !== 0) throw new Error('out of frames populating the VMA');
  },

  reader: odirectReader({
    mm: MM,
    init: (c, p) => ({ io: odirectInit(c), pages: p.params.pages }),
    pick: (c, s) => BASE + (c.mem.random() % s.pages),
  }),

  writer: {
    outcomes: {
      'ksm-merged': { expect: 'ACCEPTABLE', doc: 'write_protect_page + replace_page mapped a KSM page' },
      'ksm-skip': { expect: 'ACCEPTABLE', doc: 'nothing to merge there (already a KSM page, or read-only)' },
      'ksm-abort-pinned': { expect: 'INTERESTING', doc: 'the refcount check after clear+flush saw a pin and restored the pte' },
      'ksm-abort-changed': { expect: 'INTERESTING', doc: 'replace_page found the pte changed (a COW fault got there first)' },
      'ksm-oom': { expect: 'ACCEPTABLE', doc: 'no free frame for the KSM page' },
    },
    init: (_c, p) => ({ pages: p.params.pages }),
    op: (c, s: { pages: number }) => MERGE_OUTCOME[ksmMergeOne(c, MM, BASE + (c.mem.random() % s.pages)) as keyof typeof MERGE_OUTCOME],
  },
});
