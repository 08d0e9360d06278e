// One CPU of a controlled execution, from its first access to the moment it leaves the
// schedule: its role's operations (or the gp worker's grace periods), then what a stress
// worker does when it stops. Written once for both controlled executors: the one that runs
// each CPU on a worker thread calls it as it is; the sequential one (one thread, every CPU a
// generator) runs the resumable form the build makes of this file (build/resumable.ts).
import { EV_OP } from '../check/trace.js';
import type { Cpu } from './cpu.js';
import { CpuState, G_DRAIN, G_GP_DOORBELL, G_ROLES_DONE } from './layout.js';
import type { RunParams, Scenario } from '../scenarios/scenario.js';
import { handleIpi, irqPoint } from '../sync/irq.js';
import { rcuBarrier, rcuGpKthread } from '../sync/rcu.js';
import { freeTableAfterGp } from '../sync/strategy.js';

export type ControlledRole = 'reader' | 'writer' | 'gp';

/** CPU c's part of an execution: `ops` operations of its role (reader, writer) with an
 *  interrupt point after each, or the gp worker until the last role CPU lets it drain. */
export function controlledCpu(c: Cpu, s: Scenario, role: ControlledRole, roleIndex: number, params: RunParams, ops: number): void {
  const m = c.mem;
  const L = c.L;
  m.store(c.aState, CpuState.Running); // as a stress worker: an IPI now waits for this CPU
  if (role === 'gp') {
    rcuGpKthread(c, s.rcuCallback ?? freeTableAfterGp);
  } else {
    const r = role === 'reader' ? s.reader : s.writer;
    const state = r.init(c, params, roleIndex);
    for (let i = 0; i < ops; i++) {
      c.trace(EV_OP, i + 1, 0);
      c.countOutcome(r.op(c, state));
      irqPoint(c);
    }
    if (role === 'writer') rcuBarrier(c);
    // the last reader or writer to finish lets the gp worker drain and exit
    if (m.add(L.gBase + G_ROLES_DONE, 1) + 1 === params.readers + params.writers) {
      m.store(L.gBase + G_DRAIN, 1);
      m.add(L.gBase + G_GP_DOORBELL, 1);
      m.notify(L.gBase + G_GP_DOORBELL, 1);
    }
  }
  // as a stress worker: done, so no IPI waits for it any more; then take what was posted
  m.store(c.aState, CpuState.Done);
  handleIpi(c);
  c.wakeWaiters();
}
