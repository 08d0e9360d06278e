// RCU (kernel/rcu/tree.c, simplified to what the table-freeing protocols rely on).
// Readers: rcu_read_lock() or an irq-off section store the grace-period counter they saw
// (G_GP_CTR) in a per-CPU word. A grace period g is started by incrementing the counter
// to g; it ends when no CPU is still inside a section that sampled a counter below g.
//   - normal (synchronize_rcu, call_rcu): the gp worker drives it, in batches, and waits
//     for CPUs to pass quiescent states, polling every rcu.tick (a knob) like the scheduler
//     tick. What a quiescent state is depends on the flavor (the rcu.flavor knob, --rcu):
//     preemptible RCU (CONFIG_PREEMPT_RCU): a CPU outside every read-side section (rcu_read_lock,
//     and irq-off, which consolidated RCU counts as one) is quiescent at any instant, so a
//     grace period may end between any two of its accesses outside a section;
//     non-preemptible RCU: a running CPU is quiescent only where it reports one (rcu_qs at its
//     interrupt points: a context switch, the tick), a sleeping one while it sleeps;
//   - expedited (synchronize_rcu_expedited): the caller prods every CPU now (reads its
//     state, as the expedited IPI handler would) and sleeps until each leaves its section.
import type { Cpu } from '../machine/cpu.js';
import { defineHist, defineStat } from '../machine/stats.js';
import {
  C_CB_HEAD, C_CB_TAIL, C_QS_SEQ, C_STATE, C_WAKE, C_WANT, CB_RING, cpuAddr, CpuState, G_DRAIN, G_GP_DONE, G_GP_DOORBELL,
  G_GP_REQ, G_RCU_PENDING, G_RCU_PENDING_MAX,
} from '../machine/layout.js';
import { defineChoiceKnob, defineKnob } from '../machine/knobs.js';
import { WAIT_SLICE_MS, SPIN_LIMIT, handleIpi, inOldReader, irqPoint } from './irq.js';
import { ACQUIRE, RELEASE, SMP_MB } from '../machine/mem.js';

export const S_GP_SYNC = defineStat('syncRcu', 'synchronize_rcu calls');
export const S_GP_EXP = defineStat('syncRcuExpedited', 'synchronize_rcu_expedited calls');
export const S_CALL_RCU = defineStat('callRcu', 'call_rcu calls');
export const S_GPS = defineStat('gracePeriods', 'grace periods completed by the gp worker');
export const S_CB_RUN = defineStat('callbacksRun', 'call_rcu callbacks invoked');
export const H_GP_SYNC = defineHist('gpSync', 'synchronize_rcu latency, ns');
export const H_GP_EXP = defineHist('gpExpedited', 'synchronize_rcu_expedited latency, ns');
export const H_GP_WORKER = defineHist('gpWorker', 'a normal grace period, from its start to every CPU quiescent, ns');
export const H_CB_BATCH = defineHist('cbBatch', 'callbacks invoked per grace period');
export const K_RCU_TICK = defineKnob({
  name: 'rcu.tick', unit: 'us', value: 250, min: 10, max: 1_000_000, kernel: 'HZ (1/HZ; jiffies_till_first_fqs, jiffies_till_next_fqs, which the kernel caps at HZ: one second)',
  doc: 'how often the grace-period kthread polls the CPUs for quiescent states: the pace of normal grace periods, and so how long call_rcu frees are held',
});
export const K_RCU_BLIMIT = defineKnob({
  name: 'rcu.blimit', unit: 'count', value: 10_000, min: 1, max: 10_000, kernel: 'rcutree.blimit (raised to unlimited past rcutree.qhimark)',
  doc: 'callbacks rcu_do_batch invokes in one pass; the rest wait a tick for the next pass',
});

export const K_RCU_FLAVOR = defineChoiceKnob({
  name: 'rcu.flavor', choices: ['nonpreempt', 'preempt'], default: 'preempt',
  kernel: 'CONFIG_PREEMPT_RCU (preempt: selected by PREEMPT and PREEMPT_DYNAMIC, which distro kernels build with; nonpreempt: PREEMPT_NONE / PREEMPT_VOLUNTARY builds without PREEMPT_DYNAMIC)',
  doc: 'preempt: a CPU outside rcu_read_lock and irq-off sections is quiescent at any instant, so a grace period can end between two of its accesses; nonpreempt: only at its interrupt points (context switch, tick) or asleep',
});
export const RCU_PREEMPT = K_RCU_FLAVOR.choices!.indexOf('preempt');

const CB_ENTRIES = CB_RING;

/** Has CPU t passed a quiescent state since grace period g began? Preemptible RCU: it is not
 *  inside a read-side section that began before g (checked now: any instant outside one is
 *  quiescent). Non-preemptible: it reported one (rcu_qs at an interrupt point), or it is in
 *  an extended quiescent state (asleep or finished) outside any read-side section. */
export function passedQs(c: Cpu, t: number, g: number): boolean {
  const m = c.mem;
  if (m.load(cpuAddr(c.L, t, C_QS_SEQ), ACQUIRE) - g >= 0) return true;
  if (c.knob(K_RCU_FLAVOR) === RCU_PREEMPT) return !inOldReader(c, t, g);
  return m.load(cpuAddr(c.L, t, C_STATE), ACQUIRE) !== CpuState.Running && !inOldReader(c, t, g);
}

/** rcu_read_lock() */
export function rcuReadLock(c: Cpu): void {
  if (c.rcuNest++ !== 0) return;
  c.mem.store(c.aRcuCtr, c.mem.load(c.gGpCtr, ACQUIRE), RELEASE);
  // (the grace-period machinery reads this word for what the kernel learns from the CPU's
  // state through IPIs and context switches, themselves full barriers on the CPU: the
  // section's reads come after the mark)
  c.mem.fence(SMP_MB);
}

/** rcu_read_unlock(): the outermost unlock may end a grace period: wake its waiter. */
export function rcuReadUnlock(c: Cpu): void {
  if (--c.rcuNest !== 0) return;
  c.mem.store(c.aRcuCtr, 0, RELEASE);
  c.wakeWaiters();
}

function advanceDone(c: Cpu, g: number): void {
  const m = c.mem;
  const p = c.L.gBase + G_GP_DONE;
  for (;;) {
    const d = m.load(p, ACQUIRE);
    if (d - g >= 0) return;
    if (m.cas(p, d, g) === d) break;
  }
  m.notify(p, 1 << 30);
}

function raiseMax(c: Cpu, p: number, v: number): void {
  const m = c.mem;
  for (;;) {
    const d = m.load(p, ACQUIRE);
    if (d - v >= 0 || m.cas(p, d, v) === d) return;
  }
}

function ringDoorbell(c: Cpu): void {
  const m = c.mem;
  const p = c.L.gBase + G_GP_DOORBELL;
  m.add(p, 1);
  if (m.load(cpuAddr(c.L, c.L.cpus, C_STATE), ACQUIRE) === CpuState.Blocked) m.notify(p, 1);
}

/** synchronize_rcu(): ask the gp worker for a grace period that starts after now, sleep
 *  until it has ended. */
export function synchronizeRcu(c: Cpu): void {
  const m = c.mem;
  const t0 = m.now();
  c.stats[S_GP_SYNC.id]++;
  if (c.bug['rcu-no-wait']) return;
  const need = m.load(c.gGpCtr, ACQUIRE) + 1;
  raiseMax(c, c.L.gBase + G_GP_REQ, need);
  ringDoorbell(c);
  const pDone = c.L.gBase + G_GP_DONE;
  let spins = 0;
  for (;;) {
    const d = m.load(pDone, ACQUIRE);
    if (d - need >= 0) break;
    if (++spins < SPIN_LIMIT) {
      irqPoint(c);
      continue;
    }
    c.block(pDone, d, WAIT_SLICE_MS);
    irqPoint(c);
  }
  c.hists[H_GP_SYNC.id].recordValue(Math.round(m.now() - t0));
}

/** synchronize_rcu_expedited(): start a grace period now and wait for each CPU in turn. */
export function synchronizeRcuExpedited(c: Cpu): void {
  const m = c.mem;
  const t0 = m.now();
  c.stats[S_GP_EXP.id]++;
  if (c.bug['rcu-no-wait']) return;
  const g = m.add(c.gGpCtr, 1) + 1;
  for (let t = 0; t < c.L.cpus; t++) {
    if (t === c.id) continue;
    waitReaderExit(c, t, g);
  }
  advanceDone(c, g);
  c.hists[H_GP_EXP.id].recordValue(Math.round(m.now() - t0));
}

function waitReaderExit(c: Cpu, t: number, g: number): void {
  const m = c.mem;
  const aWake = cpuAddr(c.L, t, C_WAKE);
  const aWant = cpuAddr(c.L, t, C_WANT);
  let spins = 0;
  while (inOldReader(c, t, g)) {
    handleIpi(c);
    if (++spins < SPIN_LIMIT) continue;
    const w = m.load(aWake, ACQUIRE);
    m.store(aWant, 1, RELEASE);
    m.fence(SMP_MB); // (set_current_state: smp_store_mb, against the reader's check of C_WANT)
    // re-check after announcing: the reader checks C_WANT after leaving its section
    if (!inOldReader(c, t, g)) break;
    c.block(aWake, w, WAIT_SLICE_MS);
  }
}

/** call_rcu(): queue `arg` (a frame to free) for the gp worker, behind a grace period. */
export function callRcu(c: Cpu, arg: number): void {
  const m = c.mem;
  const aHead = cpuAddr(c.L, c.id, C_CB_HEAD);
  const aTail = cpuAddr(c.L, c.id, C_CB_TAIL);
  const tail = m.load(aTail, ACQUIRE);
  // a full ring: wait for the gp worker to run a batch (memory pressure on deferred frees)
  while (tail - m.load(aHead, ACQUIRE) >= CB_ENTRIES) {
    ringDoorbell(c);
    const h = m.load(aHead, ACQUIRE);
    if (tail - h < CB_ENTRIES) break;
    c.block(aHead, h, WAIT_SLICE_MS);
  }
  // the gp worker takes a batch before it starts the grace period that covers it
  m.store(c.cbAddr(c.id, tail), arg, RELEASE);
  m.store(aTail, tail + 1, RELEASE);
  c.stats[S_CALL_RCU.id]++;
  const pending = m.add(c.L.gBase + G_RCU_PENDING, 1) + 1;
  raiseMax(c, c.L.gBase + G_RCU_PENDING_MAX, pending);
  ringDoorbell(c);
}

/** rcu_barrier(): wait until every callback queued before now has been invoked. */
export function rcuBarrier(c: Cpu): void {
  const m = c.mem;
  for (let t = 0; t < c.L.cpus; t++) {
    const aHead = cpuAddr(c.L, t, C_CB_HEAD);
    const tail = m.load(cpuAddr(c.L, t, C_CB_TAIL), ACQUIRE);
    for (;;) {
      const h = m.load(aHead, ACQUIRE);
      if (h - tail >= 0) break;
      ringDoorbell(c);
      c.block(aHead, h, WAIT_SLICE_MS);
    }
  }
}

/** The gp worker (rcu_gp_kthread + rcu_do_batch): one grace period per batch of
 *  callbacks and synchronize_rcu requests. `invoke` runs one callback (frees a frame).
 *  Returns when G_DRAIN is set and nothing is left. */
export function rcuGpKthread(c: Cpu, invoke: (c: Cpu, arg: number) => void): void {
  const m = c.mem;
  const L = c.L;
  const tails = new Int32Array(L.cpus);
  const pDoorbell = L.gBase + G_GP_DOORBELL;
  const tickMs = c.knob(K_RCU_TICK) / 1000;
  const blimit = c.knob(K_RCU_BLIMIT);
  const preempt = c.knob(K_RCU_FLAVOR) === RCU_PREEMPT;
  for (;;) {
    // G_DRAIN before the queues: it is set after every CPU's last call_rcu, so queues read
    // after it hold them all (read after the queues, a call_rcu made in between was dropped:
    // its frame never freed, a false refcount-leak that explore found)
    const drain = m.load(L.gBase + G_DRAIN, ACQUIRE) !== 0;
    const bell = m.load(pDoorbell, ACQUIRE);
    let work = m.load(L.gBase + G_GP_REQ, ACQUIRE) - m.load(L.gBase + G_GP_DONE, ACQUIRE) > 0;
    for (let t = 0; t < L.cpus; t++) {
      tails[t] = m.load(cpuAddr(L, t, C_CB_TAIL), ACQUIRE);
      if (tails[t] !== m.load(cpuAddr(L, t, C_CB_HEAD), ACQUIRE)) work = true;
    }
    if (!work) {
      if (drain) return;
      c.block(pDoorbell, bell, 20);
      continue;
    }
    // rcu_gp_init: the callbacks batched above were queued before this increment
    const t0 = m.now();
    const g = m.add(c.gGpCtr, 1) + 1;
    // rcu_gp_fqs_loop: poll every tick until each CPU has passed a quiescent state. Under
    // preemptible RCU a running CPU reports one from its tick (rcu_sched_clock_irq) when the
    // tick lands outside a read-side section: the first poll is a tick after the start
    if (preempt && !c.bug['rcu-no-wait']) c.block(c.aWake, m.load(c.aWake, ACQUIRE), tickMs);
    for (let t = 0; t < L.cpus; t++) {
      while (!c.bug['rcu-no-wait'] && !passedQs(c, t, g)) c.block(c.aWake, m.load(c.aWake, ACQUIRE), tickMs);
    }
    c.hists[H_GP_WORKER.id].recordValue(Math.round(m.now() - t0));
    c.stats[S_GPS.id]++;
    advanceDone(c, g);
    // rcu_do_batch
    let n = 0;
    for (let t = 0; t < L.cpus; t++) {
      const aHead = cpuAddr(L, t, C_CB_HEAD);
      let h = m.load(aHead, ACQUIRE);
      while (h !== tails[t]) {
        invoke(c, m.load(c.cbAddr(t, h), ACQUIRE));
        h++;
        // blimit: the softirq gives the CPU back, the rest run at the next tick
        if (++n % blimit === 0 && h !== tails[t]) {
          m.store(aHead, h, RELEASE);
          m.notify(aHead, 4);
          c.block(c.aWake, m.load(c.aWake, ACQUIRE), tickMs);
        }
      }
      m.store(aHead, h, RELEASE);
      m.notify(aHead, 4);
    }
    if (n > 0) {
      m.add(L.gBase + G_RCU_PENDING, -n);
      c.stats[S_CB_RUN.id] += n;
      c.hists[H_CB_BATCH.id].recordValue(n);
    }
  }
}
