// The controlled executors: the CPUs of one exploration, and one execution of them at a time
// (a machine booted from the seed, the scheduler's control block, each CPU's role run a few
// operations, the end-of-run checks). Two ways to run the same model from the same control
// block, held equal by the tests (same seed, same schedule, same violations):
//   sequential (the default): every CPU on this thread, each a generator of the model's
//     resumable form (build/resumable.ts); a context switch is a generator resumed, a few
//     hundred nanoseconds;
//   workers: every CPU on its own worker thread running the model as written, handing a
//     baton (Atomics.notify / Atomics.wait, tens of microseconds a switch): the reference.
import { existsSync, readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { endOfRunAccounting } from '../../src/check/accounting.js';
import { TRACE_EVENTS, formatTraceEvent } from '../../src/check/trace.js';
import type { Violation } from '../../src/check/violations.js';
import { WINDOWS } from '../../src/check/windows.js';
import { knobArray } from '../../src/machine/knobs.js';
import {
  type ChoicePoint, MAX_PARTICIPANTS, STEP_NS, type SchedName, type SequentialMem, controlAccesses, controlChoices, controlPeeks, controlResult, controlWeak, finishedWord, newControl,
  startControl, stepNow, weakChoice,
} from '../../src/machine/controlled.js';
import { type MemoryModel, newWeakMemory } from '../../src/machine/weak.js';
import type { ControlledRole } from '../../src/machine/controlled-cpu.js';
import type { Cpu, CpuOptions } from '../../src/machine/cpu.js';
import type { Layout } from '../../src/machine/layout.js';
import { type RunParams, type Scenario, roleCounters } from '../../src/scenarios/scenario.js';
import type { StrategyName } from '../../src/sync/strategy.js';
import type { ControlledExec, ControlledInit, ControlledResult } from './protocol.js';
import { BadInput } from './config.js';
import type { RunConfig } from './machine.js';
import { type Machine, type MachineImage, bootMachine, dirtyMap, imageKey, machineImage, registryNames, restoreMachine } from './machine.js';
import { windowArrays } from './runner.js';

export interface ExploreOptions {
  sched: SchedName;
  depth: number;
  /** PCT: the longest a CPU stays off at a change point, ns of logical time */
  preemptNs: number;
  maxPreemptions: number;
  readerOps: number;
  writerOps: number;
  maxSteps: number;
  /** the memory model (default sc); tso and lkmm on the sequential executor only */
  memory?: MemoryModel;
}

/** One execution's outcome, as the main thread sees it. */
export interface Execution {
  seed: number;
  steps: number;
  /** window points passed (PCT's k) */
  points: number;
  preemptions: number;
  aborted: string | null;
  diverged: number;
  schedule: Int8Array;
  /** the clock's jumps, [step, clock, ...]: what a replay needs besides the schedule */
  jumps: Int32Array;
  /** the weak-memory choices, [step, choice, options, ...] (empty under sc): what a replay
   *  needs besides the schedule and the jumps */
  weak: Int32Array;
  violations: Violation[];
  /** the traced steps in order; ev is the trace event's id */
  trace: { step: number; cpu: number; ev: number; text: string }[];
  /** per window id, summed over the CPUs: entries, and (reader windows paired with a
   *  writer window) overlaps: whether the race was really exercised */
  winEntries: number[];
  winOverlaps: number[];
  /** the roles' outcomes and events, summed over their CPUs, by name */
  outcomes: { reader: Record<string, number>; writer: Record<string, number> };
  /** where more than one CPU could have made the step, and each step's access
   *  (ExecuteOptions.recordChoices) */
  choices?: ChoicePoint[];
  accesses?: Int32Array;
  /** and the checker's reads (peek) by step: [step, accessCode, ...]; null: too many to keep */
  peeks?: Int32Array | null;
}

/** What varies between the executions of one set of CPUs. */
export interface ExecuteOptions {
  /** replay: the schedule to follow and the recording's clock jumps (lenient: an edited one) */
  replay?: { schedule: ArrayLike<number>; jumps: ArrayLike<number>; lenient?: boolean; weak?: ArrayLike<number> };
  /** PCT's estimates of the window points and steps of an execution (where change points fall) */
  pctSteps?: number;
  pctRunSteps?: number;
  /** the strategy and the bug switches of this execution (default: the exploration's) */
  strategy?: StrategyName;
  bugs?: readonly string[];
  /** record the choice points (explore --exhaustive), and the sleepers of its sleep sets */
  recordChoices?: boolean;
  sleepers?: ArrayLike<number>;
}

export const EXECUTORS = ['sequential', 'workers'] as const;
export type ExecutorName = (typeof EXECUTORS)[number];

/** The resumable form of the model (dist/resumable), as the sequential executor uses it. */
interface ResumableModel {
  SequentialMem: new (sab: SharedArrayBuffer, ctl: SharedArrayBuffer, me: number, seed: number, dirty: Uint8Array) => SequentialMem;
  runSequential(ctl: SharedArrayBuffer, mems: readonly SequentialMem[], cpus: readonly Generator[]): string | null;
  controlledCpu(c: Cpu, s: Scenario, role: ControlledRole, roleIndex: number, params: RunParams, ops: number): Generator;
  scenarioById(id: string): Scenario | undefined;
  makeCpu(mem: SequentialMem, L: Layout, id: number, cfg: { arch: string; strategy: StrategyName }, s: Scenario, params: RunParams, bugs: readonly string[], opts: CpuOptions): Cpu;
}

let resumableModel: Promise<ResumableModel> | null = null;

/** dist/resumable: from dist/harness, or (running the TypeScript sources) the build's. */
function resumableDir(): URL {
  return new URL(import.meta.url.endsWith('.ts') ? '../../dist/resumable/' : '../../resumable/', import.meta.url);
}

/** The compiled model's hash, as the build wrote it (dist/resumable/MODEL): what an explore
 *  file's build fingerprint names, so a schedule of another model is refused, not replayed. */
export function modelId(): string {
  try {
    return readFileSync(new URL('MODEL', resumableDir()), 'utf8').trim();
  } catch {
    throw new Error('the build\'s model fingerprint is missing (dist/resumable/MODEL): run npm run build');
  }
}

/** Loads the resumable form once (the build writes it: npm run build, npm test). */
function loadResumable(): Promise<ResumableModel> {
  resumableModel ??= (async () => {
    // from dist/harness: dist/resumable; from the TypeScript sources: the build's dist/resumable
    const base = new URL('src/', resumableDir());
    if (!existsSync(new URL('machine/controlled-cpu.js', base))) throw new Error(`the resumable form of the model is missing (${base.pathname}): run npm run build`);
    const at = (p: string): Promise<Record<string, unknown>> => import(new URL(p, base).href) as Promise<Record<string, unknown>>;
    const [controlled, cpuMain, cpu, scenarios, arch, strategy, bugs] = await Promise.all([
      at('machine/controlled.js'), at('machine/controlled-cpu.js'), at('machine/cpu.js'), at('scenarios/index.js'), at('arch/index.js'), at('sync/strategy.js'), at('machine/bugs.js'),
    ]);
    // ids are given by name in both forms: they must agree, or counts land in the wrong slots
    const names = await registryNamesOf(base);
    if (JSON.stringify(names) !== JSON.stringify(registryNames())) throw new Error('the resumable form of the model is another build than this one (its registries differ): run npm run build');
    const scenarioById = scenarios.scenarioById as (id: string) => Scenario | undefined;
    const archByName = arch.archByName as (name: string) => import('../../src/arch/arch.js').Arch;
    const STRATEGIES = strategy.STRATEGIES as Record<StrategyName, import('../../src/sync/strategy.js').Strategy>;
    const bugSwitches = bugs.bugSwitches as typeof import('../../src/machine/bugs.js').bugSwitches;
    const ALL_BUGS = scenarios.ALL_BUGS as typeof import('../../src/scenarios/index.js').ALL_BUGS;
    const CpuClass = cpu.Cpu as typeof import('../../src/machine/cpu.js').Cpu;
    return {
      SequentialMem: controlled.SequentialMem as ResumableModel['SequentialMem'],
      runSequential: controlled.runSequential as ResumableModel['runSequential'],
      controlledCpu: cpuMain.controlledCpu as ResumableModel['controlledCpu'],
      scenarioById,
      // as harness/machine.ts's scenarioCpu, on the resumable form's classes and records
      makeCpu: (mem, L, id, cfg, s, params, bugList, opts) => {
        const a = archByName(cfg.arch);
        return new CpuClass(mem as unknown as import('../../src/machine/mem.js').Mem, L, id, s.archVariant ? s.archVariant(a, params) : a, STRATEGIES[cfg.strategy], bugSwitches(ALL_BUGS, bugList), opts);
      },
    };
  })();
  return resumableModel;
}

async function registryNamesOf(base: URL): Promise<string[][]> {
  const [w, v, st, t, k] = await Promise.all(['check/windows.js', 'check/violations.js', 'machine/stats.js', 'check/trace.js', 'machine/knobs.js'].map((p) => import(new URL(p, base).href) as Promise<Record<string, { names(): string[] }>>));
  return [w.WINDOWS, v.VIOLATION_KINDS, st.STATS, st.HISTS, t.TRACE_EVENTS, k.KNOBS].map((r) => r.names());
}

/** Every CPU's trace events in step order, each formatted from its declaration. */
function traceOf(results: readonly ControlledResult[], notes: Execution['trace']): Execution['trace'] {
  const trace: Execution['trace'] = [...notes];
  for (const r of results) {
    for (let i = 0; i < r.trace.length; i += 4) {
      trace.push({ step: Math.round(r.trace[i] / STEP_NS), cpu: r.cpu, ev: r.trace[i + 1], text: formatTraceEvent(TRACE_EVENTS.all[r.trace[i + 1]], r.trace[i + 2], r.trace[i + 3]) });
    }
  }
  return trace.sort((a, b) => a.step - b.step || a.cpu - b.cpu);
}

function workerUrl(): URL {
  if (!import.meta.url.endsWith('.ts')) return new URL('../../workers/controlled.js', import.meta.url);
  if (process.env.GUPSTRESS_COMPILED_WORKERS === '1') return new URL('../../dist/workers/controlled.js', import.meta.url);
  return new URL('../../workers/shim.mjs', import.meta.url);
}

/** The CPUs of one exploration and its executions. */
export class ControlledMachine {
  private readonly roles: ControlledRole[] = [];
  /** the control block and the machine's memory, reused by every execution (newControl) */
  private ctl: SharedArrayBuffer | null = null;
  private mem: SharedArrayBuffer | null = null;
  private image: MachineImage | null = null;
  /** each CPU's role counters (none for the gp worker) */
  private readonly counters: { name: string; event: boolean }[][];
  /** what every execution's CPUs share: the knobs, the windows' widening and pairing (read only) */
  private readonly knobs: Float64Array;
  private readonly windows: { widenNs: Float64Array; winPair: Int32Array };
  private readonly imageKeys = new Map<string, string>();
  private dirty: Uint8Array | null = null;
  private readonly roleNames: { reader: string[]; writer: string[] };
  // workers
  private readonly workers: Worker[] = [];
  private pending: (() => void) | null = null;
  private results: ControlledResult[] = [];
  private failure: Error | null = null;
  // sequential
  private model: ResumableModel | null = null;
  private resumableScenario: Scenario | null = null;

  constructor(readonly cfg: RunConfig, readonly s: Scenario, readonly executor: ExecutorName = 'sequential') {
    for (let i = 0; i < cfg.readers; i++) this.roles.push('reader');
    for (let i = 0; i < cfg.writers; i++) this.roles.push('writer');
    this.roles.push('gp');
    this.counters = this.roles.map((r) => (r === 'gp' ? [] : roleCounters(s[r])));
    this.knobs = knobArray(cfg.knobs);
    this.roleNames = { reader: roleCounters(s.reader).map((x) => x.name), writer: roleCounters(s.writer).map((x) => x.name) };
    const w = windowArrays(s, cfg);
    this.windows = { widenNs: Float64Array.from(w.widenNs), winPair: Int32Array.from(w.winPair) };
  }

  get participants(): number {
    return this.roles.length;
  }

  async start(): Promise<void> {
    if (this.participants > MAX_PARTICIPANTS) throw new BadInput(`explore runs at most ${MAX_PARTICIPANTS - 1} readers and writers (got ${this.participants - 1})`);
    if (this.executor === 'sequential') {
      this.model = await loadResumable();
      this.resumableScenario = this.model.scenarioById(this.s.id) ?? null;
      if (!this.resumableScenario) throw new Error(`scenario ${this.s.id} is missing from the resumable form of the model: run npm run build`);
      return;
    }
    const cfg = this.cfg;
    const registries = registryNames();
    let ready = 0;
    await new Promise<void>((resolve, reject) => {
      this.roles.forEach((role, idx) => {
        const init: ControlledInit = {
          controlled: true, cpu: idx, role, roleIndex: this.roleIndex(idx), scenario: this.s.id, arch: cfg.arch,
          strategy: cfg.strategy, knobs: Array.from(knobArray(cfg.knobs)), readers: cfg.readers, writers: cfg.writers, mmLevels: cfg.levels, params: cfg.params, registries,
        };
        const w = new Worker(workerUrl(), { workerData: init, stdout: false, stderr: false });
        w.on('message', (msg: { type: 'ready' } | ControlledResult) => {
          if (msg.type === 'ready') {
            if (++ready === this.roles.length) resolve();
          } else {
            this.results.push(msg);
            if (this.results.length === this.workers.length) this.pending?.();
          }
        });
        w.on('error', (e) => {
          this.failure = e;
          reject(e);
          this.pending?.();
        });
        this.workers.push(w);
      });
    });
  }

  private roleIndex(cpu: number): number {
    return this.roles[cpu] === 'writer' ? cpu - this.cfg.readers : cpu;
  }

  private opsOf(cpu: number, o: ExploreOptions): number {
    return this.roles[cpu] === 'reader' ? o.readerOps : o.writerOps;
  }

  /** One execution under the given scheduler. */
  async execute(seed: number, o: ExploreOptions, x: ExecuteOptions = {}): Promise<Execution> {
    const { replay, pctSteps = 20, pctRunSteps = 2000, strategy = this.cfg.strategy, bugs = this.cfg.bugs, recordChoices = false, sleepers } = x;
    // (the CPUs are built for a scenario; the strategy and the bugs are the execution's)
    const cfg = { ...this.cfg, strategy, bugs: [...bugs], seed };
    const m = this.boot(cfg);
    const memory = o.memory ?? 'sc';
    if (memory !== 'sc' && this.executor !== 'sequential') throw new BadInput(`--memory ${memory} runs on the sequential executor only (the worker executor is sequentially consistent)`);
    const ctl = newControl({
      sched: o.sched, seed, participants: this.participants, depth: o.depth, preemptNs: o.preemptNs, pctSteps, pctRunSteps, maxPreemptions: o.maxPreemptions, maxSteps: o.maxSteps, replay: replay?.schedule,
      jumps: replay?.jumps, lenient: replay?.lenient, recordChoices, sleepers, memory, weak: replay?.weak,
    }, this.ctl ?? undefined);
    this.ctl = ctl; // every CPU is done with it when this execution returns: the next reuses it
    const { widenNs, winPair } = this.windows;
    const notes: Execution['trace'] = [];
    const results = this.executor === 'sequential' ? this.runSequential(seed, o, cfg, m, ctl, widenNs, winPair, notes) : await this.runWorkers(seed, o, cfg, m, ctl, widenNs, winPair);
    const ex = this.finish(seed, m, ctl, results, notes);
    if (recordChoices) {
      ex.choices = controlChoices(ctl);
      ex.accesses = controlAccesses(ctl);
      ex.peeks = controlPeeks(ctl);
    }
    return ex;
  }

  /** The execution's machine: booted, or (the same configuration as the last one) its image
   *  copied back onto the memory of the last execution. */
  private boot(cfg: RunConfig): Machine {
    // (what the configuration's image key is, by strategy and bugs: the rest is the machine's)
    const ck = `${cfg.strategy} ${cfg.bugs.join(',')}`;
    let key = this.imageKeys.get(ck);
    if (key === undefined) this.imageKeys.set(ck, (key = imageKey(cfg)));
    // (the sequential executor's CPUs mark the blocks they write: only those are copied back)
    if (this.image?.key === key && this.mem) return restoreMachine(this.s, cfg, this.image, this.mem, this.dirty ?? undefined);
    const m = bootMachine(this.s, cfg, this.mem ?? undefined);
    this.mem = m.sab; // as the control block: the next execution boots on it again
    this.image = machineImage(m, cfg);
    if (this.executor !== 'sequential') return m;
    // (its boot CPU too must mark what its end-of-run checks write: a restored machine's does)
    this.dirty = dirtyMap(m.L.words);
    return restoreMachine(this.s, cfg, this.image, this.mem, this.dirty);
  }

  private async runWorkers(seed: number, o: ExploreOptions, cfg: RunConfig, m: Machine, ctl: SharedArrayBuffer, widenNs: Float64Array, winPair: Int32Array): Promise<ControlledResult[]> {
    this.results = [];
    const done = new Promise<void>((resolve) => (this.pending = resolve));
    this.workers.forEach((w, i) => {
      const x: ControlledExec = { sab: m.sab, ctl, layout: m.L, seed, bugs: cfg.bugs, widenNs: Array.from(widenNs), winPair: Array.from(winPair), ops: this.opsOf(i, o), strategy: cfg.strategy };
      w.postMessage(x);
    });
    startControl(ctl);
    const { k, index } = finishedWord(ctl);
    // the main thread never blocks: Atomics.waitAsync (Node 20 has it; its lib types lag)
    await (Atomics as unknown as { waitAsync(a: Int32Array, i: number, v: number): { value: Promise<string> | string } }).waitAsync(k, index, 0).value;
    await done;
    this.pending = null;
    if (this.failure) throw this.failure;
    return this.results;
  }

  private runSequential(seed: number, o: ExploreOptions, cfg: RunConfig, m: Machine, ctl: SharedArrayBuffer, widenNs: Float64Array, winPair: Int32Array, notes: Execution['trace']): ControlledResult[] {
    const model = this.model!;
    const s = this.resumableScenario!;
    const params = m.params;
    const knobs = this.knobs;
    const mems: SequentialMem[] = [];
    const cpus: Cpu[] = [];
    const bodies: Generator[] = [];
    for (let i = 0; i < this.participants; i++) {
      // each CPU's PRNG seeded as a worker seeds its own
      const mem = new model.SequentialMem(m.sab, ctl, i, (seed ^ Math.imul(i + 1, 0x9e3779b1)) >>> 0, this.dirty!);
      const c = model.makeCpu(mem, m.L, i, cfg, s, params, cfg.bugs, { widenNs, winPair, jitterP: 0, seedStartNs: 0, stopOnViolation: false, knobs, timing: false });
      c.traceLog = [];
      c.setRole(this.counters[i]);
      mems.push(mem);
      cpus.push(c);
      bodies.push(model.controlledCpu(c, s, this.roles[i], this.roleIndex(i), params, this.opsOf(i, o)));
    }
    // weak memory: one for the execution, every CPU's accesses through it; what it reorders is
    // noted in the interleaving (a row of the CPU's at the step)
    const k = new Int32Array(ctl);
    const words = new Int32Array(m.sab);
    const dirty = this.dirty!;
    const weak = newWeakMemory(o.memory ?? 'sc', words, (p, v) => {
      words[p] = v;
      dirty[p >> 6] = 1;
    }, (n) => weakChoice(k, n), (cpu, text) => notes.push({ step: stepNow(k), cpu, ev: -1, text }), this.participants);
    for (const mem of mems) mem.weak = weak;
    const aborted = model.runSequential(ctl, mems, bodies);
    return cpus.map((c, i) => ({
      type: 'exec-result', cpu: i, aborted, outcomes: Array.from(c.outcomes.subarray(0, this.counters[i].length)),
      violations: c.violations, violationCounts: Array.from(c.violationCounts), trace: c.traceLog ?? [], winEntries: Array.from(c.winEntries), winOverlaps: Array.from(c.winOverlaps),
    }));
  }

  /** What every CPU reported, with the end-of-run checks on the boot CPU (as after a stress run). */
  private finish(seed: number, m: Machine, ctl: SharedArrayBuffer, results: ControlledResult[], notes: Execution['trace'] = []): Execution {
    const res = controlResult(ctl);
    const violations = results.flatMap((r) => r.violations);
    const aborted = results.find((r) => r.aborted !== null)?.aborted ?? (res.aborted ? 'aborted' : null);
    const sums = (role: 'reader' | 'writer'): Record<string, number> => {
      const names = this.roleNames[role];
      const out: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]));
      for (const r of results) if (this.roles[r.cpu] === role) r.outcomes.forEach((v, i) => (out[names[i]] += v));
      return out;
    };
    const outcomes = { reader: sums('reader'), writer: sums('writer') };
    if (aborted === null) {
      this.s.teardown?.(m.boot, m.params);
      endOfRunAccounting(m.boot, this.s.mms ?? 1);
      this.s.check?.(m.boot, m.params, outcomes);
      // found after the last step (the boot CPU's clock is the wall's: not a step)
      for (const v of m.boot.violations) v.timeMs = (res.steps * STEP_NS) / 1e6;
      violations.push(...m.boot.violations);
    }
    violations.sort((a, b) => a.timeMs - b.timeMs);
    const sum = (get: (r: ControlledResult) => number[]): number[] => WINDOWS.all.map((w) => results.reduce((a, r) => a + (get(r)[w.id] ?? 0), 0));
    const ex = { seed, steps: res.steps, points: res.points, preemptions: res.preemptions, aborted, diverged: res.diverged, schedule: res.schedule, jumps: res.jumps, weak: controlWeak(ctl), violations, winEntries: sum((r) => r.winEntries), winOverlaps: sum((r) => r.winOverlaps), outcomes } as Omit<Execution, 'trace'>;
    // the interleaving is read only where a violation is shown: formatted on first use
    let trace: Execution['trace'] | null = null;
    return Object.defineProperty(ex, 'trace', { enumerable: true, get: () => (trace ??= traceOf(results, notes)) }) as Execution;
  }

  async stop(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
