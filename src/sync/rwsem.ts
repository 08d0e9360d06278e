// struct rw_semaphore (mmap_lock): a reader count, a writer bit and a waiters bit in one
// word. Waiters spin a bounded number of times, then sleep on the word. The kernel's
// orderings: taking it is an acquire (atomic_long_try_cmpxchg_acquire), dropping it a release
// (atomic_long_add_return_release, atomic_long_fetch_add_release).
import type { Cpu } from '../machine/cpu.js';
import { SPIN_LIMIT, WAIT_SLICE_MS, irqPoint } from './irq.js';
import { ACQUIRE, RELEASE } from '../machine/mem.js';

const WRITER = 1 << 30;
const WAITERS = 1 << 29;
const COUNT = WAITERS - 1;

function sleepOn(c: Cpu, p: number, v: number): void {
  // announce ourselves so that the unlock notifies, then sleep while the word is unchanged
  if ((v & WAITERS) === 0 && c.mem.cas(p, v, v | WAITERS) !== v) return;
  c.block(p, v | WAITERS, WAIT_SLICE_MS);
  irqPoint(c);
}

/** down_read() / mmap_read_lock() */
export function downRead(c: Cpu, p: number): void {
  const m = c.mem;
  for (let spins = 0; ; ) {
    const v = m.load(p, ACQUIRE);
    if ((v & WRITER) === 0) {
      if (m.cas(p, v, v + 1, ACQUIRE) === v) return;
      continue;
    }
    if (++spins < SPIN_LIMIT) irqPoint(c);
    else sleepOn(c, p, v);
  }
}

/** up_read() */
export function upRead(c: Cpu, p: number): void {
  const m = c.mem;
  const v = m.add(p, -1, RELEASE) - 1;
  if ((v & COUNT) === 0 && (v & WAITERS) !== 0 && m.cas(p, v, v & ~WAITERS) === v) m.notify(p, 1 << 30);
}

/** down_write() / mmap_write_lock() */
export function downWrite(c: Cpu, p: number): void {
  const m = c.mem;
  for (let spins = 0; ; ) {
    const v = m.load(p, ACQUIRE);
    if ((v & (WRITER | COUNT)) === 0) {
      if (m.cas(p, v, v | WRITER, ACQUIRE) === v) return;
      continue;
    }
    if (++spins < SPIN_LIMIT) irqPoint(c);
    else sleepOn(c, p, v);
  }
}

/** up_write() */
export function upWrite(c: Cpu, p: number): void {
  const m = c.mem;
  if ((m.xchg(p, 0, RELEASE) & WAITERS) !== 0) m.notify(p, 1 << 30);
}
