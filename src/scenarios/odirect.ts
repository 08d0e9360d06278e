// The "O_DIRECT" reader shared by the scenarios about pins (ksm-merge, fork-cow,
// thp-collapse): pin a page with FOLL_PIN|FOLL_WRITE, let the device write a token into it
// some microseconds later (dio.dma), unpin, then read the token back through the mapping.
// A write through a pin that is no longer the mapped page is lost.
import { LVL_PMD } from '../arch/arch.js';
import { winReaderClose, winReaderOpen, winWiden } from '../check/windows.js';
import type { Cpu } from '../machine/cpu.js';
import { FANOUT, MD_VPN, MM_MMAP_LOCK, frameAddr, mdAddr, mmAddr } from '../machine/layout.js';
import { downRead, upRead } from '../sync/rwsem.js';
import { FOLL_PIN, FOLL_WRITE, gupPutFolio } from '../mm/folio.js';
import { GUP_FAST_OK, GUP_FAST_RECHECK, GUP_FAST_REFZERO, GUP_FAST_SEQ, getUserPagesFast } from '../mm/gup.js';
import { folioHead } from '../mm/page_alloc.js';
import { entryOffset, pmdLock, pteOffsetMapLock, pteUnmapUnlock } from '../mm/pgtable.js';
import { spinUnlock } from '../sync/spinlock.js';
import { type Outcomes, type RunParams, defineRole } from './scenario.js';
import { defineTrace } from '../check/trace.js';
import { defineViolation } from '../check/violations.js';
import { defineWindow } from '../check/windows.js';

export const EV_DMA = defineTrace('device write (DMA)', 'pfn', 'token');
export const EV_UNPIN = defineTrace('unpin_user_page', 'pfn');
export const EV_VERIFY = defineTrace('read back through the mapping', 'addr', 'value');
export const V_LOST_DMA_WRITE = defineViolation('lost-dma-write', 'a write through a FOLL_PIN|FOLL_WRITE pin is not visible through the mapping afterwards');
export const V_PIN_NOT_MAPPED = defineViolation('pin-not-mapped', 'the pinned page was no longer mapped at the pinned address when the device wrote');
export const W_DIO_DMA = defineWindow({ name: 'dio.dma', role: 'reader', latency: true, doc: 'O_DIRECT: from the pin returned to the device write landing in the page (the I/O latency)' });

export const ODIRECT_OUTCOMES = {
  'fast-pinned': { expect: 'ACCEPTABLE', doc: 'GUP-fast pinned the page' },
  'slow-pinned': { expect: 'ACCEPTABLE', doc: 'GUP-fast stopped short (read-only or cleared pte); the slow path faulted and pinned' },
  'gup-failed': { expect: 'INTERESTING', doc: 'neither path returned a page' },
} as const satisfies Outcomes;
export type OdirectOutcome = keyof typeof ODIRECT_OUTCOMES;

export const ODIRECT_EVENTS = {
  'fast-retry-pte-changed': { expect: 'INTERESTING', doc: 'the re-check after the pin saw the pte (or pmd) change: the race was hit and the protocol saved it' },
  'fast-refcount-zero': { expect: 'INTERESTING', doc: 'folio_ref_try_add refused a page being freed' },
  'fast-seq-retry': { expect: 'INTERESTING', doc: 'write_protect_seq moved during the walk (a fork): everything unpinned, slow path' },
  'dma-visible': { expect: 'ACCEPTABLE', doc: 'the token written through the pin reads back through the mapping' },
  'discarded': { expect: 'ACCEPTABLE', doc: 'the application discarded the range (MADV_DONTNEED) during the I/O: its data is gone by design' },
} as const satisfies Outcomes;

export interface OdirectState {
  token: number;
  slot: number;
}

export function odirectInit(c: Cpu): OdirectState {
  return { token: 0, slot: 1 + c.id };
}

/** What a CPU load through the mapping at vpn reads in a token slot: under the page-table
 *  lock; when nothing is mapped the load faults, which waits for mmap_lock (a collapse in
 *  progress holds it) and looks again. -1: nothing mapped. */
function readThroughMapping(c: Cpu, mm: number, vpn: number, slot: number): number {
  const v = readMapped(c, mm, vpn, slot);
  if (v !== -1) return v;
  const lock = mmAddr(c.L, mm, MM_MMAP_LOCK);
  downRead(c, lock);
  const w = readMapped(c, mm, vpn, slot);
  upRead(c, lock);
  return w;
}

function readMapped(c: Cpu, mm: number, vpn: number, slot: number): number {
  const m = c.mem;
  const a = c.arch;
  const pmdp = entryOffset(c, mm, vpn, LVL_PMD, false);
  if (pmdp < 0) return -1;
  if (a.pmdLeaf(m.load(pmdp))) {
    const ptl = pmdLock(c, pmdp);
    const pmd = m.load(pmdp);
    const v = a.pmdLeaf(pmd) && a.pmdPresent(pmd) ? m.load(frameAddr(c.L, a.pmdPfn(pmd) + (vpn & (FANOUT - 1)), slot)) : -1;
    spinUnlock(c, ptl);
    return v;
  }
  const ptep = pteOffsetMapLock(c, pmdp, vpn);
  if (ptep < 0) return -1;
  const pte = m.load(ptep);
  const v = a.ptePresent(pte) ? m.load(frameAddr(c.L, a.ptePfn(pte), slot)) : -1;
  pteUnmapUnlock(c, ptep);
  return v;
}

/** One O_DIRECT read into the page at vpn of mm. `whilePinned` checks a scenario's
 *  invariant while the pin is held (before and after the DMA); it may be null. `discard`
 *  is the address of two counters the scenario bumps around a discard of the range
 *  (MADV_DONTNEED): [discard] before it starts, [discard + 1] after it ended; -1 if the
 *  scenario never discards. A discard that overlaps the I/O legitimately loses the data:
 *  it did iff more discards had started by the end than had ended at the beginning. */
export function odirectOp(c: Cpu, s: OdirectState, mm: number, vpn: number, whilePinned: ((c: Cpu, head: number, vpn: number) => void) | null, discard = -1): OdirectOutcome {
  const m = c.mem;
  const endedBefore = discard < 0 ? 0 : m.load(discard + 1);
  const flags = FOLL_PIN | FOLL_WRITE;
  const n = getUserPagesFast(c, mm, vpn, 1, flags);
  const r = c.gupFastReason;
  if (r === GUP_FAST_RECHECK) c.event('fast-retry-pte-changed');
  else if (r === GUP_FAST_REFZERO) c.event('fast-refcount-zero');
  else if (r === GUP_FAST_SEQ) c.event('fast-seq-retry');
  if (n === 0) return 'gup-failed';
  const page = c.pages[0];
  const head = folioHead(c.L, page);
  const expectVpn = head === page ? vpn : vpn & ~(FANOUT - 1);
  if (whilePinned !== null) whilePinned(c, head, vpn);
  // the device writes through the pin (DMA) some time later, then the pin is released
  winReaderOpen(c, W_DIO_DMA, vpn);
  winWiden(c, W_DIO_DMA);
  const token = (s.token = (s.token + 1) | 0);
  m.store(frameAddr(c.L, page, s.slot), token);
  winReaderClose(c, W_DIO_DMA);
  c.trace(EV_DMA, page, token);
  const mapped = m.load(mdAddr(c.L, head, MD_VPN)) === expectVpn;
  if (whilePinned !== null) whilePinned(c, head, vpn);
  gupPutFolio(c, head, 1, flags, vpn);
  c.trace(EV_UNPIN, page, 0);
  // afterwards a CPU load through the mapping must see the token
  const now = readThroughMapping(c, mm, vpn, s.slot);
  c.trace(EV_VERIFY, vpn, now);
  if (discard >= 0 && m.load(discard) !== endedBefore) {
    c.event('discarded');
  } else {
    if (!mapped) c.violation(V_PIN_NOT_MAPPED, vpn, `pinned pfn ${page} was no longer mapped at the pinned address when the DMA landed`);
    if (now === token) c.event('dma-visible');
    else c.violation(V_LOST_DMA_WRITE, vpn, `token ${token} written through the pin on pfn ${page}; the mapping shows ${now === -1 ? 'nothing' : now}`);
  }
  return r === GUP_FAST_OK ? 'fast-pinned' : 'slow-pinned';
}

/** The O_DIRECT reader role of a scenario: `pick` chooses the page of each I/O. */
export function odirectReader<S extends { io: OdirectState }>(o: {
  mm: number;
  init: (c: Cpu, p: RunParams) => S;
  pick: (c: Cpu, s: S) => number;
  whilePinned?: (c: Cpu, head: number, vpn: number) => void;
  /** the discard counters of the page's range (see odirectOp), or -1 */
  discard?: (s: S, vpn: number) => number;
}) {
  return defineRole({
    outcomes: ODIRECT_OUTCOMES,
    events: ODIRECT_EVENTS,
    init: o.init,
    op(c: Cpu, s: S): OdirectOutcome {
      const vpn = o.pick(c, s);
      return odirectOp(c, s.io, o.mm, vpn, o.whilePinned ?? null, o.discard ? o.discard(s, vpn) : -1);
    },
  });
}
