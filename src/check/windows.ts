// Race windows: named spans of one role's code. A writer bumps a per-object counter at
// open and at close (odd = open); a reader samples the paired writer window's counter at
// its own open and close: the windows overlapped iff the first sample is odd or the two
// differ. Exact, and two loads per reader window.
import type { Cpu } from '../machine/cpu.js';
import { FANOUT_SHIFT, WIN_SLOTS } from '../machine/layout.js';
import { handleIpi } from '../sync/irq.js';

export type WindowRole = 'reader' | 'writer';

export interface WindowDef {
  readonly id: number;
  readonly name: string;
  readonly role: WindowRole;
  /** writer windows: the object is vpn >>> shift (0: a pte, FANOUT_SHIFT: a pmd ...) */
  readonly shift: number;
  readonly doc: string;
}

export const W_GUP_WALK = 0;
export const W_GUP_PIN_RECHECK = 1;
export const W_KSM_CLEAR_CHECK = 2;
export const W_MUNMAP_UNLINK_FREE = 3;
export const W_SYNC_READER = 4;
export const W_SYNC_UPDATE = 5;
export const W_DIO_DMA = 6;
export const W_PMD_LOCKLESS = 7;
export const W_SPLIT_INVALIDATE = 8;
export const W_FORK_DUP = 9;
export const W_COLLAPSE = 10;
export const W_PTE_MAP = 11;
export const W_RETRACT = 12;

export const WINDOWS: readonly WindowDef[] = [
  { id: W_GUP_WALK, name: 'gup.walk', role: 'reader', shift: 0, doc: 'gup_fast_fallback: local_irq_save to local_irq_restore, the whole lockless walk' },
  { id: W_GUP_PIN_RECHECK, name: 'gup.pin-recheck', role: 'reader', shift: 0, doc: 'gup_fast_pte_range: from ptep_get_lockless to the pte re-check after the pin' },
  { id: W_KSM_CLEAR_CHECK, name: 'ksm.clear-check', role: 'writer', shift: 0, doc: 'write_protect_page: from ptep_clear_flush to the refcount check (the check to the clear, with ksm-check-before-clear)' },
  { id: W_MUNMAP_UNLINK_FREE, name: 'munmap.unlink-free', role: 'writer', shift: 2 * FANOUT_SHIFT, doc: 'free_pgtables + tlb_finish_mmu: from pmd/pud_clear to the table free (after the flush or grace period)' },
  { id: W_SYNC_READER, name: 'sync.reader', role: 'reader', shift: 0, doc: 'selftest: a read-side section (irq-off or rcu_read_lock) holding a published object' },
  { id: W_SYNC_UPDATE, name: 'sync.update', role: 'writer', shift: 0, doc: 'selftest: from unpublishing an object to freeing it' },
  { id: W_DIO_DMA, name: 'dio.dma', role: 'reader', shift: 0, doc: 'O_DIRECT: from the pin returned to the device write landing in the page (the I/O latency)' },
  { id: W_PMD_LOCKLESS, name: 'pmd.lockless-read', role: 'reader', shift: 0, doc: 'a lockless pmd reader: from pmdp_get_lockless to done with what the pmd pointed at' },
  { id: W_SPLIT_INVALIDATE, name: 'split.migration-pmd', role: 'writer', shift: FANOUT_SHIFT, doc: '__split_huge_pmd_locked on a migration entry: from reading the pmd to pmd_populate (with pmdp_invalidate inside, under invalidate-nonpresent)' },
  { id: W_FORK_DUP, name: 'fork.dup-wrprotect', role: 'writer', shift: 0, doc: 'copy_present_pte: from folio_try_dup_anon_rmap_pte (the pin check) to ptep_set_wrprotect' },
  { id: W_COLLAPSE, name: 'collapse.flush-isolate', role: 'writer', shift: 0, doc: 'collapse_huge_page: from pmdp_collapse_flush to the end of __collapse_huge_page_isolate (the isolate to the flush, with isolate-before-flush)' },
  { id: W_PTE_MAP, name: 'pte.map-lockless', role: 'reader', shift: 0, doc: '__pte_offset_map() reader under rcu_read_lock: from reading the pmd to reading the pte' },
  { id: W_RETRACT, name: 'retract.detach', role: 'writer', shift: FANOUT_SHIFT, doc: 'retract_page_tables: from pmdp_collapse_flush to pte_free_defer' },
];

// ids are array positions: the CPUs index their per-window counters by id
for (const [i, w] of WINDOWS.entries()) if (w.id !== i) throw new Error(`window ${w.name}: id ${w.id} at position ${i}`);

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
export function winReaderOpen(c: Cpu, w: number, vpn: number): void {
  const pw = c.opts.winPair[w];
  const n = c.winEntries[w]++;
  if ((n & SAMPLE_MASK) === 0) c.winT0[w] = c.mem.now();
  else c.winT0[w] = 0;
  if (pw >= 0) {
    const slot = slotOf(c, pw, vpn);
    c.winSlot[w] = slot;
    c.winSeq[w] = c.mem.load(slot);
  }
  jitter(c);
}

/** The reader window closes: it overlapped a writer window iff one was open at our open,
 *  or one opened or closed since. */
export function winReaderClose(c: Cpu, w: number): void {
  if (c.opts.winPair[w] >= 0) {
    const s = c.winSeq[w];
    if ((s & 1) !== 0 || c.mem.load(c.winSlot[w]) !== s) c.winOverlaps[w]++;
  }
  if (c.winT0[w] !== 0) c.winHists[w].recordValue(Math.round(c.mem.now() - c.winT0[w]));
}

/** A writer window opens on the object vpn belongs to (the counter goes odd). */
export function winWriterOpen(c: Cpu, w: number, vpn: number): void {
  const slot = slotOf(c, w, vpn);
  c.winSlot[w] = slot;
  const n = c.winEntries[w]++;
  c.winT0[w] = (n & SAMPLE_MASK) === 0 ? c.mem.now() : 0;
  c.mem.add(slot, 1);
  jitter(c);
}

/** The writer window closes (the counter goes even). */
export function winWriterClose(c: Cpu, w: number): void {
  c.mem.add(c.winSlot[w], 1);
  if (c.winT0[w] !== 0) c.winHists[w].recordValue(Math.round(c.mem.now() - c.winT0[w]));
}

const WIDEN_SLICE_NS = 500;

/** --widen: spin inside the window (KCSAN-style delay injection). With irqs on (an RCU
 *  reader, a writer) the spin takes interrupts: an IPI is acknowledged in the middle of it,
 *  as a real CPU would, instead of after it. */
export function winWiden(c: Cpu, w: number): void {
  const ns = c.opts.widenNs[w];
  if (ns <= 0) return;
  if (c.irqDepth !== 0) {
    c.mem.delay(ns);
    return;
  }
  for (let left = ns; left > 0; left -= WIDEN_SLICE_NS) {
    c.mem.delay(left < WIDEN_SLICE_NS ? left : WIDEN_SLICE_NS);
    handleIpi(c);
  }
}
