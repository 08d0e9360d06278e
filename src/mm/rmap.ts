// Reverse-map bookkeeping (mm/rmap.c): mapcount, PG_anon_exclusive, and where a folio is
// mapped.
//
// Where a folio is mapped is also the oracle's record (check/oracle.ts, stale-page): every
// change of a folio's mapping in the watched mm is appended to a small per-page history of
// (vpn, from-stamp) records, so that the oracle can answer "was this page mapped at vpn at
// some time during [walk start, now]" for any sequence of maps, unmaps and moves. A writer
// never writes those words itself; it makes one of these calls, at the place the kernel makes
// its rmap call (or, for a move, where the kernel needs none), and the judge needs no change:
//
//   maps a page         folioAddNewAnonRmap(c, head, vpn)   a new anon folio (fault, COW copy,
//                                                           collapse, migration, fork's copy)
//                       folioAddKsmRmap(c, head, vpn)       replace_page's KSM folio
//   unmaps it           folioRemoveRmap(c, head)            after the pte/pmd is cleared
//   moves its mapping   folioMoveRmap(c, head, from, to)    a page table moved to another
//                                                           address (mremap move_normal_pmd):
//                                                           after the old entry is cleared,
//                                                           before the new one is written
//
// The order against the page-table entry is what keeps the record conservative (it may say
// "mapped here" a little longer than the entry did, never shorter): record a mapping before
// the entry that makes it reachable is written, and its end after the entry is cleared.
// vpn is the page's own vpn for a small folio, the PMD-aligned base for a large one.
//
// The history's format and its concurrency (check/oracle.ts mappedDuring reads it while
// writers append, with no lock): one writer at a time per page, the one holding the lock of the
// entry that maps it (the ptl or the pmd lock, as in the kernel); a record's words are written
// first, then the count of records (MD_HIST_SEQ), release, then MD_VPN (the current vpn, the
// oracle's fast path). The ring keeps HIST_ENTRIES records; an allocation starts it afresh
// (page_alloc.ts initMeta): a page freed and reused is another page for the oracle.
import type { Cpu } from '../machine/cpu.js';
import { RELAXED, RELEASE } from '../machine/mem.js';
import { HIST_ENTRIES, MD_FLAGS, MD_HIST, MD_HIST_SEQ, MD_MAPCOUNT, MD_VPN, PG_ANON_EXCLUSIVE, mdAddr } from '../machine/layout.js';

/** Appends (vpn, now) to the page's mapping history: from this stamp on the page is mapped
 *  at vpn (-1: nowhere). The caller is the page's only writer (it holds the lock of the entry
 *  that maps it). */
function rmapRecord(c: Cpu, head: number, vpn: number): void {
  const m = c.mem;
  const L = c.L;
  const stamp = m.add(c.gStamp, 1) + 1; // the event's time on the oracle's clock
  const seqp = mdAddr(L, head, MD_HIST_SEQ);
  const n = m.load(seqp);
  const rec = mdAddr(L, head, MD_HIST + 2 * (n & (HIST_ENTRIES - 1)));
  m.store(rec, vpn);
  m.store(rec + 1, stamp);
  // publish: a reader that sees the count sees the record it covers (the slot a reader skips,
  // the oldest, is the one the next record will overwrite)
  m.store(seqp, (n + 1) | 0, RELEASE);
  m.store(mdAddr(L, head, MD_VPN), vpn, RELEASE);
}

/** folio_add_new_anon_rmap(): a fresh anon folio's first mapping, exclusive to this mm. */
export function folioAddNewAnonRmap(c: Cpu, head: number, vpn: number): void {
  c.mem.add(mdAddr(c.L, head, MD_MAPCOUNT), 1, RELAXED); // atomic_inc(&folio->_mapcount)
  c.mem.store(mdAddr(c.L, head, MD_FLAGS), PG_ANON_EXCLUSIVE);
  rmapRecord(c, head, vpn);
}

/** folio_add_anon_rmap_pte() for a KSM folio (replace_page): shared, never exclusive. */
export function folioAddKsmRmap(c: Cpu, head: number, vpn: number): void {
  c.mem.add(mdAddr(c.L, head, MD_MAPCOUNT), 1, RELAXED); // atomic_inc(&folio->_mapcount)
  rmapRecord(c, head, vpn);
}

/** folio_remove_rmap_pte() / folio_remove_rmap_pmd(). A pte-mapped large folio stays
 *  "mapped here" until its last pte goes. */
export function folioRemoveRmap(c: Cpu, head: number): void {
  if (c.mem.add(mdAddr(c.L, head, MD_MAPCOUNT), -1) === 1) rmapRecord(c, head, -1);
}

/** A mapping moved from vpn `from` to vpn `to` with its page table (mremap's
 *  move_normal_pmd / move_normal_pud). The kernel makes no rmap call there: the new VMA's
 *  vm_pgoff keeps the folio's index right and the mapcount does not change; the oracle's
 *  record follows the move. Call it after the old entry is cleared and before the new one
 *  is written. A folio whose record is not `from` is left alone: a large folio is moved once,
 *  by whichever of its ptes comes first (from and to are then its PMD-aligned bases). */
export function folioMoveRmap(c: Cpu, head: number, from: number, to: number): void {
  if (c.mem.load(mdAddr(c.L, head, MD_VPN)) === from) rmapRecord(c, head, to);
}

/** PageAnonExclusive() */
export function pageAnonExclusive(c: Cpu, head: number): boolean {
  return (c.mem.load(mdAddr(c.L, head, MD_FLAGS)) & PG_ANON_EXCLUSIVE) !== 0;
}

/** ClearPageAnonExclusive() */
export function clearPageAnonExclusive(c: Cpu, head: number): void {
  c.mem.store(mdAddr(c.L, head, MD_FLAGS), c.mem.load(mdAddr(c.L, head, MD_FLAGS)) & ~PG_ANON_EXCLUSIVE);
}

/** SetPageAnonExclusive() */
export function setPageAnonExclusive(c: Cpu, head: number): void {
  c.mem.store(mdAddr(c.L, head, MD_FLAGS), c.mem.load(mdAddr(c.L, head, MD_FLAGS)) | PG_ANON_EXCLUSIVE);
}
