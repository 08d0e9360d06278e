// The one interface through which the model touches emulated shared memory, time and
// randomness. The stress executor (StressMem) maps it onto raw Atomics; a controlled
// executor can implement the same interface with a deterministic scheduler and replay a
// run from its seed. Nothing in src/ outside this file calls Atomics, Date.now(),
// performance.now() or Math.random().

import { performance } from 'node:perf_hooks';

// (the global `performance` is a lazy getter on globalThis: every use a global lookup, a
// getter call and a hasOwnProperty; the module's binding is the object itself)
const clock = performance;

export const WAIT_OK = 0;
export const WAIT_NOT_EQUAL = 1;
export const WAIT_TIMED_OUT = 2;

export interface Mem {
  /** READ_ONCE */
  load(p: number): number;
  /** A read that is not an emulated access: a plain read, no scheduling point. For the
   *  checker (the oracle, the race windows), whose reads never steer the model, so a value an
   *  instant old can only make a check miss, never report what did not happen; and for words
   *  that never change while CPUs run (mm->pgd and the depth off s390: pgdOffsetLockless),
   *  where there is nothing to race with. */
  peek(p: number): number;
  /** WRITE_ONCE */
  store(p: number, v: number): void;
  /** cmpxchg: returns the old value */
  cas(p: number, expect: number, repl: number): number;
  /** atomic_add_return - d: returns the old value */
  add(p: number, d: number): number;
  /** xchg: returns the old value */
  xchg(p: number, v: number): number;
  /** Sleeps while *p == v, at most timeoutMs: WAIT_OK, WAIT_NOT_EQUAL or WAIT_TIMED_OUT. */
  wait(p: number, v: number, timeoutMs: number): number;
  /** Wakes up to n waiters on p. */
  notify(p: number, n: number): number;
  /** Monotonic time in nanoseconds. */
  now(): number;
  /** Busy-waits about ns nanoseconds (window widening, jitter). */
  delay(ns: number): void;
  /** Seeded 32-bit PRNG (unsigned). */
  random(): number;
  /** A race-window point (a window opens, widens or closes): nothing under stress; under the
   *  controlled executor a scheduling point where PCT may place a priority change point. */
  point(): void;
}

/** xorshift128: small, fast, seedable; the run's seed is in its results. */
export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  constructor(seed: number) {
    // splitmix32 to spread the seed over the state
    let s = seed >>> 0;
    const next = (): number => {
      s = (s + 0x9e3779b9) | 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next() | 1;
    this.b = next();
    this.c = next();
    this.d = next();
  }
  next(): number {
    let t = this.d;
    const s = this.a;
    this.d = this.c;
    this.c = this.b;
    this.b = s;
    t ^= t << 11;
    t ^= t >>> 8;
    this.a = (t ^ s ^ (s >>> 19)) | 0;
    return this.a >>> 0;
  }
}

export class StressMem implements Mem {
  readonly m: Int32Array;
  private readonly prng: Prng;
  constructor(sab: SharedArrayBuffer, seed: number) {
    this.m = new Int32Array(sab);
    this.prng = new Prng(seed);
  }
  load(p: number): number {
    return Atomics.load(this.m, p);
  }
  peek(p: number): number {
    return this.m[p];
  }
  store(p: number, v: number): void {
    Atomics.store(this.m, p, v);
  }
  cas(p: number, expect: number, repl: number): number {
    return Atomics.compareExchange(this.m, p, expect, repl);
  }
  add(p: number, d: number): number {
    return Atomics.add(this.m, p, d);
  }
  xchg(p: number, v: number): number {
    return Atomics.exchange(this.m, p, v);
  }
  wait(p: number, v: number, timeoutMs: number): number {
    const r = Atomics.wait(this.m, p, v, timeoutMs);
    return r === 'ok' ? WAIT_OK : r === 'not-equal' ? WAIT_NOT_EQUAL : WAIT_TIMED_OUT;
  }
  notify(p: number, n: number): number {
    return Atomics.notify(this.m, p, n);
  }
  now(): number {
    return clock.now() * 1e6;
  }
  delay(ns: number): void {
    const end = clock.now() + ns / 1e6;
    while (clock.now() < end);
  }
  random(): number {
    return this.prng.next();
  }
  point(): void {}
}
