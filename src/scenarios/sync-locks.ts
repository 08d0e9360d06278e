// Selftest of the locks: a counter incremented under spin_lock (lost increments show a
// broken lock), a pair written under down_write and read under down_read, and a pair
// published under a seqcount (a reader must never accept a torn pair).
import { V_LOST_UPDATE, V_SYNC_BROKEN } from '../check/violations.js';
import { W_SYNC_READER, W_SYNC_UPDATE, winReaderClose, winReaderOpen, winWiden, winWriterClose, winWriterOpen } from '../check/windows.js';
import type { Cpu } from '../machine/cpu.js';
import { downRead, downWrite, upRead, upWrite } from '../sync/rwsem.js';
import { rawReadSeqcount, readSeqcountRetry, writeSeqcountBegin, writeSeqcountEnd } from '../sync/seqcount.js';
import { spinLock, spinUnlock } from '../sync/spinlock.js';
import { type OutcomeDef, defineScenario } from './scenario.js';

// scratch words
const SPIN = 0, COUNTER = 1, RWSEM = 2, RW_A = 3, RW_B = 4, SEQ = 5, SEQ_A = 6, SEQ_B = 7;

const READER_OUTCOMES: OutcomeDef[] = [
  { name: 'read-locked-pair', expect: 'ACCEPTABLE', doc: 'read the pair under down_read' },
  { name: 'seqcount-read', expect: 'ACCEPTABLE', doc: 'read the seqcount-protected pair' },
  { name: 'seqcount-retry', expect: 'INTERESTING', doc: 'read_seqcount_retry sent the reader round again' },
];
const WRITER_OUTCOMES: OutcomeDef[] = [
  { name: 'locked-increment', expect: 'ACCEPTABLE', doc: 'incremented the counter under spin_lock' },
];

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
  windows: { 'sync.reader': 'sync.update', 'sync.update': null },
  bugs: [
    { name: 'lock-none', doc: 'the critical sections skip spin_lock and down_write', expectKinds: ['lost-update', 'sync-broken'] },
  ],
  detects: ['lost-update', 'sync-broken'],
  scratchWords: 8,
  boot() {},

  reader: {
    outcomes: READER_OUTCOMES,
    init: () => ({}),
    op(c: Cpu) {
      const m = c.mem;
      const b = c.L.scratchBase;
      downRead(c, b + RWSEM);
      winReaderOpen(c, W_SYNC_READER, 0);
      const a1 = m.load(b + RW_A);
      winWiden(c, W_SYNC_READER);
      const b1 = m.load(b + RW_B);
      winReaderClose(c, W_SYNC_READER);
      upRead(c, b + RWSEM);
      if (a1 !== b1) c.violation(V_SYNC_BROKEN, 0, `down_read saw a torn pair (${a1}, ${b1}): a writer was inside`);
      c.outcomes[0]++;
      for (;;) {
        const seq = rawReadSeqcount(c, b + SEQ);
        if ((seq & 1) !== 0) continue;
        const a2 = m.load(b + SEQ_A);
        const b2 = m.load(b + SEQ_B);
        if (readSeqcountRetry(c, b + SEQ, seq)) {
          c.outcomes[2]++;
          continue;
        }
        if (a2 !== b2) c.violation(V_SYNC_BROKEN, 0, `seqcount reader accepted a torn pair (${a2}, ${b2})`);
        break;
      }
      c.outcomes[1]++;
    },
  },

  writer: {
    outcomes: WRITER_OUTCOMES,
    init: () => ({ k: 0 }),
    op(c: Cpu, s: { k: number }) {
      const m = c.mem;
      const b = c.L.scratchBase;
      const locked = !c.bugs.lockNone;
      const k = (s.k = (s.k + 1) | 0) * 64 + c.id;
      if (locked) spinLock(c, b + SPIN);
      winWriterOpen(c, W_SYNC_UPDATE, 0);
      const v = m.load(b + COUNTER);
      winWiden(c, W_SYNC_UPDATE);
      m.store(b + COUNTER, v + 1);
      // the seqcount writer side is serialized by the same spinlock, as in the kernel
      writeSeqcountBegin(c, b + SEQ);
      m.store(b + SEQ_A, k);
      m.store(b + SEQ_B, k);
      writeSeqcountEnd(c, b + SEQ);
      winWriterClose(c, W_SYNC_UPDATE);
      if (locked) spinUnlock(c, b + SPIN);
      c.outcomes[0]++;
      if (locked) downWrite(c, b + RWSEM);
      m.store(b + RW_A, k);
      winWiden(c, W_SYNC_UPDATE);
      m.store(b + RW_B, k);
      if (locked) upWrite(c, b + RWSEM);
    },
  },

  check(c, _p, outcomes) {
    const got = c.mem.load(c.L.scratchBase + COUNTER);
    const want = outcomes.writer[0];
    if (got !== want) c.violation(V_LOST_UPDATE, 0, `counter is ${got} after ${want} locked increments: ${want - got} lost`);
  },
});
