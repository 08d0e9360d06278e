// Faults, zapping and freeing page tables (mm/memory.c, mm/huge_memory.c, mm/mmap.c).
import { LVL_PMD, LVL_PUD } from '../arch/arch.js';
import { winWiden, winWriterClose, winWriterOpen } from '../check/windows.js';
import type { Cpu } from '../machine/cpu.js';
import { RELAXED } from '../machine/mem.js';
import { defineStat } from '../machine/stats.js';
import { FANOUT, FANOUT_SHIFT, MD_FLAGS, MD_GEN, MD_TYPE, PG_DIRTY_TRACKED, MM_MMAP_LOCK, PageType, VMA_PRESENT, dataWords, frameAddr, mdAddr, mmAddr } from '../machine/layout.js';
import { downRead, downWrite, upRead, upWrite } from '../sync/rwsem.js';
import { spinUnlock } from '../sync/spinlock.js';
import { folioMapcount, folioPutRefs, folioRefAdd, folioRefCount } from './folio.js';
import { checkGotPage, checkPtlStillLinked } from '../check/oracle.js';
import { type MmuGather, tlbFinishMmu, tlbGatherMmu, tlbRemovePage, tlbRemoveTable } from './mmu_gather.js';
import { allocAnonPage, allocHugeFolio, folioHead, freeTable } from './page_alloc.js';
import { entryOffset, mmLevels, pmdLock, pteAlloc, pteOffsetMapLock, pteUnmapUnlock } from './pgtable.js';
import { folioAddNewAnonRmap, folioRemoveRmap, pageAnonExclusive, setPageAnonExclusive } from './rmap.js';
import { VM_HUGEPAGE, VM_MIXEDMAP, VM_PFNMAP, VM_SHARED, VM_WRITE, findVma, vmaNeedsDirtyTracking, setVmaPgoff, vmaAddr, vmaDefine, vmaEnd, vmaFlags, vmaPgoff, vmaStart } from './vma.js';
import { defineTrace } from '../check/trace.js';
import { defineWindow } from '../check/windows.js';
import { EV_FREE_TABLE, EV_PTE, EV_SET_PTE } from './pgtable.js';

export const EV_UNLINK = defineTrace('free_pgtables: pmd_clear/pud_clear', 'addr', 'pfn');
export const EV_POPULATE = defineTrace('mmap populate', 'addr', 'pages');
export const W_MUNMAP_UNLINK_FREE = defineWindow({ name: 'munmap.unlink-free', whole: true, role: 'writer', shift: 2 * FANOUT_SHIFT, doc: 'free_pgtables + tlb_finish_mmu: from pmd/pud_clear to the table free (after the flush or grace period)' });

export const W_ZAP = defineWindow({ name: 'zap.clear-free', role: 'writer', shift: FANOUT_SHIFT, doc: 'zap_page_range_single (MADV_DONTNEED): from clearing the ptes/pmd to freeing the pages after the flush' });
export const S_FAULTS = defineStat('faults', 'page faults handled');

export const VM_FAULT_OK = 0;
export const VM_FAULT_SIGSEGV = 1;
export const VM_FAULT_OOM = 2;

/** copy_user_highpage(). A data page's content is word 0 and one token slot per CPU
 *  (slot 1 + cpu): those are the words copied; the rest of the frame is never used. */
export function copyPage(c: Cpu, dst: number, src: number): void {
  const m = c.mem;
  const d = frameAddr(c.L, dst, 0);
  const s = frameAddr(c.L, src, 0);
  const n = dataWords(c.L);
  for (let i = 0; i < n; i++) m.store(d + i, m.load(s + i));
}

/** vm_normal_page(): the folio head behind a present pte, or -1 where there is no
 *  refcounted page (a pfn mapping). With pte_special the bit says so; without it, VM_PFNMAP
 *  relies on the vm_pgoff rule remap_pfn_range sets up for COW mappings (the original pfns
 *  are pgoff + offset; anything else is a COW'd anon page) and VM_MIXEDMAP on pfn_valid(). */
export function vmNormalPage(c: Cpu, mm: number, vma: number, vpn: number, pte: number): number {
  const a = c.arch;
  const pfn = a.ptePfn(pte);
  if (a.hasPteSpecial) {
    if (a.pteSpecial(pte)) return -1;
  } else {
    const vf = vmaFlags(c, mm, vma);
    if ((vf & VM_MIXEDMAP) !== 0) {
      if (pfn <= 0 || pfn >= c.L.totalFrames) return -1; // !pfn_valid()
    } else if ((vf & VM_PFNMAP) !== 0) {
      if (pfn === vmaPgoff(c, mm, vma) + (vpn - vmaStart(c, mm, vma))) return -1;
      if ((vf & VM_SHARED) !== 0) return -1; // !is_cow_mapping()
    }
  }
  return folioHead(c.L, pfn);
}

/** ptep_get_and_clear(): the old pte. No ordering (arm64: xchg_relaxed; x86's xchg is a
 *  locked instruction, which tso drains the store buffer for). */
export function ptepGetAndClear(c: Cpu, ptep: number): number {
  return c.mem.xchg(ptep, c.arch.emptyPte, RELAXED);
}

/** ptep_clear_flush(): clear the pte and flush the TLB (the flush orders the clear before
 *  what follows); returns the old pte. */
export function ptepClearFlush(c: Cpu, ptep: number): number {
  const old = ptepGetAndClear(c, ptep);
  c.strategy.flushTlb(c);
  return old;
}

/** do_anonymous_page(): map a fresh zeroed page at vpn (ptl not held on entry). */
function doAnonymousPage(c: Cpu, mm: number, pmdp: number, vpn: number, dirtyTracked: boolean): number {
  const m = c.mem;
  const page = allocAnonPage(c, mm, PageType.Anon);
  if (page < 0) return VM_FAULT_OOM;
  const ptep = pteOffsetMapLock(c, pmdp, vpn);
  // The page was free a moment ago: a GUP-fast walker holding a stale pte of its last
  // mapping may have taken a speculative reference on it since (folio_try_get succeeds on
  // refcount 1). So a fault that gives it back drops its own reference (folio_put), never
  // the count: the walker's put frees it
  if (ptep < 0) {
    folioPutRefs(c, page, 1, vpn);
    return VM_FAULT_OK; // the pmd changed under us: the fault is retried
  }
  if (!c.arch.pteNone(m.load(ptep))) {
    // another fault mapped vpn first (do_anonymous_page's release: folio_put)
    pteUnmapUnlock(c, ptep);
    folioPutRefs(c, page, 1, vpn);
    return VM_FAULT_OK;
  }
  // rmap before the pte: a walker that sees the pte finds the page mapped here
  folioAddNewAnonRmap(c, page, vpn);
  if (dirtyTracked) m.store(mdAddr(c.L, page, MD_FLAGS), m.load(mdAddr(c.L, page, MD_FLAGS)) | PG_DIRTY_TRACKED);
  m.store(ptep, c.arch.mkPte(page, true));
  pteUnmapUnlock(c, ptep);
  return VM_FAULT_OK;
}

/** do_wp_page() with the ptl held: reuse an exclusive anon page, else copy it (COW). A pfn
 *  mapping (vm_normal_page() == NULL) is copied from the raw pfn and left alone. An unshare
 *  fault (FAULT_FLAG_UNSHARE, for an R/O pin of a shared anon page) does the same and leaves
 *  the pte read-only: the page becomes exclusive, not writable. */
function doWpPage(c: Cpu, mm: number, vma: number, ptep: number, vpn: number, pte: number, unshare: boolean): number {
  const m = c.mem;
  const a = c.arch;
  const old = a.ptePfn(pte);
  const pfnmap = vmNormalPage(c, mm, vma, vpn, pte) < 0;
  if (!pfnmap && m.load(mdAddr(c.L, old, MD_TYPE)) === PageType.Anon && wpCanReuse(c, old)) {
    // wp_page_reuse()
    setPageAnonExclusive(c, old);
    if (!unshare) m.store(ptep, a.mkPte(old, true));
    return VM_FAULT_OK;
  }
  // wp_page_copy(): KSM pages, shared anon pages and raw pfns are copied
  const page = allocAnonPage(c, mm, PageType.Anon);
  if (page < 0) return VM_FAULT_OOM;
  copyPage(c, page, old);
  folioAddNewAnonRmap(c, page, vpn);
  ptepClearFlush(c, ptep);
  m.store(ptep, a.mkPte(page, !unshare));
  if (!pfnmap) {
    folioRemoveRmap(c, old);
    folioPutRefs(c, old, 1, vpn);
  }
  return VM_FAULT_OK;
}

/** wp_can_reuse_anon_folio() for a small folio: PageAnonExclusive, whatever holds references
 *  (a pin keeps it exclusive), or nobody else holds one (refcount 1). The bugs: the mapcount
 *  rule before 09854ba94c6a (a GUP reference in a child's pipe is not seen: CVE-2020-29374),
 *  and a refcount rule that ignores exclusivity (copies away from a pin). */
function wpCanReuse(c: Cpu, head: number): boolean {
  if (c.bug['wp-reuse-mapcount']) return folioMapcount(c, head) === 1;
  if (c.bug['wp-ignore-exclusive']) return folioRefCount(c, head) === 1;
  return pageAnonExclusive(c, head) || folioRefCount(c, head) === 1;
}

/** do_huge_pmd_anonymous_page(): map a PMD-sized folio if one is free. false: use ptes. */
function doHugePmdAnonymousPage(c: Cpu, mm: number, pmdp: number, vpn: number): boolean {
  const head = allocHugeFolio(c, mm);
  if (head < 0) return false;
  const ptl = pmdLock(c, pmdp);
  if (!c.arch.pmdNone(c.mem.load(pmdp))) {
    // mapped meanwhile: folio_put, as do_anonymous_page (a stale walker may hold a ref)
    spinUnlock(c, ptl);
    folioPutRefs(c, head, 1, vpn);
    return true;
  }
  folioAddNewAnonRmap(c, head, vpn & ~(FANOUT - 1));
  c.mem.store(pmdp, c.arch.mkPmdLeaf(head, true));
  spinUnlock(c, ptl);
  return true;
}

/** handle_mm_fault() for an anonymous VMA; caller holds mmap_lock for read. `unshare`:
 *  FAULT_FLAG_UNSHARE (an R/O pin of a shared anon page), allowed without VM_WRITE. */
export function handleMmFault(c: Cpu, mm: number, vpn: number, write: boolean, unshare = false): number {
  const m = c.mem;
  const a = c.arch;
  c.stats[S_FAULTS.id]++;
  const vma = findVma(c, mm, vpn);
  if (vma < 0) return VM_FAULT_SIGSEGV;
  const flags = vmaFlags(c, mm, vma);
  if (write && (flags & VM_WRITE) === 0) return VM_FAULT_SIGSEGV;
  const pmdp = entryOffset(c, mm, vpn, LVL_PMD, true);
  if (pmdp < 0) return VM_FAULT_OOM;
  const hugeOk = (flags & VM_HUGEPAGE) !== 0 && (vpn & ~(FANOUT - 1)) >= vmaStart(c, mm, vma) && (vpn | (FANOUT - 1)) < vmaEnd(c, mm, vma);
  if (a.pmdNone(m.load(pmdp)) && hugeOk && doHugePmdAnonymousPage(c, mm, pmdp, vpn)) return VM_FAULT_OK;
  if (a.pmdLeaf(m.load(pmdp))) return VM_FAULT_OK; // huge pmds here are always writable
  if (!pteAlloc(c, mm, pmdp, vpn)) return VM_FAULT_OOM;
  const ptep = pteOffsetMapLock(c, pmdp, vpn);
  if (ptep < 0) return VM_FAULT_OK; // retried by the caller
  const pte = m.load(ptep);
  if (a.pteNone(pte)) {
    pteUnmapUnlock(c, ptep);
    return doAnonymousPage(c, mm, pmdp, vpn, vmaNeedsDirtyTracking(c, flags));
  }
  let r = VM_FAULT_OK;
  if ((write || unshare) && a.ptePresent(pte) && !a.pteWrite(pte)) r = doWpPage(c, mm, vma, ptep, vpn, pte, !write);
  pteUnmapUnlock(c, ptep);
  return r;
}

/** zap_pte_range() + zap_huge_pmd(): unmap [start, end) of one pmd; pages go to the gather. */
function zapPmdRange(c: Cpu, mm: number, vma: number, tlb: MmuGather, pmdp: number, start: number, end: number): void {
  const m = c.mem;
  const a = c.arch;
  const pmd = m.load(pmdp);
  if (a.pmdNone(pmd)) return;
  if (a.pmdLeaf(pmd)) {
    const ptl = pmdLock(c, pmdp);
    const old = m.xchg(pmdp, c.arch.emptyEntry(LVL_PMD, mmLevels(c, mm)), RELAXED); // pmdp_huge_get_and_clear_full() (arm64: xchg_relaxed)
    spinUnlock(c, ptl);
    const head = a.pmdPfn(old);
    folioRemoveRmap(c, head);
    tlbRemovePage(tlb, head, start);
    return;
  }
  const ptep0 = pteOffsetMapLock(c, pmdp, start);
  if (ptep0 < 0) return;
  for (let vpn = start, ptep = ptep0; vpn < end; vpn++, ptep++) {
    const pte = m.load(ptep);
    if (!a.ptePresent(pte)) continue;
    m.store(ptep, a.emptyPte); // ptep_get_and_clear_full(): the pte goes first, then the rmap
    const head = vmNormalPage(c, mm, vma, vpn, pte);
    if (head < 0) continue; // a pfn mapping: no page, no reference to drop
    folioRemoveRmap(c, head);
    tlbRemovePage(tlb, head, vpn);
  }
  pteUnmapUnlock(c, ptep0);
}

/** unmap_page_range() */
export function unmapPageRange(c: Cpu, mm: number, vma: number, tlb: MmuGather, start: number, end: number): void {
  for (let vpn = start; vpn < end; ) {
    const next = Math.min(end, (vpn + FANOUT) & ~(FANOUT - 1));
    const pmdp = entryOffset(c, mm, vpn, LVL_PMD, false);
    if (pmdp >= 0) zapPmdRange(c, mm, vma, tlb, pmdp, vpn, next);
    vpn = next;
  }
}

/** Unlinks a table from its parent entry: freed after the flush (tlb_remove_table), or at
 *  once with --bug free-before-sync. */
function unlinkTable(c: Cpu, mm: number, tlb: MmuGather, parentp: number, level: number, tablePfn: number, vpn: number): void {
  c.mem.store(parentp, c.arch.emptyEntry(level, mmLevels(c, mm))); // pmd_clear() / pud_clear()
  c.trace(EV_UNLINK, vpn, tablePfn);
  if (c.bug['free-before-sync']) {
    // the historical bug: no flush, no grace period between the unlink and the free
    c.trace(EV_FREE_TABLE, tablePfn, c.mem.load(mdAddr(c.L, tablePfn, MD_GEN)));
    freeTable(c, tablePfn);
    return;
  }
  tlbRemoveTable(c, tlb, tablePfn);
}

/** free_pgtables() -> free_pmd_range(): [start, end) spans whole pmds; floor/ceiling say
 *  whether the pmd table itself is ours alone (then pud_clear + pmd_free_tlb). */
export function freePgtables(c: Cpu, mm: number, tlb: MmuGather, start: number, end: number, floor: number, ceiling: number): void {
  const m = c.mem;
  const a = c.arch;
  for (let vpn = start; vpn < end; vpn += FANOUT) {
    const pmdp = entryOffset(c, mm, vpn, LVL_PMD, false);
    if (pmdp < 0) continue;
    const pmd = m.load(pmdp);
    if (a.pmdNone(pmd) || a.pmdLeaf(pmd)) continue;
    unlinkTable(c, mm, tlb, pmdp, LVL_PMD, a.tablePfn(LVL_PMD, pmd), vpn); // free_pte_range()
  }
  const pudSpan = FANOUT * FANOUT;
  const pudStart = start & ~(pudSpan - 1);
  if (pudStart >= floor && pudStart + pudSpan <= ceiling) {
    const pudp = entryOffset(c, mm, start, LVL_PUD, false);
    if (pudp >= 0 && !a.upperNone(LVL_PUD, m.load(pudp))) unlinkTable(c, mm, tlb, pudp, LVL_PUD, a.tablePfn(LVL_PUD, m.load(pudp)), start);
  }
}

/** munmap() of VMA slot `vma`: unmap_region() under mmap_write_lock. floor/ceiling are the
 *  neighbours' bounds (free_pgtables never frees a table another VMA may use). */
export function munmapVma(c: Cpu, mm: number, vma: number, tlb: MmuGather, floor: number, ceiling: number): void {
  const lock = mmAddr(c.L, mm, MM_MMAP_LOCK);
  downWrite(c, lock);
  const start = vmaStart(c, mm, vma);
  const end = vmaEnd(c, mm, vma);
  c.mem.store(vmaAddr(c.L, mm, vma, VMA_PRESENT), 0); // vma_start_write + detach
  tlbGatherMmu(tlb);
  unmapPageRange(c, mm, vma, tlb, start, end);
  winWriterOpen(c, W_MUNMAP_UNLINK_FREE, start);
  freePgtables(c, mm, tlb, start, end, floor, ceiling);
  tlbFinishMmu(c, tlb);
  winWriterClose(c, W_MUNMAP_UNLINK_FREE);
  upWrite(c, lock);
}

/** zap_page_range_single() for madvise(MADV_DONTNEED) of [start, end) in VMA slot `vma`,
 *  mmap_lock held for read: the ptes and huge pmds are cleared, the pages gathered, and
 *  tlb_finish_mmu flushes before it drops the mappings' references (the tables stay).
 *  Between the clear and the free is the window a lockless walker that read an entry just
 *  before the clear relies on: its speculative reference must fail, or its re-check must
 *  see the entry gone. */
export function zapPageRangeSingle(c: Cpu, mm: number, vma: number, tlb: MmuGather, start: number, end: number): void {
  const lock = mmAddr(c.L, mm, MM_MMAP_LOCK);
  downRead(c, lock);
  tlbGatherMmu(tlb);
  winWriterOpen(c, W_ZAP, start);
  unmapPageRange(c, mm, vma, tlb, start, end);
  winWiden(c, W_ZAP);
  tlbFinishMmu(c, tlb);
  winWriterClose(c, W_ZAP);
  upRead(c, lock);
}

/** A new mm's mappings at boot: `n` PMD-sized VMAs (slots 0..n-1) side by side from `base`,
 *  each mmap(MAP_POPULATE)d with `flags`. Throws when out of frames: the CLI's boot check
 *  turns that into the smallest --frames that boots. */
export function mmapPmdRanges(c: Cpu, mm: number, base: number, n: number, flags: number): void {
  for (let i = 0; i < n; i++) {
    vmaDefine(c.mem, c.L, mm, i, base + i * FANOUT, base + (i + 1) * FANOUT, flags, false);
    if (mmapPopulate(c, mm, i) !== VM_FAULT_OK) throw new Error(`out of frames populating ${n} PMD-sized VMAs`);
  }
}

/** mmap(MAP_POPULATE) of VMA slot `vma`: make it present, then fault every page in. */
export function mmapPopulate(c: Cpu, mm: number, vma: number): number {
  const lock = mmAddr(c.L, mm, MM_MMAP_LOCK);
  downWrite(c, lock);
  c.mem.store(vmaAddr(c.L, mm, vma, VMA_PRESENT), 1);
  upWrite(c, lock);
  downRead(c, lock);
  const start = vmaStart(c, mm, vma);
  const end = vmaEnd(c, mm, vma);
  c.trace(EV_POPULATE, start, end - start);
  let r = VM_FAULT_OK;
  for (let vpn = start; vpn < end && r === VM_FAULT_OK; vpn++) r = handleMmFault(c, mm, vpn, true);
  upRead(c, lock);
  return r;
}

/** Installs the pte of a pfn mapping at vpn (pte_mkspecial where the arch has it). */
function setPfnPte(c: Cpu, mm: number, vpn: number, pfn: number): boolean {
  const a = c.arch;
  const pmdp = entryOffset(c, mm, vpn, LVL_PMD, true);
  if (pmdp < 0 || !pteAlloc(c, mm, pmdp, vpn)) return false;
  const ptep = pteOffsetMapLock(c, pmdp, vpn);
  if (ptep < 0) return false;
  // a COW mapping maps the pfn read-only: a write fault copies it (do_wp_page)
  if (a.pteNone(c.mem.load(ptep))) c.mem.store(ptep, a.pteMkspecial(a.mkPte(pfn, false)));
  pteUnmapUnlock(c, ptep);
  return true;
}

/** remap_pfn_range() over the whole VMA slot: VM_PFNMAP, vm_pgoff = the first pfn (the
 *  rule vm_normal_page() relies on without pte_special), every pte at once. */
export function remapPfnRange(c: Cpu, mm: number, vma: number, firstPfn: number): boolean {
  const lock = mmAddr(c.L, mm, MM_MMAP_LOCK);
  downWrite(c, lock);
  c.mem.store(vmaAddr(c.L, mm, vma, VMA_PRESENT), 1);
  setVmaPgoff(c, mm, vma, firstPfn);
  const start = vmaStart(c, mm, vma);
  const end = vmaEnd(c, mm, vma);
  let ok = true;
  for (let vpn = start; vpn < end && ok; vpn++) ok = setPfnPte(c, mm, vpn, firstPfn + (vpn - start));
  upWrite(c, lock);
  return ok;
}

/** A driver's fault handler inserting a pfn of its choice (vmf_insert_pfn), under
 *  mmap_lock for read as a fault holds it. It does not keep the vm_pgoff rule. */
export function vmfInsertPfn(c: Cpu, mm: number, vpn: number, pfn: number): boolean {
  const lock = mmAddr(c.L, mm, MM_MMAP_LOCK);
  downRead(c, lock);
  const ok = findVma(c, mm, vpn) >= 0 && setPfnPte(c, mm, vpn, pfn);
  upRead(c, lock);
  return ok;
}

/** mmap() of a VMA slot without populating it (a driver that fills it at fault time). */
export function mmapEmpty(c: Cpu, mm: number, vma: number): void {
  const lock = mmAddr(c.L, mm, MM_MMAP_LOCK);
  downWrite(c, lock);
  c.mem.store(vmaAddr(c.L, mm, vma, VMA_PRESENT), 1);
  upWrite(c, lock);
}

// what a pte write under pte_offset_map_lock() did (faultOrChangePte)
export const PTE_WRITE_INSTALLED = 0; //  do_anonymous_page(): an empty pte got a new page
export const PTE_WRITE_CHANGED = 1; //    change_pte_range(): a present pte was changed
export const PTE_WRITE_RACED = 2; //      pte_offset_map_lock() found no table (or the pmd changed) and gave up

/** One pte written under pte_offset_map_lock() with mmap_lock held for read: a fault on an
 *  empty pte installs a new anon page (do_anonymous_page), a present pte is write-protected
 *  or made writable (change_pte_range, mprotect-like). pte_offset_map_lock re-checks
 *  pmd_same() after taking the ptl, so the write lands in the table the pmd links. */
export function faultOrChangePte(c: Cpu, mm: number, vpn: number): number {
  const m = c.mem;
  const a = c.arch;
  const lock = mmAddr(c.L, mm, MM_MMAP_LOCK);
  downRead(c, lock);
  const pmdp = entryOffset(c, mm, vpn, LVL_PMD, true);
  if (pmdp < 0 || !pteAlloc(c, mm, pmdp, vpn)) {
    upRead(c, lock);
    return PTE_WRITE_RACED;
  }
  const page = allocAnonPage(c, mm, PageType.Anon); // allocated before the lock, used if the pte is empty
  const ptep = pteOffsetMapLock(c, pmdp, vpn);
  if (ptep < 0) {
    if (page >= 0) folioPutRefs(c, page, 1, vpn);
    upRead(c, lock);
    return PTE_WRITE_RACED;
  }
  const pte = m.load(ptep);
  c.trace(EV_PTE, vpn, pte);
  let r: number;
  if (a.pteNone(pte) && page >= 0) {
    folioAddNewAnonRmap(c, page, vpn);
    m.store(ptep, a.mkPte(page, true)); // set_pte_at()
    c.trace(EV_SET_PTE, vpn, m.load(ptep));
    r = PTE_WRITE_INSTALLED;
  } else {
    if (page >= 0) folioPutRefs(c, page, 1, vpn);
    if (a.ptePresent(pte)) m.store(ptep, a.pteWrite(pte) ? a.pteWrprotect(pte) : a.mkPte(a.ptePfn(pte), true));
    r = PTE_WRITE_CHANGED;
  }
  checkPtlStillLinked(c, pmdp, ptep, vpn); // oracle: with the ptl held the pmd still links our table
  pteUnmapUnlock(c, ptep);
  upRead(c, lock);
  return r;
}

// what folioWalkGet found (a vm_normal_page() user)
export const FOLIO_WALK_NONE = 0; //      nothing mapped there
export const FOLIO_WALK_NO_PAGE = 1; //   vm_normal_page(): a pfn without a page
export const FOLIO_WALK_PAGE = 2; //      a page, referenced and released

/** A vm_normal_page() user that takes a reference on what it returns (folio_walk_start,
 *  follow_page users: KSM, migration, pagemap), under mmap_lock and the ptl. */
export function folioWalkGet(c: Cpu, mm: number, vma: number, vpn: number): number {
  const m = c.mem;
  const lock = mmAddr(c.L, mm, MM_MMAP_LOCK);
  downRead(c, lock);
  let r = FOLIO_WALK_NONE;
  const pmdp = entryOffset(c, mm, vpn, LVL_PMD, false);
  const ptep = pmdp < 0 ? -1 : pteOffsetMapLock(c, pmdp, vpn);
  if (ptep >= 0) {
    const pte = m.load(ptep);
    if (c.arch.ptePresent(pte)) {
      c.walkStamp = m.peek(c.gStamp); // oracle bookkeeping
      const head = vmNormalPage(c, mm, vma, vpn, pte);
      if (head < 0) r = FOLIO_WALK_NO_PAGE;
      else {
        folioRefAdd(c, head, 1); // folio_get(): safe under the ptl for a real page
        checkGotPage(c, c.arch.ptePfn(pte), head, vpn);
        folioPutRefs(c, head, 1, vpn);
        r = FOLIO_WALK_PAGE;
      }
    }
    pteUnmapUnlock(c, ptep);
  }
  upRead(c, lock);
  return r;
}
