// Selftest of the table-freeing synchronization itself, with a witness that fails if the
// guarantee does not hold: writers unpublish an object and free it the way the strategy
// frees a page table (IPI flush, call_rcu, synchronize_rcu, expedited); readers find the
// object inside a read-side section (irq-off, or rcu_read_lock) and check it is not freed
// before they leave.
import { defineTrace } from '../check/trace.js';
import { defineViolation } from '../check/violations.js';
import { defineWindow, winReaderClose, winReaderOpen, winWiden, winWriterClose, winWriterOpen } from '../check/windows.js';
import type { Cpu } from '../machine/cpu.js';
import { ADDR_DEP, RELAXED, RELEASE } from '../machine/mem.js';
import { localIrqRestore, localIrqSave } from '../sync/irq.js';
import { rcuReadLock, rcuReadUnlock } from '../sync/rcu.js';
import { defineScenario } from './scenario.js';

export const W_SYNC_READER = defineWindow({ name: 'sync.reader', role: 'reader', doc: 'selftest: a read-side section (irq-off or rcu_read_lock) holding a published object' });
export const W_SYNC_UPDATE = defineWindow({ name: 'sync.update', role: 'writer', doc: 'selftest: from unpublishing an object to freeing it' });
export const V_SYNC_BROKEN = defineViolation('sync-broken', 'the selftests\' witness: an object freed while a reader that found it was inside its section');
export const EV_SYNC = defineTrace('sync selftest: object', 'obj', 'gen');

const OBJS_PER_WRITER = 256;

interface WriterState {
  next: number;
  first: number;
  one: Int32Array;
  pub: number;
  gen: number;
}

/** The call_rcu callback and the strategy's free: the object's generation goes even; a
 *  reader still holding it sees it change. The argument is the generation word. */
function freeObject(c: Cpu, genWord: number): void {
  c.mem.add(genWord, 1);
  c.trace(EV_SYNC, genWord, 2);
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
  // the published object, and each object's generation (odd = live): OBJS_PER_WRITER per
  // writer, and the one published at boot
  scratch: (p) => ({ pub: 1, gen: OBJS_PER_WRITER * p.writers + 1 }),
  windows: [[W_SYNC_READER, W_SYNC_UPDATE], W_SYNC_UPDATE],
  bugs: {
    'rcu-no-wait': { doc: 'synchronize_rcu, its expedited form and the gp worker return without waiting for readers', changes: 'synchronize_rcu, synchronize_rcu_expedited, rcu_gp_kthread', strategies: ['rcu', 'rcu-sync', 'rcu-exp'], expectKinds: [V_SYNC_BROKEN] },
    'publish-no-release': { doc: 'the writer publishes the new object with WRITE_ONCE instead of rcu_assign_pointer (no release): a reader that follows the new pointer can find the object as it was before its initialization (message passing)', changes: 'rcu_assign_pointer (rcu_replace_pointer)', expectKinds: [V_SYNC_BROKEN], memory: ['lkmm'] },
    'ipi-no-wait': { doc: 'the IPI broadcast posts its requests and returns without waiting for acknowledgements', changes: 'on_each_cpu_mask (smp_call_function_many, wait=1)', strategies: ['ipi'], expectKinds: [V_SYNC_BROKEN] },
  },
  detects: [V_SYNC_BROKEN],

  boot(c, p) {
    const bootObj = OBJS_PER_WRITER * p.writers;
    c.mem.store(p.scratch.gen + bootObj, 1);
    c.mem.store(p.scratch.pub, bootObj);
  },

  rcuCallback: freeObject,

  reader: {
    outcomes: {
      'irq-off-section': { expect: 'ACCEPTABLE', doc: 'held an object through an irq-off section' },
      'rcu-section': { expect: 'ACCEPTABLE', doc: 'held an object through an rcu_read_lock section' },
    },
    init: (_c, p) => ({ pub: p.scratch.pub, gen: p.scratch.gen }),
    op(c: Cpu, s: { pub: number; gen: number }) {
      const m = c.mem;
      // irq-off holds off IPIs and grace periods alike; rcu_read_lock only grace periods
      const irq = c.strategy.name === 'ipi' || (m.random() & 1) === 0;
      if (irq) localIrqSave(c);
      else rcuReadLock(c);
      winReaderOpen(c, W_SYNC_READER, 0);
      const obj = m.load(s.pub); // rcu_dereference()
      const gen = m.load(s.gen + obj, ADDR_DEP); // (through the pointer: an address dependency)
      c.trace(EV_SYNC, obj, gen);
      if ((gen & 1) === 0) c.violation(V_SYNC_BROKEN, 0, `object ${obj} was already freed when the reader found it published`);
      winWiden(c, W_SYNC_READER);
      const now = m.load(s.gen + obj, ADDR_DEP);
      if (now !== gen) c.violation(V_SYNC_BROKEN, 0, `object ${obj} freed (gen ${gen} -> ${now}) while a reader that found it was still inside its ${irq ? 'irq-off' : 'RCU'} section`);
      winReaderClose(c, W_SYNC_READER);
      if (irq) localIrqRestore(c);
      else rcuReadUnlock(c);
      return irq ? 'irq-off-section' : 'rcu-section';
    },
  },

  writer: {
    outcomes: {
      replaced: { expect: 'ACCEPTABLE', doc: 'published a new object, freed the old one through the strategy' },
      'pool-busy': { expect: 'INTERESTING', doc: 'every object of this writer was still waiting for its grace period' },
    },
    init: (_c, p, index): WriterState => ({ next: 0, first: index * OBJS_PER_WRITER, one: new Int32Array(1), pub: p.scratch.pub, gen: p.scratch.gen }),
    op(c: Cpu, s: WriterState) {
      const m = c.mem;
      const obj = s.first + s.next;
      const pGen = s.gen + obj;
      if ((m.load(pGen) & 1) !== 0) return 'pool-busy'; // still live or waiting for its grace period
      s.next = (s.next + 1) % OBJS_PER_WRITER;
      m.add(pGen, 1, RELAXED); // allocate: live (the object's initialization: plain stores in the kernel)
      // rcu_replace_pointer(): publish the new object, unpublish the old; rcu_assign_pointer's
      // release orders the initialization before the publication
      let old: number;
      if (c.bug['publish-no-release']) {
        old = m.load(s.pub); // (rcu_dereference_protected: the writer is the only one)
        m.store(s.pub, obj); // WRITE_ONCE instead of rcu_assign_pointer
      } else old = m.xchg(s.pub, obj, RELEASE);
      winWriterOpen(c, W_SYNC_UPDATE, 0);
      // exactly the table-free path of tlb_finish_mmu: flush, then free by the strategy
      c.strategy.flushTlb(c);
      s.one[0] = s.gen + old;
      c.strategy.freeTables(c, s.one, 1, freeObject);
      winWriterClose(c, W_SYNC_UPDATE);
      return 'replaced';
    },
  },
});
