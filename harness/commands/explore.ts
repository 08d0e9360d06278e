// `gupstress explore` and `gupstress replay`: many short controlled executions (a few
// operations per CPU, no widening, no jitter), each a function of its seed; the first that
// fails is written with its schedule (gupstress/explore@1) and replays to the same violation.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { EV_OP } from '../../src/check/trace.js';
import type { Violation } from '../../src/check/violations.js';
import { WINDOWS } from '../../src/check/windows.js';
import { MAX_DEPTH, MAX_PARTICIPANTS, STEP_NS, type SchedName, pctBound } from '../../src/machine/controlled.js';
import { KNOBS } from '../../src/machine/knobs.js';
import { scenarioById } from '../../src/scenarios/index.js';
import { type Scenario, roleCounters, windowPairs } from '../../src/scenarios/scenario.js';
import { BadInput, type RawRunArgs, intOpt, listOpt, parseDuration, resolveRunConfig } from '../run/config.js';
import type { RunConfig } from '../run/machine.js';
import { ControlledMachine, EXECUTORS, type Execution, type ExecutorName, type ExploreOptions, modelId } from '../run/executor.js';
import { type ExhaustiveSummary, exhaustInstances } from '../run/exhaustive.js';
import { MEMORY_MODELS, type MemoryModel } from '../../src/machine/weak.js';
import type { Logger } from '../run/log.js';
import { minFramesToBoot, registryNames } from '../run/machine.js';
import { hostInfo, writeJsonAtomic } from '../run/results.js';
import { EXPLORE_SCHEMA, type ExploreFile } from '../run/files.js';
import { type Shard, type ShardFile, type ShardRun, mergedFrom, needSeed, shardItems, shardTag, resultsFileName } from '../run/shard.js';

export type { Execution, ExploreOptions } from '../run/executor.js';

const MAX_EVENTS = 400;

/** A build's fingerprint for replay: the compiled model (modelId), the registries and the
 *  scenario's declaration. A schedule recorded by another build may not apply: replay
 *  refuses it (exit 2) rather than replaying it into something else. */
export function buildFingerprint(s: Scenario): string {
  const decl = JSON.stringify({ model: modelId(), reg: registryNames(), bugs: Object.keys(s.bugs), params: s.params, windows: windowPairs(s).map((w) => [w.window.name, w.pairedWith?.name ?? null]), reader: roleCounters(s.reader).map((x) => x.name), writer: roleCounters(s.writer).map((x) => x.name) });
  return createHash('sha256').update(decl).digest('hex').slice(0, 16);
}

/** The schedule as runs: [cpu, steps, cpu, steps, ...] (compact, and what a person reads). */
export function scheduleRuns(s: ArrayLike<number>): number[] {
  const out: number[] = [];
  for (let i = 0; i < s.length; ) {
    let j = i;
    while (j < s.length && s[j] === s[i]) j++;
    out.push(s[i], j - i);
    i = j;
  }
  return out;
}

export function scheduleFromRuns(runs: readonly number[]): Int8Array {
  const total = runs.reduce((a, v, i) => (i % 2 === 1 ? a + v : a), 0);
  const s = new Int8Array(total);
  let at = 0;
  for (let i = 0; i < runs.length; i += 2) s.fill(runs[i], at, (at += runs[i + 1]));
  return s;
}

/** Shrinks a failing schedule: drop runs of steps (context switches) while the same kind of
 *  violation still happens no later (delta debugging over the schedule's runs, chunks
 *  halving), then halve the runs left while it comes sooner, in at most `budgetMs`. A dropped run's steps go to whichever CPU the replay can run there. */
export async function minimize(cm: ControlledMachine, ex: Execution, o: ExploreOptions, budgetMs: number): Promise<Execution> {
  const kind = ex.violations[0]?.kind;
  if (kind === undefined) return ex;
  const t0 = performance.now();
  let runs = scheduleRuns(ex.schedule);
  let best = ex;
  for (let chunk = Math.max(1, runs.length >> 2); chunk >= 1 && performance.now() - t0 < budgetMs; chunk >>= 1) {
    for (let at = 0; at < runs.length / 2 && performance.now() - t0 < budgetMs; ) {
      const cand = [...runs.slice(0, 2 * at), ...runs.slice(2 * (at + chunk))];
      if (cand.length === runs.length || cand.length === 0) break;
      const r = await cm.execute(ex.seed, { ...o, sched: 'replay', maxPreemptions: -1 }, { replay: { schedule: scheduleFromRuns(cand), jumps: [], lenient: true, weak: weakChoices(best) } });
      const shorter = r.aborted === null && r.violations.some((v) => v.kind === kind) ? scheduleRuns(r.schedule.subarray(0, lastStepOf(r, kind) + 1)) : null;
      // progress: fewer context switches, none later in the schedule
      if (shorter !== null && shorter.length < runs.length && lastStepOf(r, kind) <= lastStepOf(best, kind)) {
        runs = shorter;
        best = r;
      } else at += chunk;
    }
  }
  // then shrink each run that is left (shuttle's target clock): the shortest run of that CPU,
  // by bisection, with which the violation still comes, and sooner; the steps cut go after it
  for (let i = 0; i < runs.length / 2 && performance.now() - t0 < budgetMs; i++) {
    let lo = 1;
    let hi = runs[2 * i + 1];
    while (lo < hi && performance.now() - t0 < budgetMs) {
      const mid = (lo + hi) >> 1;
      const cand = [...runs];
      cand[2 * i + 1] = mid;
      const r = await cm.execute(ex.seed, { ...o, sched: 'replay', maxPreemptions: -1 }, { replay: { schedule: scheduleFromRuns(cand), jumps: [], lenient: true, weak: weakChoices(best) } });
      if (r.aborted === null && r.violations.some((v) => v.kind === kind) && lastStepOf(r, kind) < lastStepOf(best, kind)) {
        best = r;
        hi = mid;
      } else lo = mid + 1;
    }
    runs = scheduleRuns(best.schedule.subarray(0, lastStepOf(best, kind) + 1));
  }
  return best;
}

/** An execution's weak-memory choices in order, up to step `upTo` (what a replay follows;
 *  under sc none). */
export function weakChoices(ex: Execution, upTo = Infinity): number[] {
  const out: number[] = [];
  for (let i = 0; i < ex.weak.length && ex.weak[i] <= upTo; i += 3) out.push(ex.weak[i + 1]);
  return out;
}

function switches(s: ArrayLike<number>): number {
  return Math.max(0, scheduleRuns(s).length / 2 - 1);
}

/** The step at which the first violation of `kind` happened (violation times are steps). */
function lastStepOf(ex: Execution, kind: string): number {
  const v = ex.violations.find((x) => x.kind === kind)!;
  return Math.min(ex.schedule.length - 1, Math.round((v.timeMs * 1e6) / STEP_NS));
}

/** The traced steps a violation depends on: up to the violation, and only the operations
 *  that were still running when the violating CPU's operation began (an operation that had
 *  ended before it left its state behind, but raced with nothing). `omitted`: rows left out. */
export function raceRows(ex: Execution): { rows: Execution['trace']; omitted: number } {
  const v = ex.violations[0];
  const until = v ? Math.round((v.timeMs * 1e6) / STEP_NS) : Infinity;
  const upto = ex.trace.filter((t) => t.step <= until);
  if (!v) return { rows: upto, omitted: 0 };
  let began = 0; // the violating CPU's operation began here
  for (const t of upto) if (t.cpu === v.cpu && t.ev === EV_OP.id) began = t.step;
  // the step at which each CPU's operation in progress at row i ends: its next begin
  const ends = new Map<number, number>();
  const endOf: number[] = new Array<number>(upto.length);
  for (let i = upto.length - 1; i >= 0; i--) {
    const t = upto[i];
    endOf[i] = ends.get(t.cpu) ?? Infinity;
    if (t.ev === EV_OP.id) ends.set(t.cpu, t.step);
  }
  const rows = upto.filter((t, i) => endOf[i] > began || (t.ev === EV_OP.id && t.step >= began));
  return { rows, omitted: upto.length - rows.length };
}

/** The columns a diagram may take: the terminal's, or none (a pipe, a file, a test). */
export function terminalColumns(): number {
  return process.stdout.isTTY && process.stdout.columns > 0 ? process.stdout.columns : Infinity;
}

/** The text of a cell cut into lines of at most w columns, at a space where there is one. */
function wrap(s: string, w: number): string[] {
  const out: string[] = [];
  let rest = s;
  while (rest.length > w) {
    const at = rest.lastIndexOf(' ', w);
    const cut = at > w / 2 ? at : w;
    out.push(rest.slice(0, cut));
    rest = rest.slice(cut).trimStart();
  }
  return [...out, rest];
}

/** The interleaving the way a kernel developer draws a race: a column per CPU, a row per
 *  traced step (kernel function and values) of the racing operations, ending at the first
 *  violation. A CPU's column is `width` wide, or (null) as wide as its longest cell within
 *  `columns`; a longer cell wraps onto the next lines, so no value is ever cut. */
export function interleaving(ex: Execution, cpus: number, roles: string[], width: number | null = null, columns = terminalColumns()): string[] {
  const v = ex.violations[0];
  const until = v ? Math.round((v.timeMs * 1e6) / STEP_NS) : Infinity;
  const { rows, omitted } = raceRows(ex);
  const lines: { step: string; cpu: number; text: string }[] = [
    { step: 'step', cpu: -1, text: '' },
    ...rows.map((r) => ({ step: String(r.step), cpu: r.cpu, text: r.text })),
    ...(v ? [{ step: String(until), cpu: v.cpu, text: `VIOLATION ${v.kind}` }] : []),
  ];
  const heads = Array.from({ length: cpus }, (_, i) => `cpu${i} (${roles[i]})`);
  const longest = Math.max(...heads.map((h) => h.length), ...lines.map((l) => l.text.length));
  // 8 columns of step numbers, a space between CPUs
  const fit = Math.max(16, Math.floor((columns - 8 - (cpus - 1)) / cpus));
  const w = width ?? Math.min(longest, fit);
  const draw = (step: string, cells: string[]): string[] => {
    const wrapped = cells.map((c) => wrap(c, w));
    const height = Math.max(...wrapped.map((x) => x.length));
    return Array.from({ length: height }, (_, k) => `${(k === 0 ? step : '').padStart(6)}  ${wrapped.map((x) => (x[k] ?? '').padEnd(w)).join(' ')}`.trimEnd());
  };
  const out = draw('step', heads).map((l) => l.replace(/^ {2}step/, 'step  '));
  if (omitted > 0) out.push(`        (${omitted} traced steps of operations that ended before cpu${v!.cpu}'s began are left out)`);
  for (const l of lines.slice(1)) out.push(...draw(l.step, Array.from({ length: cpus }, (_, i) => (i === l.cpu ? l.text : ''))));
  return out;
}


export interface ExploreArgs extends RawRunArgs {
  sched?: unknown;
  depth?: unknown;
  runs?: unknown;
  maxPreemptions?: unknown;
  preempt?: unknown;
  keepGoing?: unknown;
  readerOps?: unknown;
  writerOps?: unknown;
  minimize?: unknown;
  exhaustive?: unknown;
  instances?: unknown;
  executor?: unknown;
  memory?: unknown;
  width?: unknown;
}

/** How an exploration runs: how many executions or how long, what it does at a violation,
 *  exhaustively or not, on which executor. */
export interface ExploreLimits {
  runs: number | null;
  durationMs: number | null;
  keepGoing: boolean;
  minimizeMs: number;
  /** explore --exhaustive: instances (seeds) to exhaust; null: PCT or random executions */
  exhaustive: { instances: number } | null;
  executor: ExecutorName;
  /** --width: columns of a CPU in the interleaving drawn (null: fit the longest cell) */
  width?: number | null;
  /** --shard: this process explores shard i of N (executions, or --exhaustive's instances) */
  shard?: Shard | null;
  /** each execution as it ends (PCT and random); true stops the exploration there */
  onExecution?: (ex: Execution) => boolean | void;
}

/** explore --exhaustive, when neither --runs nor --duration is given */
export const EXHAUSTIVE_DEFAULT_MS = 60_000;
/** explore --exhaustive's preemption bound when --max-preemptions is not given */
export const EXHAUSTIVE_DEFAULT_PREEMPTIONS = 2;

function intArg(v: unknown, what: string, min: number, max: number, dflt: number): number {
  return v === undefined ? dflt : intOpt(v, what, min, max);
}

/** Executions when neither --runs nor --duration is given: as many as a fixed form must
 *  explore clean (issue 7), and enough for every bug switch (the slowest takes about 2,600) */
export const DEFAULT_RUNS = 10_000;

/** An explore instance's frames, where it boots in half of them (--frames gives another) */
export const EXPLORE_FRAMES = 512;

/** The longest a PCT preemption lasts by default: twice the longest latency the run's model
 *  declares (a duration knob: the RCU tick after which the grace-period kthread first polls;
 *  a latency window: the O_DIRECT device's I/O time; the IPI sender's bounded spin is
 *  shorter than both), so a CPU can be off across any of them; drawn log-uniformly
 *  (preemptSteps), the short preemptions stay as frequent as the long ones. */
export function preemptDefaultNs(cfg: RunConfig): number {
  const knobs = KNOBS.all.filter((k) => k.unit === 'us').map((k) => cfg.knobs[k.name] * 1000);
  const windows = WINDOWS.all.filter((w) => w.latency).map((w) => cfg.widen[w.name] ?? 0);
  return Math.min(PREEMPT_MAX_NS, 2 * Math.max(PREEMPT_FLOOR_NS, ...knobs, ...windows));
}
/** The floor of the default: a few thousand steps */
const PREEMPT_FLOOR_NS = 50_000;
const PREEMPT_MAX_NS = 10_000_000_000;

function preemptOpt(v: unknown, cfg: RunConfig): number {
  if (v === undefined) return preemptDefaultNs(cfg);
  const ns = parseDuration(String(v), '--preempt', 'ns') * 1e6;
  if (ns > PREEMPT_MAX_NS) throw new BadInput(`--preempt is at most ${PREEMPT_MAX_NS / 1e9}s (got ${String(v)})`);
  return Math.round(ns);
}

/** explore --exhaustive's operations a CPU of a role makes by default: the most any bug
 *  switched on declares (BugDef.exhaustiveOps), else one. */
function exhaustiveOps(sc: Scenario | undefined, bugs: readonly string[], role: 'reader' | 'writer'): number {
  return Math.max(1, ...bugs.map((b) => sc?.bugs[b]?.exhaustiveOps?.[role] ?? 1));
}

/** --memory: one memory model (default sc). */
export function memoryOpt(v: unknown): MemoryModel {
  const m = v === undefined ? 'sc' : String(v);
  if (!(MEMORY_MODELS as readonly string[]).includes(m)) throw new BadInput(`--memory is ${MEMORY_MODELS.join(', ')} (got '${m}')`);
  return m as MemoryModel;
}

/** --width: columns of a CPU in the interleaving (null: as wide as the longest cell). */
export function widthOpt(v: unknown): number | null {
  return v === undefined ? null : intOpt(v, '--width', 16, 1000);
}

/** The options of an exploration, each against its range. */
export function resolveExplore(a: ExploreArgs): { cfg: RunConfig; o: ExploreOptions } & ExploreLimits {
  const sched = a.sched === undefined ? 'pct' : String(a.sched);
  if (sched !== 'pct' && sched !== 'random') throw new BadInput(`--sched is pct or random (got '${sched}'; a recorded schedule is replayed with gupstress replay)`);
  if (a.runs !== undefined && a.duration !== undefined) throw new BadInput('give --runs or --duration, not both');
  const exhaustive = Boolean(a.exhaustive);
  if (exhaustive && a.sched !== undefined) throw new BadInput('--exhaustive enumerates the schedules itself: give no --sched');
  if (!exhaustive && a.instances !== undefined) throw new BadInput('--instances is for --exhaustive');
  const executor = a.executor === undefined ? 'sequential' : String(a.executor);
  if (!(EXECUTORS as readonly string[]).includes(executor)) throw new BadInput(`--executor is ${EXECUTORS.join(' or ')} (got '${executor}')`);
  // (exhaustive: a time box by default; PCT: a number of executions)
  const runs = a.runs === undefined ? (a.duration === undefined && !exhaustive ? DEFAULT_RUNS : null) : intArg(a.runs, '--runs', 1, 1e9, DEFAULT_RUNS);
  const durationMs = a.duration === undefined ? (a.runs === undefined && exhaustive ? EXHAUSTIVE_DEFAULT_MS : null) : parseDuration(String(a.duration), '--duration');
  // no widening and no jitter: the scheduler chooses the interleavings; the scenario's
  // explore parameters (a smaller instance) unless --param says otherwise
  const given = new Set(listOpt(a.param).map((x) => x.split('=')[0].trim()));
  const sc = scenarioById(String(a.scenario));
  const small = Object.entries(sc?.explore?.params ?? {}).filter(([k]) => !given.has(k)).map(([k, v]) => `${k}=${v}`);
  const cfg = resolveRunConfig({ ...a, param: [...([] as unknown[]).concat(a.param ?? []).map(String), ...small], duration: undefined, ops: '1', widen: undefined, jitter: undefined, stopOnViolation: false });
  // (a window whose widening models a real latency, the O_DIRECT device's I/O time, keeps it:
  // under control it is a logical sleep while the other CPUs run, not a spin)
  for (const w of Object.keys(cfg.widen)) if (!WINDOWS.byName(w)?.latency) cfg.widen[w] = 0;
  if (cfg.readers + cfg.writers + 1 > MAX_PARTICIPANTS) throw new BadInput(`explore runs at most ${MAX_PARTICIPANTS - 1} readers and writers (got ${cfg.readers + cfg.writers})`);
  // a small machine for a small instance: every execution copies it back and the end-of-run
  // checks walk all its frames (the stress machine's frames are for thousands of pages)
  if (a.frames === undefined && cfg.frames > EXPLORE_FRAMES && sc) {
    const need = minFramesToBoot(sc, cfg, EXPLORE_FRAMES);
    if (need !== null && 2 * need <= EXPLORE_FRAMES) cfg.frames = EXPLORE_FRAMES;
  }
  const o: ExploreOptions = {
    sched: sched as SchedName,
    depth: intArg(a.depth, '--depth', 1, MAX_DEPTH, 3),
    preemptNs: preemptOpt(a.preempt, cfg),
    maxPreemptions: intArg(a.maxPreemptions, '--max-preemptions', 0, 1e6, exhaustive ? EXHAUSTIVE_DEFAULT_PREEMPTIONS : -1),
    // (exhaustive: the smallest instance with the race in it: one operation a CPU, unless a
    // bug switched on says its race needs more)
    readerOps: intArg(a.readerOps, '--reader-ops', 1, 1000, exhaustive ? exhaustiveOps(sc, cfg.bugs, 'reader') : 3),
    writerOps: intArg(a.writerOps, '--writer-ops', 1, 1000, exhaustive ? exhaustiveOps(sc, cfg.bugs, 'writer') : 2),
    maxSteps: 500_000,
    memory: memoryOpt(a.memory),
  };
  if (o.memory !== 'sc' && executor !== 'sequential') throw new BadInput(`--memory ${o.memory} runs on the sequential executor only (the worker executor is sequentially consistent)`);
  const minimizeMs = a.minimize === undefined ? 10000 : parseDuration(String(a.minimize), '--minimize');
  return {
    cfg, o, runs, durationMs, keepGoing: Boolean(a.keepGoing), minimizeMs, executor: executor as ExecutorName, width: widthOpt(a.width),
    exhaustive: exhaustive ? { instances: intArg(a.instances, '--instances', 1, 1e6, 1) } : null,
  };
}

export async function runExplore(a: ExploreArgs & { out?: unknown; json: boolean; sharded?: ShardRun | null }, log: Logger, signal: AbortSignal): Promise<number> {
  const { cfg, o, ...lim } = resolveExplore(a);
  const run = a.sharded ?? null;
  needSeed(run, a.seed, 'explores its part');
  if (run && lim.exhaustive && lim.exhaustive.instances < run.shard.count) throw new BadInput(`--shard ${run.shard.index}/${run.shard.count} with --exhaustive splits the instances: give --instances ${run.shard.count} or more`);
  const file = await exploreToFile(cfg, o, { ...lim, shard: run?.shard ?? null }, log, signal);
  if (run) file.shard = shardTag(run.shard, run.whole, file.shardExplore!.items, lim.exhaustive ? lim.exhaustive.instances : (lim.runs ?? file.shardExplore!.items.length));
  const out = a.out === undefined ? 'results' : String(a.out);
  const path = writeJsonAtomic(out, exploreFileName(file), file);
  if (a.json) process.stdout.write(JSON.stringify(file, null, 2) + '\n');
  else process.stdout.write(formatExplore(file, path) + '\n');
  return file.failure ? 1 : 0;
}

/** explore.SCENARIO.STRATEGY.BUGS.STAMP[.shard-i-of-N | .merged].json */
export function exploreFileName(f: ExploreFile): string {
  const c = f.config;
  return resultsFileName(`explore.${c.scenario}.${c.strategy}.${c.bugs.join('+') || 'fixed'}`, f);
}

/** Explores until the first violation (or on, with keepGoing), `runs` executions or for
 *  `durationMs`; the result is what gupstress/explore@1 files hold. */
export async function exploreToFile(cfg: RunConfig, o: ExploreOptions, lim: Partial<ExploreLimits> & Pick<ExploreLimits, 'runs' | 'durationMs' | 'keepGoing' | 'minimizeMs'>, log: Logger, signal?: AbortSignal): Promise<ExploreFile> {
  const { runs, durationMs, keepGoing, minimizeMs, exhaustive = null, executor = 'sequential', onExecution, width = null, shard = null } = lim;
  const s = scenarioById(cfg.scenario)!;
  const cm = new ControlledMachine(cfg, s, executor);
  await cm.start();
  if (exhaustive) {
    try {
      return await exhaustiveFile(cm, cfg, o, { runs, durationMs, minimizeMs, items: shardItems(exhaustive.instances, shard), shard: shard !== null, width }, log, signal);
    } finally {
      await cm.stop();
    }
  }
  const startedAt = new Date().toISOString();
  const t0 = performance.now();
  const seen = new Set<string>();
  const items: number[] = [];
  const hashes: string[] = [];
  let steps = 0;
  let aborted = 0;
  let failure: ExploreFile['failure'] = null;
  let points = 0;
  let minimizeTime = 0; // not exploring: left out of the rates
  const outcomes: ExploreFile['explore']['outcomes'] = { reader: {}, writer: {} };
  const horizon = new PctHorizon();
  try {
    // execution n of the whole (seed + n); a shard runs every count-th, and learns the PCT
    // horizon from the whole's first executions, as the unsharded exploration does
    for (let n = shard === null ? 0 : shard.index - 1; ; n += shard === null ? 1 : shard.count) {
      if (signal?.aborted || (runs !== null && n >= runs) || (durationMs !== null && performance.now() - t0 - minimizeTime >= durationMs)) break;
      for (let j = horizon.learned; j < Math.min(n, PCT_WARMUP); j++) horizon.learn(await cm.execute((cfg.seed + j) >>> 0, o, horizon.at(j)));
      const seed = (cfg.seed + n) >>> 0;
      const ex = await cm.execute(seed, o, horizon.at(n));
      if (n === horizon.learned && n < PCT_WARMUP) horizon.learn(ex);
      items.push(n);
      steps += ex.steps;
      points += ex.points;
      if (ex.aborted !== null) aborted++;
      const h = scheduleHash(ex.schedule);
      seen.add(h);
      if (shard !== null) hashes.push(h);
      for (const role of ['reader', 'writer'] as const) for (const [k, v] of Object.entries(ex.outcomes[role])) outcomes[role][k] = (outcomes[role][k] ?? 0) + v;
      if (onExecution?.(ex) === true) break;
      if (ex.violations.length > 0 && failure === null) {
        const tm = performance.now();
        failure = await failureOf(cm, cfg, ex, o, minimizeMs, n, width);
        minimizeTime += performance.now() - tm;
        log.info({ run: n + 1, kind: failure.violation.kind }, 'explore: violation');
        if (!keepGoing) break;
      }
    }
  } finally {
    await cm.stop();
  }
  const seconds = (performance.now() - t0 - minimizeTime) / 1000;
  const file: ExploreFile = {
    schema: EXPLORE_SCHEMA, startedAt, host: hostInfo(), build: buildFingerprint(s), config: cfg,
    explore: { ...o, ...exploreFigures(cfg, o, { runs: items.length, distinct: seen.size, seconds, steps, points, aborted }), minimizeSeconds: Math.round(minimizeTime / 10) / 100, outcomes },
    failure,
  };
  if (shard !== null) file.shardExplore = { items, schedules: hashes, keepGoing };
  return file;
}

/** The figures of an exploration from its totals (one process's, or the shards' summed). */
export function exploreFigures(cfg: RunConfig, o: ExploreOptions, t: { runs: number; distinct: number; seconds: number; steps: number; points: number; aborted: number }): Omit<ExploreFile['explore'], keyof ExploreOptions | 'minimizeSeconds' | 'outcomes'> {
  const secs = Math.max(t.seconds, 1e-9);
  const meanPoints = t.runs ? Math.max(1, t.points / t.runs) : 20;
  return {
    runs: t.runs, distinctSchedules: t.distinct, seconds: Math.round(t.seconds * 100) / 100, runsPerSec: Math.round(t.runs / secs), stepsPerSec: Math.round(t.steps / secs),
    pctBound: o.sched === 'pct' ? pctBound(cfg.readers + cfg.writers + 1, Math.round(meanPoints), o.depth) : null, meanSteps: t.runs ? Math.round(t.steps / t.runs) : 0, meanPoints: Math.round(meanPoints), aborted: t.aborted,
    totalSteps: t.steps, totalPoints: t.points,
  };
}

/** A schedule's identity, for counting distinct schedules (64 bits of its SHA-1). */
export function scheduleHash(schedule: Int8Array): string {
  return createHash('sha1').update(schedule).digest('hex').slice(0, 16);
}

/** PCT's horizons (how many window points, and steps, an execution has: where its change
 *  points are drawn), learned from the exploration's first PCT_WARMUP executions and then
 *  fixed: execution n is a function of its seed and of those alone, so any shard of an
 *  exploration runs exactly the executions the whole runs. */
export const PCT_WARMUP = 64;

class PctHorizon {
  learned = 0;
  private steps = 0;
  private points = 0;
  learn(ex: Execution): void {
    this.learned++;
    this.steps += ex.steps;
    this.points += ex.points;
  }
  /** the horizons of execution n: the means over the executions before it, up to PCT_WARMUP */
  at(n: number): { pctSteps: number; pctRunSteps: number } {
    if (Math.min(n, PCT_WARMUP) !== this.learned) throw new Error(`PCT horizon of execution ${n} asked with ${this.learned} learned`);
    const k = this.learned;
    return { pctSteps: Math.round(k ? Math.max(1, this.points / k) : 20), pctRunSteps: Math.round(k && this.steps ? this.steps / k : 2000) };
  }
}

/** explore --exhaustive: the instances exhausted, as an explore file. */
async function exhaustiveFile(cm: ControlledMachine, cfg: RunConfig, o: ExploreOptions, lim: { runs: number | null; durationMs: number | null; minimizeMs: number; items: number[]; shard: boolean; width: number | null }, log: Logger, signal?: AbortSignal): Promise<ExploreFile> {
  const s = cm.s;
  const startedAt = new Date().toISOString();
  // (instance j of the whole is seed + j; a shard exhausts every count-th)
  const r = await exhaustInstances(cm, o, { seeds: lim.items.map((j) => (cfg.seed + j) >>> 0), maxPreemptions: o.maxPreemptions, runs: lim.runs, durationMs: lim.durationMs, signal });
  const replay = { ...o, sched: 'replay' as const };
  const tm = performance.now();
  const failure = r.failure ? await failureOf(cm, cfg, r.failure, replay, lim.minimizeMs, r.executions - 1, lim.width) : null;
  if (failure) log.info({ schedules: r.summary.schedules, kind: failure.violation.kind }, 'explore --exhaustive: violation');
  const secs = Math.max(r.seconds, 1e-9);
  return {
    schema: EXPLORE_SCHEMA, startedAt, host: hostInfo(), build: buildFingerprint(s), config: cfg,
    explore: {
      ...replay, runs: r.executions, distinctSchedules: r.summary.schedules, seconds: Math.round(r.seconds * 100) / 100, minimizeSeconds: Math.round((performance.now() - tm) / 10) / 100,
      runsPerSec: Math.round(r.executions / secs), stepsPerSec: 0, pctBound: null, meanSteps: 0, meanPoints: 0, aborted: 0, outcomes: { reader: {}, writer: {} },
    },
    exhaustive: r.summary,
    failure,
    ...(lim.shard ? { shardExplore: { items: lim.items, schedules: [] } } : {}),
  };
}

/** A failing execution as an explore file holds it: its schedule minimized (within
 *  minimizeMs), up to the violation, and the interleaving drawn. */
export async function failureOf(cm: ControlledMachine, cfg: RunConfig, ex: Execution, o: ExploreOptions, minimizeMs: number, runIndex: number, width: number | null = null): Promise<NonNullable<ExploreFile['failure']>> {
  const small = await minimize(cm, ex, o, minimizeMs);
  const kind = ex.violations[0].kind;
  const roles = [...Array(cfg.readers).fill('reader'), ...Array(cfg.writers).fill('writer'), 'gp'];
  const upTo = (x: Execution): Int8Array => x.schedule.subarray(0, lastStepOf(x, kind) + 1);
  return {
    seed: ex.seed, runIndex, violation: small.violations[0], schedule: scheduleRuns(upTo(small)), clockJumps: Array.from(small.jumps), weak: weakChoices(small, lastStepOf(small, kind)),
    stepsBefore: upTo(ex).length, stepsAfter: upTo(small).length, switchesBefore: switches(upTo(ex)), switchesAfter: switches(upTo(small)),
    interleaving: interleaving(small, cfg.readers + cfg.writers + 1, roles, width),
    events: raceRows(small).rows.slice(-MAX_EVENTS).map(({ step, cpu, text }) => ({ step, cpu, text })),
  };
}

export function formatExplore(f: ExploreFile, path: string): string {
  const e = f.explore;
  const c = f.config;
  const x = f.exhaustive;
  const sched = x ? `exhaustive, at most ${x.maxPreemptions} preemption${x.maxPreemptions === 1 ? '' : 's'}` : `${e.sched}${e.sched === 'pct' ? ` depth=${e.depth}` : ''}`;
  const out = [`gupstress explore ${c.scenario}  strategy=${c.strategy}  bugs=${c.bugs.join(',') || 'none'}  sched=${sched}  memory=${e.memory ?? 'sc'}  readers=${c.readers} writers=${c.writers}  ops ${e.readerOps}/${e.writerOps}  seed=${c.seed}`];
  if (x) {
    const line = (i: ExhaustiveSummary['instances'][number]): string => `seed ${i.seed}: at ${i.bound} preemption${i.bound === 1 ? '' : 's'} ${i.schedules} schedules (${i.pruned} paths cut by sleep sets, ${i.races} races reversed), ${i.complete ? 'exhausted' : `not exhausted: cut by ${i.cutBy}`}; ${i.seconds} s over every bound; the longest ${i.maxSteps} steps, ${i.maxChoicePoints} choice points`;
    // (many instances: the first few, then the last, which is where it stopped)
    const shown = x.instances.length <= 6 ? x.instances : [...x.instances.slice(0, 3), ...x.instances.slice(-1)];
    for (const [k, i] of shown.entries()) {
      if (k === 3 && x.instances.length > 6) out.push(`... ${x.instances.length - 4} instances more (the JSON lists them)`);
      out.push(line(i));
    }
    out.push(`${e.runs} executions in ${e.seconds} s (every bound from 0 to ${x.maxPreemptions}): ${x.schedulesPerSec} executions/s`);
  } else out.push(`${e.runs} executions (${e.distinctSchedules} distinct schedules) in ${e.seconds} s${e.minimizeSeconds ? ` (+ ${e.minimizeSeconds} s minimizing)` : ''}: ${e.runsPerSec} runs/s, ${e.stepsPerSec} steps/s, ${e.meanSteps} steps per run${e.aborted ? `, ${e.aborted} cut at the step limit` : ''}`);
  if (f.failure) {
    const v = f.failure;
    out.push(`FAIL at run ${v.runIndex + 1} (seed ${v.seed}): ${v.violation.kind} cpu${v.violation.cpu} ${v.violation.address}: ${v.violation.detail}`);
    out.push(`schedule minimized: ${v.stepsBefore} -> ${v.stepsAfter} steps, ${v.switchesBefore} -> ${v.switchesAfter} context switches`);
    out.push('');
    out.push(...v.interleaving);
    out.push('');
    out.push(`replay: gupstress replay ${path}`);
  } else if (x) {
    out.push(x.complete
      ? `all ${x.schedules} schedules explored (up to ${x.maxPreemptions} preemptions) of ${x.instances.length === 1 ? `the instance, seed ${x.instances[0].seed}` : `${x.instances.length} instances, seeds ${x.instances[0].seed}-${x.instances.at(-1)!.seed}`}: no violation`
      : `no violation in ${e.runs} executions; not exhausted at ${x.maxPreemptions} preemptions (cut by ${x.instances.find((i) => !i.complete)?.cutBy ?? 'the budget'}): no proof`);
  } else {
    out.push(`clean${e.pctBound !== null ? `; PCT guarantee per run for a bug of depth ${e.depth}: >= 1/(n*k^(d-1)) = ${e.pctBound.toExponential(2)} (n ${c.readers + c.writers + 1} CPUs, k ${e.meanPoints} window points: the runs of even seed put their change points there; odd seeds put them on any of ${e.meanSteps} steps, >= ${pctBound(c.readers + c.writers + 1, e.meanSteps, e.depth).toExponential(2)})` : ''}`);
  }
  out.push(`results: ${path}`);
  return out.join('\n');
}

/** Re-executes an explore file's failing schedule `times` times on one set of CPUs: the last
 *  execution, the violation that matches the recorded one (kind, CPU, address, detail) if it
 *  came back, and how many of the executions brought it back. */
export async function replayFailure(f: ExploreFile, s: Scenario, times = 1): Promise<{ ex: Execution; got: Violation | undefined; reproduced: number }> {
  const cm = new ControlledMachine(f.config, s);
  await cm.start();
  const want = f.failure!.violation;
  const match = (ex: Execution): Violation | undefined => ex.violations.find((v) => v.kind === want.kind && v.cpu === want.cpu && v.address === want.address && v.detail === want.detail);
  let ex: Execution | null = null;
  let reproduced = 0;
  try {
    for (let i = 0; i < times; i++) {
      ex = await cm.execute(f.failure!.seed, { ...f.explore, sched: 'replay', maxPreemptions: -1 }, { replay: { schedule: scheduleFromRuns(f.failure!.schedule), jumps: f.failure!.clockJumps ?? [], weak: f.failure!.weak ?? [] } });
      if (match(ex) && ex.diverged < 0) reproduced++;
    }
  } finally {
    await cm.stop();
  }
  return { ex: ex!, got: match(ex!), reproduced };
}

/** `gupstress replay FILE`: the recorded schedule again; exit 1 with the same violation, 2
 *  when the file is not an explore result or its schedule no longer applies. */
export async function runReplay(file: string, json: boolean, width?: unknown): Promise<number> {
  const w = widthOpt(width);
  let f: ExploreFile;
  try {
    f = JSON.parse(readFileSync(file, 'utf8')) as ExploreFile;
  } catch (e) {
    throw new BadInput(`${file}: ${(e as Error).message.split('\n')[0]}`);
  }
  if (f.schema !== EXPLORE_SCHEMA) throw new BadInput(`${file} is not a ${EXPLORE_SCHEMA} file`);
  if (!f.failure) throw new BadInput(`${file} holds no failing schedule (its exploration was clean)`);
  const s = scenarioById(f.config.scenario);
  if (!s) throw new BadInput(`${file}: scenario ${f.config.scenario} is not in this build`);
  if (f.build !== buildFingerprint(s)) throw new BadInput(`${file} was recorded by another build (${f.build}, this one is ${buildFingerprint(s)}): its schedule does not apply`);
  const { ex, got } = await replayFailure(f, s);
  if (ex.diverged >= 0) throw new BadInput(`${file}: the schedule no longer applies at step ${ex.diverged} (the recorded CPU cannot run there in this build)`);
  const want = f.failure.violation;
  const roles = [...Array(f.config.readers).fill('reader'), ...Array(f.config.writers).fill('writer'), 'gp'];
  const report = { reproduced: got !== undefined, violation: got ?? ex.violations[0] ?? null, steps: ex.steps, interleaving: interleaving(ex, f.config.readers + f.config.writers + 1, roles, w) };
  if (json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  else {
    process.stdout.write(`${report.reproduced ? 'reproduced' : 'NOT reproduced'}: ${want.kind} cpu${want.cpu} ${want.address}: ${want.detail}\n`);
    process.stdout.write(report.interleaving.join('\n') + '\n');
  }
  return report.reproduced ? 1 : 3;
}


/** The shards of one exploration as the whole would have written it: its executions and
 *  distinct schedules (up to the first failure, unless --keep-going), the failure of the
 *  lowest execution (the one the whole meets first), the figures over every shard's work.
 *  --exhaustive: the instances together, exhausted when every shard's were, the failure at
 *  the lowest preemption bound, then the lowest instance (the order the whole goes in). */
export function mergeExplore(shards: readonly ShardFile<ExploreFile>[]): ExploreFile {
  const fs = shards.map((s) => s.data);
  const [a] = fs;
  const sum = (f: (x: ExploreFile) => number): number => fs.reduce((acc, x) => acc + f(x), 0);
  const outcomes: ExploreFile['explore']['outcomes'] = { reader: {}, writer: {} };
  for (const f of fs) for (const role of ['reader', 'writer'] as const) for (const [k, v] of Object.entries(f.explore.outcomes[role])) outcomes[role][k] = (outcomes[role][k] ?? 0) + v;
  const base = { schema: EXPLORE_SCHEMA, startedAt: fs.map((f) => f.startedAt).sort()[0], host: a.host, build: a.build, config: a.config, merged: mergedFrom(shards) } as const;
  const seconds = sum((f) => f.explore.seconds);
  const minimizeSeconds = Math.round(sum((f) => f.explore.minimizeSeconds) * 100) / 100;
  if (a.exhaustive) {
    const x = fs.map((f) => f.exhaustive!);
    const instances = x.flatMap((i) => i.instances).sort((p, q) => p.seed - q.seed);
    const failing = fs.filter((f) => f.failure !== null);
    const boundOf = (f: ExploreFile): number => f.exhaustive!.instances.find((i) => i.seed === f.failure!.seed)?.bound ?? Infinity;
    const first = failing.sort((p, q) => boundOf(p) - boundOf(q) || p.failure!.seed - q.failure!.seed)[0];
    const runs = sum((f) => f.explore.runs);
    return {
      ...base,
      explore: { ...a.explore, runs, distinctSchedules: sum((f) => f.explore.distinctSchedules), seconds: Math.round(seconds * 100) / 100, minimizeSeconds, runsPerSec: Math.round(runs / Math.max(seconds, 1e-9)), outcomes },
      exhaustive: { maxPreemptions: x[0].maxPreemptions, instances, complete: x.every((i) => i.complete), schedules: x.reduce((acc, i) => acc + i.schedules, 0), schedulesPerSec: Math.round(runs / Math.max(seconds, 1e-9)) },
      failure: first?.failure ?? null,
    };
  }
  const failure = fs.map((f) => f.failure).filter((f) => f !== null).sort((p, q) => p.runIndex - q.runIndex)[0] ?? null;
  // without --keep-going the whole stops at its first failure: what it ran is every execution
  // up to that one
  const cut = failure === null || fs.some((f) => f.shardExplore?.keepGoing) ? Infinity : failure.runIndex;
  const seen = new Set<string>();
  let runs = 0;
  for (const f of fs) {
    const { items, schedules } = f.shardExplore!;
    for (const [k, n] of items.entries()) if (n <= cut) {
      runs++;
      seen.add(schedules[k]);
    }
  }
  const figures = exploreFigures(a.config, a.explore, { runs: sum((f) => f.explore.runs), distinct: seen.size, seconds, steps: sum((f) => f.explore.totalSteps ?? 0), points: sum((f) => f.explore.totalPoints ?? 0), aborted: sum((f) => f.explore.aborted) });
  return { ...base, explore: { ...a.explore, ...figures, runs, distinctSchedules: seen.size, minimizeSeconds, outcomes }, failure };
}
