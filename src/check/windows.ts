// Race windows: named spans of one role's code. A writer bumps a per-object counter at
// open and at close (odd = open); a reader samples the paired writer window's counter at
// its own open and close: the windows overlapped iff the first sample is odd or the two
// differ. Exact, and two loads per reader window.
import type { Cpu } from '../machine/cpu.js';
import { WIN_SLOTS } from '../machine/layout.js';
import { type Registered, Registry } from '../machine/registry.js';
import { handleIpi } from '../sync/irq.js';

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
  return WINDOWS.define({ name: w.name, role: w.role, shift: w.shift ?? 0, latency: w.latency ?? false, whole: w.whole ?? false, doc: w.doc, id: -1 });
}

/** A window closes: count it as reached or bailed out, and time the reached ones (an entry
 *  that bailed before the critical step says nothing of how long the race window is). */
function closeEntry(c: Cpu, w: number): void {
  if (c.winReached[w] === 0) return;
  c.winReachedCount[w]++;
  if (c.winT0[w] !== 0) c.winHists[w].recordValue(Math.round(c.mem.now() - c.winT0[w]));
}

// ---- the window points, called by the model at the places named above ----

const SAMPLE_MASK = 63; // time one window in 64: two clock reads cost more than most windows

function slotOf(c: Cpu, w: number, vpn: number): number {
  return c.L.winBase + w * WIN_SLOTS + ((vpn >>> c.winShift[w]) & (WIN_SLOTS - 1));
}

function jitter(c: Cpu): void {
  const p = c.opts.jitterP;
  if (p > 0 && c.mem.random() < p * 4294967296) c.mem.delay(c.mem.random() & 2047);
}

/** A reader window opens: sample the paired writer window's counter for this object. */
export function winReaderOpen(c: Cpu, win: WindowDef, vpn: number): void {
  if (!c.windowsOn) return;
  const w = win.id;
  c.mem.point();
  const pw = c.opts.winPair[w];
  const n = c.winEntries[w]++;
  if ((n & SAMPLE_MASK) === 0) c.winT0[w] = c.mem.now();
  else c.winT0[w] = 0;
  c.winReached[w] = win.whole ? 1 : 0;
  if (pw >= 0) {
    const slot = slotOf(c, pw, vpn);
    c.winSlot[w] = slot;
    c.winSeq[w] = c.mem.peek(slot);
  }
  jitter(c);
}

/** The reader window closes: it overlapped a writer window iff one was open at our open,
 *  or one opened or closed since. */
export function winReaderClose(c: Cpu, win: WindowDef): void {
  if (!c.windowsOn) return;
  const w = win.id;
  c.mem.point();
  if (c.opts.winPair[w] >= 0) {
    const s = c.winSeq[w];
    if ((s & 1) !== 0 || c.mem.peek(c.winSlot[w]) !== s) c.winOverlaps[w]++;
  }
  closeEntry(c, w);
}

/** A writer window opens on the object vpn belongs to (the counter goes odd). */
export function winWriterOpen(c: Cpu, win: WindowDef, vpn: number): void {
  if (!c.windowsOn) return;
  const w = win.id;
  c.mem.point();
  const slot = slotOf(c, w, vpn);
  c.winSlot[w] = slot;
  const n = c.winEntries[w]++;
  c.winT0[w] = (n & SAMPLE_MASK) === 0 ? c.mem.now() : 0;
  c.winReached[w] = win.whole ? 1 : 0;
  c.mem.add(slot, 1);
  jitter(c);
}

/** The writer window closes (the counter goes even). */
export function winWriterClose(c: Cpu, win: WindowDef): void {
  if (!c.windowsOn) return;
  const w = win.id;
  c.mem.point();
  c.mem.add(c.winSlot[w], 1);
  closeEntry(c, w);
}

const WIDEN_SLICE_NS = 500;

/** --widen: spin inside the window (KCSAN-style delay injection). With irqs on (an RCU
 *  reader, a writer) the spin takes interrupts: an IPI is acknowledged in the middle of it,
 *  as a real CPU would, instead of after it. */
export function winWiden(c: Cpu, win: WindowDef): void {
  c.mem.point();
  c.winReached[win.id] = 1;
  const ns = c.opts.widenNs[win.id];
  if (ns <= 0) return;
  if (c.irqDepth !== 0) {
    c.mem.delay(ns);
    return;
  }
  for (let left = ns; left > 0; left -= WIDEN_SLICE_NS) {
    c.mem.delay(left < WIDEN_SLICE_NS ? left : WIDEN_SLICE_NS);
    handleIpi(c);
    c.wakeWaiters(); // the sender sleeping on this CPU's ack
  }
}
