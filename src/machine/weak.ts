// Weak memory for the sequential controlled executor (explore, replay, litmus): what a load may
// read and when a store becomes visible, as x86 and arm64 let them, every freedom a recorded
// choice of the schedule. Stress runs are sequentially consistent (real Atomics); so is `sc`.
//
// tso (x86-TSO): a FIFO store buffer per CPU. A store goes into it; a load reads its own
// newest buffered store to that word, or memory; a locked read-modify-write, smp_mb and the
// emulation's sleeps drain it. Each non-empty buffer is a schedulable participant of its own
// whose step writes the oldest entry to memory (controlled.ts: flushers), so a buffered store
// can reach memory between any two steps of the others, and replay follows it.
//
// lkmm (as weak as arm64): one timeline of writes, each at a time t (a message: its value and
// t; for each word its messages in t order are its coherence order). It is multicopy-atomic,
// as arm64 and x86 are: a write is visible to every CPU from its time on. A load may read
// the newest message of its word or an older one (it was satisfied early): any message not
// older than the newest one at the CPU's read floor, nor than what this CPU already read or
// wrote there (coherence). A store goes at the end of the timeline or before some of the
// latest writes (it became visible before them: store-store reordering), after the CPU's
// write floor. The floors are what the kernel's orderings give:
//   every later access   after an acquire load, and after smp_mb (the floor is now);
//   later loads          after every earlier load, past smp_rmb; a dependent load (ADDR_DEP),
//                        for itself only;
//   later stores         after every earlier load (the model never lets a store pass a load:
//                        no load buffering, LB), after every earlier store past smp_wmb, and
//                        a release store after everything before it.
// A read-modify-write reads the newest message and appends its write (atomic); fully ordered
// unless RELAXED (smp_mb on both sides when it writes; a failed cmpxchg orders nothing).
// Which message a load reads and where a store goes are recorded choices (0: the newest, the
// end: what `sc` does), so a replay repeats them. Deliberately missing: load buffering (a
// store never passes an earlier load), non-multicopy-atomic propagation (Power's: IRIW with
// only one side fenced, the Z6.0 shapes), and the reads and slots older than the last
// LOOKBACK (choices are bounded). The model is stronger than LKMM there, never weaker: a
// fixed form that is clean under LKMM stays clean here.
import { ACQUIRE, ADDR_DEP, type Fence, RELEASE, SMP_RMB, SMP_WMB } from './mem.js';

export const MEMORY_MODELS = ['sc', 'tso', 'lkmm'] as const;
export type MemoryModel = (typeof MEMORY_MODELS)[number];

/** how many messages back a load may read, and how many writes back a store may go before */
export const LOOKBACK = 6;
/** a store buffer's entries (x86 cores hold about 50; a full one drains its oldest) */
const TSO_BUFFER = 64;

/** A weak-memory choice: `options` alternatives (0 is what sequential consistency does);
 *  `what` says what it chose, for the interleaving diagram. */
export type WeakChooser = (options: number) => number;
/** What the diagram shows of a reordering: the CPU, and what it saw or did. */
export type WeakNote = (cpu: number, text: string) => void;

/** Read-modify-write operations */
export const RMW_CAS = 0;
export const RMW_ADD = 1;
export const RMW_XCHG = 2;

export interface WeakMemory {
  readonly model: MemoryModel;
  load(cpu: number, p: number, ord: number): number;
  store(cpu: number, p: number, v: number, ord: number): void;
  /** the read-modify-write `op` (RMW_*): returns the old value */
  rmw(cpu: number, p: number, op: number, a: number, b: number, ord: number): number;
  fence(cpu: number, kind: Fence): void;
  /** a full barrier of the emulation's own: wait, notify, sleep, a CPU's end */
  sync(cpu: number): void;
  /** CPUs whose buffered stores can reach memory as a step of their own, a bit each (tso) */
  flushable(): number;
  /** the oldest buffered store of `cpu` reaches memory: its word */
  flush(cpu: number): number;
}

/** Writes to the machine's memory (the newest value of each word: what peek and the
 *  end-of-run checks read, and what a waiter compares) and marks the block dirty. */
export type MemWrite = (p: number, v: number) => void;

function rmwNew(op: number, old: number, a: number, b: number): number | null {
  if (op === RMW_ADD) return (old + a) | 0;
  if (op === RMW_XCHG) return a;
  return old === a ? b : null; // cmpxchg: no write when it fails
}

export function newWeakMemory(model: MemoryModel, m: Int32Array, write: MemWrite, choose: WeakChooser, note: WeakNote | null, cpus: number): WeakMemory | null {
  if (model === 'sc') return null;
  return model === 'tso' ? new Tso(m, write, note, cpus) : new Lkmm(m, write, choose, note, cpus);
}

class Tso implements WeakMemory {
  readonly model = 'tso';
  /** per CPU: [addr, value, ...] oldest first */
  private readonly bufs: number[][];
  constructor(private readonly m: Int32Array, private readonly write: MemWrite, private readonly note: WeakNote | null, cpus: number) {
    this.bufs = Array.from({ length: cpus }, () => []);
  }
  load(cpu: number, p: number): number {
    const b = this.bufs[cpu];
    for (let i = b.length - 2; i >= 0; i -= 2) if (b[i] === p) return b[i + 1]; // store-to-load forwarding
    if (this.note !== null && b.length > 0) this.note(cpu, `load [${p}] = ${this.m[p]} from memory, past ${b.length / 2} store(s) still in its buffer`);
    return this.m[p];
  }
  store(cpu: number, p: number, v: number): void {
    const b = this.bufs[cpu];
    if (b.length >= 2 * TSO_BUFFER) this.flush(cpu);
    b.push(p, v);
  }
  rmw(cpu: number, p: number, op: number, a: number, b: number): number {
    this.sync(cpu); // a locked instruction drains the buffer, failed or not
    const old = this.m[p];
    const v = rmwNew(op, old, a, b);
    if (v !== null) this.write(p, v);
    return old;
  }
  fence(cpu: number, kind: Fence): void {
    if (kind !== SMP_RMB && kind !== SMP_WMB) this.sync(cpu); // (x86: smp_rmb, smp_wmb are compiler barriers)
  }
  sync(cpu: number): void {
    const b = this.bufs[cpu];
    for (let i = 0; i < b.length; i += 2) this.write(b[i], b[i + 1]);
    b.length = 0;
  }
  flushable(): number {
    let x = 0;
    for (let c = 0; c < this.bufs.length; c++) if (this.bufs[c].length > 0) x |= 1 << c;
    return x;
  }
  flush(cpu: number): number {
    const b = this.bufs[cpu];
    const p = b[0];
    this.write(p, b[1]);
    b.splice(0, 2);
    return p;
  }
}

/** A write on the timeline: its value, time, the CPU that made it, and whether a
 *  read-modify-write made it (nothing may go between it and the message it read). */
interface Msg { t: number; v: number; cpu: number; rmw: boolean }

class Lkmm implements WeakMemory {
  readonly model = 'lkmm';
  /** per word written: its messages in time (coherence) order, the first its value at the start */
  private readonly hist = new Map<number, Msg[]>();
  /** every message's time but the initial ones, ascending */
  private readonly times: number[] = [];
  /** the latest time on the timeline */
  private now = 0;
  /** per CPU: the read floor, the newest time its loads read, the write floor, its latest
   *  write's time */
  private readonly rmin: Float64Array;
  private readonly pend: Float64Array;
  private readonly wfl: Float64Array;
  private readonly lastW: Float64Array;
  /** per CPU: its latest release's time (a later acquire orders after it: arm64's store-release
   *  then load-acquire are ordered, which makes spin_unlock + spin_lock a barrier for what the
   *  CPU writes around them, as LKMM's po-unlock-lock-po) */
  private readonly lastRel: Float64Array;
  /** per CPU: per word, the time of the message it last read or wrote (coherence) */
  private readonly cur: Map<number, number>[];
  constructor(private readonly m: Int32Array, private readonly write: MemWrite, private readonly choose: WeakChooser, private readonly note: WeakNote | null, cpus: number) {
    this.rmin = new Float64Array(cpus);
    this.pend = new Float64Array(cpus);
    this.wfl = new Float64Array(cpus);
    this.lastW = new Float64Array(cpus);
    this.lastRel = new Float64Array(cpus);
    this.cur = Array.from({ length: cpus }, () => new Map());
  }

  private msgs(p: number): Msg[] {
    let h = this.hist.get(p);
    if (h === undefined) this.hist.set(p, (h = [{ t: 0, v: this.m[p], cpu: -1, rmw: false }]));
    return h;
  }

  /** A load of p with read floor `floor`: the message it reads (a recorded choice). */
  private read(cpu: number, p: number, floor: number): Msg {
    const h = this.msgs(p);
    const seen = this.cur[cpu].get(p) ?? 0;
    let lo = h.length - 1; // the newest message at the floor, and none older than what it saw
    while (lo > 0 && h[lo].t > floor) lo--;
    while (h[lo].t < seen) lo++;
    const n = Math.min(h.length - lo, LOOKBACK);
    const back = n > 1 ? this.choose(n) : 0;
    const msg = h[h.length - 1 - back];
    if (back > 0 && this.note !== null) this.note(cpu, `load [${p}] = ${msg.v}: an older write (${back} newer, the newest ${h[h.length - 1].v} by cpu${h[h.length - 1].cpu})`);
    this.cur[cpu].set(p, msg.t);
    // (a read of its own write orders nothing after it: it may be forwarded from the store
    // buffer before the write is visible, SB+rfionceonce)
    if (msg.cpu !== cpu && msg.t > this.pend[cpu]) this.pend[cpu] = msg.t;
    return msg;
  }

  /** A store of v to p at a time after `floor` (a recorded choice: the end, or before some of
   *  the latest writes), or at the end (`atEnd`: a read-modify-write's). */
  private put(cpu: number, p: number, v: number, floor: number, atEnd: boolean): number {
    const h = this.msgs(p);
    const lower = Math.max(floor, this.cur[cpu].get(p) ?? 0);
    const T = this.times;
    let t = this.now + 1;
    if (!atEnd) {
      // slots: before times[L-1], before times[L-2], ... while after `lower` and not right
      // before a read-modify-write's message of p
      const slots: number[] = [t];
      for (let i = T.length - 1; i >= 0 && slots.length < LOOKBACK && T[i] > lower; i--) {
        const at = Math.max(i > 0 ? T[i - 1] : 0, lower);
        const ts = (at + T[i]) / 2;
        if (ts <= at || ts >= T[i]) break; // (no room left between two times)
        let j = h.length - 1; // (the message of p it would go just before)
        while (j > 0 && h[j - 1].t > ts) j--;
        if (h[j].t > ts && h[j].rmw) continue;
        slots.push(ts);
      }
      const c = slots.length > 1 ? this.choose(slots.length) : 0;
      t = slots[c];
      if (c > 0 && this.note !== null) this.note(cpu, `store [${p}] = ${v} becomes visible before the ${c} latest write(s)`);
    }
    const msg: Msg = { t, v, cpu, rmw: atEnd };
    if (t > this.now) {
      this.now = t;
      T.push(t);
      h.push(msg);
    } else {
      let i = T.length;
      while (i > 0 && T[i - 1] > t) i--;
      T.splice(i, 0, t);
      let j = h.length;
      while (j > 0 && h[j - 1].t > t) j--;
      h.splice(j, 0, msg);
    }
    if (h[h.length - 1] === msg) this.write(p, v);
    this.cur[cpu].set(p, t);
    if (t > this.lastW[cpu]) this.lastW[cpu] = t;
    return t;
  }

  load(cpu: number, p: number, ord: number): number {
    const floor = ord === ADDR_DEP ? Math.max(this.rmin[cpu], this.pend[cpu]) : this.rmin[cpu];
    const msg = this.read(cpu, p, floor);
    if (ord === ACQUIRE) this.rmin[cpu] = Math.max(this.rmin[cpu], msg.t, this.lastRel[cpu]);
    return msg.v;
  }

  store(cpu: number, p: number, v: number, ord: number): void {
    let floor = Math.max(this.rmin[cpu], this.pend[cpu], this.wfl[cpu]);
    if (ord === RELEASE) floor = Math.max(floor, this.lastW[cpu]);
    const t = this.put(cpu, p, v, floor, false);
    if (ord === RELEASE && t > this.lastRel[cpu]) this.lastRel[cpu] = t;
  }

  rmw(cpu: number, p: number, op: number, a: number, b: number, ord: number): number {
    const h = this.msgs(p);
    const last = h[h.length - 1]; // atomic: the newest message
    const v = rmwNew(op, last.v, a, b);
    const full = ord === 0 && v !== null; // (a failed cmpxchg orders nothing)
    if (full) this.mb(cpu);
    this.cur[cpu].set(p, last.t);
    if (last.cpu !== cpu && last.t > this.pend[cpu]) this.pend[cpu] = last.t;
    if (v !== null) {
      const t = this.put(cpu, p, v, 0, true);
      if (ord === RELEASE) this.lastRel[cpu] = t;
    }
    // (an _acquire read-modify-write orders what follows after its read: not after its own
    // write, nor the stores before it after those that follow: spin_lock lets earlier
    // stores into the critical section)
    if (ord === ACQUIRE) this.rmin[cpu] = Math.max(this.rmin[cpu], last.t, this.lastRel[cpu]);
    if (full) this.mb(cpu);
    return last.v;
  }

  private mb(cpu: number): void {
    this.rmin[cpu] = this.wfl[cpu] = this.pend[cpu] = this.now;
  }

  fence(cpu: number, kind: Fence): void {
    if (kind === SMP_RMB) this.rmin[cpu] = Math.max(this.rmin[cpu], this.pend[cpu]);
    else if (kind === SMP_WMB) this.wfl[cpu] = Math.max(this.wfl[cpu], this.lastW[cpu]);
    else this.mb(cpu);
  }

  sync(cpu: number): void {
    this.mb(cpu);
  }

  flushable(): number {
    return 0;
  }

  flush(): number {
    return -1;
  }
}
