// khugepaged retracting the page tables of a file THP (retract_page_tables +
// pte_free_defer) while lockless __pte_offset_map() readers walk them under RCU and faults
// write ptes under pte_offset_map_lock(). The detached table must stay allocated for a grace
// period and read as empty (0x400 on s390, not 0); a ptl-taking writer must re-check
// pmd_same() after taking the lock, or its update lands in a detached table.
import { LVL_PMD } from '../arch/arch.js';
import { checkGotPage, walkCheckTables, walkEnterTable } from '../check/oracle.js';
import { V_DETACHED_NONEMPTY, V_LOST_UPDATE } from '../check/violations.js';
import { EV_PMD, EV_PTE, EV_SET_PTE } from '../check/trace.js';
import { W_PTE_MAP, winReaderClose, winReaderOpen, winWiden } from '../check/windows.js';
import type { Cpu } from '../machine/cpu.js';
import { H_READER_OP, H_WRITER_OP } from '../machine/cpu.js';
import { FANOUT, MD_FLAGS, MM_MMAP_LOCK, PG_TABLE_DETACHED, PageType, mdAddr, mmAddr } from '../machine/layout.js';
import { folioPutRefs, folioRefTryAdd } from '../mm/folio.js';
import { RETRACT_OK, retractPageTables } from '../mm/khugepaged.js';
import { mmapPopulate } from '../mm/memory.js';
import { mmAlloc } from '../mm/mm.js';
import { MmuGather } from '../mm/mmu_gather.js';
import { allocAnonPage, folioHead } from '../mm/page_alloc.js';
import { entryOffset, pfnOfPtr, pmdOffsetLockless, pteAlloc, pteOffsetMapLock, pteOffsetOfPmd, pteUnmapUnlock } from '../mm/pgtable.js';
import { folioAddNewAnonRmap } from '../mm/rmap.js';
import { VM_READ, VM_SHARED, VM_WRITE, vmaDefine } from '../mm/vma.js';
import { rcuReadLock, rcuReadUnlock } from '../sync/rcu.js';
import { downRead, upRead } from '../sync/rwsem.js';
import { type OutcomeDef, defineScenario } from './scenario.js';

const MM = 0;
const BASE = 0x18000;

const READER_OUTCOMES: OutcomeDef[] = [
  { name: 'pte-present', expect: 'ACCEPTABLE', doc: 'read a present pte through a linked table' },
  { name: 'pte-none', expect: 'ACCEPTABLE', doc: 'read an empty pte' },
  { name: 'pmd-none', expect: 'ACCEPTABLE', doc: 'no table under the pmd (retracted)' },
  { name: 'read-detached-table', expect: 'INTERESTING', doc: 'the table was retracted while the reader was inside it: it read empty, as it must' },
];
const R_PRESENT = 0, R_NONE = 1, R_PMD_NONE = 2, R_DETACHED = 3;

const WRITER_OUTCOMES: OutcomeDef[] = [
  { name: 'retracted', expect: 'ACCEPTABLE', doc: 'khugepaged retracted a pte table (pte_free_defer)' },
  { name: 'retract-skip', expect: 'ACCEPTABLE', doc: 'nothing to retract there' },
  { name: 'fault-installed', expect: 'ACCEPTABLE', doc: 'a fault installed a pte under pte_offset_map_lock' },
  { name: 'pte-changed', expect: 'ACCEPTABLE', doc: 'a write to a present pte (mprotect-like) under pte_offset_map_lock' },
  { name: 'fault-raced', expect: 'INTERESTING', doc: 'pte_offset_map_lock found the pmd changed (pmd_same failed) or empty and retried' },
];
const W_RETRACTED = 0, W_SKIP = 1, W_INSTALLED = 2, W_CHANGED = 3, W_RACED = 4;

/** A lockless __pte_offset_map() reader (rcu_read_lock, pmdp_get_lockless, the pte read
 *  once) that takes the page like page_vma_mapped_walk's callers do. */
function pteMapLockless(c: Cpu, vpn: number): number {
  const m = c.mem;
  const a = c.arch;
  c.nrWalk = 0;
  c.walkStamp = m.load(c.gStamp);
  const pmdp = pmdOffsetLockless(c, MM, vpn);
  if (pmdp < 0) return R_PMD_NONE;
  winReaderOpen(c, W_PTE_MAP, vpn);
  const pmd = m.load(pmdp);
  c.trace(EV_PMD, vpn, pmd);
  let r = R_PMD_NONE;
  if (!a.pmdNone(pmd) && a.pmdPresent(pmd) && !a.pmdLeaf(pmd)) {
    const table = a.tablePfn(LVL_PMD, pmd);
    if (walkEnterTable(c, table, vpn)) {
      winWiden(c, W_PTE_MAP); // between the pmd read and the pte read
      // oracle: was the table already detached before we read the pte?
      const detached = (m.load(mdAddr(c.L, table, MD_FLAGS)) & PG_TABLE_DETACHED) !== 0;
      const ptep = pteOffsetOfPmd(c, pmd, vpn);
      const pte = m.load(ptep);
      c.trace(EV_PTE, vpn, pte);
      if (detached) {
        r = R_DETACHED;
        if (!a.pteNone(pte)) c.violation(V_DETACHED_NONEMPTY, vpn, `read pte 0x${(pte >>> 0).toString(16)} from retracted table ${table}: a detached table must read empty (0x${(a.emptyPte >>> 0).toString(16)})`);
      } else if (a.ptePresent(pte)) {
        r = R_PRESENT;
        const head = folioHead(c.L, a.ptePfn(pte));
        if (folioRefTryAdd(c, head, 1)) {
          if (m.load(ptep) === pte && m.load(pmdp) === pmd) checkGotPage(c, a.ptePfn(pte), head, vpn);
          folioPutRefs(c, head, 1, vpn);
        }
      } else r = R_NONE;
    }
  }
  winReaderClose(c, W_PTE_MAP);
  return r;
}

/** A fault or mprotect writing one pte under pte_offset_map_lock() (mmap_lock for read). */
function ptlWriter(c: Cpu, vpn: number): number {
  const m = c.mem;
  const a = c.arch;
  const lock = mmAddr(c.L, MM, MM_MMAP_LOCK);
  downRead(c, lock);
  const pmdp = entryOffset(c, MM, vpn, LVL_PMD, true);
  if (pmdp < 0 || !pteAlloc(c, MM, pmdp, vpn)) {
    upRead(c, lock);
    return W_RACED;
  }
  const page = allocAnonPage(c, MM, PageType.Anon); // allocated before the lock, used if the pte is empty
  const ptep = pteOffsetMapLock(c, pmdp, vpn);
  if (ptep < 0) {
    if (page >= 0) folioPutRefs(c, page, 1, vpn);
    upRead(c, lock);
    return W_RACED;
  }
  const pte = m.load(ptep);
  c.trace(EV_PTE, vpn, pte);
  let r: number;
  if (a.pteNone(pte) && page >= 0) {
    folioAddNewAnonRmap(c, page, vpn);
    m.store(ptep, a.mkPte(page, true)); // set_pte_at()
    c.trace(EV_SET_PTE, vpn, m.load(ptep));
    r = W_INSTALLED;
  } else {
    if (page >= 0) folioPutRefs(c, page, 1, vpn);
    if (a.ptePresent(pte)) m.store(ptep, a.pteWrite(pte) ? a.pteWrprotect(pte) : a.mkPte(a.ptePfn(pte), true));
    r = W_CHANGED;
  }
  // oracle: with the ptl held, the pmd must still point at the table we wrote
  const now = m.load(pmdp);
  if (a.pmdNone(now) || a.tablePfn(LVL_PMD, now) !== pfnOfPtr(c.L, ptep)) {
    c.violation(V_LOST_UPDATE, vpn, `pte written into table ${pfnOfPtr(c.L, ptep)} after it was retracted: the update is lost`);
  }
  pteUnmapUnlock(c, ptep);
  upRead(c, lock);
  return r;
}

export const retractPgtable = defineScenario({
  id: 'retract-pgtable',
  title: 'retract_page_tables + pte_free_defer vs lockless pte_offset_map readers and pte_offset_map_lock writers',
  seed: 'detached tables (2023, Hugh Dickins\' pte_offset_map series)',
  commits: ['mm/pgtable: pte_free_defer (RCU)', 'mm/khugepaged: retract_page_tables without mmap_lock', 'mm/pgtable: __pte_offset_map_lock pmd_same re-check'],
  selftest: false,
  arches: ['x86-64', 's390', 'arm64'],
  strategies: ['rcu', 'ipi'],
  defaultStrategy: 'rcu',
  defaults: { readers: 1, writers: 2, frames: 4096, huge: 0, widen: { 'pte.map-lockless': '2us', 'retract.detach': '2us' } },
  params: { pmds: { value: 2, doc: 'pmd ranges of the file mapping' } },
  windows: { 'pte.map-lockless': 'retract.detach', 'retract.detach': null },
  bugs: [
    { name: 'free-without-rcu', doc: 'pte_free_defer frees the retracted table at once: lockless readers are still inside', expectKinds: ['pgtable-use-after-free'] },
    { name: 'detached-not-empty', doc: 'the retracted table is emptied after the pmd is cleared, and with 0 (not an empty pte on s390)', expectKinds: ['detached-nonempty'] },
    { name: 'lock-no-pmd-same', doc: 'pte_offset_map_lock does not re-check pmd_same() after taking the ptl: a fault writes into a retracted table', expectKinds: ['lost-update'] },
  ],
  detects: ['pgtable-use-after-free', 'detached-nonempty', 'lost-update', 'stale-page', 'refcount-underflow', 'refcount-leak'],
  scratchWords: 0,

  boot(c, p) {
    mmAlloc(c, MM, p.mmLevels);
    for (let i = 0; i < p.params.pmds; i++) {
      vmaDefine(c.mem, c.L, MM, i, BASE + i * FANOUT, BASE + (i + 1) * FANOUT, VM_READ | VM_WRITE | VM_SHARED, false);
      if (mmapPopulate(c, MM, i) !== 0) throw new Error('retract-pgtable: out of frames');
    }
  },

  reader: {
    outcomes: READER_OUTCOMES,
    init: (_c, p) => ({ pages: p.params.pmds * FANOUT }),
    op(c: Cpu, s: { pages: number }) {
      const t0 = c.mem.now();
      const vpn = BASE + (c.mem.random() % s.pages);
      rcuReadLock(c); // __pte_offset_map(): the table cannot be freed under us
      const r = pteMapLockless(c, vpn);
      walkCheckTables(c, vpn);
      rcuReadUnlock(c);
      c.outcomes[r]++;
      c.hists[H_READER_OP].recordValue(Math.round(c.mem.now() - t0));
    },
  },

  writer: {
    outcomes: WRITER_OUTCOMES,
    // writer 0 is khugepaged; the others fault and mprotect ptes
    init: (_c, p, index) => ({ pages: p.params.pmds * FANOUT, khugepaged: index % 2 === 0, tlb: new MmuGather() }),
    op(c: Cpu, s: { pages: number; khugepaged: boolean; tlb: MmuGather }) {
      const t0 = c.mem.now();
      const vpn = BASE + (c.mem.random() % s.pages);
      if (s.khugepaged) {
        const r = retractPageTables(c, MM, vpn, s.tlb);
        c.outcomes[r === RETRACT_OK ? W_RETRACTED : W_SKIP]++;
        // khugepaged sleeps between scans (khugepaged_scan_sleep_millisecs, shortened here)
        if (r !== RETRACT_OK) c.block(c.aWake, c.mem.load(c.aWake), 0.05);
      }
      else c.outcomes[ptlWriter(c, vpn)]++;
      c.hists[H_WRITER_OP].recordValue(Math.round(c.mem.now() - t0));
    },
  },
});
