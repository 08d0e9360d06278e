// Race windows: named spans of one role's code. A writer bumps a per-object counter at
// open and at close (odd = open); a reader samples the paired writer window's counter at
// its own open and close: the windows overlapped iff the first sample is odd or the two
// differ. Exact, and two loads per reader window.
import type { Cpu } from '../machine/cpu.js';
import { WIN_SLOTS } from '../machine/layout.js';
import { spinIrqsOn } from '../sync/irq.js';
import type { WindowDef } from './window-defs.js';

// the declarations, for the model's modules that declare windows and call their points
export { WINDOWS, WIN_UNLISTED, type WindowDef, type WindowRole, defineWindow, winActiveOf } from './window-defs.js';

// ---- the window points, called by the model at the places named above ----
// Each is a check of the window's active flag and a few plain stores inline; the rare parts
// (the sampled clock reads, jitter, widening) out of line. A window the scenario does not
// list costs one load under stress (point() is empty there); under the controlled executor
// every window point stays a scheduling point.

const SAMPLE_MASK = 63; // time one window in 64: two clock reads cost more than most windows

function slotOf(c: Cpu, w: number, vpn: number): number {
  return c.L.winBase + w * WIN_SLOTS + ((vpn >>> c.winShift[w]) & (WIN_SLOTS - 1));
}

function jitter(c: Cpu): void {
  const p = c.opts.jitterP;
  if (c.mem.random() < p * 4294967296) c.mem.delay(c.mem.random() & 2047);
}

/** An entry begins: counted, timed one in 64, reached at once if the window is whole. */
function openEntry(c: Cpu, win: WindowDef): void {
  const w = win.id;
  const n = c.winEntries[w]++;
  c.winT0[w] = (n & SAMPLE_MASK) === 0 ? c.mem.now() : 0;
  c.winReached[w] = win.whole ? 1 : 0;
}

/** A window closes: count it as reached or bailed out, and time the reached ones (an entry
 *  that bailed before the critical step says nothing of how long the race window is). */
function closeEntry(c: Cpu, w: number): void {
  if (c.winReached[w] === 0) return;
  c.winReachedCount[w]++;
  if (c.winT0[w] !== 0) c.winHists[w].recordValue(Math.round(c.mem.now() - c.winT0[w]));
}

/** A reader window opens: sample the paired writer window's counter for this object. */
export function winReaderOpen(c: Cpu, win: WindowDef, vpn: number): void {
  const w = win.id;
  c.mem.point();
  if (c.winActive[w] === 0) return;
  openEntry(c, win);
  const pw = c.opts.winPair[w];
  if (pw >= 0) {
    const slot = slotOf(c, pw, vpn);
    c.winSlot[w] = slot;
    c.winSeq[w] = c.mem.peek(slot);
  }
  if (c.opts.jitterP > 0) jitter(c);
}

/** The reader window closes: it overlapped a writer window iff one was open at our open,
 *  or one opened or closed since. */
export function winReaderClose(c: Cpu, win: WindowDef): void {
  const w = win.id;
  c.mem.point();
  if (c.winActive[w] === 0) return;
  if (c.opts.winPair[w] >= 0) {
    const s = c.winSeq[w];
    if ((s & 1) !== 0 || c.mem.peek(c.winSlot[w]) !== s) c.winOverlaps[w]++;
  }
  closeEntry(c, w);
}

/** A writer window opens on the object vpn belongs to (the counter goes odd). */
export function winWriterOpen(c: Cpu, win: WindowDef, vpn: number): void {
  const w = win.id;
  c.mem.point();
  if (c.winActive[w] === 0) return;
  const slot = slotOf(c, w, vpn);
  c.winSlot[w] = slot;
  openEntry(c, win);
  c.mem.add(slot, 1);
  if (c.opts.jitterP > 0) jitter(c);
}

/** The writer window closes (the counter goes even). */
export function winWriterClose(c: Cpu, win: WindowDef): void {
  const w = win.id;
  c.mem.point();
  if (c.winActive[w] === 0) return;
  c.mem.add(c.winSlot[w], 1);
  closeEntry(c, w);
}

/** A window's critical step (where a race is hit): the entry is reached; --widen spins here. */
export function winWiden(c: Cpu, win: WindowDef): void {
  c.mem.point();
  c.winReached[win.id] = 1;
  const ns = c.opts.widenNs[win.id];
  if (ns > 0) spinIrqsOn(c, ns); // --widen: KCSAN-style delay injection
}
