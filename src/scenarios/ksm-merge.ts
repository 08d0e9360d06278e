// KSM merging pages that "O_DIRECT" readers pin with FOLL_PIN|FOLL_WRITE, write a token
// into through the pin, and unpin. Afterwards the token must be visible through the
// mapping: a merge that let a pin land after its refcount check loses the write.
import type { Cpu } from '../machine/cpu.js';
import { H_WRITER_OP } from '../machine/cpu.js';
import { ksmMergeOne } from '../mm/ksm.js';
import { mmapPopulate } from '../mm/memory.js';
import { mmAlloc } from '../mm/mm.js';
import { VM_READ, VM_WRITE, vmaDefine } from '../mm/vma.js';
import { ODIRECT_OUTCOMES, type OdirectState, odirectInit, odirectOp } from './odirect.js';
import { type OutcomeDef, defineScenario } from './scenario.js';

const MM = 0;
const BASE = 0x4000; // vpn of the VMA

const WRITER_OUTCOMES: OutcomeDef[] = [
  { name: 'ksm-merged', expect: 'ACCEPTABLE', doc: 'write_protect_page + replace_page mapped a KSM page' },
  { name: 'ksm-skip', expect: 'ACCEPTABLE', doc: 'nothing to merge there (already a KSM page, or read-only)' },
  { name: 'ksm-abort-pinned', expect: 'INTERESTING', doc: 'the refcount check after clear+flush saw a pin and restored the pte' },
  { name: 'ksm-abort-changed', expect: 'INTERESTING', doc: 'replace_page found the pte changed (a COW fault got there first)' },
  { name: 'ksm-oom', expect: 'ACCEPTABLE', doc: 'no free frame for the KSM page' },
];

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
  params: { pages: { value: 16, doc: 'pages in the VMA that readers pin and KSM merges' } },
  windows: { 'gup.pin-recheck': 'ksm.clear-check', 'gup.walk': null, 'dio.dma': null, 'ksm.clear-check': null },
  bugs: [
    {
      name: 'ksm-check-before-clear',
      doc: 'write_protect_page checks the refcount before ptep_clear_flush: a pin can land in between',
      expectKinds: ['lost-dma-write', 'pin-not-mapped'],
    },
    {
      name: 'gup-no-recheck',
      doc: 'gup_fast_pte_range skips the pte re-check after the pin (shows where the flush does not wait for walkers)',
      strategies: ['rcu', 'rcu-sync', 'rcu-exp'],
      expectKinds: ['lost-dma-write', 'pin-not-mapped', 'stale-page'],
    },
  ],
  detects: ['lost-dma-write', 'pin-not-mapped', 'stale-page', 'pgtable-use-after-free', 'refcount-underflow', 'refcount-leak'],
  scratchWords: 0,

  boot(c, p) {
    mmAlloc(c, MM, p.mmLevels);
    vmaDefine(c.mem, c.L, MM, 0, BASE, BASE + p.params.pages, VM_READ | VM_WRITE, false);
    if (mmapPopulate(c, MM, 0) !== 0) throw new Error('ksm-merge: out of frames populating the VMA');
  },

  reader: {
    outcomes: ODIRECT_OUTCOMES,
    init: (c, p) => ({ io: odirectInit(c), pages: p.params.pages }),
    op(c: Cpu, s: { io: OdirectState; pages: number }) {
      odirectOp(c, s.io, MM, BASE + (c.mem.random() % s.pages), null);
    },
  },

  writer: {
    outcomes: WRITER_OUTCOMES,
    init: (_c, p) => ({ pages: p.params.pages }),
    op(c: Cpu, s: { pages: number }) {
      const t0 = c.mem.now();
      const r = ksmMergeOne(c, MM, BASE + (c.mem.random() % s.pages));
      c.outcomes[r]++; // KSM_MERGED .. KSM_OOM number the outcomes in declaration order
      c.hists[H_WRITER_OP].recordValue(Math.round(c.mem.now() - t0));
    },
  },
});
