// One emulated CPU under the controlled executor (src/machine/controlled.ts): the same role
// code as a stress worker, on a ControlledMem. The worker lives for a whole exploration and
// runs one execution per message: a fresh Cpu on that execution's machine, a few operations,
// then its results. Nothing here depends on timing: the baton decides who runs.
import { parentPort, workerData } from 'node:worker_threads';
import type { ArchName } from '../src/arch/arch.js';
import { TRACE_EVENTS } from '../src/check/trace.js';
import { ControlledAbort, ControlledMem } from '../src/machine/controlled.js';
import type { Layout } from '../src/machine/layout.js';
import { controlledCpu } from '../src/machine/controlled-cpu.js';
import { scenarioById } from '../src/scenarios/index.js';
import { roleCounters } from '../src/scenarios/scenario.js';
import type { StrategyName } from '../src/sync/strategy.js';
import { registryNames, runParams, scenarioCpu } from '../harness/run/machine.js';
import type { ControlledExec, ControlledInit, ControlledResult } from '../harness/run/protocol.js';

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
  const cfg = { ...init, levels: init.mmLevels, arch: init.arch as ArchName, strategy: x.strategy as StrategyName };
  const { params } = runParams(scenario, cfg, L.scratchBase);
  const c = scenarioCpu(scenario, mem, L, init.cpu, cfg, params, x.bugs, {
    widenNs: Float64Array.from(x.widenNs), winPair: Int32Array.from(x.winPair), jitterP: 0, seedStartNs: 0, stopOnViolation: false, knobs: Float64Array.from(init.knobs), timing: false,
  });
  c.traceLog = [];
  c.setRole(counters);
  let aborted: string | null = null;
  try {
    mem.start();
    controlledCpu(c, scenario, init.role, init.roleIndex, params, x.ops);
    mem.exit();
  } catch (e) {
    if (!(e instanceof ControlledAbort)) throw e;
    aborted = e.message;
  }
  for (let i = 0; i < counters.length; i++) outcomes[i] = c.outcomes[i];
  return { type: 'exec-result', cpu: init.cpu, aborted, outcomes, violations: c.violations, violationCounts: Array.from(c.violationCounts), trace: c.traceLog ?? [], winEntries: Array.from(c.winEntries), winOverlaps: Array.from(c.winOverlaps) };
}

port.on('message', (x: ControlledExec) => port.postMessage(runExecution(x)));
port.postMessage({ type: 'ready', cpu: init.cpu, traceNames: TRACE_EVENTS.names() });
