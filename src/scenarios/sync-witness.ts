// Selftest of the table-freeing synchronization itself, with a witness that fails if the
// guarantee does not hold: writers unpublish an object and free it the way the strategy
// frees a page table (IPI flush, call_rcu, synchronize_rcu, expedited); readers find the
// object inside a read-side section (irq-off, or rcu_read_lock) and check it is not freed
// before they leave.
import { EV_SYNC } from '../check/trace.js';
import { V_SYNC_BROKEN } from '../check/violations.js';
import { W_SYNC_READER, W_SYNC_UPDATE, winReaderClose, winReaderOpen, winWiden, winWriterClose, winWriterOpen } from '../check/windows.js';
import type { Cpu } from '../machine/cpu.js';
import { H_READER_OP, H_WRITER_OP } from '../machine/cpu.js';
import { localIrqRestore, localIrqSave } from '../sync/irq.js';
import { rcuReadLock, rcuReadUnlock } from '../sync/rcu.js';
import { type OutcomeDef, defineScenario } from './scenario.js';

const OBJS_PER_WRITER = 256;
const MAX_WRITERS = 8;
const BOOT_OBJ = OBJS_PER_WRITER * MAX_WRITERS;
// scratch words: [0] the published object, [1 + i] object i's generation (odd = live)
const PUB = 0;
const GEN = 1;

const READER_OUTCOMES: OutcomeDef[] = [
  { name: 'irq-off-section', expect: 'ACCEPTABLE', doc: 'held an object through an irq-off section' },
  { name: 'rcu-section', expect: 'ACCEPTABLE', doc: 'held an object through an rcu_read_lock section' },
];
const WRITER_OUTCOMES: OutcomeDef[] = [
  { name: 'replaced', expect: 'ACCEPTABLE', doc: 'published a new object, freed the old one through the strategy' },
  { name: 'pool-busy', expect: 'INTERESTING', doc: 'every object of this writer was still waiting for its grace period' },
];

interface WriterState {
  next: number;
  first: number;
  one: Int32Array;
}

function freeObject(c: Cpu, obj: number): void {
  // free: the generation goes even; a reader still holding obj sees it change
  c.mem.add(c.L.scratchBase + GEN + obj, 1);
  c.trace(EV_SYNC, obj, 2);
}

export const syncWitness = defineScenario({
  id: 'sync-witness',
  title: 'selftest: IPI flush, call_rcu, synchronize_rcu(_expedited) against irq-off and RCU readers',
  seed: 'Why page tables do not vanish under the walker (section 2)',
  commits: [],
  selftest: true,
  arches: ['x86-64'],
  strategies: ['ipi', 'rcu', 'rcu-sync', 'rcu-exp'],
  defaultStrategy: 'rcu-sync',
  defaults: { readers: 1, writers: 1, frames: 256, huge: 0, widen: { 'sync.reader': '2us' } },
  params: {},
  windows: { 'sync.reader': 'sync.update', 'sync.update': null },
  bugs: [
    { name: 'rcu-no-wait', doc: 'synchronize_rcu, its expedited form and the gp worker return without waiting for readers', strategies: ['rcu', 'rcu-sync', 'rcu-exp'], expectKinds: ['sync-broken'] },
    { name: 'ipi-no-wait', doc: 'the IPI broadcast posts its requests and returns without waiting for acknowledgements', strategies: ['ipi'], expectKinds: ['sync-broken'] },
  ],
  detects: ['sync-broken'],
  scratchWords: 1 + BOOT_OBJ + 1,
  maxWriters: MAX_WRITERS,

  boot(c) {
    c.mem.store(c.L.scratchBase + GEN + BOOT_OBJ, 1);
    c.mem.store(c.L.scratchBase + PUB, BOOT_OBJ);
  },

  rcuCallback: freeObject,

  reader: {
    outcomes: READER_OUTCOMES,
    init: () => ({}),
    op(c: Cpu) {
      const m = c.mem;
      const t0 = m.now();
      // irq-off holds off IPIs and grace periods alike; rcu_read_lock only grace periods
      const irq = c.strategy.name === 'ipi' || (m.random() & 1) === 0;
      if (irq) localIrqSave(c);
      else rcuReadLock(c);
      winReaderOpen(c, W_SYNC_READER, 0);
      const obj = m.load(c.L.scratchBase + PUB);
      const gen = m.load(c.L.scratchBase + GEN + obj);
      c.trace(EV_SYNC, obj, gen);
      if ((gen & 1) === 0) c.violation(V_SYNC_BROKEN, 0, `object ${obj} was already freed when the reader found it published`);
      winWiden(c, W_SYNC_READER);
      const now = m.load(c.L.scratchBase + GEN + obj);
      if (now !== gen) c.violation(V_SYNC_BROKEN, 0, `object ${obj} freed (gen ${gen} -> ${now}) while a reader that found it was still inside its ${irq ? 'irq-off' : 'RCU'} section`);
      winReaderClose(c, W_SYNC_READER);
      if (irq) localIrqRestore(c);
      else rcuReadUnlock(c);
      c.outcomes[irq ? 0 : 1]++;
      c.hists[H_READER_OP].recordValue(Math.round(m.now() - t0));
    },
  },

  writer: {
    outcomes: WRITER_OUTCOMES,
    init: (_c, _p, index): WriterState => {
      return { next: 0, first: index * OBJS_PER_WRITER, one: new Int32Array(1) };
    },
    op(c: Cpu, s: WriterState) {
      const m = c.mem;
      const t0 = m.now();
      const obj = s.first + s.next;
      const pGen = c.L.scratchBase + GEN + obj;
      if ((m.load(pGen) & 1) !== 0) {
        c.outcomes[1]++; // still live or waiting for its grace period
        return;
      }
      s.next = (s.next + 1) % OBJS_PER_WRITER;
      m.add(pGen, 1); // allocate: live
      const old = m.xchg(c.L.scratchBase + PUB, obj); // unpublish the old object
      winWriterOpen(c, W_SYNC_UPDATE, 0);
      // exactly the table-free path of tlb_finish_mmu: flush, then free by the strategy
      c.strategy.flushTlb(c);
      s.one[0] = old;
      c.strategy.freeTables(c, s.one, 1, freeObject);
      winWriterClose(c, W_SYNC_UPDATE);
      c.outcomes[0]++;
      c.hists[H_WRITER_OP].recordValue(Math.round(m.now() - t0));
    },
  },
});
