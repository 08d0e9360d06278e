// irq-off sections and the TLB-flush IPI (arch/x86/mm/tlb.c, kernel/smp.c).
// A CPU with irqs off acknowledges an IPI only at local_irq_restore, so an IPI broadcast
// (and the table free after it) waits for every lockless walker in flight. Under
// consolidated RCU an irq-off section is also an RCU read-side critical section: the
// per-CPU word holds the grace-period counter sampled at local_irq_save.
import type { Cpu } from '../machine/cpu.js';
import { defineKnob } from '../machine/knobs.js';
import { defineHist, defineStat } from '../machine/stats.js';
import { C_IPI_ACK, C_IPI_REQ, C_IRQ_OFF, C_RCU_CTR, C_WAKE, C_WANT, cpuAddr } from '../machine/layout.js';
import { ACQUIRE, RELEASE, SMP_MB } from '../machine/mem.js';

export const S_IPI_SENT = defineStat('ipiSent', 'IPI broadcasts sent');
export const S_IPI_TARGETS = defineStat('ipiTargets', 'per-CPU IPI requests posted');
export const S_IPI_HANDLED = defineStat('ipiHandled', 'IPI requests this CPU acknowledged');
export const H_IPI_WAIT = defineHist('ipiWait', 'an IPI broadcast from the first post to the last acknowledgement, ns');

export const SPIN_LIMIT = 200; // ~0.2 us a spin: bounded spinning, then Atomics.wait
export const WAIT_SLICE_MS = 5;
export const K_IPI_SPIN = defineKnob({
  name: 'ipi.spin', unit: 'count', value: SPIN_LIMIT, min: 0, max: 1_000_000, kernel: 'csd_lock_wait / smp_cond_load_acquire (a kernel sender only spins; this bounds it, then sleeps)',
  doc: 'checks an IPI sender makes of a target\'s acknowledgement before it sleeps until woken',
});

/** local_irq_save(): from here the CPU acks no IPI and holds off any grace period. The word
 *  stands for the CPU's interrupt mask, which takes effect at once (an IPI sender's check of it
 *  and this CPU's next reads are ordered as the hardware orders an interrupt's delivery): a
 *  full barrier after it, under the weak memory models. */
export function localIrqSave(c: Cpu): void {
  if (c.irqDepth++ !== 0) return;
  c.mem.store(c.aIrqOff, c.mem.load(c.gGpCtr, ACQUIRE), RELEASE);
  c.mem.fence(SMP_MB);
}

/** local_irq_restore(): irqs back on; take the pending IPI now (flush_tlb_func), and wake a
 *  sleeping IPI sender or expedited grace period waiting on this CPU. */
export function localIrqRestore(c: Cpu): void {
  if (--c.irqDepth !== 0) return;
  c.mem.store(c.aIrqOff, 0, RELEASE);
  handleIpi(c);
  c.wakeWaiters();
}

/** The IPI handler: acknowledge every request posted so far. */
export function handleIpi(c: Cpu): void {
  const m = c.mem;
  const req = m.load(c.aIpiReq, ACQUIRE);
  if (req !== c.ipiSeen) {
    c.ipiSeen = req;
    m.store(c.aIpiAck, req, RELEASE);
    c.stats[S_IPI_HANDLED.id]++;
  }
}

const SPIN_SLICE_NS = 500;

/** Spin ns with interrupts as they are: with irqs on (an RCU reader, a writer) the spin takes
 *  interrupts, an IPI acknowledged in the middle of it, as a real CPU would, instead of after
 *  it (the race windows' --widen, check/windows.ts). */
export function spinIrqsOn(c: Cpu, ns: number): void {
  if (c.irqDepth !== 0) {
    c.mem.delay(ns);
    return;
  }
  for (let left = ns; left > 0; left -= SPIN_SLICE_NS) {
    c.mem.delay(left < SPIN_SLICE_NS ? left : SPIN_SLICE_NS);
    handleIpi(c);
    c.wakeWaiters(); // the sender sleeping on this CPU's ack
  }
}

/** An interrupt point of a running CPU with irqs on (between operations, in spin loops):
 *  take pending IPIs and report a quiescent state for RCU (rcu_qs()). */
export function irqPoint(c: Cpu): void {
  if (c.irqDepth !== 0) return;
  handleIpi(c);
  if (c.rcuNest !== 0) return;
  const m = c.mem;
  const g = m.load(c.gGpCtr, ACQUIRE);
  if (g !== c.qsSeen) {
    c.qsSeen = g;
    m.store(c.aQs, g, RELEASE);
  }
  if (m.load(c.aWant, ACQUIRE) !== 0) c.wakeWaiters();
}

/** on_each_cpu_mask(mm_cpumask, flush_tlb_func, wait=1): post a request in every other
 *  CPU's mailbox, then wait until each has acknowledged it. A CPU asleep with irqs on would
 *  take the interrupt at once: nothing of it is in flight, so it counts as acknowledged. */
export function ipiBroadcast(c: Cpu): void {
  const m = c.mem;
  const L = c.L;
  const n = L.cpus;
  const t0 = m.now();
  c.stats[S_IPI_SENT.id]++;
  for (let t = 0; t < n; t++) {
    if (t === c.id) continue;
    c.ipiReqs[t] = m.add(cpuAddr(L, t, C_IPI_REQ), 1) + 1;
    c.stats[S_IPI_TARGETS.id]++;
  }
  if (c.bug['ipi-no-wait']) return;
  for (let t = 0; t < n; t++) {
    if (t === c.id) continue;
    waitIpiAck(c, t, c.ipiReqs[t]);
  }
  c.hists[H_IPI_WAIT.id].recordValue(Math.round(m.now() - t0));
}

/** Has CPU t taken request req? A CPU with irqs on takes an interrupt at the next instruction
 *  boundary, whatever it is doing (running, idle, finished): only an irq-off section holds an
 *  IPI off. A walker that disables irqs after this check does so after the request was posted,
 *  so after the sender's page-table change: it reads the new entries. */
export function ipiDone(c: Cpu, t: number, req: number): boolean {
  const m = c.mem;
  const L = c.L;
  return m.load(cpuAddr(L, t, C_IPI_ACK), ACQUIRE) - req >= 0 || m.load(cpuAddr(L, t, C_IRQ_OFF), ACQUIRE) === 0;
}

function waitIpiAck(c: Cpu, t: number, req: number): void {
  const m = c.mem;
  const aWake = cpuAddr(c.L, t, C_WAKE);
  const aWant = cpuAddr(c.L, t, C_WANT);
  let spins = 0;
  const spinLimit = c.knob(K_IPI_SPIN);
  while (!ipiDone(c, t, req)) {
    // we wait with irqs on: take IPIs sent to us meanwhile, or two senders deadlock
    handleIpi(c);
    if (++spins < spinLimit) continue;
    const w = m.load(aWake, ACQUIRE);
    m.store(aWant, 1, RELEASE);
    m.fence(SMP_MB); // (set_current_state: smp_store_mb, against the target's check of C_WANT)
    // re-check after announcing ourselves: the target checks C_WANT after it acks
    if (ipiDone(c, t, req)) break;
    c.block(aWake, w, WAIT_SLICE_MS);
  }
}

/** Is CPU t inside a read-side section (irq-off or rcu_read_lock) that began before
 *  grace period g started? */
export function inOldReader(c: Cpu, t: number, g: number): boolean {
  const m = c.mem;
  const irq = m.load(cpuAddr(c.L, t, C_IRQ_OFF), ACQUIRE);
  if (irq !== 0 && irq - g < 0) return true;
  const rcu = m.load(cpuAddr(c.L, t, C_RCU_CTR), ACQUIRE);
  return rcu !== 0 && rcu - g < 0;
}
