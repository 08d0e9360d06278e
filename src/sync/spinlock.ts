// spinlock_t (the ptl, the pmd lock, mm->page_table_lock, zone->lock) as a futex mutex:
// 0 free, 1 locked, 2 locked with sleepers. A waiter spins a bounded number of times with
// irqs on (taking IPIs, as a CPU spinning in spin_lock does), then sleeps.
// The lock word's accesses carry the kernel's orderings (acquire to take it, release to drop
// it), and the litmus tests' spin_lock / spin_unlock make the same ones (src/litmus).
import type { Cpu } from '../machine/cpu.js';
import { ACQUIRE, type Mem, RELEASE } from '../machine/mem.js';
import { SPIN_LIMIT, WAIT_SLICE_MS, irqPoint } from './irq.js';

/** What the lock word's accesses need of a CPU's memory (the model's Mem, a litmus process's) */
type LockMem = Pick<Mem, 'cas' | 'xchg'>;

/** The lock taken if free: queued_spin_trylock()'s atomic_try_cmpxchg_acquire(0 -> locked). */
export function spinTrylock(m: LockMem, p: number): boolean {
  return m.cas(p, 0, 1, ACQUIRE) === 0;
}

/** The lock marked contended and taken if it was free (the sleeper's xchg_acquire): was it? */
export function spinTakeContended(m: LockMem, p: number): boolean {
  return m.xchg(p, 2, ACQUIRE) === 0;
}

/** The lock dropped (queued_spin_unlock()'s smp_store_release; an xchg here, to see whether
 *  anybody sleeps on it): true when a sleeper is to be woken. */
export function spinRelease(m: LockMem, p: number): boolean {
  return m.xchg(p, 0, RELEASE) === 2;
}

/** spin_lock() */
export function spinLock(c: Cpu, p: number): void {
  const m = c.mem;
  if (spinTrylock(m, p)) return;
  for (let i = 0; i < SPIN_LIMIT; i++) {
    if (m.load(p) === 0 && spinTrylock(m, p)) return;
    irqPoint(c);
  }
  // sleep: mark the lock contended so that the owner's unlock wakes us
  while (!spinTakeContended(m, p)) {
    c.block(p, 2, WAIT_SLICE_MS);
    irqPoint(c);
  }
}

/** spin_unlock() */
export function spinUnlock(c: Cpu, p: number): void {
  const m = c.mem;
  if (spinRelease(m, p)) m.notify(p, 1);
}
