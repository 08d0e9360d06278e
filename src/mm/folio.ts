// Folio references and pins (include/linux/mm.h, mm/gup.c).
import type { Cpu } from '../machine/cpu.js';
import { RELAXED } from '../machine/mem.js';
import { defineStat } from '../machine/stats.js';
import { MD_MAPCOUNT, MD_PINCOUNT, MD_REFCOUNT, mdAddr } from '../machine/layout.js';
import { freeFolio } from './page_alloc.js';
import { defineViolation } from '../check/violations.js';

export const V_REFCOUNT_UNDERFLOW = defineViolation('refcount-underflow', 'a folio refcount went below zero');

export const S_PAGES_FREED = defineStat('pagesFreed', 'folios freed by their last reference');

export const FOLL_WRITE = 1;
export const FOLL_GET = 2;
export const FOLL_PIN = 4;
export const FOLL_LONGTERM = 8;
/** GUP_PIN_COUNTING_BIAS: a FOLL_PIN on a small folio adds this to the refcount */
export const GUP_PIN_COUNTING_BIAS = 1024;

/** folio_ref_try_add(): refuses a refcount of 0 (the folio is being freed). */
export function folioRefTryAdd(c: Cpu, head: number, refs: number): boolean {
  const m = c.mem;
  const p = mdAddr(c.L, head, MD_REFCOUNT);
  for (;;) {
    const v = m.load(p);
    if (v <= 0) return false;
    if (m.cas(p, v, v + refs) === v) return true;
  }
}

/** folio_ref_add() / folio_get(): the caller already holds a reference. */
export function folioRefAdd(c: Cpu, head: number, refs: number): void {
  c.mem.add(mdAddr(c.L, head, MD_REFCOUNT), refs, RELAXED); // atomic_add: no ordering
}

/** folio_put_refs(): the last reference frees the folio. */
export function folioPutRefs(c: Cpu, head: number, refs: number, vpn: number): void {
  const v = c.mem.add(mdAddr(c.L, head, MD_REFCOUNT), -refs) - refs;
  if (v === 0) {
    freeFolio(c, head);
    c.stats[S_PAGES_FREED.id]++;
  } else if (v < 0) {
    c.violation(V_REFCOUNT_UNDERFLOW, vpn, `folio pfn ${head}: refcount went to ${v}`);
  }
}

function isLarge(c: Cpu, head: number): boolean {
  return head >= c.L.hugeBase;
}

/** try_grab_folio_fast(): FOLL_GET takes `refs` references; FOLL_PIN adds
 *  GUP_PIN_COUNTING_BIAS per ref on a small folio, or refs + _pincount on a large one.
 *  Fails when the folio's refcount is 0 (being freed). */
export function tryGrabFolioFast(c: Cpu, head: number, refs: number, flags: number): boolean {
  if ((flags & FOLL_PIN) === 0) return folioRefTryAdd(c, head, refs);
  if (!isLarge(c, head)) return folioRefTryAdd(c, head, refs * GUP_PIN_COUNTING_BIAS);
  if (!folioRefTryAdd(c, head, refs)) return false;
  c.mem.add(mdAddr(c.L, head, MD_PINCOUNT), refs, RELAXED); // atomic_add(refs, &folio->_pincount)
  return true;
}

/** gup_put_folio(): undo try_grab_folio_fast (unpin_user_page for FOLL_PIN). */
export function gupPutFolio(c: Cpu, head: number, refs: number, flags: number, vpn: number): void {
  if ((flags & FOLL_PIN) === 0) return folioPutRefs(c, head, refs, vpn);
  if (!isLarge(c, head)) return folioPutRefs(c, head, refs * GUP_PIN_COUNTING_BIAS, vpn);
  c.mem.add(mdAddr(c.L, head, MD_PINCOUNT), -refs, RELAXED); // atomic_sub
  folioPutRefs(c, head, refs, vpn);
}

/** folio_maybe_dma_pinned() */
export function folioMaybeDmaPinned(c: Cpu, head: number): boolean {
  if (isLarge(c, head)) return c.mem.load(mdAddr(c.L, head, MD_PINCOUNT)) > 0;
  return c.mem.load(mdAddr(c.L, head, MD_REFCOUNT)) >= GUP_PIN_COUNTING_BIAS;
}

/** folio_mapcount() */
export function folioMapcount(c: Cpu, head: number): number {
  return c.mem.load(mdAddr(c.L, head, MD_MAPCOUNT));
}
/** folio_ref_count() */
export function folioRefCount(c: Cpu, head: number): number {
  return c.mem.load(mdAddr(c.L, head, MD_REFCOUNT));
}
