// Reverse-map bookkeeping (mm/rmap.c): mapcount, PG_anon_exclusive, and where a folio is
// mapped. The vpn/prev-vpn/stamp words are the oracle's record of "mapped here, when".
import type { Cpu } from '../machine/cpu.js';
import { RELAXED } from '../machine/mem.js';
import { MD_FLAGS, MD_MAPCOUNT, MD_PREV_VPN, MD_STAMP, MD_VPN, PG_ANON_EXCLUSIVE, mdAddr } from '../machine/layout.js';

function setMappedAt(c: Cpu, head: number, vpn: number): void {
  const m = c.mem;
  const L = c.L;
  // order matters for the oracle: prev and stamp are written before vpn changes
  m.store(mdAddr(L, head, MD_PREV_VPN), m.load(mdAddr(L, head, MD_VPN)));
  m.store(mdAddr(L, head, MD_STAMP), m.add(c.gStamp, 1) + 1);
  m.store(mdAddr(L, head, MD_VPN), vpn);
}

/** folio_add_new_anon_rmap(): a fresh anon folio's first mapping, exclusive to this mm. */
export function folioAddNewAnonRmap(c: Cpu, head: number, vpn: number): void {
  c.mem.add(mdAddr(c.L, head, MD_MAPCOUNT), 1, RELAXED); // atomic_inc(&folio->_mapcount)
  c.mem.store(mdAddr(c.L, head, MD_FLAGS), PG_ANON_EXCLUSIVE);
  setMappedAt(c, head, vpn);
}

/** folio_add_anon_rmap_pte() for a KSM folio (replace_page): shared, never exclusive. */
export function folioAddKsmRmap(c: Cpu, head: number, vpn: number): void {
  c.mem.add(mdAddr(c.L, head, MD_MAPCOUNT), 1, RELAXED); // atomic_inc(&folio->_mapcount)
  setMappedAt(c, head, vpn);
}

/** folio_remove_rmap_pte() / folio_remove_rmap_pmd(). A pte-mapped large folio stays
 *  "mapped here" until its last pte goes. */
export function folioRemoveRmap(c: Cpu, head: number): void {
  if (c.mem.add(mdAddr(c.L, head, MD_MAPCOUNT), -1) === 1) setMappedAt(c, head, -1);
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
