// `explore --exhaustive`: every schedule of one instance that matters (a scenario's explore
// instance, one seed: the same inputs every time), up to a preemption bound. Stateless
// model checking in the style of Flanagan and Godefroid's dynamic partial-order reduction
// (POPL 2005) with sleep sets: each schedule is an execution from boot, its prefix replayed;
// the first runs every CPU on as far as it goes (no preemption). After each execution its
// races are found from what it did: a step j of CPU q and the latest earlier step i of another
// CPU that touched the same word (one of them writing) and that q had not yet seen (vector
// clocks); the order of the two may matter, so at the choice point before i, q is to be tried
// too (every CPU that could run there, if q could not). Backtracking tries those, deepest
// first, within the bound (a switch away from a CPU that could go on is a preemption). A CPU
// tried at a choice point sleeps in its siblings' subtrees until a dependent access wakes it
// (its orders were explored already), and a path on which only sleepers could run is cut.
// When nothing is left to try, no schedule of this instance with at most K preemptions
// breaks it (up to the departures the README names: a bound prunes as Coons et al. show, and
// time is not a dependency). The first violation stops it, with its schedule.
import { type ChoicePoint, FLUSH_ENTRY, FLUSH_SHIFT, LONG_PREEMPT, SLEEP_BLOCKED_ABORT } from '../../src/machine/controlled.js';
import type { ControlledMachine, Execution, ExploreOptions } from './executor.js';

export interface ExhaustiveLimits {
  seed: number;
  /** the preemption bound K (-1: none) */
  maxPreemptions: number;
  /** stop after this many schedules, or after durationMs (null: no limit) */
  runs: number | null;
  durationMs: number | null;
  signal?: AbortSignal;
}

export interface ExhaustiveResult {
  /** schedules executed to their end (each a distinct ordering of dependent steps) */
  schedules: number;
  /** paths cut by their sleep sets: only independent steps reordered, explored already */
  pruned: number;
  /** the tree up to the bound was exhausted (a proof for the instance and bound) */
  complete: boolean;
  /** what stopped it short: the first violation, --runs, --duration, Ctrl-C */
  cutBy: 'violation' | 'runs' | 'duration' | 'interrupted' | null;
  seconds: number;
  /** steps of the longest execution, and choice points on its path (how deep the tree is) */
  maxSteps: number;
  maxChoicePoints: number;
  /** races found (pairs of dependent steps whose order was then tried the other way) */
  races: number;
  /** the first execution with a violation */
  failure: Execution | null;
}

/** Frame.tried and .backtrack: the long preemption of the CPU that ran (ChoicePoint.canLong) */
const LONG = 1 << 30;

interface Frame extends ChoicePoint {
  /** CPUs tried here, a bit each (LONG: the long preemption), and the access each made here */
  tried: number;
  triedAccess: number[];
  /** CPUs to try here (races found at this point) */
  backtrack: number;
}

/** Explores the instance's schedules depth-first (see the top of this file). */
export async function exhaust(cm: ControlledMachine, o: ExploreOptions, lim: ExhaustiveLimits): Promise<ExhaustiveResult> {
  if ((o.memory ?? 'sc') !== 'sc') return exhaustWeak(cm, o, lim);
  const replay: ExploreOptions = { ...o, sched: 'replay', maxPreemptions: lim.maxPreemptions };
  const t0 = performance.now();
  const stack: Frame[] = [];
  /** the schedule replayed: CPUs, and LONG_PREEMPT where a frame's long preemption is taken */
  let prefix: number[] = [];
  let sleepers: number[] = [];
  const res: ExhaustiveResult = { schedules: 0, pruned: 0, complete: false, cutBy: null, seconds: 0, maxSteps: 0, maxChoicePoints: 0, races: 0, failure: null };
  for (;;) {
    const ex = await cm.execute(lim.seed, replay, { replay: { schedule: prefix, jumps: [] }, recordChoices: true, sleepers });
    if (ex.peeks === null) throw new Error('exhaustive: an execution made more reads by the checker than can be recorded');
    if (ex.diverged >= 0) throw new Error(`exhaustive: the replay of a prefix diverged at step ${ex.diverged} (the execution is not a function of its schedule)`);
    if (ex.aborted === SLEEP_BLOCKED_ABORT) res.pruned++;
    else if (ex.aborted !== null) throw new Error(`exhaustive: an execution was cut short (${ex.aborted}) after ${ex.steps} steps; its last CPUs: ${lastRuns(ex.schedule)}`);
    else res.schedules++;
    res.maxSteps = Math.max(res.maxSteps, ex.steps);
    const choices = ex.choices ?? [];
    res.maxChoicePoints = Math.max(res.maxChoicePoints, choices.length);
    if (ex.violations.length > 0) {
      res.failure = ex;
      res.cutBy = 'violation';
      break;
    }
    // the choice points past the replayed prefix are new frames, their default choice tried;
    // the branched frame learns the access its new choice made
    for (const c of choices) {
      const chosen = ex.schedule[c.step];
      if (c.step >= prefix.length) {
        const triedAccess: number[] = [];
        triedAccess[chosen] = c.access;
        stack.push({ ...c, tried: 1 << chosen, triedAccess, backtrack: 1 << chosen });
      } else if (c.step === prefix.length - 1 && (prefix[c.step] & LONG_PREEMPT) === 0) {
        stack[stack.length - 1].triedAccess[chosen] = c.access;
      }
    }
    res.races += addRaces(ex, stack, cm.participants);
    // backtrack to the deepest frame with a CPU to try within the bound
    let next: number[] | null = null;
    while (stack.length > 0 && next === null) {
      const f = stack[stack.length - 1];
      const alt = toTry(f, lim.maxPreemptions);
      if (alt < 0) {
        stack.pop();
        continue;
      }
      f.tried |= alt === LONG_PREEMPT ? LONG : 1 << alt;
      // (the steps replayed keep their long preemptions: the prefix's, then the run's)
      next = [];
      for (let i = 0; i < f.step; i++) next.push(i < prefix.length ? prefix[i] : ex.schedule[i]);
      next.push(alt);
    }
    if (next === null) {
      res.complete = true;
      break;
    }
    prefix = next;
    // sleep sets: at each choice point of the path, the CPUs explored there before the one
    // the path takes sleep until a dependent access (their orders were explored already)
    sleepers = [];
    // (a long preemption is dependent with everything: none sleep where one is taken, and it
    // never sleeps)
    for (const f of stack) {
      const on = prefix[f.step];
      if ((on & LONG_PREEMPT) !== 0) continue;
      const tried = f.tried & ~LONG;
      for (let p = 0; tried >> p !== 0; p++) if (((tried >> p) & 1) !== 0 && p !== on) sleepers.push(f.step, p, f.triedAccess[p] ?? 0);
    }
    if (lim.signal?.aborted) res.cutBy = 'interrupted';
    else if (lim.runs !== null && res.schedules + res.pruned >= lim.runs) res.cutBy = 'runs';
    else if (lim.durationMs !== null && performance.now() - t0 >= lim.durationMs) res.cutBy = 'duration';
    if (res.cutBy) break;
  }
  res.seconds = (performance.now() - t0) / 1000;
  return res;
}

/** explore --exhaustive under a weak memory model: every schedule and every weak-memory
 *  choice up to the bound (enumerateAll: sleep sets, no DPOR). */
async function exhaustWeak(cm: ControlledMachine, o: ExploreOptions, lim: ExhaustiveLimits): Promise<ExhaustiveResult> {
  const replay: ExploreOptions = { ...o, sched: 'replay', maxPreemptions: lim.maxPreemptions };
  const t0 = performance.now();
  const res: ExhaustiveResult = { schedules: 0, pruned: 0, complete: false, cutBy: null, seconds: 0, maxSteps: 0, maxChoicePoints: 0, races: 0, failure: null };
  let last: Execution | null = null;
  res.complete = await enumerateAll(async (schedule, weak, sleepers) => {
    const ex = await cm.execute(lim.seed, replay, { replay: { schedule, jumps: [], weak }, recordChoices: true, sleepers });
    if (ex.diverged >= 0) throw new Error(`exhaustive: the replay of a prefix diverged at step ${ex.diverged} (the execution is not a function of its schedule)`);
    const pruned = ex.aborted === SLEEP_BLOCKED_ABORT;
    if (pruned) res.pruned++;
    else if (ex.aborted !== null) throw new Error(`exhaustive: an execution was cut short (${ex.aborted}) after ${ex.steps} steps; its last CPUs: ${lastRuns(ex.schedule)}`);
    else res.schedules++;
    res.maxSteps = Math.max(res.maxSteps, ex.steps);
    res.maxChoicePoints = Math.max(res.maxChoicePoints, (ex.choices?.length ?? 0) + ex.weak.length / 3);
    last = ex;
    return { schedule: ex.schedule, choices: ex.choices ?? [], weak: ex.weak, pruned };
  }, () => {
    const ex = last!;
    if (ex.violations.length > 0) {
      res.failure = ex;
      res.cutBy = 'violation';
    } else if (lim.signal?.aborted) res.cutBy = 'interrupted';
    else if (lim.runs !== null && res.schedules + res.pruned >= lim.runs) res.cutBy = 'runs';
    else if (lim.durationMs !== null && performance.now() - t0 >= lim.durationMs) res.cutBy = 'duration';
    return res.cutBy !== null;
  }, { maxPreemptions: lim.maxPreemptions, long: true });
  res.seconds = (performance.now() - t0) / 1000;
  return res;
}

/** The lowest-numbered CPU of frame f's backtrack set not yet tried whose choice keeps
 *  within the bound, then its long preemption (LONG_PREEMPT); -1 if none. */
function toTry(f: Frame, maxPreemptions: number): number {
  const left = f.backtrack & (f.runnable | (f.canLong ? LONG : 0)) & ~f.tried;
  const within = (preempt: number): boolean => maxPreemptions < 0 || f.preemptsBefore + preempt <= maxPreemptions;
  for (let p = 0; p < 30 && left >> p !== 0; p++) {
    if (((left >> p) & 1) === 0) continue;
    if (within(f.curCan && p !== f.cur ? 1 : 0)) return p;
  }
  return (left & LONG) !== 0 && within(1) ? LONG_PREEMPT : -1;
}

/** The races of execution ex, added to the backtrack sets of the frames before their first
 *  steps (FG-DPOR, post hoc over the execution's steps). Returns how many it found. */
function addRaces(ex: Execution, stack: Frame[], n: number): number {
  const acc = ex.accesses!;
  const sched = ex.schedule;
  const frameAt = new Map<number, Frame>();
  for (const f of stack) frameAt.set(f.step, f);
  // vector clocks: each CPU's steps so far, and what of the others' it has seen
  const local = new Int32Array(n);
  const vc = Array.from({ length: n }, () => new Int32Array(n));
  /** per word: its last write and the reads since, each with the step, its CPU, the step's
   *  index on its CPU and that CPU's clock after it */
  interface Ev { step: number; cpu: number; idx: number; clock: Int32Array }
  const lastWrite = new Map<number, Ev>();
  const readsSince = new Map<number, Ev[]>();
  let races = 0;
  const peeks = ex.peeks ?? new Int32Array(0);
  let pi = 0;
  /** step j's access a by CPU q: a race with the latest dependent step q has not seen */
  const access = (j: number, q: number, a: number): void => {
    const addr = a >> 1;
    const write = (a & 1) !== 0;
    const w = lastWrite.get(addr);
    const deps: Ev[] = w ? [w] : [];
    if (write) deps.push(...(readsSince.get(addr) ?? []));
    let race: Ev | null = null;
    for (const e of deps) if (e.cpu !== q && vc[q][e.cpu] < e.idx && (race === null || e.step > race.step)) race = e;
    if (race !== null) {
      const f = frameAt.get(race.step);
      if (f !== undefined) {
        // try q there; if q could not run there, every CPU that could, and the long preemption
        // of the one that ran (q may be waiting for time to pass: a timer, a grace period)
        f.backtrack |= ((f.runnable >> q) & 1) !== 0 ? 1 << q : f.runnable | LONG;
        races++;
      }
    }
    // q has now seen every dependent step before this one
    for (const e of deps) for (let p = 0; p < n; p++) if (e.clock[p] > vc[q][p]) vc[q][p] = e.clock[p];
    const ev: Ev = { step: j, cpu: q, idx: local[q], clock: vc[q].slice() };
    if (write) {
      lastWrite.set(addr, ev);
      readsSince.set(addr, []);
    } else {
      const r = readsSince.get(addr);
      if (r) r.push(ev);
      else readsSince.set(addr, [ev]);
    }
  };
  for (let j = 0; j < sched.length; j++) {
    const q = sched[j];
    local[q]++;
    vc[q][q] = local[q];
    if (acc[j] !== 0) access(j, q, acc[j]);
    // the checker's reads in the step: its verdict hangs on their order like a load's value
    for (; pi < peeks.length && peeks[pi] <= j; pi += 2) if (peeks[pi] === j) access(j, q, peeks[pi + 1]);
  }
  return races;
}

/** The last context switches of a schedule, as cpu x steps. */
function lastRuns(s: Int8Array): string {
  const out: string[] = [];
  for (let i = s.length - 1, n = 0; i >= 0 && out.length < 8; i--) {
    n++;
    if (i === 0 || s[i - 1] !== s[i]) {
      out.unshift(`cpu${s[i]} x${n}`);
      n = 0;
    }
  }
  return out.join(' ');
}

/** One instance's exploration, as an explore file reports it: at the highest bound it was
 *  explored under. */
export interface InstanceSummary {
  seed: number;
  /** the preemption bound of the counts below (iterative bounding: 0, 1, ... up to K) */
  bound: number;
  schedules: number;
  pruned: number;
  races: number;
  /** exhausted at `bound` */
  complete: boolean;
  cutBy: ExhaustiveResult['cutBy'];
  /** every pass over it, all bounds */
  seconds: number;
  maxSteps: number;
  maxChoicePoints: number;
}

export interface ExhaustiveSummary {
  maxPreemptions: number;
  /** the instances explored: seeds seed, seed+1, ... */
  instances: InstanceSummary[];
  /** every instance asked for was exhausted at the bound: the clean verdict is a proof for
   *  them and the bound */
  complete: boolean;
  /** the schedules of the last pass over each instance (the highest bound it reached) */
  schedules: number;
  /** executions a second, every pass and every path (those cut by sleep sets too): each runs
   *  one schedule from boot */
  schedulesPerSec: number;
}

/** Instances seed, seed+1, ... (at most `instances`) explored exhaustively with iterative
 *  context bounding (CHESS's): every instance with no preemption, then every one with at most
 *  one, ... up to K, within one budget of executions or time, until the first violation. A bug
 *  that needs few preemptions is found before the deep end of the K tree is searched; the
 *  passes below K repeat the schedules of the one before (a small share: the count grows
 *  quickly with the bound). */
export async function exhaustInstances(cm: ControlledMachine, o: ExploreOptions, lim: Omit<ExhaustiveLimits, 'seed'> & { seeds: readonly number[] }): Promise<{ summary: ExhaustiveSummary; failure: Execution | null; executions: number; seconds: number }> {
  const t0 = performance.now();
  const instances: InstanceSummary[] = [];
  let failure: Execution | null = null;
  let executions = 0;
  let cut = false;
  const K = lim.maxPreemptions < 0 ? [-1] : Array.from({ length: lim.maxPreemptions + 1 }, (_, k) => k);
  for (const bound of K) {
    for (let i = 0; i < lim.seeds.length && failure === null && !cut; i++) {
      const left = (x: number | null, used: number): number | null => (x === null ? null : x - used);
      const runs = left(lim.runs, executions);
      const durationMs = left(lim.durationMs, performance.now() - t0);
      if ((runs !== null && runs <= 0) || (durationMs !== null && durationMs <= 0) || lim.signal?.aborted) {
        cut = true;
        break;
      }
      const seed = lim.seeds[i];
      const r = await exhaust(cm, o, { seed, maxPreemptions: bound, runs, durationMs, signal: lim.signal });
      executions += r.schedules + r.pruned;
      failure = r.failure;
      const prev = instances[i];
      instances[i] = {
        seed, bound, schedules: r.schedules, pruned: r.pruned, races: r.races, complete: r.complete, cutBy: r.cutBy, seconds: Math.round(((prev?.seconds ?? 0) + r.seconds) * 100) / 100,
        maxSteps: Math.max(prev?.maxSteps ?? 0, r.maxSteps), maxChoicePoints: Math.max(prev?.maxChoicePoints ?? 0, r.maxChoicePoints),
      };
      if (!r.complete && failure === null) cut = true;
    }
    if (failure !== null || cut) break;
  }
  const seconds = (performance.now() - t0) / 1000;
  const schedules = instances.reduce((a, x) => a + x.schedules, 0);
  const complete = failure === null && instances.length === lim.seeds.length && instances.every((x) => x.complete && x.bound === lim.maxPreemptions);
  return { summary: { maxPreemptions: lim.maxPreemptions, instances, complete, schedules, schedulesPerSec: Math.round(executions / Math.max(seconds, 1e-9)) }, failure, executions, seconds };
}


/** What one execution of a weak-memory enumeration recorded: its schedule, the points where
 *  the scheduler had a choice (each with the access made there), its weak-memory choices
 *  ([step, choice, options, ...]), and whether its sleep set cut it (an order explored already). */
export interface Recorded {
  schedule: Int8Array;
  choices: readonly ChoicePoint[];
  weak: Int32Array;
  pruned: boolean;
}

/** A decision of an execution: who makes a step (weakIdx -1), or a weak-memory choice. */
interface Decision {
  step: number;
  weakIdx: number;
  /** what may be chosen (schedule entries, or choices 0..n-1), each with what it costs in
   *  preemptions */
  alts: number[];
  cost: number[];
  preemptsBefore: number;
  /** the alternatives tried, each with the access it made there (a CPU's: its sleep set entry) */
  tried: Map<number, number>;
}

/** Every execution up to a preemption bound, by depth-first search over every decision: who
 *  makes each step (a store buffer's flush among them) and every weak-memory choice, with
 *  sleep sets (Godefroid): a CPU explored at a decision sleeps in its siblings' subtrees until
 *  a dependent access wakes it. Under weak memory every write and every barrier is dependent
 *  with every access (a write goes on one timeline with all others, a barrier reads all of it),
 *  so only reads commute; no DPOR backtracking (a read's value is a choice of its own here).
 *  `run` executes one (schedule, weak choices and sleepers replayed as far as given, then the
 *  defaults: the CPU that ran goes on, the newest write); `visit` sees each one not cut by its
 *  sleep set, and stops the search by returning true. Returns whether the tree was exhausted. */
export async function enumerateAll(
  run: (schedule: number[], weak: number[], sleepers: number[]) => Recorded | Promise<Recorded>, visit: (r: Recorded) => boolean, lim: { maxPreemptions: number; long: boolean; stop?: () => boolean },
): Promise<boolean> {
  const stack: Decision[] = [];
  let prefix: number[] = [];
  let weakPrefix: number[] = [];
  let sleepers: number[] = [];
  const within = (d: Decision, i: number): boolean => lim.maxPreemptions < 0 || d.preemptsBefore + d.cost[i] <= lim.maxPreemptions;
  for (;;) {
    const r = await run(prefix, weakPrefix, sleepers);
    if (!r.pruned && visit(r)) return false;
    // the decisions past the replayed prefix, in the order they were made (at a step, who
    // makes it, then the weak choice its access made); the branched one learns its access
    const fresh: Decision[] = [];
    for (const c of r.choices) {
      if (c.step < prefix.length) {
        const top = stack[stack.length - 1];
        if (c.step === prefix.length - 1 && top?.weakIdx === -1 && top.step === c.step) top.tried.set(r.schedule[c.step], c.access);
        continue;
      }
      const alts: number[] = [];
      const cost: number[] = [];
      for (let b = 0; b < 30; b++) {
        if (((c.runnable >> b) & 1) === 0) continue;
        const flush = b >= FLUSH_SHIFT;
        alts.push(flush ? FLUSH_ENTRY | (b - FLUSH_SHIFT) : b);
        cost.push(!flush && c.curCan && b !== c.cur ? 1 : 0);
      }
      if (c.canLong && lim.long) {
        alts.push(LONG_PREEMPT);
        cost.push(1);
      }
      fresh.push({ step: c.step, weakIdx: -1, alts, cost, preemptsBefore: c.preemptsBefore, tried: new Map([[r.schedule[c.step], c.access]]) });
    }
    // (a weak choice costs no preemption: the path to it is within the bound already)
    for (let i = weakPrefix.length; i < r.weak.length / 3; i++) {
      const [step, chosen, options] = [r.weak[3 * i], r.weak[3 * i + 1], r.weak[3 * i + 2]];
      fresh.push({ step, weakIdx: i, alts: Array.from({ length: options }, (_, j) => j), cost: new Array<number>(options).fill(0), preemptsBefore: 0, tried: new Map([[chosen, 0]]) });
    }
    fresh.sort((a, b) => a.step - b.step || a.weakIdx - b.weakIdx);
    // (a path cut by its sleep set has nothing below its cut to explore)
    if (!r.pruned) stack.push(...fresh);
    // backtrack to the deepest decision with an alternative left within the bound
    let next: { schedule: number[]; weak: number[] } | null = null;
    while (stack.length > 0 && next === null) {
      const d = stack[stack.length - 1];
      const i = d.alts.findIndex((a, j) => !d.tried.has(a) && within(d, j));
      if (i < 0) {
        stack.pop();
        continue;
      }
      d.tried.set(d.alts[i], 0);
      // (the steps replayed keep their long preemptions: the prefix's, then the run's)
      const end = d.weakIdx < 0 ? d.step : d.step + 1;
      const schedule = [...prefix.slice(0, end), ...r.schedule.subarray(Math.min(prefix.length, end), end)];
      if (d.weakIdx < 0) schedule.push(d.alts[i]);
      const weak: number[] = [];
      for (let j = 0; j < r.weak.length / 3 && (d.weakIdx < 0 ? r.weak[3 * j] < d.step : j < d.weakIdx); j++) weak.push(r.weak[3 * j + 1]);
      if (d.weakIdx >= 0) weak.push(d.alts[i]);
      next = { schedule, weak };
    }
    if (next === null) return true;
    if (lim.stop?.()) return false;
    prefix = next.schedule;
    weakPrefix = next.weak;
    // sleep sets: at each scheduling decision of the path, the CPUs explored there before the
    // one the path takes sleep until a dependent access (store buffers never sleep)
    sleepers = [];
    for (const d of stack) {
      if (d.weakIdx >= 0 || d.step >= prefix.length) continue;
      const on = prefix[d.step];
      for (const [a, access] of d.tried) if (a !== on && a < FLUSH_ENTRY) sleepers.push(d.step, a, access);
    }
  }
}
