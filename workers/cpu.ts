// One worker_thread = one emulated CPU: it runs its role's loop until the stop flag (or
// its quota), then sends its CPU-local counters to the main thread. Nothing is logged
// from here: the main thread logs.
import { parentPort, workerData } from 'node:worker_threads';
import hdr from 'hdr-histogram-js';
import type { ArchName } from '../src/arch/arch.js';
import { C_OVERLAPS, CpuState, G_START, cpuAddr } from '../src/machine/layout.js';
import { StressMem } from '../src/machine/mem.js';
import { H_READER_OP, H_WRITER_OP, READER_TIMED, S_OPS } from '../src/machine/stats.js';
import { scenarioById } from '../src/scenarios/index.js';
import { roleCounters } from '../src/scenarios/scenario.js';
import { handleIpi, irqPoint } from '../src/sync/irq.js';
import { S_GPS, rcuBarrier, rcuGpKthread } from '../src/sync/rcu.js';
import { type StrategyName, freeTableAfterGp } from '../src/sync/strategy.js';
import { registryNames, runParams, scenarioCpu } from '../harness/run/machine.js';
import type { WorkerInit, WorkerMessage } from '../harness/run/protocol.js';

const init = workerData as WorkerInit;
const port = parentPort!;
const scenario = scenarioById(init.scenario)!;
const L = init.layout;
const mem = new StressMem(init.sab, (init.seed ^ Math.imul(init.cpu + 1, 0x9e3779b1)) >>> 0);
// ids are given by name: a worker whose registries differ from the main thread's would
// count into the wrong slots, so it refuses to start
if (JSON.stringify(registryNames()) !== JSON.stringify(init.registries)) throw new Error('the worker\'s registries (windows, violation kinds, stats) differ from the main thread\'s');
const run = { ...init, levels: init.mmLevels, arch: init.arch as ArchName, strategy: init.strategy as StrategyName };
const { params } = runParams(scenario, run, L.scratchBase);
const c = scenarioCpu(scenario, mem, L, init.cpu, run, params, init.bugs, {
  widenNs: Float64Array.from(init.widenNs),
  winPair: Int32Array.from(init.winPair),
  jitterP: init.jitter,
  seedStartNs: 0,
  stopOnViolation: init.stopOnViolation,
  knobs: Float64Array.from(init.knobs),
});
const role = init.role === 'reader' ? scenario.reader : init.role === 'writer' ? scenario.writer : null;
const state = role ? role.init(c, params, init.roleIndex) : null;

function send(msg: WorkerMessage): void {
  port.postMessage(msg);
}

// The CPU runs from a macrotask, never during the evaluation of this module. This module
// imports src/scenarios/index.ts, whose top-level await makes it an async module's parent:
// V8 evaluates it from AsyncModuleExecutionFulfilled, and on Node 22 and later (V8 12+) a
// worker.terminate() that lands there (a stall's workers are terminated while blocked in
// Atomics.wait) aborts the whole process ("Check failed: (location_) != nullptr", SIGTRAP).
// Terminated in a macrotask the worker just exits. 'ready' is sent from here too: once it
// has come, terminating this worker is safe.
function cpuMain(): void {
  send({ type: 'ready', cpu: init.cpu });
  while (mem.load(L.gBase + G_START) === 0) mem.wait(L.gBase + G_START, 0, 100);
  c.opts.seedStartNs = mem.now();
  mem.store(c.aState, CpuState.Running);

  let ops = 0;
  // the paired-window overlaps so far, for the main thread's --until-bound
  const aOverlaps = cpuAddr(L, init.cpu, C_OVERLAPS);
  const overlapsSoFar = (): number => c.winOverlaps.reduce((a, v) => a + v, 0);
  const counters = role ? roleCounters(role) : [];
  c.setRole(counters);
  if (role && state !== null) {
    const op = role.op;
    const hist = c.hists[init.role === 'reader' ? H_READER_OP.id : H_WRITER_OP.id];
    const quota = init.role === 'reader' ? init.opsQuota : 0;
    // a reader op is a few hundred ns: its two clock reads and a histogram record would cost
    // a third of it, so one reader op in READER_TIMED is timed (as the race windows are); a
    // writer's every op is
    const timedMask = init.role === 'reader' ? READER_TIMED - 1 : 0;
    // the stop flag (and the heartbeat) every 16 reader ops, a few microseconds; but after
    // every writer op, which can wait a grace period each (a second at rcu.tick=1s): sixteen of
    // them would keep a stopped or interrupted run going for seconds
    const checkMask = init.role === 'reader' ? 15 : 0;
    for (;;) {
      // the op skeleton, once for every scenario: time it, count the outcome it returns
      if ((ops & timedMask) === 0) {
        const t0 = mem.now();
        c.countOutcome(op(c, state));
        hist.recordValue(Math.round(mem.now() - t0));
      } else {
        c.countOutcome(op(c, state));
      }
      irqPoint(c); // between operations: take IPIs, report a quiescent state
      ops++;
      if (ops === quota) {
        send({ type: 'quota-done', cpu: init.cpu });
        break;
      }
      if ((ops & checkMask) === 0) {
        mem.store(c.aOps, ops);
        if (init.role === 'reader') mem.store(aOverlaps, overlapsSoFar());
        if (mem.load(c.gStop) !== 0) break;
      }
    }
  } else {
    // the gp worker: grace periods and call_rcu callbacks until told to drain
    rcuGpKthread(c, scenario.rcuCallback ?? freeTableAfterGp);
    ops = c.stats[S_GPS.id];
  }
  // rcu_barrier(): a writer's deferred frees have all run before it reports
  if (init.role === 'writer') rcuBarrier(c);
  mem.store(c.aOps, ops);
  if (init.role === 'reader') mem.store(aOverlaps, overlapsSoFar());
  mem.store(c.aState, CpuState.Done);
  handleIpi(c);
  c.wakeWaiters();

  c.stats[S_OPS.id] = ops;

  send({
    type: 'result',
    cpu: init.cpu,
    role: init.role,
    stats: Array.from(c.stats),
    outcomes: Array.from(c.outcomes.subarray(0, counters.length)),
    hists: c.hists.map((h) => hdr.encodeIntoCompressedBase64(h)),
    winEntries: Array.from(c.winEntries),
    winOverlaps: Array.from(c.winOverlaps),
    winReached: Array.from(c.winReachedCount),
    winHists: c.winHists.map((h) => hdr.encodeIntoCompressedBase64(h)),
    violationCounts: Array.from(c.violationCounts),
    violations: c.violations,
    firstViolationMs: c.firstViolationMs,
  });
}

setImmediate(cpuMain);
