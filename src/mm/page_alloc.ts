// The page allocator: two free lists (small frames, PMD-sized folios) under zone->lock.
// Every alloc and free bumps the frame's generation, which is how a walker that read a
// table frame can later tell the frame was freed (or freed and reused) meanwhile.
import type { Cpu } from '../machine/cpu.js';
import { defineStat } from '../machine/stats.js';
import {
  FANOUT, G_FREE_COUNT, G_FREE_HEAD, G_HUGE_COUNT, G_HUGE_HEAD, G_ZONE_LOCK, type Layout, MD_FLAGS, MD_GEN,
  MD_HEAD, MD_HIST_SEQ, MD_LEVEL, MD_MAPCOUNT, MD_NEXT, MD_ORDER, MD_OWNER_MM, MD_PINCOUNT, MD_PTL, MD_REFCOUNT,
  MD_TYPE, MD_VPN, PageType, dataWords, frameAddr, mdAddr, FANOUT_SHIFT,
} from '../machine/layout.js';
import { type Mem, RELAXED } from '../machine/mem.js';
import { spinLock, spinUnlock } from '../sync/spinlock.js';

export const S_OOM = defineStat('oom', 'allocations that found no free frame');

/** Builds both free lists. Runs on the boot CPU before any worker starts. */
export function initPageAlloc(m: Mem, L: Layout): void {
  const g = L.gBase;
  let head = -1;
  for (let pfn = L.frames - 1; pfn >= 1; pfn--) {
    // pfn 0 stays reserved: an entry of 0 must never look like a valid frame to a walker
    m.store(mdAddr(L, pfn, MD_TYPE), PageType.Free);
    m.store(mdAddr(L, pfn, MD_NEXT), head);
    head = pfn;
  }
  m.store(mdAddr(L, 0, MD_TYPE), PageType.Reserved);
  // the padding between the small frames and the huge region (which starts PMD-aligned)
  // belongs to nobody: reserved, not free (type 0 would read as a free frame)
  for (let pfn = L.frames; pfn < L.hugeBase; pfn++) m.store(mdAddr(L, pfn, MD_TYPE), PageType.Reserved);
  m.store(g + G_FREE_HEAD, head);
  m.store(g + G_FREE_COUNT, L.frames - 1);
  let hhead = -1;
  for (let k = L.hugeFolios - 1; k >= 0; k--) {
    const pfn = L.hugeBase + k * FANOUT;
    for (let i = 0; i < FANOUT; i++) m.store(mdAddr(L, pfn + i, MD_TYPE), PageType.Free);
    m.store(mdAddr(L, pfn, MD_NEXT), hhead);
    hhead = pfn;
  }
  m.store(g + G_HUGE_HEAD, hhead);
  m.store(g + G_HUGE_COUNT, L.hugeFolios);
}

function freeListPop(c: Cpu, headWord: number, countWord: number): number {
  const m = c.mem;
  const L = c.L;
  spinLock(c, L.gBase + G_ZONE_LOCK);
  const pfn = m.load(L.gBase + headWord);
  if (pfn >= 0) {
    m.store(L.gBase + headWord, m.load(mdAddr(L, pfn, MD_NEXT)));
    m.add(L.gBase + countWord, -1, RELAXED); // (zone counters: under zone->lock)
  }
  spinUnlock(c, L.gBase + G_ZONE_LOCK);
  return pfn;
}

function freeListPush(c: Cpu, headWord: number, countWord: number, pfn: number): void {
  const m = c.mem;
  const L = c.L;
  spinLock(c, L.gBase + G_ZONE_LOCK);
  m.store(mdAddr(L, pfn, MD_NEXT), m.load(L.gBase + headWord));
  m.store(L.gBase + headWord, pfn);
  m.add(L.gBase + countWord, 1, RELAXED);
  spinUnlock(c, L.gBase + G_ZONE_LOCK);
}

function initMeta(m: Mem, L: Layout, pfn: number, type: number, mm: number, vpn: number, order: number): void {
  m.add(mdAddr(L, pfn, MD_GEN), 1, RELAXED); // (the emulation's generation: atomic, no ordering)
  m.store(mdAddr(L, pfn, MD_REFCOUNT), 1);
  m.store(mdAddr(L, pfn, MD_MAPCOUNT), 0);
  m.store(mdAddr(L, pfn, MD_PINCOUNT), 0);
  m.store(mdAddr(L, pfn, MD_FLAGS), 0);
  m.store(mdAddr(L, pfn, MD_OWNER_MM), mm);
  m.store(mdAddr(L, pfn, MD_VPN), vpn);
  m.store(mdAddr(L, pfn, MD_HIST_SEQ), 0); // the oracle's mapping history starts afresh: a new page
  m.store(mdAddr(L, pfn, MD_PTL), 0);
  m.store(mdAddr(L, pfn, MD_HEAD), pfn);
  m.store(mdAddr(L, pfn, MD_ORDER), order);
  m.store(mdAddr(L, pfn, MD_TYPE), type);
}

/** pagetable_alloc() + pagetable_pte_ctor(): a table of `level`, every entry empty. */
export function allocTable(c: Cpu, mm: number, level: number, vpn: number, mmLevels: number): number {
  const pfn = freeListPop(c, G_FREE_HEAD, G_FREE_COUNT);
  if (pfn < 0) {
    c.stats[S_OOM.id]++;
    return -1;
  }
  const m = c.mem;
  const L = c.L;
  const empty = level === 1 ? c.arch.emptyPte : c.arch.emptyEntry(level, mmLevels);
  const base = frameAddr(L, pfn, 0);
  for (let i = 0; i < FANOUT; i++) m.store(base + i, empty);
  initMeta(m, L, pfn, PageType.PageTable, mm, vpn, 0);
  m.store(mdAddr(L, pfn, MD_LEVEL), level);
  return pfn;
}

/** folio_alloc(order 0) for anonymous memory: zeroed content, refcount 1, not mapped.
 *  clear_page() clears the content words (dataWords): a frame that was a page table keeps
 *  its old entries beyond them, which no data access reads; a walker that still reads the
 *  frame as a table is a use-after-free, caught by the frame's generation. */
export function allocAnonPage(c: Cpu, mm: number, type: number): number {
  const pfn = freeListPop(c, G_FREE_HEAD, G_FREE_COUNT);
  if (pfn < 0) {
    c.stats[S_OOM.id]++;
    return -1;
  }
  const m = c.mem;
  const base = frameAddr(c.L, pfn, 0);
  for (let i = 0, n = dataWords(c.L); i < n; i++) m.store(base + i, 0);
  initMeta(m, c.L, pfn, type, mm, -1, 0);
  return pfn;
}

/** vma_alloc_folio(order HPAGE_PMD_ORDER): a PMD-sized anonymous folio, or -1. */
export function allocHugeFolio(c: Cpu, mm: number): number {
  const head = freeListPop(c, G_HUGE_HEAD, G_HUGE_COUNT);
  if (head < 0) return -1;
  const m = c.mem;
  const L = c.L;
  const words = dataWords(L);
  for (let i = 0; i < FANOUT; i++) {
    const base = frameAddr(L, head + i, 0);
    for (let w = 0; w < words; w++) m.store(base + w, 0); // clear_huge_page()
    if (i > 0) {
      initMeta(m, L, head + i, PageType.Tail, mm, -1, 0);
      m.store(mdAddr(L, head + i, MD_HEAD), head);
    }
  }
  initMeta(m, L, head, PageType.Anon, mm, -1, FANOUT_SHIFT);
  return head;
}

/** The head of the folio a pfn belongs to (compound_head, from the frame layout). */
export function folioHead(L: Layout, pfn: number): number {
  return pfn < L.hugeBase ? pfn : L.hugeBase + ((pfn - L.hugeBase) & ~(FANOUT - 1));
}

/** __free_pages(): the frame (or whole folio) goes back; its generation moves on. */
export function freeFolio(c: Cpu, head: number): void {
  const m = c.mem;
  const L = c.L;
  if (head >= L.hugeBase) {
    for (let i = FANOUT - 1; i >= 0; i--) {
      m.store(mdAddr(L, head + i, MD_TYPE), PageType.Free);
      m.add(mdAddr(L, head + i, MD_GEN), 1, RELAXED);
    }
    freeListPush(c, G_HUGE_HEAD, G_HUGE_COUNT, head);
    return;
  }
  m.store(mdAddr(L, head, MD_TYPE), PageType.Free);
  m.add(mdAddr(L, head, MD_GEN), 1, RELAXED);
  freeListPush(c, G_FREE_HEAD, G_FREE_COUNT, head);
}

/** pagetable_free() -> __free_pages(): drops the allocation's reference; the frame is freed
 *  by whoever drops the last one. A GUP-fast walker that read a stale pte may hold a
 *  speculative reference on a frame that has since become a page table (put_page_testzero). */
export function freeTable(c: Cpu, pfn: number): boolean {
  const v = c.mem.add(mdAddr(c.L, pfn, MD_REFCOUNT), -1) - 1;
  if (v === 0) freeFolio(c, pfn);
  return v === 0;
}

/** Is pfn the head frame of a PMD-sized folio? (pmd_folio() of a present leaf must be one:
 *  a fact of the frame layout.) */
export function isHugeFolioHead(L: Layout, pfn: number): boolean {
  return pfn >= L.hugeBase && pfn < L.totalFrames && ((pfn - L.hugeBase) & (FANOUT - 1)) === 0;
}
