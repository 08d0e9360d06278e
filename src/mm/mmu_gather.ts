// struct mmu_gather (mm/mmu_gather.c): pages and tables unmapped under one flush are
// freed only after it. One gather per CPU, allocated once.
import type { Cpu } from '../machine/cpu.js';
import { freeTable } from './page_alloc.js';
import { folioPutRefs } from './folio.js';
import { defineTrace } from '../check/trace.js';

export const EV_FLUSH = defineTrace('flush_tlb_mm_range');
export const EV_TLB_FINISH = defineTrace('tlb_finish_mmu', 'pages', 'tables');

export class MmuGather {
  readonly pages = new Int32Array(8192);
  readonly pageVpn = new Int32Array(8192);
  nrPages = 0;
  readonly tables = new Int32Array(256);
  nrTables = 0;
}

/** tlb_gather_mmu() */
export function tlbGatherMmu(tlb: MmuGather): void {
  tlb.nrPages = 0;
  tlb.nrTables = 0;
}

/** tlb_remove_page(): the mapping's reference is dropped after the flush. */
export function tlbRemovePage(tlb: MmuGather, head: number, vpn: number): void {
  tlb.pageVpn[tlb.nrPages] = vpn;
  tlb.pages[tlb.nrPages++] = head;
}

/** pte_free_tlb() / pmd_free_tlb() -> tlb_remove_table(): freed after the flush, by the strategy. */
export function tlbRemoveTable(tlb: MmuGather, pfn: number): void {
  tlb.tables[tlb.nrTables++] = pfn;
}

/** tlb_finish_mmu(): flush, then free the pages, then the tables the way the strategy says. */
export function tlbFinishMmu(c: Cpu, tlb: MmuGather): void {
  c.trace(EV_TLB_FINISH, tlb.nrPages, tlb.nrTables);
  if (tlb.nrPages > 0 || tlb.nrTables > 0) {
    c.trace(EV_FLUSH, 0, 0);
    c.strategy.flushTlb(c);
  }
  for (let i = 0; i < tlb.nrPages; i++) folioPutRefs(c, tlb.pages[i], 1, tlb.pageVpn[i]);
  c.strategy.freeTables(c, tlb.tables, tlb.nrTables, freeTable);
  tlbGatherMmu(tlb);
}
