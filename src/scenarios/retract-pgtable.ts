// khugepaged retracting the page tables of a file THP (retract_page_tables +
// pte_free_defer) while lockless __pte_offset_map() readers walk them under RCU, GUP-fast
// pins them with irqs off, and faults write ptes under pte_offset_map_lock(). The detached
// table must stay allocated for a grace period and read as empty (0x400 on s390, not 0); a
// ptl-taking writer must re-check pmd_same() after taking the lock, or its update lands in a
// detached table. pte_free_defer sends no IPI: a GUP-fast pin is kept off a retracted table
// by its re-checks (the pte, and the pmd since 70cbc3cc78a9), not by the flush.
import { V_REFCOUNT_LEAK } from '../check/accounting.js';
import { V_DETACHED_NONEMPTY, V_LOST_UPDATE, V_PGTABLE_UAF, V_PIN_DETACHED, V_STALE_PAGE, walkCheckTables } from '../check/oracle.js';
import type { Cpu } from '../machine/cpu.js';
import { FANOUT, MAX_VMAS } from '../machine/layout.js';
import { FOLL_LONGTERM, FOLL_PIN, V_REFCOUNT_UNDERFLOW } from '../mm/folio.js';
import { GUP_FAST_OK, GUP_FAST_RECHECK, GUP_FAST_TABLE_GONE, W_GUP_PIN_RECHECK, gupFast, putUserPages } from '../mm/gup.js';
import { RETRACT_OK, W_RETRACT, retractPageTables } from '../mm/khugepaged.js';
import { PTE_WRITE_CHANGED, PTE_WRITE_INSTALLED, PTE_WRITE_RACED, faultOrChangePte, mmapPmdRanges } from '../mm/memory.js';
import { mmAlloc } from '../mm/mm.js';
import { MmuGather } from '../mm/mmu_gather.js';
import { PTE_MAP_DETACHED, PTE_MAP_NONE, PTE_MAP_PMD_NONE, PTE_MAP_PRESENT, W_PTE_MAP, pteOffsetMapLockless } from '../mm/page_vma_mapped.js';
import { VM_READ, VM_SHARED, VM_WRITE } from '../mm/vma.js';
import { rcuReadLock, rcuReadUnlock } from '../sync/rcu.js';
import { BUG_GUP_NO_PMD_RECHECK } from './gup-reader.js';
import { defineScenario } from './scenario.js';

const MM = 0;
const BASE = 0x18000;

const READ_OUTCOME = {
  [PTE_MAP_PRESENT]: 'pte-present',
  [PTE_MAP_NONE]: 'pte-none',
  [PTE_MAP_PMD_NONE]: 'pmd-none',
  [PTE_MAP_DETACHED]: 'read-detached-table',
} as const;
const WRITE_OUTCOME = {
  [PTE_WRITE_INSTALLED]: 'fault-installed',
  [PTE_WRITE_CHANGED]: 'pte-changed',
  [PTE_WRITE_RACED]: 'fault-raced',
} as const;

export const retractPgtable = defineScenario({
  id: 'retract-pgtable',
  title: 'retract_page_tables + pte_free_defer vs lockless pte_offset_map readers and pte_offset_map_lock writers',
  seed: 'detached tables (2023, Hugh Dickins\' pte_offset_map series)',
  commits: ['mm/pgtable: pte_free_defer (RCU)', 'mm/khugepaged: retract_page_tables without mmap_lock', 'mm/pgtable: __pte_offset_map_lock pmd_same re-check'],
  selftest: false,
  arches: ['x86-64', 's390', 'arm64'],
  strategies: ['rcu', 'ipi'],
  defaultStrategy: 'rcu',
  defaults: { readers: 2, writers: 2, frames: 4096, huge: 0, widen: { 'pte.map-lockless': '2us', 'retract.detach': '2us' } },
  params: { pmds: { value: 2, min: 1, max: MAX_VMAS, doc: 'pmd ranges of the file mapping (one VMA each: an mm holds MAX_VMAS)' } },
  windows: [[W_PTE_MAP, W_RETRACT], [W_GUP_PIN_RECHECK, W_RETRACT], W_RETRACT],
  bugs: {
    'free-without-rcu': { doc: 'pte_free_defer frees the retracted table at once: lockless readers are still inside', changes: 'retract_page_tables (pte_free_defer)', expectKinds: [V_PGTABLE_UAF] },
    'detached-not-empty': { doc: 'the retracted table is emptied after the pmd is cleared, and with 0 (not an empty pte on s390)', changes: 'retract_page_tables', expectKinds: [V_DETACHED_NONEMPTY] },
    'lock-no-pmd-same': { doc: 'pte_offset_map_lock does not re-check pmd_same() after taking the ptl: a fault writes into a retracted table', changes: '__pte_offset_map_lock', expectKinds: [V_LOST_UPDATE] },
    'pte-unmap-early': {
      doc: 'a __pte_offset_map() reader leaves its RCU read-side section (pte_unmap) before its last read of the table: under preemptible RCU the grace period, and the deferred free, can end in between',
      changes: '__pte_offset_map callers (pte_unmap before ptep_get)', knobs: { 'rcu.flavor': 'preempt' }, expectKinds: [V_PGTABLE_UAF],
    },
    'gup-no-pmd-recheck': BUG_GUP_NO_PMD_RECHECK,
  },
  detects: [V_PGTABLE_UAF, V_DETACHED_NONEMPTY, V_PIN_DETACHED, V_LOST_UPDATE, V_STALE_PAGE, V_REFCOUNT_UNDERFLOW, V_REFCOUNT_LEAK],

  boot(c, p) {
    mmAlloc(c, MM, p.mmLevels);
    mmapPmdRanges(c, MM, BASE, p.params.pmds, VM_READ | VM_WRITE | VM_SHARED);
  },

  // reader 0, 2, ...: __pte_offset_map() under rcu_read_lock; reader 1, 3, ...: GUP-fast
  // FOLL_PIN | FOLL_LONGTERM with irqs off (an RDMA or vfio pin of the shmem range)
  reader: {
    outcomes: {
      'pte-present': { expect: 'ACCEPTABLE', doc: 'read a present pte through a linked table' },
      'pte-none': { expect: 'ACCEPTABLE', doc: 'read an empty pte' },
      'pmd-none': { expect: 'ACCEPTABLE', doc: 'no table under the pmd (retracted)' },
      'read-detached-table': { expect: 'INTERESTING', doc: 'the table was retracted while the reader was inside it: it read empty, as it must' },
      'pinned': { expect: 'ACCEPTABLE', doc: 'GUP-fast pinned the page (and unpinned it)' },
      'pin-not-present': { expect: 'ACCEPTABLE', doc: 'GUP-fast found no page there (empty pte, or no table)' },
      'pin-retry-changed': { expect: 'INTERESTING', doc: 'the re-check after the pin saw the pte or pmd change (a retract in flight): the pin was dropped' },
      'pin-table-gone': { expect: 'FORBIDDEN', doc: 'GUP-fast reached a table frame that had been freed' },
    },
    init: (_c, p, index) => ({ pages: p.params.pmds * FANOUT, pins: index % 2 === 1 }),
    op(c: Cpu, s: { pages: number; pins: boolean }) {
      const vpn = BASE + (c.mem.random() % s.pages);
      if (s.pins) {
        const n = gupFast(c, MM, vpn, 1, FOLL_PIN | FOLL_LONGTERM);
        putUserPages(c, n, FOLL_PIN, vpn);
        const r = c.gupFastReason;
        return r === GUP_FAST_OK ? 'pinned' : r === GUP_FAST_RECHECK ? 'pin-retry-changed' : r === GUP_FAST_TABLE_GONE ? 'pin-table-gone' : 'pin-not-present';
      }
      rcuReadLock(c); // __pte_offset_map(): the table cannot be freed under us
      const r = pteOffsetMapLockless(c, MM, vpn);
      walkCheckTables(c, vpn);
      rcuReadUnlock(c);
      return READ_OUTCOME[r as keyof typeof READ_OUTCOME];
    },
  },

  writer: {
    outcomes: {
      retracted: { expect: 'ACCEPTABLE', doc: 'khugepaged retracted a pte table (pte_free_defer)' },
      'retract-skip': { expect: 'ACCEPTABLE', doc: 'nothing to retract there' },
      'fault-installed': { expect: 'ACCEPTABLE', doc: 'a fault installed a pte under pte_offset_map_lock' },
      'pte-changed': { expect: 'ACCEPTABLE', doc: 'a write to a present pte (mprotect-like) under pte_offset_map_lock' },
      'fault-raced': { expect: 'INTERESTING', doc: 'pte_offset_map_lock found the pmd changed (pmd_same failed) or empty and retried' },
    },
    // writer 0 is khugepaged; the others fault and mprotect ptes
    init: (_c, p, index) => ({ pages: p.params.pmds * FANOUT, khugepaged: index % 2 === 0, tlb: new MmuGather() }),
    op(c: Cpu, s: { pages: number; khugepaged: boolean; tlb: MmuGather }) {
      const vpn = BASE + (c.mem.random() % s.pages);
      if (!s.khugepaged) return WRITE_OUTCOME[faultOrChangePte(c, MM, vpn) as keyof typeof WRITE_OUTCOME];
      if (retractPageTables(c, MM, vpn, s.tlb) === RETRACT_OK) return 'retracted';
      // khugepaged sleeps between scans (khugepaged_scan_sleep_millisecs, shortened here)
      c.block(c.aWake, c.mem.load(c.aWake), 0.05);
      return 'retract-skip';
    },
  },
});
