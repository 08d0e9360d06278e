// One emulated CPU under the controlled executor (src/machine/controlled.ts): the same role
// code as a stress worker, on a ControlledMem. The worker lives for a whole exploration and
// runs one execution per message: a fresh Cpu on that execution's machine, a few operations,
// then its results. Nothing here depends on timing: the baton decides who runs.
import { parentPort, workerData } from 'node:worker_threads';
import type { ArchName } from '../src/arch/arch.js';
import { EV_OP, TRACE_EVENTS } from '../src/check/trace.js';
import { ControlledAbort, ControlledMem } from '../src/machine/controlled.js';
import { Cpu } from '../src/machine/cpu.js';
import { CpuState, G_DRAIN, G_GP_DOORBELL, G_ROLES_DONE, type Layout } from '../src/machine/layout.js';
import { scenarioById } from '../src/scenarios/index.js';
import { roleCounters } from '../src/scenarios/scenario.js';
import { handleIpi, irqPoint } from '../src/sync/irq.js';
import { rcuBarrier, rcuGpKthread } from '../src/sync/rcu.js';
import { type StrategyName, freeTableAfterGp } from '../src/sync/strategy.js';
import { registryNames, runParams, scenarioCpu } from '../harness/machine.js';
import type { ControlledExec, ControlledInit, ControlledResult } from './protocol.js';

const init = workerData as ControlledInit;
const port = parentPort!;
const scenario = scenarioById(init.scenario)!;
if (JSON.stringify(registryNames()) !== JSON.stringify(init.registries)) throw new Error('the worker\'s registries (windows, violation kinds, stats) differ from the main thread\'s');
const role = init.role === 'reader' ? scenario.reader : init.role === 'writer' ? scenario.writer : null;
const counters = role ? roleCounters(role) : [];

function runExecution(x: ControlledExec): ControlledResult {
  const L: Layout = x.layout;
  const mem = new ControlledMem(x.sab, x.ctl, init.cpu, (x.seed ^ Math.imul(init.cpu + 1, 0x9e3779b1)) >>> 0);
  const outcomes = new Array<number>(counters.length).fill(0);
  let c: Cpu | null = null;
  try {
    mem.start();
    const cfg = { ...init, levels: init.mmLevels, arch: init.arch as ArchName, strategy: x.strategy as StrategyName };
    const { params } = runParams(scenario, cfg, L.scratchBase);
    c = scenarioCpu(scenario, mem, L, init.cpu, cfg, params, x.bugs, {
      widenNs: Float64Array.from(x.widenNs), winPair: Int32Array.from(x.winPair), jitterP: 0, seedStartNs: 0, stopOnViolation: false, knobs: Float64Array.from(init.knobs),
    });
    c.traceLog = [];
    c.setRole(counters);
    mem.store(c.aState, CpuState.Running); // as a stress worker: an IPI now waits for this CPU
    if (role) {
      const state = role.init(c, params, init.roleIndex);
      for (let i = 0; i < x.ops; i++) {
        c.trace(EV_OP, i + 1, 0);
        c.countOutcome(role.op(c, state));
        irqPoint(c);
      }
      if (init.role === 'writer') rcuBarrier(c);
      // the last reader or writer to finish lets the gp worker drain and exit
      if (mem.add(L.gBase + G_ROLES_DONE, 1) + 1 === init.readers + init.writers) {
        mem.store(L.gBase + G_DRAIN, 1);
        mem.add(L.gBase + G_GP_DOORBELL, 1);
        mem.notify(L.gBase + G_GP_DOORBELL, 1);
      }
    } else rcuGpKthread(c, scenario.rcuCallback ?? freeTableAfterGp);
    // as a stress worker: done, so no IPI waits for it any more; then take what was posted
    mem.store(c.aState, CpuState.Done);
    handleIpi(c);
    c.wakeWaiters();
    mem.exit();
    for (let i = 0; i < counters.length; i++) outcomes[i] = c.outcomes[i];
    return { type: 'exec-result', cpu: init.cpu, aborted: null, outcomes, violations: c.violations, violationCounts: Array.from(c.violationCounts), trace: c.traceLog ?? [], winEntries: Array.from(c.winEntries), winOverlaps: Array.from(c.winOverlaps) };
  } catch (e) {
    if (!(e instanceof ControlledAbort)) throw e;
    return { type: 'exec-result', cpu: init.cpu, aborted: e.message, outcomes, violations: c?.violations ?? [], violationCounts: c ? Array.from(c.violationCounts) : [], trace: c?.traceLog ?? [], winEntries: c ? Array.from(c.winEntries) : [], winOverlaps: c ? Array.from(c.winOverlaps) : [] };
  }
}

port.on('message', (x: ControlledExec) => port.postMessage(runExecution(x)));
port.postMessage({ type: 'ready', cpu: init.cpu, traceNames: TRACE_EVENTS.names() });
