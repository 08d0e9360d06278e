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

// Orderings, the kernel's: the last argument of an access; 0 (or none) is the access's default:
// a load is READ_ONCE, a store WRITE_ONCE (both unordered against other locations), a
// read-modify-write fully ordered (the kernel's value-returning atomics, xchg and a successful
// cmpxchg: smp_mb on both sides; a failed cmpxchg orders nothing). Stress runs and the `sc`
// memory model are sequentially consistent and ignore them; the weak models (weak.ts) do not.
/** smp_load_acquire, an _acquire read-modify-write: later accesses stay after it */
export const ACQUIRE = 1;
/** smp_store_release, a _release read-modify-write: earlier accesses stay before it */
export const RELEASE = 2;
/** a _relaxed read-modify-write (atomic_inc, atomic_add, xchg_relaxed, set_bit): no ordering */
export const RELAXED = 3;
/** a load whose address came from an earlier load (a page-table walk's next level,
 *  rcu_dereference's pointer followed): it reads nothing older than what this CPU's earlier
 *  loads saw (the model orders it after all of them: a dependency on every one) */
export const ADDR_DEP = 4;
export type Order = 0 | typeof ACQUIRE | typeof RELEASE | typeof RELAXED | typeof ADDR_DEP;

// Fences (Mem.fence), the kernel's barriers
export const SMP_MB = 1;
export const SMP_RMB = 2;
export const SMP_WMB = 3;
/** smp_mb__before_atomic / smp_mb__after_atomic: the model makes them smp_mb (the kernel's
 *  order only the atomic against the rest: the model is stronger, never weaker) */
export const MB_BEFORE_ATOMIC = 4;
export const MB_AFTER_ATOMIC = 5;
export type Fence = typeof SMP_MB | typeof SMP_RMB | typeof SMP_WMB | typeof MB_BEFORE_ATOMIC | typeof MB_AFTER_ATOMIC;

export interface Mem {
  /** READ_ONCE (ord: ACQUIRE for smp_load_acquire, ADDR_DEP for a dependent load) */
  load(p: number, ord?: Order): number;
  /** A read that is not an emulated access: a plain read, no scheduling point. For the
   *  checker (the oracle, the race windows), whose reads never steer the model, so a value an
   *  instant old can only make a check miss, never report what did not happen; and for words
   *  that never change while CPUs run (mm->pgd and the depth off s390: pgdOffsetLockless),
   *  where there is nothing to race with. */
  peek(p: number): number;
  /** WRITE_ONCE (ord: RELEASE for smp_store_release, rcu_assign_pointer) */
  store(p: number, v: number, ord?: Order): void;
  /** cmpxchg: returns the old value (ord: ACQUIRE, RELEASE, RELAXED for the _acquire,
   *  _release, _relaxed forms) */
  cas(p: number, expect: number, repl: number, ord?: Order): number;
  /** atomic_add_return - d: returns the old value (RELAXED: atomic_add, atomic_inc) */
  add(p: number, d: number, ord?: Order): number;
  /** xchg: returns the old value */
  xchg(p: number, v: number, ord?: Order): number;
  /** A barrier: nothing under stress and under `sc` (every access is sequentially
   *  consistent there); orders accesses under the weak memory models. Not a scheduling point. */
  fence(kind: Fence): void;
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
  fence(): void {}
}
