// End-of-run accounting, on the boot CPU after every worker stopped and rcu_barrier ran:
// every reference and every allocated frame must be explained by the page tables. Nothing
// runs beside it: its reads are the checker's (Mem.peek), not emulated accesses.
import { LVL_PGD, LVL_PMD, LVL_PTE } from '../arch/arch.js';
import type { Cpu } from '../machine/cpu.js';
import {
  FANOUT, G_FREE_COUNT, G_HUGE_COUNT, MD_MAPCOUNT, MD_PINCOUNT, MD_REFCOUNT, MD_TYPE, MM_LEVELS, MM_PGD, PageType,
  frameAddr, mdAddr, mmAddr,
} from '../machine/layout.js';
import { folioHead } from '../mm/page_alloc.js';
import { defineViolation } from './violations.js';

export const V_REFCOUNT_LEAK = defineViolation('refcount-leak', 'at the end of the run a frame holds references nothing explains');

export interface AccountingSummary {
  tablesReachable: number;
  foliosMapped: number;
  freeFrames: number;
  freeHugeFolios: number;
}

export function endOfRunAccounting(c: Cpu, mms: number): AccountingSummary {
  const m = c.mem;
  const L = c.L;
  const a = c.arch;
  const mapped = new Int32Array(L.totalFrames);
  const reachable = new Uint8Array(L.totalFrames);
  let tables = 0;

  const walk = (pfn: number, level: number, levels: number): void => {
    reachable[pfn] = 1;
    tables++;
    for (let i = 0; i < FANOUT; i++) {
      const v = m.peek(frameAddr(L, pfn, i));
      if (level === LVL_PTE) {
        if (a.ptePresent(v) && !a.pteSpecial(v)) mapped[folioHead(L, a.ptePfn(v))]++;
        continue;
      }
      if (a.upperNone(level, v)) continue;
      if (level === LVL_PMD && a.pmdLeaf(v)) {
        mapped[a.pmdPfn(v)]++;
        continue;
      }
      let child = level - 1;
      while (a.folded(child, levels)) child--;
      walk(a.tablePfn(level, v), child, levels);
    }
  };
  for (let mm = 0; mm < mms; mm++) {
    const pgd = m.peek(mmAddr(L, mm, MM_PGD));
    if (pgd > 0) walk(pgd, LVL_PGD, m.peek(mmAddr(L, mm, MM_LEVELS)));
  }

  let free = 0;
  let freeHuge = 0;
  let folios = 0;
  for (let pfn = 1; pfn < L.totalFrames; pfn++) {
    const type = m.peek(mdAddr(L, pfn, MD_TYPE));
    if (type === PageType.Free) {
      if (pfn < L.hugeBase) free++;
      else if (((pfn - L.hugeBase) & (FANOUT - 1)) === 0) freeHuge++;
      continue;
    }
    if (type === PageType.PageTable) {
      if (reachable[pfn] === 0) c.violation(V_REFCOUNT_LEAK, 0, `page-table frame ${pfn} is allocated but no page table links to it`);
      continue;
    }
    if (type !== PageType.Anon && type !== PageType.Ksm) continue;
    folios++;
    const ref = m.peek(mdAddr(L, pfn, MD_REFCOUNT));
    const mapcount = m.peek(mdAddr(L, pfn, MD_MAPCOUNT));
    const pins = m.peek(mdAddr(L, pfn, MD_PINCOUNT));
    if (ref !== mapped[pfn] || mapcount !== mapped[pfn] || pins !== 0) {
      c.violation(V_REFCOUNT_LEAK, 0,
        `folio pfn ${pfn}: refcount ${ref}, mapcount ${mapcount}, pincount ${pins}, but ${mapped[pfn]} page-table mappings`);
    }
  }
  if (free !== m.peek(L.gBase + G_FREE_COUNT)) c.violation(V_REFCOUNT_LEAK, 0, `free list says ${m.peek(L.gBase + G_FREE_COUNT)} free frames, ${free} are free`);
  if (freeHuge !== m.peek(L.gBase + G_HUGE_COUNT)) c.violation(V_REFCOUNT_LEAK, 0, `huge free list says ${m.peek(L.gBase + G_HUGE_COUNT)}, ${freeHuge} are free`);
  return { tablesReachable: tables, foliosMapped: folios, freeFrames: free, freeHugeFolios: freeHuge };
}
