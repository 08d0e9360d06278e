// spinlock_t (the ptl, the pmd lock, mm->page_table_lock, zone->lock) as a futex mutex:
// 0 free, 1 locked, 2 locked with sleepers. A waiter spins a bounded number of times with
// irqs on (taking IPIs, as a CPU spinning in spin_lock does), then sleeps.
import type { Cpu } from '../machine/cpu.js';
import { SPIN_LIMIT, WAIT_SLICE_MS, irqPoint } from './irq.js';

/** spin_lock() */
export function spinLock(c: Cpu, p: number): void {
  const m = c.mem;
  if (m.cas(p, 0, 1) === 0) return;
  for (let i = 0; i < SPIN_LIMIT; i++) {
    if (m.load(p) === 0 && m.cas(p, 0, 1) === 0) return;
    irqPoint(c);
  }
  // sleep: mark the lock contended so that the owner's unlock wakes us
  let v = m.xchg(p, 2);
  while (v !== 0) {
    c.block(p, 2, WAIT_SLICE_MS);
    irqPoint(c);
    v = m.xchg(p, 2);
  }
}

/** spin_unlock() */
export function spinUnlock(c: Cpu, p: number): void {
  const m = c.mem;
  if (m.xchg(p, 0) === 2) m.notify(p, 1);
}
