// Selftest of the locks: a counter incremented under spin_lock (lost increments show a
// broken lock), a pair written under down_write and read under down_read, and a pair
// published under a seqcount (a reader must never accept a torn pair).
import { V_LOST_UPDATE } from '../check/oracle.js';
import { winReaderClose, winReaderOpen, winWiden, winWriterClose, winWriterOpen } from '../check/windows.js';
import type { Cpu } from '../machine/cpu.js';
import { downRead, downWrite, upRead, upWrite } from '../sync/rwsem.js';
import { rawReadSeqcount, readSeqcountRetry, writeSeqcountBegin, writeSeqcountEnd } from '../sync/seqcount.js';
import { spinLock, spinUnlock } from '../sync/spinlock.js';
import { type RunParams, defineScenario } from './scenario.js';
import { V_SYNC_BROKEN, W_SYNC_READER, W_SYNC_UPDATE } from './sync-witness.js';

/** The selftest's words: a spinlock and the counter it protects, an rwsem and the pair it
 *  protects, a seqcount and its pair. */
interface Words {
  spin: number;
  counter: number;
  rwsem: number;
  rwA: number;
  rwB: number;
  seq: number;
  seqA: number;
  seqB: number;
}
const WORDS: Readonly<Record<keyof Words, number>> = { spin: 1, counter: 1, rwsem: 1, rwA: 1, rwB: 1, seq: 1, seqA: 1, seqB: 1 };
const words = (p: RunParams): Words => Object.fromEntries(Object.keys(WORDS).map((k) => [k, p.scratch[k]])) as unknown as Words;

export const syncLocks = defineScenario({
  id: 'sync-locks',
  title: 'selftest: spinlock, rwsem (mmap_lock) and seqcount (write_protect_seq)',
  seed: 'the locks every writer protocol relies on',
  commits: [],
  selftest: true,
  arches: ['x86-64'],
  strategies: ['ipi'],
  defaultStrategy: 'ipi',
  defaults: { readers: 1, writers: 2, frames: 256, huge: 0, widen: { 'sync.update': '1us', 'sync.reader': '1us' } },
  params: {},
  scratch: () => WORDS,
  windows: [[W_SYNC_READER, W_SYNC_UPDATE], W_SYNC_UPDATE],
  bugs: {
    'lock-none': { doc: 'the critical sections skip spin_lock and down_write', changes: 'the selftest\'s writer (spin_lock, down_write)', expectKinds: [V_LOST_UPDATE, V_SYNC_BROKEN] },
    // orderings the kernel's primitives have, each taken away: only weak memory shows them
    'seqcount-no-rmb': { doc: 'raw_read_seqcount / read_seqcount_retry without their smp_rmb: the pair\'s reads can be satisfied outside the two reads of the count, and a torn pair is accepted', changes: 'raw_read_seqcount, read_seqcount_retry', expectKinds: [V_SYNC_BROKEN], memory: ['lkmm'] },
    'seqcount-no-wmb': { doc: 'raw_write_seqcount_begin / end without their smp_wmb: the pair\'s writes can become visible outside the odd count, and a reader accepts a torn pair', changes: 'raw_write_seqcount_begin, raw_write_seqcount_end', expectKinds: [V_SYNC_BROKEN], memory: ['lkmm'] },
  },
  detects: [V_LOST_UPDATE, V_SYNC_BROKEN],
  boot() {},

  reader: {
    outcomes: {
      'read-locked-pair': { expect: 'ACCEPTABLE', doc: 'read the pair under down_read (then the seqcount-protected pair)' },
    },
    events: {
      'seqcount-read': { expect: 'ACCEPTABLE', doc: 'read the seqcount-protected pair' },
      'seqcount-retry': { expect: 'INTERESTING', doc: 'read_seqcount_retry sent the reader round again' },
    },
    init: (_c, p) => words(p),
    op(c: Cpu, w: Words) {
      const m = c.mem;
      downRead(c, w.rwsem);
      winReaderOpen(c, W_SYNC_READER, 0);
      const a1 = m.load(w.rwA);
      winWiden(c, W_SYNC_READER);
      const b1 = m.load(w.rwB);
      winReaderClose(c, W_SYNC_READER);
      upRead(c, w.rwsem);
      if (a1 !== b1) c.violation(V_SYNC_BROKEN, 0, `down_read saw a torn pair (${a1}, ${b1}): a writer was inside`);
      for (;;) {
        const seq = rawReadSeqcount(c, w.seq);
        if ((seq & 1) !== 0) continue;
        const a2 = m.load(w.seqA);
        const b2 = m.load(w.seqB);
        if (readSeqcountRetry(c, w.seq, seq)) {
          c.event('seqcount-retry');
          continue;
        }
        if (a2 !== b2) c.violation(V_SYNC_BROKEN, 0, `seqcount reader accepted a torn pair (${a2}, ${b2})`);
        break;
      }
      c.event('seqcount-read');
      return 'read-locked-pair';
    },
  },

  writer: {
    outcomes: {
      'locked-increment': { expect: 'ACCEPTABLE', doc: 'incremented the counter under spin_lock' },
    },
    init: (_c, p) => ({ k: 0, w: words(p) }),
    op(c: Cpu, s: { k: number; w: Words }) {
      const m = c.mem;
      const w = s.w;
      const locked = !c.bug['lock-none'];
      const k = (s.k = (s.k + 1) | 0) * 64 + c.id;
      if (locked) spinLock(c, w.spin);
      winWriterOpen(c, W_SYNC_UPDATE, 0);
      const v = m.load(w.counter);
      winWiden(c, W_SYNC_UPDATE);
      m.store(w.counter, v + 1);
      // the seqcount writer side is serialized by the same spinlock, as in the kernel
      writeSeqcountBegin(c, w.seq);
      m.store(w.seqA, k);
      m.store(w.seqB, k);
      writeSeqcountEnd(c, w.seq);
      winWriterClose(c, W_SYNC_UPDATE);
      if (locked) spinUnlock(c, w.spin);
      if (locked) downWrite(c, w.rwsem);
      m.store(w.rwA, k);
      winWiden(c, W_SYNC_UPDATE);
      m.store(w.rwB, k);
      if (locked) upWrite(c, w.rwsem);
      return 'locked-increment';
    },
  },

  check(c, p, outcomes) {
    const got = c.mem.load(p.scratch.counter);
    const want = outcomes.writer['locked-increment'];
    if (got !== want) c.violation(V_LOST_UPDATE, 0, `counter is ${got} after ${want} locked increments: ${want - got} lost`);
  },
});
