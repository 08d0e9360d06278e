// Synchronization strategies, one ops record each (like rcutorture's rcu_torture_ops):
// how a TLB flush treats lockless walkers, and how an unlinked page table is freed.
// Scenarios are written once against this record and pick it with --strategy.
import type { Cpu, Strategy, StrategyName } from '../machine/cpu.js';
import { SMP_MB } from '../machine/mem.js';
import { defineStat } from '../machine/stats.js';
import { freeTable } from '../mm/page_alloc.js';
import { ipiBroadcast } from './irq.js';
import { callRcu, synchronizeRcu, synchronizeRcuExpedited } from './rcu.js';

export const S_TLBI = defineStat('tlbiBroadcasts', 'broadcast TLB invalidations that wait for nobody (rcu strategies)');
export const S_TABLES_FREED = defineStat('tablesFreed', 'page tables freed after a flush');

// the types are the machine's (a CPU is built with its strategy's ops): named here for the model
export type { Strategy, StrategyName };
export const STRATEGY_NAMES: readonly StrategyName[] = ['ipi', 'rcu', 'rcu-sync', 'rcu-exp'];


function freeAll(c: Cpu, tables: Int32Array, n: number, free: (c: Cpu, pfn: number) => void): void {
  for (let i = 0; i < n; i++) free(c, tables[i]);
  c.stats[S_TABLES_FREED.id] += n;
}

/** An RCU callback that frees a page table (pte_free_defer, tlb_remove_table's call_rcu),
 *  counted where the table is really freed: after the grace period, on the gp worker. */
export function freeTableAfterGp(c: Cpu, pfn: number): void {
  freeTable(c, pfn);
  c.stats[S_TABLES_FREED.id]++;
}

function tlbiBroadcast(c: Cpu): void {
  c.stats[S_TLBI.id]++;
  // arm64 __flush_tlb_*: dsb(ishst); tlbi; dsb(ish): the flush is a full barrier (what
  // write_protect_page() and collapse_huge_page() rely on to check the refcount after the
  // clear); the IPI flush orders by its fully ordered request post
  c.mem.fence(SMP_MB);
}

export const STRATEGIES: Record<StrategyName, Strategy> = {
  ipi: {
    name: 'ipi',
    doc: 'x86 without paravirt: the TLB flush IPIs every CPU and waits; tables are freed right after it',
    flushTlb: ipiBroadcast,
    tlbRemoveTableSyncOne: () => {},
    freeTables: freeAll,
  },
  rcu: {
    name: 'rcu',
    doc: 'MMU_GATHER_RCU_TABLE_FREE: the flush waits for nobody; tlb_remove_table batches tables to call_rcu',
    flushTlb: tlbiBroadcast,
    tlbRemoveTableSyncOne: ipiBroadcast,
    freeTables: (c, tables, n) => {
      for (let i = 0; i < n; i++) callRcu(c, tables[i]);
    },
  },
  'rcu-sync': {
    name: 'rcu-sync',
    doc: 'the flush waits for nobody; synchronize_rcu() (a normal, batched grace period) before the free',
    flushTlb: tlbiBroadcast,
    tlbRemoveTableSyncOne: ipiBroadcast,
    freeTables: (c, tables, n, free) => {
      if (n === 0) return;
      synchronizeRcu(c);
      freeAll(c, tables, n, free);
    },
  },
  'rcu-exp': {
    name: 'rcu-exp',
    doc: 'the flush waits for nobody; synchronize_rcu_expedited() before the free',
    flushTlb: tlbiBroadcast,
    tlbRemoveTableSyncOne: ipiBroadcast,
    freeTables: (c, tables, n, free) => {
      if (n === 0) return;
      synchronizeRcuExpedited(c);
      freeAll(c, tables, n, free);
    },
  },
};
