// bench's controlled executors, side by side in one run: the sequential one (every CPU a
// generator on one thread) and the worker one (a thread a CPU, a baton handed with
// Atomics.notify / Atomics.wait: the executor explore ran on before), on the same executions
// (the same seeds, the same model, the same scheduler); per scenario instance, and for
// explore --exhaustive.
import { SCENARIOS, scenarioById } from '../../src/scenarios/index.js';
import { ControlledMachine, EXECUTORS, type ExecutorName } from '../run/executor.js';
import { exhaust } from '../run/exhaustive.js';
import { resolveExplore } from './explore.js';
import { MEMORY_MODELS, type MemoryModel } from '../../src/machine/weak.js';

export interface Rate {
  runsPerSec: number;
  stepsPerSec: number;
}

/** One workload on both executors, and the sequential one's speed-up. */
export interface SideBySide {
  sequential: Rate;
  workers: Rate;
  /** sequential / workers, executions a second */
  speedup: number;
}

export interface ControlledBench {
  /** the headline workload: ksm-merge's fixed form, its explore instance, pct and random */
  pct: SideBySide;
  random: SideBySide;
  /** every scenario's explore instance, pct */
  scenarios: ({ scenario: string } & SideBySide)[];
  /** explore --exhaustive (at most 2 preemptions, one operation a CPU) on sync-locks' instance,
   *  seed 1: schedules (and paths cut by sleep sets) a second, for the time given */
  exhaustive: { scenario: string; schedulesPerSec: number; pathsPerSec: number; sequential: boolean };
  /** the headline workload (ksm-merge, random scheduling, sequential executor) under each
   *  memory model: what store buffers and message histories cost */
  memory: ({ memory: MemoryModel } & Rate)[];
}

/** Executions of `scenario`'s explore instance for about ms on one executor (after a warm-up). */
async function rate(scenario: string, sched: 'pct' | 'random', executor: ExecutorName, ms: number, memory: MemoryModel = 'sc'): Promise<Rate> {
  const { cfg, o } = resolveExplore({ scenario, sched, seed: 1, memory });
  const cm = new ControlledMachine(cfg, scenarioById(scenario)!, executor);
  await cm.start();
  try {
    // warmed up first, as long as half the measure: V8 compiles the model's code (and, for the
    // workers, each fresh thread's) over the first thousands of executions
    let seed = 1;
    for (const t0 = performance.now(); performance.now() - t0 < ms / 2; ) await cm.execute(seed++, o);
    let runs = 0;
    let steps = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < ms) {
      steps += (await cm.execute(seed++, o)).steps;
      runs++;
    }
    const secs = (performance.now() - t0) / 1000;
    return { runsPerSec: Math.round(runs / secs), stepsPerSec: Math.round(steps / secs) };
  } finally {
    await cm.stop();
  }
}

async function sideBySide(scenario: string, sched: 'pct' | 'random', ms: number): Promise<SideBySide> {
  const [sequential, workers] = [await rate(scenario, sched, EXECUTORS[0], ms), await rate(scenario, sched, EXECUTORS[1], ms)];
  return { sequential, workers, speedup: Math.round((100 * sequential.runsPerSec) / Math.max(1, workers.runsPerSec)) / 100 };
}

/** The controlled executors' speed: the headline for `ms` a measure, every scenario for `perScenarioMs`. */
export async function controlledBench(ms: number, perScenarioMs: number): Promise<ControlledBench> {
  const pct = await sideBySide('ksm-merge', 'pct', ms);
  const random = await sideBySide('ksm-merge', 'random', ms);
  const scenarios: ControlledBench['scenarios'] = [];
  for (const s of SCENARIOS) scenarios.push({ scenario: s.id, ...(await sideBySide(s.id, 'pct', perScenarioMs)) });
  const memory: ControlledBench['memory'] = [];
  for (const m of MEMORY_MODELS) memory.push({ memory: m, ...(await rate('ksm-merge', 'random', 'sequential', ms, m)) });
  const x = resolveExplore({ scenario: 'sync-locks', exhaustive: true, seed: 1 });
  const cm = new ControlledMachine(x.cfg, scenarioById('sync-locks')!);
  await cm.start();
  try {
    const r = await exhaust(cm, x.o, { seed: 1, maxPreemptions: x.o.maxPreemptions, runs: null, durationMs: ms });
    return { pct, random, scenarios, memory, exhaustive: { scenario: 'sync-locks', schedulesPerSec: Math.round(r.schedules / r.seconds), pathsPerSec: Math.round((r.schedules + r.pruned) / r.seconds), sequential: true } };
  } finally {
    await cm.stop();
  }
}
