// fork (copy_page_range under mm->write_protect_seq) racing with FOLL_PIN GUP-fast. A page
// that may be pinned is copied for the child, never COW-shared; a GUP-fast pin that lands
// between fork's pin check and its write-protect is undone because write_protect_seq moved.
import { V_COW_PINNED_SHARED } from '../check/violations.js';
import type { Cpu } from '../machine/cpu.js';
import { H_WRITER_OP } from '../machine/cpu.js';
import { exitMmap, forkMm } from '../mm/fork.js';
import { mmapPopulate } from '../mm/memory.js';
import { mmAlloc } from '../mm/mm.js';
import { MmuGather } from '../mm/mmu_gather.js';
import { pageAnonExclusive } from '../mm/rmap.js';
import { VM_READ, VM_WRITE, vmaDefine } from '../mm/vma.js';
import { ODIRECT_OUTCOMES, type OdirectState, odirectInit, odirectOp } from './odirect.js';
import { type OutcomeDef, defineScenario } from './scenario.js';

const PARENT = 0;
const CHILD = 1;
const BASE = 0x4000;

const WRITER_OUTCOMES: OutcomeDef[] = [
  { name: 'forked', expect: 'ACCEPTABLE', doc: 'fork copied the page tables (pinned pages copied, the rest COW-shared), then the child exited' },
  { name: 'fork-oom', expect: 'ACCEPTABLE', doc: 'out of frames during the copy' },
];

/** A page we hold a FOLL_PIN on must stay exclusive to the parent: never COW-shared. */
function pinnedStaysExclusive(c: Cpu, head: number, vpn: number): void {
  if (!pageAnonExclusive(c, head)) {
    c.violation(V_COW_PINNED_SHARED, vpn, `pfn ${head} is pinned and COW-shared with a child (PageAnonExclusive clear): the parent's next write COWs away from the pin`);
  }
}

export const forkCow = defineScenario({
  id: 'fork-cow',
  title: 'fork copy_page_range under write_protect_seq vs FOLL_PIN GUP-fast',
  seed: 'GUP guarantees vs fork (write_protect_seq, folio_try_dup_anon_rmap)',
  commits: ['57efa1fe5957 mm/gup: prevent gup_fast from racing with COW during fork', 'page_needs_cow_for_dma / folio_try_dup_anon_rmap_pte'],
  selftest: false,
  arches: ['x86-64', 'arm64'],
  strategies: ['ipi', 'rcu'],
  defaultStrategy: 'rcu',
  defaults: { readers: 1, writers: 1, frames: 4096, huge: 0, widen: { 'fork.dup-wrprotect': '2us', 'gup.pin-recheck': '1us', 'dio.dma': '2us' } },
  params: { pages: { value: 16, doc: 'pages in the parent\'s VMA' } },
  windows: { 'gup.pin-recheck': 'fork.dup-wrprotect', 'gup.walk': null, 'dio.dma': null, 'fork.dup-wrprotect': null },
  bugs: [
    {
      name: 'no-write-protect-seq',
      doc: 'GUP-fast with FOLL_PIN ignores mm->write_protect_seq: a pin taken between fork\'s pin check and its write-protect survives',
      fixedBy: '57efa1fe5957',
      expectKinds: ['cow-pinned-shared'],
    },
  ],
  detects: ['cow-pinned-shared', 'lost-dma-write', 'pin-not-mapped', 'stale-page', 'pgtable-use-after-free', 'refcount-underflow', 'refcount-leak'],
  scratchWords: 0,
  mms: 2,
  maxWriters: 1,

  boot(c, p) {
    mmAlloc(c, PARENT, p.mmLevels);
    vmaDefine(c.mem, c.L, PARENT, 0, BASE, BASE + p.params.pages, VM_READ | VM_WRITE, false);
    if (mmapPopulate(c, PARENT, 0) !== 0) throw new Error('fork-cow: out of frames');
  },

  reader: {
    outcomes: ODIRECT_OUTCOMES,
    init: (c, p) => ({ io: odirectInit(c), pages: p.params.pages }),
    op(c: Cpu, s: { io: OdirectState; pages: number }) {
      odirectOp(c, s.io, PARENT, BASE + (c.mem.random() % s.pages), pinnedStaysExclusive);
    },
  },

  writer: {
    outcomes: WRITER_OUTCOMES,
    // one forking writer: the child mm has one slot
    init: (_c, p) => ({ tlb: new MmuGather(), pages: p.params.pages }),
    op(c: Cpu, s: { tlb: MmuGather }) {
      const t0 = c.mem.now();
      const ok = forkMm(c, PARENT, CHILD);
      exitMmap(c, CHILD, s.tlb); // the child exits at once; its COW references go away
      c.outcomes[ok ? 0 : 1]++;
      c.hists[H_WRITER_OP].recordValue(Math.round(c.mem.now() - t0));
      // a process does not fork back to back: leave mmap_lock to the faulting readers a while
      c.block(c.aWake, c.mem.load(c.aWake), 0.02);
    },
  },
});
