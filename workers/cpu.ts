// One worker_thread = one emulated CPU: it runs its role's loop until the stop flag (or
// its quota), then sends its CPU-local counters to the main thread. Nothing is logged
// from here: the main thread logs.
import { parentPort, workerData } from 'node:worker_threads';
import hdr from 'hdr-histogram-js';
import { archByName } from '../src/arch/index.js';
import type { ArchName } from '../src/arch/arch.js';
import { Cpu, S_GPS, S_OPS } from '../src/machine/cpu.js';
import { bugsFrom } from '../src/machine/bugs.js';
import { CpuState, G_START } from '../src/machine/layout.js';
import { StressMem } from '../src/machine/mem.js';
import { freeTable } from '../src/mm/page_alloc.js';
import { scenarioById } from '../src/scenarios/index.js';
import { handleIpi, irqPoint } from '../src/sync/irq.js';
import { rcuBarrier, rcuGpKthread } from '../src/sync/rcu.js';
import { STRATEGIES, type StrategyName } from '../src/sync/strategy.js';
import type { WorkerInit, WorkerMessage } from './protocol.js';

const init = workerData as WorkerInit;
const port = parentPort!;
const scenario = scenarioById(init.scenario)!;
const L = init.layout;
const mem = new StressMem(init.sab, (init.seed ^ Math.imul(init.cpu + 1, 0x9e3779b1)) >>> 0);
const params = { readers: init.readers, writers: init.writers, mmLevels: init.mmLevels, params: init.params };
const baseArch = archByName(init.arch as ArchName);
const c = new Cpu(mem, L, init.cpu, scenario.archVariant ? scenario.archVariant(baseArch, params) : baseArch, STRATEGIES[init.strategy as StrategyName], bugsFrom(init.bugs), {
  widenNs: Float64Array.from(init.widenNs),
  winPair: Int32Array.from(init.winPair),
  jitterP: init.jitter,
  seedStartNs: 0,
  stopOnViolation: init.stopOnViolation,
  rcuTickUs: init.rcuTickUs,
});
const role = init.role === 'reader' ? scenario.reader : init.role === 'writer' ? scenario.writer : null;
const state = role ? role.init(c, params, init.roleIndex) : null;

function send(msg: WorkerMessage): void {
  port.postMessage(msg);
}

send({ type: 'ready', cpu: init.cpu });
while (mem.load(L.gBase + G_START) === 0) mem.wait(L.gBase + G_START, 0, 100);
c.opts.seedStartNs = mem.now();
mem.store(c.aState, CpuState.Running);

let ops = 0;
if (role && state !== null) {
  const op = role.op;
  const quota = init.role === 'reader' ? init.opsQuota : 0;
  for (;;) {
    op(c, state);
    irqPoint(c); // between operations: take IPIs, report a quiescent state
    ops++;
    if (ops === quota) {
      send({ type: 'quota-done', cpu: init.cpu });
      break;
    }
    if ((ops & 15) === 0) {
      mem.store(c.aOps, ops);
      if (mem.load(c.gStop) !== 0) break;
    }
  }
} else {
  // the gp worker: grace periods and call_rcu callbacks until told to drain
  rcuGpKthread(c, scenario.rcuCallback ?? freeTable);
  ops = c.stats[S_GPS];
}
// rcu_barrier(): a writer's deferred frees have all run before it reports
if (init.role === 'writer') rcuBarrier(c);
mem.store(c.aOps, ops);
mem.store(c.aState, CpuState.Done);
handleIpi(c);
c.wakeWaiters();

c.stats[S_OPS] = ops;

send({
  type: 'result',
  cpu: init.cpu,
  role: init.role,
  stats: Array.from(c.stats),
  outcomes: Array.from(c.outcomes.subarray(0, role ? role.outcomes.length : 0)),
  hists: c.hists.map((h) => hdr.encodeIntoCompressedBase64(h)),
  winEntries: Array.from(c.winEntries),
  winOverlaps: Array.from(c.winOverlaps),
  winHists: c.winHists.map((h) => hdr.encodeIntoCompressedBase64(h)),
  violationCounts: Array.from(c.violationCounts),
  violations: c.violations,
  firstViolationMs: c.firstViolationMs,
});
