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
import { type Fence, Prng, WAIT_NOT_EQUAL, WAIT_OK, WAIT_TIMED_OUT, type Mem } from './mem.js';
import { MEMORY_MODELS, type MemoryModel, RMW_ADD, RMW_CAS, RMW_XCHG, type WeakMemory } from './weak.js';

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
const K_RECORD = 33; //     1: record every choice point and each step's access (explore --exhaustive)
const K_CHOICES = 34; //    choice points recorded (CHOICE_WORDS each at CHOICE_BASE)
const K_SLEEP = 35; //      sleep set: participants asleep, a bit each (their pending access at P_SLEEP_ACC)
const K_SLEEP_IN = 36; //   sleepers to add during the replay (SLEEP_WORDS each at SLEEP_IN_BASE)
const K_SLEEP_AT = 37; //   the next of them
const K_PEEKS = 38; //      reads by the checker recorded (PEEK_WORDS each at PEEK_BASE); MAX_PEEKS + 1: more were lost
const K_PEEK_STEP = 39; //  the step of the last of them
const K_LONG_PENDING = 40; // replay: a long preemption was just taken at this step (exhaustive)
const K_WEAK_N = 41; //    weak-memory choices made (WEAK_WORDS each at WEAK_BASE)
const K_WEAK_IN = 42; //   replay: weak-memory choices to follow (at WEAK_IN_BASE)
const K_MEMORY = 43; //    the memory model (MEMORY_MODELS)
const MEM_SC = 0;
const MEM_TSO = 1;
const K_PART = 44; //       per participant: PART_WORDS each
const PART_WORDS = 8;
const P_STATE = 0; //       RUNNABLE, BLOCKED, DONE
const P_WADDR = 1;
const P_WVAL = 2;
const P_DEADLINE = 3; //    step at which a blocked wait times out
const P_NOTIFIED = 4;
const P_PRIO = 5; //        PCT priority (higher runs first)
const P_TURN = 6; //        bumped + notified to hand this participant the baton
const P_SLEEP_ACC = 7; //   asleep: the access it would make (accessCode)

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
/** choice points: the step, the participants that could make it (a bit each), the one that
 *  made the step before it and whether it could go on (a switch away from it is a
 *  preemption), and the preemptions before it */
export const MAX_CHOICES = 1 << 18;
const CHOICE_WORDS = 4;
const CHOICE_BASE = JUMP_IN_BASE + 2 * MAX_JUMPS;
/** each step's access (accessCode), recorded with the choice points */
const ACCESS_BASE = CHOICE_BASE + CHOICE_WORDS * MAX_CHOICES;
const MAX_SLEEP_IN = 1 << 16;
const SLEEP_WORDS = 3; //   step, participant, its access
const SLEEP_IN_BASE = ACCESS_BASE + MAX_LOG;
/** the checker's reads (peek) while recording: the step they were made in and the word
 *  (accessCode), each word once a step */
const MAX_PEEKS = 1 << 18;
const PEEK_WORDS = 2;
const PEEK_BASE = SLEEP_IN_BASE + SLEEP_WORDS * MAX_SLEEP_IN;
/** weak-memory choices (weak.ts: which write a load reads, where a store goes): the step,
 *  the choice, and how many there were; and a replay's choices to follow */
export const MAX_WEAK = 1 << 18;
const WEAK_WORDS = 3;
const WEAK_BASE = PEEK_BASE + PEEK_WORDS * MAX_PEEKS;
const WEAK_IN_BASE = WEAK_BASE + WEAK_WORDS * MAX_WEAK;
const CONTROL_WORDS = WEAK_IN_BASE + MAX_WEAK;

/** Store-buffer flushers (tso): CPU c's buffer is a participant of its own, bit FLUSH_SHIFT + c
 *  of the runnable masks; its step writes the oldest buffered store to memory, and is recorded
 *  in the schedule as FLUSH_ENTRY | c. */
export const FLUSH_SHIFT = 16;
export const FLUSH_ENTRY = 0x20;
const MAX_FLUSHED_CPUS = 14;

/** A step's access as one word: the word address, and whether it writes (a store, an atomic
 *  read-modify-write, a notify of the waiters on it) or only reads; 0 for a step with none (a
 *  window point, a sleep). Two accesses are dependent when they touch the same word and one
 *  writes: only then can their order matter. */
export function accessCode(addr: number, write: boolean): number {
  return ((addr + 1) << 1) | (write ? 1 : 0);
}
function dependent(a: number, b: number): boolean {
  if (a === 0 || b === 0) return false;
  if (a === ACCESS_ANY || b === ACCESS_ANY) return true;
  const wa = (a & TIMELINE) !== 0;
  const wb = (b & TIMELINE) !== 0;
  if (wa || wb) {
    // lkmm: a write or a barrier is dependent with every other write or barrier (one timeline,
    // which a barrier reads whole) and with a read of its word; a read of another word commutes
    const a0 = a & ~TIMELINE;
    const b0 = b & ~TIMELINE;
    if ((wa || (a0 & 1) !== 0) && (wb || (b0 & 1) !== 0)) return true;
    return a0 >> 1 === b0 >> 1 && a0 >> 1 !== 0;
  }
  return a >> 1 === b >> 1 && ((a | b) & 1) !== 0;
}
/** lkmm's flag on a step's access: a write, or a barrier (accessCode(-1, true): no word) */
const TIMELINE = 1 << 30;
const BARRIER = TIMELINE | 1;
/** The access of a step that also made reads by the checker (peek): for the sleep sets it is
 *  dependent with every access (the checker's verdict may hang on the order). */
export const ACCESS_ANY = -1;

/** Participant `me`'s access at the step it just made (exhaustive: the sleep sets' evidence). */
function touched(k: Int32Array, addr: number, write: boolean): void {
  // (lkmm: a write goes on one timeline with every other write (TIMELINE); tso: a store goes
  // into the CPU's own buffer and its flush is the write, a locked read-modify-write drains
  // the buffer: dependent with every access)
  if (k[K_RECORD] === 0) return;
  const at = ACCESS_BASE + k[K_STEP] - 1;
  const mem = k[K_MEMORY];
  if (mem === MEM_SC) k[at] = accessCode(addr, write);
  else if (mem === MEM_TSO) k[at] = write ? ACCESS_ANY : accessCode(addr, false);
  else if (write) k[at] = accessCode(addr, true) | TIMELINE;
  else if ((k[at] & TIMELINE) === 0 || k[at] === 0) k[at] = accessCode(addr, false); // (a barrier made in the step stays)
}

/** A store into the CPU's own store buffer (tso, recording): no access of shared memory yet. */
function buffered(k: Int32Array): void {
  if (k[K_RECORD] !== 0) k[ACCESS_BASE + k[K_STEP] - 1] = 0;
}

/** A barrier in the step being made (weak memory, recording): dependent with every access. */
function fenced(k: Int32Array): void {
  if (k[K_RECORD] === 0 || k[K_STEP] === 0) return;
  const at = ACCESS_BASE + k[K_STEP] - 1;
  if (k[K_MEMORY] === MEM_TSO) k[at] = ACCESS_ANY; // (a drain writes what the buffer held)
  else if ((k[at] & TIMELINE) === 0) k[at] = BARRIER; // (a write or ANY made in the step stays)
}

/** A read by the checker (peek) in the step being made, while recording: the checker's verdict
 *  hangs on what it read, so the order of this step against a write of that word matters as
 *  much as a load's would (a check made between two scheduling points sees the state there).
 *  Not after the execution (the end-of-run accounting) and not before its first step. */
function peeked(k: Int32Array, addr: number): void {
  if (k[K_RECORD] === 0 || k[K_FINISHED] !== 0) return;
  const step = k[K_STEP] - 1;
  if (step < 0) return;
  const code = accessCode(addr, false);
  const n = k[K_PEEKS];
  if (n > 0 && k[PEEK_BASE + PEEK_WORDS * (n - 1)] === step && k[PEEK_BASE + PEEK_WORDS * (n - 1) + 1] === code) return;
  k[K_PEEK_STEP] = step;
  if (n >= MAX_PEEKS) {
    k[K_PEEKS] = MAX_PEEKS + 1;
    return;
  }
  k[PEEK_BASE + PEEK_WORDS * n] = step;
  k[PEEK_BASE + PEEK_WORDS * n + 1] = code;
  k[K_PEEKS] = n + 1;
}

/** The sleep set before the step about to be made: the last step's access wakes every
 *  sleeper whose pending access it is dependent with (the order of the two may matter now);
 *  then the replay's sleepers for this step fall asleep. */
function sleepUpdate(k: Int32Array): void {
  const step = k[K_STEP];
  if (k[K_SLEEP] !== 0 && step > 0) {
    // (a step that also read by peek: dependent with every write, conservatively)
    const acc = k[K_PEEKS] > 0 && k[K_PEEK_STEP] === step - 1 ? ACCESS_ANY : k[ACCESS_BASE + step - 1];
    for (let p = 0, n = k[K_N]; p < n; p++) if ((k[K_SLEEP] >> p) & 1 && dependent(acc, k[part(p, P_SLEEP_ACC)])) k[K_SLEEP] &= ~(1 << p);
  }
  for (let at = k[K_SLEEP_AT]; at < k[K_SLEEP_IN] && k[SLEEP_IN_BASE + SLEEP_WORDS * at] === step; at = ++k[K_SLEEP_AT]) {
    const p = k[SLEEP_IN_BASE + SLEEP_WORDS * at + 1];
    k[K_SLEEP] |= 1 << p;
    k[part(p, P_SLEEP_ACC)] = k[SLEEP_IN_BASE + SLEEP_WORDS * at + 2];
  }
}

/** choose()'s answer when every participant that could run is asleep: this path only
 *  repeats orders of independent steps already explored (pruned) */
const SLEEP_BLOCKED = -2;
/** choose(): the CPU that ran was preempted for long; pick again (the clock may jump) */
const RESCHEDULE = -3;
/** A schedule entry (a replayed prefix of explore --exhaustive): the CPU that ran is preempted
 *  for the longest preemption (PCT's, ExploreOptions.preemptNs) and whoever can run then makes
 *  the step: time passes while it is off, as for a CPU that a real scheduler took away. */
export const LONG_PREEMPT = 0x40;
/** ChoicePoint.runnable: a long preemption of the CPU that ran could be chosen here */
export const LONG_CHOICE = 1 << 30;

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
  /** PCT: at a change point the CPU is also preempted for a logical time drawn log-uniformly
   *  up to preemptNs (preemptSteps: a CPU taken away mid-window, by an interrupt or a vCPU
   *  preemption), so the other CPUs' timed sleeps (a device's latency, the grace-period
   *  kthread's tick) can end while it is off */
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
  /** record every choice point and each step's access (explore --exhaustive: where the next
   *  schedule may branch) */
  recordChoices?: boolean;
  /** explore --exhaustive: [step, participant, accessCode, ...] in step order: at that step the
   *  participant falls asleep (its choice there was explored already), until a dependent
   *  access wakes it; a path where every participant that could run sleeps is cut */
  sleepers?: ArrayLike<number>;
  /** the memory model (sequential executor only; default sc) */
  memory?: MemoryModel;
  /** replay: the recording's weak-memory choices, in order (past them: 0, the newest) */
  weak?: ArrayLike<number>;
}

/** The control block of one controlled execution: a new one, or `reuse`, the block of an
 *  execution that is over. A block is 5 MB (the longest schedule and its clock jumps); one
 *  allocated for each of hundreds of executions a second made glibc's malloc hold on to
 *  gigabytes (explore's peak RSS grew with its duration: 1.4 GB in 20 s, 2.7 GB in 40 s).
 *  Reusing it clears the header only: the log and the jump tables are read only below the
 *  counts in the header (K_STEP, K_LOG_LEN, K_JUMPS, K_JUMPS_IN), which this execution sets. */
export function newControl(o: ControlOptions, reuse?: SharedArrayBuffer): SharedArrayBuffer {
  if (o.participants < 1 || o.participants > MAX_PARTICIPANTS) throw new Error(`controlled runs take 1 to ${MAX_PARTICIPANTS} CPUs (got ${o.participants})`);
  const sab = reuse ?? new SharedArrayBuffer(CONTROL_WORDS * 4);
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
  k[K_RECORD] = o.recordChoices ? 1 : 0;
  if (o.recordChoices) k[K_PREEMPT_STEPS] = Math.ceil(o.preemptNs / STEP_NS);
  const sl = o.sleepers ?? [];
  if (sl.length > SLEEP_WORDS * MAX_SLEEP_IN) throw new Error(`${sl.length / SLEEP_WORDS} sleepers are more than ${MAX_SLEEP_IN}`);
  for (let i = 0; i < sl.length; i++) k[SLEEP_IN_BASE + i] = sl[i];
  k[K_SLEEP_IN] = sl.length / SLEEP_WORDS;
  k[K_MEMORY] = MEMORY_MODELS.indexOf(o.memory ?? 'sc');
  if (k[K_MEMORY] > 0 && o.participants > MAX_FLUSHED_CPUS) throw new Error(`weak memory models take at most ${MAX_FLUSHED_CPUS} CPUs (got ${o.participants})`);
  const wk = o.weak ?? [];
  if (wk.length > MAX_WEAK) throw new Error(`${wk.length} weak-memory choices are more than ${MAX_WEAK}`);
  for (let i = 0; i < wk.length; i++) k[WEAK_IN_BASE + i] = wk[i];
  k[K_WEAK_IN] = wk.length;
  return sab;
}

/** A point of an execution where more than one participant could make the step. */
export interface ChoicePoint {
  step: number;
  /** the participants that could make it, a bit each */
  runnable: number;
  /** the participant that made the step before could be preempted for long here (LONG_PREEMPT) */
  canLong: boolean;
  /** the participant that made the step before (-1 at the start), and whether it could go on:
   *  choosing another then is a preemption */
  cur: number;
  curCan: boolean;
  /** preemptions on the path before it */
  preemptsBefore: number;
  /** the access made at the step (accessCode; 0: none) */
  access: number;
}

/** Each step's access (accessCode; 0: none), as newControl's recordChoices recorded them. */
export function controlAccesses(ctl: SharedArrayBuffer): Int32Array {
  const k = new Int32Array(ctl);
  return k.slice(ACCESS_BASE, ACCESS_BASE + Math.min(k[K_STEP], MAX_LOG));
}

/** The choice points an execution recorded (newControl's recordChoices), each with the
 *  access the participant made at it (accessCode). */
export function controlChoices(ctl: SharedArrayBuffer): ChoicePoint[] {
  const k = new Int32Array(ctl);
  const out: ChoicePoint[] = [];
  const peekSteps = new Set<number>();
  for (let i = 0, n = Math.min(k[K_PEEKS], MAX_PEEKS); i < n; i++) peekSteps.add(k[PEEK_BASE + PEEK_WORDS * i]);
  for (let i = 0, n = Math.min(k[K_CHOICES], MAX_CHOICES); i < n; i++) {
    const b = CHOICE_BASE + CHOICE_WORDS * i;
    const access = peekSteps.has(k[b]) ? ACCESS_ANY : k[ACCESS_BASE + k[b]];
    out.push({ step: k[b], runnable: k[b + 1] & ~LONG_CHOICE, canLong: (k[b + 1] & LONG_CHOICE) !== 0, cur: k[b + 2] >> 1, curCan: (k[b + 2] & 1) !== 0, preemptsBefore: k[b + 3], access });
  }
  return out;
}

/** The checker's reads an execution recorded (newControl's recordChoices): pairs of a step
 *  and the word read (accessCode), in step order; null if there were more than could be kept. */
export function controlPeeks(ctl: SharedArrayBuffer): Int32Array | null {
  const k = new Int32Array(ctl);
  if (k[K_PEEKS] > MAX_PEEKS) return null;
  return k.slice(PEEK_BASE, PEEK_BASE + PEEK_WORDS * k[K_PEEKS]);
}

/** The weak-memory choices an execution made, [step, choice, options, ...] in order (at most
 *  MAX_WEAK: a longer execution's later ones replay as 0). */
export function controlWeak(ctl: SharedArrayBuffer): Int32Array {
  const k = new Int32Array(ctl);
  return k.slice(WEAK_BASE, WEAK_BASE + WEAK_WORDS * Math.min(k[K_WEAK_N], MAX_WEAK));
}

/** A weak-memory choice among `options` (0: what sequential consistency does), made at the
 *  step being made: the replay's, else the scheduler's (random and PCT: the newest half the
 *  time, else one of the others uniformly), recorded. */
export function weakChoice(k: Int32Array, options: number): number {
  const i = k[K_WEAK_N];
  let v: number;
  if (i < k[K_WEAK_IN]) {
    v = k[WEAK_IN_BASE + i];
    if (v >= options) {
      if (k[K_DIVERGED] < 0 && k[K_LENIENT] === 0) k[K_DIVERGED] = k[K_STEP] - 1;
      v = options - 1;
    }
  } else if (k[K_SCHED] === SCHED_REPLAY) v = 0;
  else v = (nextRandom(k) & 1) === 0 ? 0 : 1 + (nextRandom(k) % (options - 1));
  if (i < MAX_WEAK) {
    const b = WEAK_BASE + WEAK_WORDS * i;
    k[b] = k[K_STEP] - 1;
    k[b + 1] = v;
    k[b + 2] = options;
  }
  k[K_WEAK_N] = i + 1;
  return v;
}

/** The step being made (the last one logged). */
export function stepNow(k: Int32Array): number {
  return Math.max(0, k[K_STEP] - 1);
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
function pick(k: Int32Array, m: Int32Array, cur: number, w: WeakMemory | null = null): number {
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
    if (w !== null) runnable |= w.flushable() << FLUSH_SHIFT;
    if (runnable !== 0) {
      const next = choose(k, cur, runnable, k[K_STEP]);
      if (next >= FLUSH_SHIFT && w !== null) {
        // a store buffer's step: its oldest store reaches memory; then pick again
        if (k[K_STEP] >= k[K_MAX_STEPS]) abortExecution(k, `no end after ${k[K_STEP]} steps`);
        const p = w.flush(next - FLUSH_SHIFT);
        const at = k[K_STEP];
        k[LOG_BASE + at] = FLUSH_ENTRY | (next - FLUSH_SHIFT);
        if (k[K_RECORD] !== 0) k[ACCESS_BASE + at] = accessCode(p, true); // (a write of that word)
        k[K_STEP] = at + 1;
        k[K_CLOCK]++;
        if (k[K_RECORD] !== 0) sleepUpdate(k); // (the flush wakes every sleeper)
        continue;
      }
      if (next !== RESCHEDULE) return next;
      continue; // (a long preemption: cur sleeps now)
    }
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

function choose(k: Int32Array, cur: number, all: number, step: number): number {
  const sched = k[K_SCHED];
  // exhaustive: a sleeping participant is not chosen (its order was explored already); a
  // switch away from the CPU that ran, if it could go on, is a preemption, asleep or not
  const runnable = all & ~k[K_SLEEP];
  if (runnable === 0) return SLEEP_BLOCKED;
  // a CPU that has run SPIN_STEPS steps in a row is spinning on another: it yields there
  // (PCT's and CHESS's assumption), and a switch away from it is no preemption
  const spinning = cur >= 0 && k[K_RUN_LEN] >= SPIN_STEPS && (runnable & ~(1 << cur)) !== 0;
  // spinning with every other CPU that could run asleep: its steps commute with all their
  // pending ones (else one would have woken), so this path only repeats explored orders
  if (cur >= 0 && k[K_RUN_LEN] >= SPIN_STEPS && (all & ~(1 << cur)) !== 0 && (runnable & ~(1 << cur)) === 0) return SLEEP_BLOCKED;
  const curCan = cur >= 0 && (all & (1 << cur)) !== 0 && !spinning;
  const curAwake = curCan && (runnable & (1 << cur)) !== 0;
  // exhaustive: the CPU that ran can also be preempted for long (time passes while it is off)
  const longPending = k[K_LONG_PENDING] !== 0;
  const canLong = k[K_RECORD] !== 0 && !longPending && curCan && k[K_PREEMPT_STEPS] > 0 && k[K_N] - k[K_DONE] > 1;
  if (k[K_RECORD] !== 0 && !longPending && ((runnable & (runnable - 1)) !== 0 || canLong) && k[K_CHOICES] < MAX_CHOICES) {
    const b = CHOICE_BASE + CHOICE_WORDS * k[K_CHOICES]++;
    k[b] = step;
    k[b + 1] = runnable | (canLong ? LONG_CHOICE : 0);
    k[b + 2] = (cur << 1) | (curCan ? 1 : 0);
    k[b + 3] = k[K_PREEMPT];
  }
  let next: number;
  if (curCan && k[K_MAX_PREEMPT] >= 0 && k[K_PREEMPT] >= k[K_MAX_PREEMPT]) {
    // a preemption bound: once spent, a CPU that can go on is not switched away from
    // (asleep, this path only repeats an explored one: cut)
    if (!curAwake) return SLEEP_BLOCKED;
    next = cur;
  } else if (sched === SCHED_REPLAY && longPending) {
    // the step after a long preemption: whoever can run, the lowest first
    k[K_LONG_PENDING] = 0;
    next = nth(runnable, 0);
  } else if (sched === SCHED_REPLAY && step < k[K_LOG_LEN] && (k[LOG_BASE + step] & LONG_PREEMPT) !== 0) {
    if (!curCan) {
      if (k[K_DIVERGED] < 0) k[K_DIVERGED] = step;
      next = nth(runnable, 0);
    } else {
      // the CPU that ran goes off for the longest preemption; a long preemption is dependent
      // with everything (time passes): every sleeper wakes
      k[part(cur, P_STATE)] = SLEEPING;
      k[part(cur, P_DEADLINE)] = k[K_CLOCK] + k[K_PREEMPT_STEPS];
      k[K_PREEMPT]++;
      k[K_RUN_LEN] = 0;
      k[K_SLEEP] = 0;
      k[K_LONG_PENDING] = 1;
      return RESCHEDULE;
    }
  } else if (sched === SCHED_REPLAY && step < k[K_LOG_LEN] && (k[LOG_BASE + step] & FLUSH_ENTRY) !== 0) {
    // a store buffer's step
    next = FLUSH_SHIFT + (k[LOG_BASE + step] & (FLUSH_ENTRY - 1));
    if ((runnable & (1 << next)) === 0) {
      if (k[K_DIVERGED] < 0) k[K_DIVERGED] = step;
      next = nth(runnable, 0);
    }
  } else if (sched === SCHED_REPLAY) {
    if (step >= k[K_LOG_LEN]) next = curAwake ? cur : nth(spinning ? runnable & ~(1 << cur) : runnable, 0); // past the recording: run on
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
  } else if (sched === SCHED_PCT && runnable >>> FLUSH_SHIFT !== 0 && ((runnable & ((1 << FLUSH_SHIFT) - 1)) === 0 || (nextRandom(k) & 1) === 0)) {
    // PCT's priorities are the CPUs'; a store buffer drains at a step half the time (and
    // when no CPU can run)
    next = FLUSH_SHIFT + nth(runnable >>> FLUSH_SHIFT, nextRandom(k) % popcount(runnable >>> FLUSH_SHIFT));
  } else if (sched === SCHED_PCT) {
    // a CPU that has run SPIN_STEPS steps in a row is spinning on somebody of lower
    // priority (PCT assumes the program yields there): it drops below the others
    if (cur >= 0 && k[K_RUN_LEN] >= SPIN_STEPS) {
      k[part(cur, P_PRIO)] = k[K_PCT_LOW]--;
      k[K_RUN_LEN] = 0;
    }
    next = -1;
    for (let p = 0, best = -0x7fffffff; p < FLUSH_SHIFT && (1 << p) <= runnable; p++) {
      if ((runnable & (1 << p)) !== 0 && k[part(p, P_PRIO)] > best) {
        best = k[part(p, P_PRIO)];
        next = p;
      }
    }
  } else {
    next = nth(runnable, nextRandom(k) % popcount(runnable));
  }
  if (next >= FLUSH_SHIFT) return next; // (a store buffer's step preempts nobody)
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

/** Ends the execution from inside a CPU's step: every CPU unwinds with `reason`. */
function abortExecution(k: Int32Array, reason: string): never {
  abortAll(k);
  throw new ControlledAbort(reason);
}

function abortAll(k: Int32Array): void {
  Atomics.store(k, K_FINISHED, 2);
  for (let p = 0; p < k[K_N]; p++) handTo(k, p);
  Atomics.notify(k, K_FINISHED);
}

/** The scheduling point before participant me's next access (both executors): the step
 *  limit, a PCT change point on steps, the scheduler's choice, recorded as this step. Returns
 *  the participant that makes the step: me, or the one to hand over to. */
function decide(k: Int32Array, m: Int32Array, me: number, w: WeakMemory | null = null): number {
  const step = k[K_STEP];
  if (step >= k[K_MAX_STEPS]) abortExecution(k, `no end after ${step} steps`);
  if (k[K_SCHED] === SCHED_PCT && k[K_PCT_ON_STEPS] !== 0 && isChangePoint(k, step)) demote(k, me);
  if (k[K_RECORD] !== 0) sleepUpdate(k);
  const next = pick(k, m, me, w);
  if (next === SLEEP_BLOCKED) abortExecution(k, SLEEP_BLOCKED_ABORT);
  log(k, next);
  return next;
}

/** The abort reason of a path cut by its sleep set (explore --exhaustive: not a failure) */
export const SLEEP_BLOCKED_ABORT = 'sleep-blocked';

/** Participant p runs again (its turn came): a sleep it was in (delay, preemption) is over. */
function resumed(k: Int32Array, p: number): void {
  const st = part(p, P_STATE);
  if (k[st] === SLEEPING) k[st] = RUNNABLE;
}

/** A PCT change point: participant me drops below every other and, unless it is already
 *  off (in a wait or a sleep), is preempted for a time drawn from the seed. */
function demote(k: Int32Array, me: number): void {
  k[part(me, P_PRIO)] = k[K_PCT_LOW]--;
  if (k[part(me, P_STATE)] !== RUNNABLE || k[K_PREEMPT_STEPS] <= 0) return;
  const steps = preemptSteps(k, k[K_PREEMPT_STEPS]);
  if (steps === 0) return;
  k[part(me, P_STATE)] = SLEEPING;
  k[part(me, P_DEADLINE)] = k[K_CLOCK] + steps;
}

/** How long a preempted CPU stays off, in steps, up to max: log-uniform (an octave drawn
 *  uniformly, then a length within it; or none), so that a preemption of a few steps (a race
 *  between two accesses) is as likely as one across a grace-period poll thousands of steps
 *  later: every timescale of the model gets its share, none the most. */
export function preemptSteps(k: Int32Array, max: number): number {
  const octaves = 32 - Math.clz32(max); // max < 2^octaves
  const e = nextRandom(k) % (octaves + 1);
  if (e === 0) return 0;
  const lo = 1 << (e - 1);
  return Math.min(max, lo + (nextRandom(k) % lo));
}

/** Records that `next` makes the step at the (possibly advanced) clock. */
function log(k: Int32Array, next: number): void {
  const at = k[K_STEP];
  k[LOG_BASE + at] = next;
  if (k[K_RECORD] !== 0) k[ACCESS_BASE + at] = 0; // (until the step's access says otherwise)
  k[K_STEP] = at + 1;
  k[K_CLOCK]++;
  k[K_LAST] = next;
}

/** Participant me leaves the schedule: the participant that makes the next step, or -1 when
 *  every one is done (the execution is over). */
function leave(k: Int32Array, m: Int32Array, me: number, w: WeakMemory | null = null): number {
  k[part(me, P_STATE)] = DONE;
  k[K_DONE]++;
  if (k[K_RECORD] !== 0) sleepUpdate(k);
  const next = pick(k, m, me, w);
  if (next === SLEEP_BLOCKED) abortExecution(k, SLEEP_BLOCKED_ABORT);
  if (next < 0) {
    Atomics.store(k, K_FINISHED, 1);
    Atomics.notify(k, K_FINISHED);
    return -1;
  }
  log(k, next); // the next one makes its pending access as this step
  return next;
}

/** wait()'s first half, after its scheduling point: false if *p is not v (no sleep); else
 *  participant me is BLOCKED on p until it changes, a notify, or the deadline. */
function waitBegin(k: Int32Array, m: Int32Array, me: number, p: number, v: number, timeoutMs: number): boolean {
  touched(k, p, false);
  if (Atomics.load(m, p) !== v) return false;
  k[part(me, P_STATE)] = BLOCKED;
  k[part(me, P_WADDR)] = p;
  k[part(me, P_WVAL)] = v;
  k[part(me, P_NOTIFIED)] = 0;
  k[part(me, P_DEADLINE)] = k[K_CLOCK] + Math.max(1, Math.ceil((timeoutMs * 1e6) / STEP_NS));
  return true;
}

/** wait()'s second half, once me runs again: how its wait ended. */
function waitEnd(k: Int32Array, m: Int32Array, me: number, p: number, v: number): number {
  touched(k, p, false);
  const notified = k[part(me, P_NOTIFIED)] !== 0 || Atomics.load(m, p) !== v;
  k[part(me, P_STATE)] = RUNNABLE;
  return notified ? WAIT_OK : WAIT_TIMED_OUT;
}

/** notify(): wakes up to n participants blocked on p; how many. */
function notifyWaiters(k: Int32Array, p: number, n: number): number {
  let woken = 0;
  for (let q = 0; q < k[K_N] && woken < n; q++) {
    if (k[part(q, P_STATE)] === BLOCKED && k[part(q, P_WADDR)] === p && k[part(q, P_NOTIFIED)] === 0) {
      k[part(q, P_NOTIFIED)] = 1;
      woken++;
    }
  }
  return woken;
}

/** delay()'s sleep: me is off for ns of logical time (the clock jumps there if nobody runs). */
function sleepFor(k: Int32Array, me: number, ns: number): void {
  k[part(me, P_STATE)] = SLEEPING;
  k[part(me, P_DEADLINE)] = k[K_CLOCK] + Math.max(1, Math.ceil(ns / STEP_NS));
}

/** A window point passed: PCT's change points on window points. */
function passPoint(k: Int32Array, me: number): void {
  const at = ++k[K_POINTS];
  if (k[K_SCHED] === SCHED_PCT && k[K_PCT_ON_STEPS] === 0 && isChangePoint(k, at)) demote(k, me);
}

/** One CPU's Mem under the controlled executor that runs each CPU on a worker thread: the
 *  CPU that holds the baton makes its access, and hands the baton over (Atomics.notify)
 *  when the scheduler chose another CPU, sleeping (Atomics.wait) until it comes back. */
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
    const next = leave(k, this.m, this.me);
    if (next >= 0) handTo(k, next);
  }

  /** A scheduling point before every shared access: let the scheduler choose, hand the
   *  baton over if it chose another CPU. */
  private turn(): void {
    const k = this.k;
    const next = decide(k, this.m, this.me);
    if (next !== this.me) {
      handTo(k, next);
      this.sleepUntilTurn();
    }
    resumed(k, this.me);
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
    touched(this.k, p, false);
    return Atomics.load(this.m, p);
  }
  peek(p: number): number {
    peeked(this.k, p);
    return this.m[p]; // one CPU runs at a time: exact
  }
  store(p: number, v: number): void {
    this.turn();
    touched(this.k, p, true);
    Atomics.store(this.m, p, v);
  }
  cas(p: number, expect: number, repl: number): number {
    this.turn();
    touched(this.k, p, true);
    return Atomics.compareExchange(this.m, p, expect, repl);
  }
  add(p: number, d: number): number {
    this.turn();
    touched(this.k, p, true);
    return Atomics.add(this.m, p, d);
  }
  xchg(p: number, v: number): number {
    this.turn();
    touched(this.k, p, true);
    return Atomics.exchange(this.m, p, v);
  }
  /** Leaves the schedule until *p changes, a notify, or the deadline (in logical time). */
  wait(p: number, v: number, timeoutMs: number): number {
    this.turn();
    if (!waitBegin(this.k, this.m, this.me, p, v, timeoutMs)) return WAIT_NOT_EQUAL;
    this.turn(); // somebody else runs (this CPU only when its wait is over)
    return waitEnd(this.k, this.m, this.me, p, v);
  }
  notify(p: number, n: number): number {
    this.turn();
    touched(this.k, p, true);
    return notifyWaiters(this.k, p, n);
  }
  /** The step count as time (a step is STEP_NS): what the model times and stamps with, so a
   *  violation's time names the step it happened at. Waits time out on K_CLOCK, which also
   *  jumps while every CPU waits. */
  now(): number {
    return this.k[K_STEP] * STEP_NS;
  }
  /** (the worker executor is sequentially consistent: barriers order nothing more) */
  fence(): void {}
  /** A window point (a race window opens, widens or closes): PCT's change points fall on
   *  these, the places where a race can be hit, rather than on any access; then a scheduling
   *  point like any access. */
  point(): void {
    passPoint(this.k, this.me);
    this.turn();
  }
  /** No spinning under control: the CPU sleeps for ns of logical time (the other CPUs run;
   *  when none can, the clock jumps to the end of the sleep). */
  delay(ns: number): void {
    this.turn();
    sleepFor(this.k, this.me, ns);
    this.turn();
  }
  random(): number {
    return this.prng.next();
  }
}

/** One CPU's memory under the sequential executor: every CPU of the execution on one thread,
 *  each a generator (the resumable form of the model, build/resumable.ts), the same
 *  scheduler on the same control block. The resumable code asks step() before each access
 *  and yields when it says so; the executor then resumes `next`. wait() and delay(), which
 *  hold scheduling points of their own, are generators; point() is a step. An access is a
 *  plain typed-array operation: one thread, one CPU at a time. */
export class SequentialMem {
  readonly m: Int32Array;
  private readonly k: Int32Array;
  private readonly me: number;
  private readonly prng: Prng;
  /** the participant that makes the step this CPU yielded at */
  next = -1;
  /** the blocks of 64 words written (the executor copies only those back for the next execution) */
  private readonly dirty: Uint8Array;
  /** the execution's weak memory (tso, lkmm), shared by its CPUs; null: sequentially consistent */
  weak: WeakMemory | null = null;

  constructor(sab: SharedArrayBuffer, ctl: SharedArrayBuffer, me: number, seed: number, dirty: Uint8Array) {
    this.m = new Int32Array(sab);
    this.k = new Int32Array(ctl);
    this.me = me;
    this.prng = new Prng(seed);
    this.dirty = dirty;
  }

  /** The scheduling point before an access: true when another CPU makes this step (the
   *  resumable code yields; this CPU makes its access when resumed). */
  step(): boolean {
    const next = decide(this.k, this.m, this.me, this.weak);
    if (next === this.me) {
      resumed(this.k, this.me);
      return false;
    }
    this.next = next;
    return true;
  }

  /** This CPU is done: the participant that makes the next step, or -1 (the execution is over). */
  exit(): number {
    if (this.k[K_FINISHED] === 2) return -1;
    return leave(this.k, this.m, this.me, this.weak);
  }

  // (ord: the access's ordering, mem.ts; the resumable form passes one more argument, its
  // scheduling point's, which is false or undefined where the model gave no ordering)
  load(p: number, ord?: number): number {
    touched(this.k, p, false);
    const w = this.weak;
    return w === null ? this.m[p] : w.load(this.me, p, (ord as number) | 0);
  }
  peek(p: number): number {
    peeked(this.k, p);
    return this.m[p];
  }
  /** A write's bookkeeping: the step's access, and the block the next execution copies back. */
  private wrote(p: number): void {
    touched(this.k, p, true);
    this.dirty[p >> 6] = 1;
  }
  store(p: number, v: number, ord?: number): void {
    this.wrote(p);
    const w = this.weak;
    if (w === null) this.m[p] = v;
    else {
      if (this.k[K_MEMORY] === MEM_TSO) buffered(this.k);
      w.store(this.me, p, v, (ord as number) | 0);
    }
  }
  cas(p: number, expect: number, repl: number, ord?: number): number {
    this.wrote(p);
    const w = this.weak;
    if (w !== null) return w.rmw(this.me, p, RMW_CAS, expect, repl, (ord as number) | 0);
    const m = this.m;
    const old = m[p];
    if (old === expect) m[p] = repl;
    return old;
  }
  add(p: number, d: number, ord?: number): number {
    this.wrote(p);
    const w = this.weak;
    if (w !== null) return w.rmw(this.me, p, RMW_ADD, d, 0, (ord as number) | 0);
    const m = this.m;
    const old = m[p];
    m[p] = old + d;
    return old;
  }
  xchg(p: number, v: number, ord?: number): number {
    this.wrote(p);
    const w = this.weak;
    if (w !== null) return w.rmw(this.me, p, RMW_XCHG, v, 0, (ord as number) | 0);
    const m = this.m;
    const old = m[p];
    m[p] = v;
    return old;
  }
  fence(kind: Fence): void {
    if (this.weak === null) return;
    fenced(this.k);
    this.weak.fence(this.me, kind);
  }
  notify(p: number, n: number): number {
    touched(this.k, p, true);
    if (this.weak !== null) {
      fenced(this.k);
      this.weak.sync(this.me);
    }
    return notifyWaiters(this.k, p, n);
  }
  *wait(p: number, v: number, timeoutMs: number): Generator<undefined, number, undefined> {
    if (this.step()) yield;
    if (this.weak !== null) {
      fenced(this.k);
      this.weak.sync(this.me); // (futex_wait: a full barrier; it compares the newest value)
    }
    if (!waitBegin(this.k, this.m, this.me, p, v, timeoutMs)) return WAIT_NOT_EQUAL;
    if (this.step()) yield; // somebody else runs (this CPU only when its wait is over)
    return waitEnd(this.k, this.m, this.me, p, v);
  }
  *delay(ns: number): Generator<undefined, void, undefined> {
    if (this.step()) yield;
    if (this.weak !== null) {
      fenced(this.k);
      this.weak.sync(this.me);
    }
    sleepFor(this.k, this.me, ns);
    if (this.step()) yield;
  }
  /** A window point: PCT's change points on window points, then a scheduling point. */
  point(): boolean {
    passPoint(this.k, this.me);
    return this.step();
  }
  now(): number {
    return this.k[K_STEP] * STEP_NS;
  }
  random(): number {
    return this.prng.next();
  }
}

/** Runs one execution on the sequential executor: `cpus[i]` is participant i's resumable
 *  body (a generator over its SequentialMem `mems[i]`). CPU 0 goes first (its first access
 *  asks the scheduler who really goes first); every yield hands over to the participant the
 *  scheduler chose, every finished body leaves the schedule. Returns the abort's reason, or
 *  null when every participant finished. */
export function runSequential(ctl: SharedArrayBuffer, mems: readonly SequentialMem[], cpus: readonly Generator[]): string | null {
  const k = new Int32Array(ctl);
  let cur = 0;
  for (;;) {
    let next: number;
    try {
      next = cpus[cur].next().done ? mems[cur].exit() : mems[cur].next;
    } catch (e) {
      if (e instanceof ControlledAbort) return e.message;
      throw e;
    }
    if (next < 0) return k[K_FINISHED] === 2 ? 'aborted' : null;
    cur = next;
    resumed(k, cur);
  }
}

/** PCT's guarantee for n CPUs, k scheduling points and depth d: a bug of depth d is found by one run with
 *  probability at least 1 / (n * k^(d-1)) (Burckhardt et al., ASPLOS 2010). */
export function pctBound(n: number, k: number, d: number): number {
  return 1 / (n * Math.pow(Math.max(1, k), Math.max(0, d - 1)));
}

