// fork (copy_page_range under mm->write_protect_seq) racing with FOLL_PIN GUP-fast. A page
// that may be pinned is copied for the child, never COW-shared; a GUP-fast pin that lands
// between fork's pin check and its write-protect is undone because write_protect_seq moved.
import { V_REFCOUNT_LEAK } from '../check/accounting.js';
import { V_PGTABLE_UAF, V_STALE_PAGE } from '../check/oracle.js';
import { defineViolation } from '../check/violations.js';
import type { Cpu } from '../machine/cpu.js';
import { V_REFCOUNT_UNDERFLOW } from '../mm/folio.js';
import { W_FORK_DUP, exitMmap, forkMm } from '../mm/fork.js';
import { W_GUP_PIN_RECHECK, W_GUP_WALK } from '../mm/gup.js';
import { mmapPopulate } from '../mm/memory.js';
import { mmAlloc } from '../mm/mm.js';
import { MmuGather } from '../mm/mmu_gather.js';
import { pageAnonExclusive } from '../mm/rmap.js';
import { VM_READ, VM_WRITE, vmaDefine } from '../mm/vma.js';
import { V_LOST_DMA_WRITE, V_PIN_NOT_MAPPED, W_DIO_DMA, odirectInit, odirectReader } from './odirect.js';
import { defineScenario } from './scenario.js';

export const V_COW_PINNED_SHARED = defineViolation('cow-pinned-shared', 'a pinned anon page was COW-shared with a child');

const PARENT = 0;
const CHILD = 1;
const BASE = 0x4000;

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
  params: {
    // the parent's pages, the child's copies of pinned ones and both mms' tables
    pages: { value: 16, min: 1, max: (k) => Math.floor(k.frames / 3), doc: 'pages in the parent\'s VMA (at most a third of the frames)' },
  },
  explore: { params: { pages: 4 } },
  windows: [[W_GUP_PIN_RECHECK, W_FORK_DUP], W_GUP_WALK, W_DIO_DMA, W_FORK_DUP],
  bugs: {
    'no-write-protect-seq': {
      doc: 'GUP-fast with FOLL_PIN ignores mm->write_protect_seq: a pin taken between fork\'s pin check and its write-protect survives',
      changes: 'gup_fast_fallback',
      fixedBy: '57efa1fe5957',
      expectKinds: [V_COW_PINNED_SHARED],
    },
  },
  detects: [V_COW_PINNED_SHARED, V_LOST_DMA_WRITE, V_PIN_NOT_MAPPED, V_STALE_PAGE, V_PGTABLE_UAF, V_REFCOUNT_UNDERFLOW, V_REFCOUNT_LEAK],
  mms: 2,
  maxWriters: 1, // one forking writer: the child mm has one slot

  boot(c, p) {
    mmAlloc(c, PARENT, p.mmLevels);
    vmaDefine(c.mem, c.L, PARENT, 0, BASE, BASE + p.params.pages, VM_READ | VM_WRITE, false);
    if (mmapPopulate(c, PARENT, 0) !== 0) throw new Error('out of frames');
  },

  reader: odirectReader({
    mm: PARENT,
    init: (c, p) => ({ io: odirectInit(c), pages: p.params.pages }),
    pick: (c, s) => BASE + (c.mem.random() % s.pages),
    whilePinned: pinnedStaysExclusive,
  }),

  writer: {
    outcomes: {
      forked: { expect: 'ACCEPTABLE', doc: 'fork copied the page tables (pinned pages copied, the rest COW-shared), then the child exited' },
      'fork-oom': { expect: 'ACCEPTABLE', doc: 'out of frames during the copy' },
    },
    init: () => ({ tlb: new MmuGather() }),
    op(c: Cpu, s: { tlb: MmuGather }) {
      const ok = forkMm(c, PARENT, CHILD);
      exitMmap(c, CHILD, s.tlb); // the child exits at once; its COW references go away
      // a process does not fork back to back: leave mmap_lock to the faulting readers a while
      c.block(c.aWake, c.mem.load(c.aWake), 0.02);
      return ok ? 'forked' : 'fork-oom';
    },
  },
});
