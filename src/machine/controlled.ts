// The controlled executor: a Mem under which exactly one emulated CPU (the gp worker
// included) runs at a time, and the next one to run is chosen at every shared-memory access
// by a scheduler from a seed (loom, shuttle, CHESS). The CPUs are the same worker threads
// and run the same model code as under stress; they hand a baton: the CPU that holds it makes
// one access, asks the scheduler who is next, and if that is another CPU, wakes it and sleeps
// until the baton comes back. The scheduler's state (its PRNG, PCT priorities, the schedule
// so far) lives in a control SharedArrayBuffer and is only touched by the baton holder, so
// a run is a function of the seed alone: OS timing decides how fast, never what happens.
//
// Time is logical: a step is STEP_NS. wait() takes the CPU out of the schedule until the
// word changes, it is notified, or its deadline passes; when no CPU can run, the clock jumps
// to the earliest deadline. delay() and window points are scheduling points; PCT places its
// priority change points on window points, where races are hit.
import { Prng, WAIT_NOT_EQUAL, WAIT_OK, WAIT_TIMED_OUT, type Mem } from './mem.js';

export const STEP_NS = 10;
/** PCT: steps in a row after which a CPU counts as spinning and yields its priority */
const SPIN_STEPS = 4096;

// control block words
const K_STEP = 0; //        steps taken (the logical clock)
const K_FINISHED = 1; //    0 running; 1 every participant done; 2 aborted (step limit, divergence)
const K_SCHED = 2; //       SCHED_* below
const K_N = 3; //           participants (CPU ids 0..n-1; the gp worker is one of them)
const K_LAST = 4; //        the participant that made the previous step, -1 at the start
const K_PREEMPT = 5; //     preemptions so far (switches away from a CPU that could have gone on)
const K_MAX_PREEMPT = 6; // preemption bound (-1: none)
const K_MAX_STEPS = 7;
const K_LOG_LEN = 8; //     schedule entries recorded (replay: entries to follow)
const K_DIVERGED = 9; //    replay: the step at which the recorded CPU could not run, or -1
const K_PCT_D = 10; //      PCT: depth d (d - 1 change points)
const K_PCT_LOW = 11; //    PCT: the next low priority to hand out at a change point
const K_DONE = 12; //       participants done
const K_RUN_LEN = 13; //    steps the current CPU has made in a row
const K_CLOCK = 14; //      logical time in steps: one per access, and jumps when every CPU waits
const K_POINTS = 15; //     window points passed
const K_PRNG = 16; //       4 words
const K_PREEMPT_STEPS = 20; // PCT: the longest a CPU stays off at a change point (steps)
const K_JUMPS = 21; //      clock jumps recorded (pairs at JUMP_BASE)
const K_JUMPS_IN = 22; //   replay: clock jumps to apply (pairs at JUMP_IN_BASE)
const K_JUMP_AT = 23; //    replay: the next of them
const K_PCT_ON_STEPS = 24; // PCT: 1 = change points count every step, 0 = window points only
const K_CHANGE = 25; //     PCT change points, up to MAX_DEPTH - 1 of them (25..31)
const K_LENIENT = 32; //    replay while minimizing: a recorded CPU asleep runs at its deadline
const K_PART = 40; //       per participant: PART_WORDS each
const PART_WORDS = 8;
const P_STATE = 0; //       RUNNABLE, BLOCKED, DONE
const P_WADDR = 1;
const P_WVAL = 2;
const P_DEADLINE = 3; //    step at which a blocked wait times out
const P_NOTIFIED = 4;
const P_PRIO = 5; //        PCT priority (higher runs first)
const P_TURN = 6; //        bumped + notified to hand this participant the baton

const RUNNABLE = 0;
const BLOCKED = 1; //  in wait(): until its word changes, a notify, or the deadline
const DONE = 2;
const SLEEPING = 3; // until the deadline only: delay(), or preempted at a PCT change point

export const SCHED_RANDOM = 0;
export const SCHED_PCT = 1;
export const SCHED_REPLAY = 2;
export const SCHED_NAMES = ['random', 'pct', 'replay'] as const;
export type SchedName = (typeof SCHED_NAMES)[number];

export const MAX_PARTICIPANTS = 16;
export const MAX_DEPTH = 8;
export const MAX_LOG = 1 << 20;
const MAX_JUMPS = 1 << 16;
const LOG_BASE = K_PART + MAX_PARTICIPANTS * PART_WORDS;
const JUMP_BASE = LOG_BASE + MAX_LOG;
const JUMP_IN_BASE = JUMP_BASE + 2 * MAX_JUMPS;

/** Thrown out of a CPU's model code when the run is aborted (its frames are discarded). */
export class ControlledAbort extends Error {}

export interface ControlOptions {
  sched: SchedName;
  seed: number;
  participants: number;
  /** PCT depth d: d - 1 priority change points */
  depth: number;
  /** PCT: change points fall on the first k window points (an estimate of how many a run
   *  passes): where a race can be hit, rather than on any access */
  pctSteps: number;
  /** PCT on odd seeds: change points fall on the first k steps (an estimate of the run's length) */
  pctRunSteps: number;
  /** PCT: at a change point the CPU is also preempted for a logical time drawn uniformly
   *  from 0..preemptNs (a CPU taken away mid-window: an interrupt, a vCPU preemption), so
   *  the other CPUs' timed sleeps (a device's latency) can end while it is off */
  preemptNs: number;
  /** -1: no bound */
  maxPreemptions: number;
  maxSteps: number;
  /** replay: the schedule to follow, one participant per step */
  replay?: ArrayLike<number>;
  /** replay: the recording's clock jumps, [step, clock, ...]: time is not in the schedule
   *  (a CPU preempted at a PCT change point sleeps, and the clock jumps when nobody can run) */
  jumps?: ArrayLike<number>;
  /** replay of an edited schedule (minimizing): a recorded CPU that waits or sleeps runs
   *  at its deadline, the clock jumping there, instead of the replay diverging */
  lenient?: boolean;
}

/** The control block of one controlled execution: a new one, or `reuse`, the block of an
 *  execution that is over. A block is 5 MB (the longest schedule and its clock jumps); one
 *  allocated for each of hundreds of executions a second made glibc's malloc hold on to
 *  gigabytes (explore's peak RSS grew with its duration: 1.4 GB in 20 s, 2.7 GB in 40 s).
 *  Reusing it clears the header only: the log and the jump tables are read only below the
 *  counts in the header (K_STEP, K_LOG_LEN, K_JUMPS, K_JUMPS_IN), which this execution sets. */
export function newControl(o: ControlOptions, reuse?: SharedArrayBuffer): SharedArrayBuffer {
  if (o.participants < 1 || o.participants > MAX_PARTICIPANTS) throw new Error(`controlled runs take 1 to ${MAX_PARTICIPANTS} CPUs (got ${o.participants})`);
  const sab = reuse ?? new SharedArrayBuffer((JUMP_IN_BASE + 2 * MAX_JUMPS) * 4);
  const k = new Int32Array(sab);
  if (reuse) k.fill(0, 0, LOG_BASE);
  k[K_SCHED] = SCHED_NAMES.indexOf(o.sched);
  k[K_N] = o.participants;
  k[K_LAST] = -1;
  k[K_MAX_PREEMPT] = o.maxPreemptions;
  k[K_MAX_STEPS] = Math.min(o.maxSteps, MAX_LOG);
  k[K_DIVERGED] = -1;
  const prng = new Prng(o.seed ^ 0x5eed);
  for (let i = 0; i < 4; i++) k[K_PRNG + i] = prng.next() | 0;
  if (o.sched === 'pct') {
    // random distinct priorities d..d+n-1; change points uniform over the first k steps
    const d = Math.max(1, Math.min(MAX_DEPTH, o.depth));
    k[K_PCT_D] = d;
    k[K_PCT_LOW] = d - 1;
    const order = Array.from({ length: o.participants }, (_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = prng.next() % (i + 1);
      [order[i], order[j]] = [order[j], order[i]];
    }
    order.forEach((p, rank) => (k[K_PART + p * PART_WORDS + P_PRIO] = d + rank));
    // two kinds of run, by the seed's parity: change points on window points (where races are
    // hit: few places, k small) or on any step (k the run's length: a preemption between two
    // accesses no window marks)
    k[K_PCT_ON_STEPS] = o.seed & 1;
    k[K_PREEMPT_STEPS] = Math.ceil(o.preemptNs / STEP_NS);
    const horizon = k[K_PCT_ON_STEPS] ? o.pctRunSteps : o.pctSteps;
    for (let i = 0; i < d - 1; i++) k[K_CHANGE + i] = 1 + (prng.next() % Math.max(1, horizon));
  }
  if (o.replay) {
    if (o.replay.length > MAX_LOG) throw new Error(`a schedule of ${o.replay.length} steps is longer than ${MAX_LOG}`);
    for (let i = 0; i < o.replay.length; i++) k[LOG_BASE + i] = o.replay[i];
    k[K_LOG_LEN] = o.replay.length;
    const j = o.jumps ?? [];
    if (j.length > 2 * MAX_JUMPS) throw new Error(`${j.length / 2} clock jumps are more than ${MAX_JUMPS}`);
    for (let i = 0; i < j.length; i++) k[JUMP_IN_BASE + i] = j[i];
    k[K_JUMPS_IN] = j.length >> 1;
    k[K_LENIENT] = o.lenient ? 1 : 0;
  }
  return sab;
}

/** What the execution did: its schedule, and whether it finished. */
export function controlResult(ctl: SharedArrayBuffer): { steps: number; points: number; finished: boolean; aborted: boolean; diverged: number; preemptions: number; schedule: Int8Array; jumps: Int32Array } {
  const k = new Int32Array(ctl);
  const steps = Math.min(Atomics.load(k, K_STEP), MAX_LOG);
  const schedule = new Int8Array(steps);
  for (let i = 0; i < steps; i++) schedule[i] = k[LOG_BASE + i];
  const jumps = k.slice(JUMP_BASE, JUMP_BASE + 2 * k[K_JUMPS]);
  const f = Atomics.load(k, K_FINISHED);
  return { steps, points: k[K_POINTS], finished: f === 1, aborted: f === 2, diverged: k[K_DIVERGED], preemptions: k[K_PREEMPT], schedule, jumps };
}

/** The main thread starts the execution: CPU 0 gets the baton; its first access asks the
 *  scheduler who really goes first. */
export function startControl(ctl: SharedArrayBuffer): void {
  handTo(new Int32Array(ctl), 0);
}

/** The word the main thread waits on (Atomics.waitAsync) until the execution is over. */
export function finishedWord(ctl: SharedArrayBuffer): { k: Int32Array; index: number } {
  return { k: new Int32Array(ctl), index: K_FINISHED };
}

/** Aborts the execution from outside (a watchdog): every CPU unwinds. */
export function abortControl(ctl: SharedArrayBuffer): void {
  const k = new Int32Array(ctl);
  abortAll(k);
}

function part(p: number, field: number): number {
  return K_PART + p * PART_WORDS + field;
}

function nextRandom(k: Int32Array): number {
  // xorshift128 on the control block's state (only the baton holder calls this)
  let t = k[K_PRNG + 3];
  const s = k[K_PRNG];
  k[K_PRNG + 3] = k[K_PRNG + 2];
  k[K_PRNG + 2] = k[K_PRNG + 1];
  k[K_PRNG + 1] = s;
  t ^= t << 11;
  t ^= t >>> 8;
  k[K_PRNG] = t ^ s ^ (s >>> 19);
  return k[K_PRNG] >>> 0;
}

/** Can participant p run at step `step` (a blocked one: its word changed, it was notified,
 *  or its deadline passed), given the machine's memory m? */
function canRun(k: Int32Array, m: Int32Array, p: number, clock: number): boolean {
  const st = k[part(p, P_STATE)];
  if (st === RUNNABLE) return true;
  if (st === DONE) return false;
  if (st === SLEEPING) return clock >= k[part(p, P_DEADLINE)];
  return k[part(p, P_NOTIFIED)] !== 0 || Atomics.load(m, k[part(p, P_WADDR)]) !== k[part(p, P_WVAL)] || clock >= k[part(p, P_DEADLINE)];
}

/** Who runs the next step, after `cur` made the last one. Returns -1 when every participant
 *  is done. Time jumps forward when everybody waits. */
function pick(k: Int32Array, m: Int32Array, cur: number): number {
  const n = k[K_N];
  if (k[K_SCHED] === SCHED_REPLAY) {
    // the recording's clock jumps at this step
    for (let at = k[K_JUMP_AT]; at < k[K_JUMPS_IN] && k[JUMP_IN_BASE + 2 * at] <= k[K_STEP]; at = ++k[K_JUMP_AT]) {
      setClock(k, k[JUMP_IN_BASE + 2 * at + 1]);
    }
  }
  for (;;) {
    const clock = k[K_CLOCK];
    let runnable = 0;
    let earliest = 0x7fffffff;
    for (let p = 0; p < n; p++) {
      if (canRun(k, m, p, clock)) runnable |= 1 << p;
      else if (k[part(p, P_STATE)] !== DONE && k[part(p, P_DEADLINE)] < earliest) earliest = k[part(p, P_DEADLINE)];
    }
    if (runnable !== 0) return choose(k, cur, runnable, k[K_STEP]);
    if (earliest === 0x7fffffff) return -1; // all done
    setClock(k, earliest); // everybody sleeps: time passes to the first timeout
  }
}

/** The clock jumps forward (recorded with the step it happens before). */
function setClock(k: Int32Array, clock: number): void {
  if (clock <= k[K_CLOCK]) return;
  k[K_CLOCK] = clock;
  const j = k[K_JUMPS];
  if (j >= MAX_JUMPS) return;
  k[JUMP_BASE + 2 * j] = k[K_STEP];
  k[JUMP_BASE + 2 * j + 1] = clock;
  k[K_JUMPS] = j + 1;
}

function popcount(x: number): number {
  let c = 0;
  for (; x !== 0; x &= x - 1) c++;
  return c;
}

function nth(x: number, i: number): number {
  for (let p = 0; ; p++) if ((x & (1 << p)) !== 0 && i-- === 0) return p;
}

function choose(k: Int32Array, cur: number, runnable: number, step: number): number {
  const sched = k[K_SCHED];
  const curCan = cur >= 0 && (runnable & (1 << cur)) !== 0;
  // a preemption bound: once spent, a CPU that can go on is not switched away from
  if (curCan && k[K_MAX_PREEMPT] >= 0 && k[K_PREEMPT] >= k[K_MAX_PREEMPT]) return cur;
  let next: number;
  if (sched === SCHED_REPLAY) {
    if (step >= k[K_LOG_LEN]) next = curCan ? cur : nth(runnable, 0); // past the recording: run on
    else {
      next = k[LOG_BASE + step];
      const st = k[part(next, P_STATE)];
      if ((runnable & (1 << next)) !== 0) {
        // it can run
      } else if (k[K_LENIENT] !== 0 && (st === SLEEPING || st === BLOCKED)) {
        setClock(k, k[part(next, P_DEADLINE)]); // an edited schedule: its wait times out here
      } else {
        // the recorded CPU cannot run here: the model is not the one that recorded it
        if (k[K_DIVERGED] < 0) k[K_DIVERGED] = step;
        next = nth(runnable, 0);
      }
    }
  } else if (sched === SCHED_PCT) {
    // a CPU that has run SPIN_STEPS steps in a row is spinning on somebody of lower
    // priority (PCT assumes the program yields there): it drops below the others
    if (cur >= 0 && k[K_RUN_LEN] >= SPIN_STEPS) {
      k[part(cur, P_PRIO)] = k[K_PCT_LOW]--;
      k[K_RUN_LEN] = 0;
    }
    next = -1;
    for (let p = 0, best = -0x7fffffff; (1 << p) <= runnable; p++) {
      if ((runnable & (1 << p)) !== 0 && k[part(p, P_PRIO)] > best) {
        best = k[part(p, P_PRIO)];
        next = p;
      }
    }
  } else {
    next = nth(runnable, nextRandom(k) % popcount(runnable));
  }
  if (curCan && next !== cur) k[K_PREEMPT]++;
  k[K_RUN_LEN] = next === cur ? k[K_RUN_LEN] + 1 : 0;
  return next;
}

/** Is `at` (a step, or a window point) one of PCT's d - 1 change points? */
function isChangePoint(k: Int32Array, at: number): boolean {
  for (let i = 0; i < k[K_PCT_D] - 1; i++) if (k[K_CHANGE + i] === at) return true;
  return false;
}

function handTo(k: Int32Array, p: number): void {
  Atomics.add(k, part(p, P_TURN), 1);
  Atomics.notify(k, part(p, P_TURN), 1);
}

function abortAll(k: Int32Array): void {
  Atomics.store(k, K_FINISHED, 2);
  for (let p = 0; p < k[K_N]; p++) handTo(k, p);
  Atomics.notify(k, K_FINISHED);
}

/** One CPU's Mem under the controlled executor. */
export class ControlledMem implements Mem {
  readonly m: Int32Array;
  private readonly k: Int32Array;
  private readonly me: number;
  private readonly prng: Prng;
  private turnSeen = 0;

  constructor(sab: SharedArrayBuffer, ctl: SharedArrayBuffer, me: number, seed: number) {
    this.m = new Int32Array(sab);
    this.k = new Int32Array(ctl);
    this.me = me;
    this.prng = new Prng(seed);
  }

  /** Waits for this CPU's first turn (before its first access). */
  start(): void {
    this.sleepUntilTurn();
  }

  /** This CPU is done: it leaves the schedule and hands the baton on. */
  exit(): void {
    const k = this.k;
    if (Atomics.load(k, K_FINISHED) === 2) return;
    k[part(this.me, P_STATE)] = DONE;
    k[K_DONE]++;
    const next = pick(k, this.m, this.me);
    if (next < 0) {
      Atomics.store(k, K_FINISHED, 1);
      Atomics.notify(k, K_FINISHED);
      return;
    }
    this.log(next); // the woken CPU makes its pending access as this step
    handTo(k, next);
  }

  /** A scheduling point before every shared access: record the step, let the scheduler
   *  choose, hand the baton over if it chose another CPU. */
  private turn(): void {
    const k = this.k;
    const step = k[K_STEP];
    if (step >= k[K_MAX_STEPS]) {
      abortAll(k);
      throw new ControlledAbort(`no end after ${step} steps`);
    }
    if (k[K_SCHED] === SCHED_PCT && k[K_PCT_ON_STEPS] !== 0 && isChangePoint(k, step)) this.demote();
    const next = pick(k, this.m, this.me);
    this.log(next);
    if (next !== this.me) {
      handTo(k, next);
      this.sleepUntilTurn();
    }
    const st = part(this.me, P_STATE);
    if (k[st] === SLEEPING) k[st] = RUNNABLE; // its sleep is over (delay, preemption)
  }

  /** A PCT change point: this CPU drops below every other and, unless it is already off
   *  (in a wait or a sleep), is preempted for a time drawn from the seed. */
  private demote(): void {
    const k = this.k;
    const me = this.me;
    k[part(me, P_PRIO)] = k[K_PCT_LOW]--;
    if (k[part(me, P_STATE)] !== RUNNABLE || k[K_PREEMPT_STEPS] <= 0) return;
    const steps = nextRandom(k) % (k[K_PREEMPT_STEPS] + 1);
    if (steps === 0) return;
    k[part(me, P_STATE)] = SLEEPING;
    k[part(me, P_DEADLINE)] = k[K_CLOCK] + steps;
  }

  /** Records that `next` makes the step at the (possibly advanced) clock. */
  private log(next: number): void {
    const k = this.k;
    const at = k[K_STEP];
    k[LOG_BASE + at] = next;
    k[K_STEP] = at + 1;
    k[K_CLOCK]++;
    k[K_LAST] = next;
  }

  private sleepUntilTurn(): void {
    const k = this.k;
    const w = part(this.me, P_TURN);
    for (;;) {
      const t = Atomics.load(k, w);
      if (t !== this.turnSeen) {
        this.turnSeen = t;
        break;
      }
      Atomics.wait(k, w, t);
    }
    if (Atomics.load(k, K_FINISHED) === 2) throw new ControlledAbort('aborted');
  }

  load(p: number): number {
    this.turn();
    return Atomics.load(this.m, p);
  }
  peek(p: number): number {
    return this.m[p]; // one CPU runs at a time: exact
  }
  store(p: number, v: number): void {
    this.turn();
    Atomics.store(this.m, p, v);
  }
  cas(p: number, expect: number, repl: number): number {
    this.turn();
    return Atomics.compareExchange(this.m, p, expect, repl);
  }
  add(p: number, d: number): number {
    this.turn();
    return Atomics.add(this.m, p, d);
  }
  xchg(p: number, v: number): number {
    this.turn();
    return Atomics.exchange(this.m, p, v);
  }
  /** Leaves the schedule until *p changes, a notify, or the deadline (in logical time). */
  wait(p: number, v: number, timeoutMs: number): number {
    this.turn();
    if (Atomics.load(this.m, p) !== v) return WAIT_NOT_EQUAL;
    const k = this.k;
    const me = this.me;
    k[part(me, P_STATE)] = BLOCKED;
    k[part(me, P_WADDR)] = p;
    k[part(me, P_WVAL)] = v;
    k[part(me, P_NOTIFIED)] = 0;
    k[part(me, P_DEADLINE)] = k[K_CLOCK] + Math.max(1, Math.ceil((timeoutMs * 1e6) / STEP_NS));
    this.turn(); // somebody else runs (this CPU only when its wait is over)
    const notified = k[part(me, P_NOTIFIED)] !== 0 || Atomics.load(this.m, p) !== v;
    k[part(me, P_STATE)] = RUNNABLE;
    return notified ? WAIT_OK : WAIT_TIMED_OUT;
  }
  notify(p: number, n: number): number {
    this.turn();
    const k = this.k;
    let woken = 0;
    for (let q = 0; q < k[K_N] && woken < n; q++) {
      if (k[part(q, P_STATE)] === BLOCKED && k[part(q, P_WADDR)] === p && k[part(q, P_NOTIFIED)] === 0) {
        k[part(q, P_NOTIFIED)] = 1;
        woken++;
      }
    }
    return woken;
  }
  /** The step count as time (a step is STEP_NS): what the model times and stamps with, so a
   *  violation's time names the step it happened at. Waits time out on K_CLOCK, which also
   *  jumps while every CPU waits. */
  now(): number {
    return this.k[K_STEP] * STEP_NS;
  }
  /** A window point (a race window opens, widens or closes): PCT's change points fall on
   *  these, the places where a race can be hit, rather than on any access; then a scheduling
   *  point like any access. */
  point(): void {
    const k = this.k;
    const at = ++k[K_POINTS];
    if (k[K_SCHED] === SCHED_PCT && k[K_PCT_ON_STEPS] === 0 && isChangePoint(k, at)) this.demote();
    this.turn();
  }
  /** No spinning under control: the CPU sleeps for ns of logical time (the other CPUs run;
   *  when none can, the clock jumps to the end of the sleep). */
  delay(ns: number): void {
    this.turn();
    const k = this.k;
    k[part(this.me, P_STATE)] = SLEEPING;
    k[part(this.me, P_DEADLINE)] = k[K_CLOCK] + Math.max(1, Math.ceil(ns / STEP_NS));
    this.turn();
  }
  random(): number {
    return this.prng.next();
  }
}

/** PCT's guarantee for n CPUs, k scheduling points and depth d: a bug of depth d is found by one run with
 *  probability at least 1 / (n * k^(d-1)) (Burckhardt et al., ASPLOS 2010). */
export function pctBound(n: number, k: number, d: number): number {
  return 1 / (n * Math.pow(Math.max(1, k), Math.max(0, d - 1)));
}

