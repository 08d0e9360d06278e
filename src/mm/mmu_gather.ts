// struct mmu_gather (mm/mmu_gather.c): pages and tables unmapped under one flush are
// freed only after it. One gather per CPU, allocated once.
import type { Cpu } from '../machine/cpu.js';
import { defineKnob } from '../machine/knobs.js';
import { freeTable } from './page_alloc.js';
import { folioPutRefs } from './folio.js';
import { defineTrace } from '../check/trace.js';

export const EV_FLUSH = defineTrace('flush_tlb_mm_range');
export const EV_TLB_FINISH = defineTrace('tlb_finish_mmu', 'pages', 'tables');
const MAX_TABLES = 256;
export const K_TLB_BATCH = defineKnob({
  name: 'tlb.batch', unit: 'count', value: MAX_TABLES, min: 1, max: MAX_TABLES, kernel: 'MAX_TABLE_BATCH (struct mmu_table_batch)',
  doc: 'page tables an mmu_gather holds before tlb_flush_mmu flushes and frees them: a smaller batch flushes (and, under rcu, calls call_rcu) more often',
});

export class MmuGather {
  readonly pages = new Int32Array(8192);
  readonly pageVpn = new Int32Array(8192);
  nrPages = 0;
  readonly tables = new Int32Array(MAX_TABLES);
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

/** pte_free_tlb() / pmd_free_tlb() -> tlb_remove_table(): freed after the flush, by the
 *  strategy; a full batch is flushed and freed at once (tlb_flush_mmu). */
export function tlbRemoveTable(c: Cpu, tlb: MmuGather, pfn: number): void {
  tlb.tables[tlb.nrTables++] = pfn;
  if (tlb.nrTables >= c.knob(K_TLB_BATCH)) tlbFinishMmu(c, tlb);
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
