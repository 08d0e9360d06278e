// KSM merging one anonymous page (mm/ksm.c: try_to_merge_one_page -> write_protect_page,
// replace_page). Each merge gets a KSM page of its own: our pages differ in content, so
// "merging" copies the content into a fresh KSM page, exactly where an O_DIRECT write
// through a pin taken too late would be lost.
import { LVL_PMD } from '../arch/arch.js';
import { winWiden, winWriterClose, winWriterOpen } from '../check/windows.js';
import type { Cpu } from '../machine/cpu.js';
import { MD_TYPE, MM_MMAP_LOCK, PageType, mdAddr, mmAddr } from '../machine/layout.js';
import { downRead, upRead } from '../sync/rwsem.js';
import { folioMapcount, folioMaybeDmaPinned, folioPutRefs, folioRefAdd, folioRefCount } from './folio.js';
import { copyPage, ptepClearFlush, ptepGetAndClear } from './memory.js';
import { allocAnonPage } from './page_alloc.js';
import { entryOffset, pteOffsetMapLock, pteUnmapUnlock } from './pgtable.js';
import { clearPageAnonExclusive, folioAddKsmRmap, folioRemoveRmap } from './rmap.js';
import { defineTrace } from '../check/trace.js';
import { defineWindow } from '../check/windows.js';
import { EV_CLEAR_FLUSH, EV_SET_PTE } from './pgtable.js';

export const EV_KSM_CHECK = defineTrace('write_protect_page: refcount check', 'pfn', 'refcount');
export const EV_REPLACE = defineTrace('replace_page', 'addr', 'pfn');
export const W_KSM_CLEAR_CHECK = defineWindow({ name: 'ksm.clear-check', role: 'writer', doc: 'write_protect_page: from ptep_clear_flush to the refcount check (the check to the clear, with ksm-check-before-clear)' });

export const KSM_MERGED = 0;
export const KSM_SKIP = 1; //          nothing mergeable there (not present, huge, already KSM)
export const KSM_ABORT_PINNED = 2; //  write_protect_page: refcount says somebody holds a pin
export const KSM_ABORT_CHANGED = 3; // replace_page: the pte changed after write-protecting
export const KSM_OOM = 4;

/** The refcount check of write_protect_page(): mapcount + our ref + swapcache. Also
 *  folio_try_share_anon_rmap_pte(), which refuses a maybe-pinned folio. */
function refcountExplained(c: Cpu, page: number): boolean {
  c.trace(EV_KSM_CHECK, page, folioRefCount(c, page));
  return folioMapcount(c, page) + 1 === folioRefCount(c, page) && !folioMaybeDmaPinned(c, page);
}

/** write_protect_page() with the ptl held: returns the write-protected pte, or -1. */
function writeProtectPage(c: Cpu, ptep: number, page: number, vpn: number): number {
  const m = c.mem;
  const a = c.arch;
  if (c.bug['ksm-check-before-clear']) {
    // the historical order: a GUP-fast pin can land between this check and the clear
    winWriterOpen(c, W_KSM_CLEAR_CHECK, vpn);
    const ok = refcountExplained(c, page);
    winWiden(c, W_KSM_CLEAR_CHECK);
    if (!ok) {
      winWriterClose(c, W_KSM_CLEAR_CHECK);
      return -1;
    }
    const entry = ptepClearFlush(c, ptep);
    c.trace(EV_CLEAR_FLUSH, vpn, entry);
    winWriterClose(c, W_KSM_CLEAR_CHECK);
    clearPageAnonExclusive(c, page);
    const wp = a.pteWrprotect(entry);
    m.store(ptep, wp);
    return wp;
  }
  winWriterOpen(c, W_KSM_CLEAR_CHECK, vpn);
  // clear and flush first: from here no new GUP-fast pin can be taken through this pte
  // without its re-check failing, and every walker that read it before is accounted for
  // (the flush is what orders the clear before the check: ptep_get_and_clear orders nothing)
  const late = c.bug['ksm-flush-after-check'];
  const entry = late ? ptepGetAndClear(c, ptep) : ptepClearFlush(c, ptep);
  c.trace(EV_CLEAR_FLUSH, vpn, entry);
  winWiden(c, W_KSM_CLEAR_CHECK);
  // then check the count: any pin taken before the clear shows up here
  const explained = refcountExplained(c, page);
  if (late) c.strategy.flushTlb(c);
  if (!explained) {
    m.store(ptep, entry); // set_pte_at(mm, addr, ptep, entry): give up, restore
    winWriterClose(c, W_KSM_CLEAR_CHECK);
    return -1;
  }
  winWriterClose(c, W_KSM_CLEAR_CHECK);
  clearPageAnonExclusive(c, page); // folio_try_share_anon_rmap_pte()
  const wp = a.pteWrprotect(entry);
  m.store(ptep, wp);
  c.trace(EV_SET_PTE, vpn, wp);
  return wp;
}

/** try_to_merge_one_page() on the page mapped at vpn. Returns KSM_*. */
export function ksmMergeOne(c: Cpu, mm: number, vpn: number): number {
  const m = c.mem;
  const a = c.arch;
  const lock = mmAddr(c.L, mm, MM_MMAP_LOCK);
  downRead(c, lock);
  const pmdp = entryOffset(c, mm, vpn, LVL_PMD, false);
  let ptep = pmdp < 0 ? -1 : pteOffsetMapLock(c, pmdp, vpn);
  if (ptep < 0) {
    upRead(c, lock);
    return KSM_SKIP;
  }
  const pte = m.load(ptep);
  const page = a.ptePresent(pte) ? a.ptePfn(pte) : -1;
  if (page < 0 || page >= c.L.hugeBase || m.load(mdAddr(c.L, page, MD_TYPE)) !== PageType.Anon || !a.pteWrite(pte)) {
    pteUnmapUnlock(c, ptep);
    upRead(c, lock);
    return KSM_SKIP;
  }
  folioRefAdd(c, page, 1); // the scan's own reference (the "+ 1" of the check)
  const wp = writeProtectPage(c, ptep, page, vpn);
  pteUnmapUnlock(c, ptep);
  if (wp === -1) {
    folioPutRefs(c, page, 1, vpn);
    upRead(c, lock);
    return KSM_ABORT_PINNED;
  }
  // replace_page(): the KSM page's content is the page's content now
  const kpage = allocAnonPage(c, mm, PageType.Ksm);
  if (kpage < 0) {
    folioPutRefs(c, page, 1, vpn);
    upRead(c, lock);
    return KSM_OOM;
  }
  copyPage(c, kpage, page);
  ptep = pteOffsetMapLock(c, pmdp, vpn);
  if (ptep < 0 || m.load(ptep) !== wp) {
    // pte_same() failed: a COW fault or an unmap got there first
    if (ptep >= 0) pteUnmapUnlock(c, ptep);
    folioPutRefs(c, kpage, 1, vpn); // folio_put: a stale GUP-fast walker may hold a ref on it
    folioPutRefs(c, page, 1, vpn);
    upRead(c, lock);
    return KSM_ABORT_CHANGED;
  }
  folioAddKsmRmap(c, kpage, vpn);
  ptepClearFlush(c, ptep);
  m.store(ptep, a.mkPte(kpage, false)); // set_pte_at_notify(): a read-only KSM page
  c.trace(EV_REPLACE, vpn, kpage);
  folioRemoveRmap(c, page);
  folioPutRefs(c, page, 1, vpn); // the mapping's reference
  pteUnmapUnlock(c, ptep);
  folioPutRefs(c, page, 1, vpn); // the scan's reference
  upRead(c, lock);
  return KSM_MERGED;
}
