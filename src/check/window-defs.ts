// Race windows declared: named spans of one role's code (each declared by the module whose
// code it spans, defineWindow), and which of them a CPU counts. The points that count them,
// called by the model, are windows.ts.
import { type Registered, Registry } from '../machine/registry.js';

export type WindowRole = 'reader' | 'writer';

export interface WindowDef extends Registered {
  readonly role: WindowRole;
  /** the window's widening models a real latency of the system (a device's I/O time), not
   *  delay injection: explore keeps it, as a logical sleep, while it turns widening off */
  readonly latency: boolean;
  /** writer windows: the object is vpn >>> shift (0: a pte, FANOUT_SHIFT: a pmd ...) */
  readonly shift: number;
  /** the window spans a whole operation and has no critical step: every entry counts as
   *  reached. Otherwise an entry reaches the window's critical step at its widen point
   *  (winWiden, where a race is hit); one that closes before it bailed out. */
  readonly whole: boolean;
  readonly doc: string;
}

/** Every race window, declared by the module whose code it spans (defineWindow). */
export const WINDOWS = new Registry<WindowDef>('race window');

export function defineWindow(w: { name: string; role: WindowRole; shift?: number; latency?: boolean; whole?: boolean; doc: string }): WindowDef {
  return WINDOWS.define({ name: w.name, role: w.role, shift: w.shift ?? 0, latency: w.latency ?? false, whole: w.whole ?? false, doc: w.doc });
}

/** winPair's value for a window the run's scenario does not list (and no reader pairs
 *  with): its points cost nothing under stress (CpuOptions.winPair). */
export const WIN_UNLISTED = -2;

/** Is window w counted on this CPU: listed by the scenario, or every window when the run
 *  jitters at window points (Cpu.winActive). */
export function winActiveOf(winPair: Int32Array, jitterP: number): Uint8Array {
  return Uint8Array.from(winPair, (p) => (p !== WIN_UNLISTED || jitterP > 0 ? 1 : 0));
}
