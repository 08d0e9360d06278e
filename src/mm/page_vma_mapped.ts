// The lockless page-table readers that are not GUP-fast: a __pte_offset_map() user under
// rcu_read_lock (page_vma_mapped_walk, folio_walk_start without the ptl), and the lockless
// pmd reader of follow_pmd_mask() / page_vma_mapped_walk() (pmdp_get_lockless, then trust
// pmd_present() and pmd_leaf()). Each reads an entry once and takes the page it names with
// a re-check, as their kernel callers do.
import { LVL_PMD } from '../arch/arch.js';
import { checkDetachedEmpty, checkGotPage, checkPmdLeafPfn, tableDetached, walkEnterTable, walkEntryLive } from '../check/oracle.js';
import { rcuReadLock, rcuReadUnlock } from '../sync/rcu.js';
import { defineTrace } from '../check/trace.js';
import { defineWindow, winReaderClose, winReaderOpen, winWiden } from '../check/windows.js';
import type { Cpu } from '../machine/cpu.js';
import { ADDR_DEP } from '../machine/mem.js';
import { FANOUT } from '../machine/layout.js';
import { folioPutRefs, folioRefTryAdd } from './folio.js';
import { folioHead, isHugeFolioHead } from './page_alloc.js';
import { EV_PMD, EV_PTE, pmdOffsetLockless, pteOffsetOfPmd, tableType } from './pgtable.js';
import { PageType } from '../machine/layout.js';

export const W_PTE_MAP = defineWindow({ name: 'pte.map-lockless', role: 'reader', doc: '__pte_offset_map() reader under rcu_read_lock: from reading the pmd to reading the pte' });
export const W_PMD_LOCKLESS = defineWindow({ name: 'pmd.lockless-read', role: 'reader', doc: 'a lockless pmd reader: from pmdp_get_lockless to done with what the pmd pointed at' });
export const EV_PMD_LOCKLESS = defineTrace('pmdp_get_lockless', 'addr', 'pmd');

/** A lockless reader's walk down to the pmd: the oracle's walk record starts here (which
 *  tables, and the event clock, for the stale-page check). Returns pmdp, or -1. */
function locklessWalkStart(c: Cpu, mm: number, vpn: number): number {
  c.nrWalk = 0;
  c.walkStamp = c.mem.peek(c.gStamp); // oracle bookkeeping
  return pmdOffsetLockless(c, mm, vpn);
}

/** Takes the page a pte read locklessly from ptep maps, as the lockless readers' callers do:
 *  a speculative reference, then the page is ours only if neither the pte nor the pmd it was
 *  read under changed meanwhile; released at once. */
function getPageLockless(c: Cpu, ptep: number, pte: number, pmdp: number, pmd: number, vpn: number): void {
  const m = c.mem;
  const pfn = c.arch.ptePfn(pte);
  const head = folioHead(c.L, pfn);
  if (!folioRefTryAdd(c, head, 1)) return;
  if (m.load(ptep) === pte && m.load(pmdp) === pmd) checkGotPage(c, pfn, head, vpn);
  folioPutRefs(c, head, 1, vpn);
}

// what pteOffsetMapLockless found
export const PTE_MAP_PRESENT = 0;
export const PTE_MAP_NONE = 1;
export const PTE_MAP_PMD_NONE = 2; //   no pte table under the pmd (retracted, or a leaf)
export const PTE_MAP_DETACHED = 3; //   the table was retracted while we were inside it

/** A lockless pte_offset_map() reader; the caller holds rcu_read_lock (so a table retracted
 *  under us is freed only after a grace period, pte_free_defer). Reads the pmd once
 *  (pmdp_get_lockless), maps the table it names (__pte_offset_map from that value), reads
 *  the pte once, and takes the page with a re-check of pte and pmd. */
export function pteOffsetMapLockless(c: Cpu, mm: number, vpn: number): number {
  const m = c.mem;
  const a = c.arch;
  const pmdp = locklessWalkStart(c, mm, vpn);
  if (pmdp < 0) return PTE_MAP_PMD_NONE;
  winReaderOpen(c, W_PTE_MAP, vpn);
  const pmd = m.load(pmdp, ADDR_DEP); // pmdp_get_lockless(): the table came from the walk above
  c.trace(EV_PMD, vpn, pmd);
  let r = PTE_MAP_PMD_NONE;
  if (walkEntryLive(c, c.nrWalk - 1, pmdp, vpn) && !a.pmdNone(pmd) && a.pmdPresent(pmd) && !a.pmdLeaf(pmd)) {
    const table = a.tablePfn(LVL_PMD, pmd);
    const type = tableType(c, table);
    const wi = walkEnterTable(c, table, vpn, type);
    if (type === PageType.PageTable) {
      // the bug: pte_unmap() (rcu_read_unlock) before the last read of the table
      const early = c.bug['pte-unmap-early'];
      if (early) rcuReadUnlock(c);
      winWiden(c, W_PTE_MAP); // between the pmd read and the pte read
      const detached = tableDetached(c, table); // oracle: retracted before our pte read?
      const ptep = pteOffsetOfPmd(c, pmd, vpn);
      const pte = m.load(ptep, ADDR_DEP); // ptep_get(): the table came from the pmd read
      c.trace(EV_PTE, vpn, pte);
      const live = walkEntryLive(c, wi, ptep, vpn); // oracle: a freed table, at its first access
      if (early) rcuReadLock(c); // (the caller's rcu_read_unlock stays balanced)
      if (!live) {
        winReaderClose(c, W_PTE_MAP);
        return PTE_MAP_PMD_NONE;
      }
      if (detached) checkDetachedEmpty(c, table, ptep, pte, vpn);
      if (a.ptePresent(pte)) {
        getPageLockless(c, ptep, pte, pmdp, pmd, vpn);
        r = PTE_MAP_PRESENT;
      } else r = PTE_MAP_NONE;
      if (detached) r = PTE_MAP_DETACHED;
    }
  }
  winReaderClose(c, W_PTE_MAP);
  return r;
}

// what pmdReadLockless found
export const PMD_READ_HUGE = 0;
export const PMD_READ_MIGRATION = 1;
export const PMD_READ_TABLE = 2;
export const PMD_READ_NONE = 3;
export const PMD_READ_CHANGED = 4;

/** The lockless part of follow_pmd_mask() / page_vma_mapped_walk(); the caller has irqs off.
 *  Reads the pmd once, trusts pmd_present() and pmd_leaf(), takes the folio (pmd_folio),
 *  re-checks the pmd; on a pte table reads the pte once and takes its page the same way. */
export function pmdReadLockless(c: Cpu, mm: number, vpn: number): number {
  const m = c.mem;
  const a = c.arch;
  const pmdp = locklessWalkStart(c, mm, vpn);
  if (pmdp < 0) return PMD_READ_NONE;
  winReaderOpen(c, W_PMD_LOCKLESS, vpn);
  const pmd = m.load(pmdp, ADDR_DEP); // pmdp_get_lockless(): the table came from the walk above
  c.trace(EV_PMD_LOCKLESS, vpn, pmd);
  const live = walkEntryLive(c, c.nrWalk - 1, pmdp, vpn); // oracle: a freed table, at its first access
  winWiden(c, W_PMD_LOCKLESS);
  let r: number;
  if (!live) r = PMD_READ_CHANGED;
  else if (a.pmdNone(pmd)) r = PMD_READ_NONE;
  else if (!a.pmdPresent(pmd)) r = PMD_READ_MIGRATION; // pmd_migration_entry_wait()
  else if (a.pmdLeaf(pmd)) {
    const head = a.pmdPfn(pmd); // pmd_folio()
    checkPmdLeafPfn(c, head, vpn, pmd); // oracle: a present leaf names a PMD-sized folio
    // the emulator can take a reference only on a real folio (a CPU would touch garbage)
    if (!isHugeFolioHead(c.L, head) || !folioRefTryAdd(c, head, 1)) r = PMD_READ_CHANGED;
    else {
      if (m.load(pmdp) !== pmd) r = PMD_READ_CHANGED;
      else {
        checkGotPage(c, head + (vpn & (FANOUT - 1)), head, vpn);
        r = PMD_READ_HUGE;
      }
      folioPutRefs(c, head, 1, vpn);
    }
  } else {
    // __pte_offset_map() from the pmd value we read; the pte is read once too
    const table = a.tablePfn(LVL_PMD, pmd);
    const type = tableType(c, table);
    const wi = walkEnterTable(c, table, vpn, type);
    r = PMD_READ_CHANGED;
    if (type === PageType.PageTable) {
      const ptep = pteOffsetOfPmd(c, pmd, vpn);
      const pte = m.load(ptep, ADDR_DEP);
      if (walkEntryLive(c, wi, ptep, vpn)) {
        r = PMD_READ_TABLE;
        if (a.ptePresent(pte)) getPageLockless(c, ptep, pte, pmdp, pmd, vpn);
      }
    }
  }
  winReaderClose(c, W_PMD_LOCKLESS);
  return r;
}
