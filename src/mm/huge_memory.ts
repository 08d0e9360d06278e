// THP migration and split on a PMD (mm/huge_memory.c, mm/migrate.c), with the pmd lock held
// where the kernel holds it.
import { winWiden, winWriterClose, winWriterOpen } from '../check/windows.js';
import type { Cpu } from '../machine/cpu.js';
import { RELAXED, SMP_WMB } from '../machine/mem.js';
import { FANOUT, FANOUT_SHIFT, MD_MAPCOUNT, MD_REFCOUNT, frameAddr, mdAddr } from '../machine/layout.js';
import { spinLock, spinUnlock } from '../sync/spinlock.js';
import { folioPutRefs } from './folio.js';
import { copyPage } from './memory.js';
import { allocTable, freeTable } from './page_alloc.js';
import { mmLevels, pmdLock, tableLockptr } from './pgtable.js';
import { folioAddNewAnonRmap, folioRemoveRmap } from './rmap.js';
import { defineTrace } from '../check/trace.js';
import { defineWindow } from '../check/windows.js';

export const EV_SPLIT = defineTrace('__split_huge_pmd_locked', 'addr', 'pmd');
export const EV_MIGRATION = defineTrace('set_pmd_migration_entry', 'pfn', 'on');
export const W_SPLIT_INVALIDATE = defineWindow({ name: 'split.migration-pmd', role: 'writer', shift: FANOUT_SHIFT, doc: '__split_huge_pmd_locked on a migration entry: from reading the pmd to pmd_populate (with pmdp_invalidate inside, under invalidate-nonpresent)' });

/** pmdp_invalidate(): make the pmd not present for the MMU and flush; returns the old pmd.
 *  "Invalidates a present PMD; do not call for a non-present one." */
export function pmdpInvalidate(c: Cpu, pmdp: number): number {
  const old = c.mem.load(pmdp);
  c.mem.store(pmdp, c.arch.pmdMkinvalid(old));
  c.strategy.flushTlb(c);
  return old;
}

/** set_pmd_migration_entry(): a present huge pmd becomes a migration entry carrying the
 *  folio's pfn. Returns the folio head, or -1 if the pmd is not a present huge pmd. */
export function setPmdMigrationEntry(c: Cpu, pmdp: number): number {
  const a = c.arch;
  const ptl = pmdLock(c, pmdp);
  const pmd = c.mem.load(pmdp);
  if (!a.pmdLeaf(pmd) || !a.pmdPresent(pmd) || a.isMigrationEntry(pmd)) {
    spinUnlock(c, ptl);
    return -1;
  }
  const head = a.pmdPfn(pmd);
  pmdpInvalidate(c, pmdp); // the MMU must not use it while we replace it
  c.mem.store(pmdp, a.mkMigrationEntry(head, a.pmdWrite(pmd)));
  c.trace(EV_MIGRATION, head, 1);
  folioRemoveRmap(c, head); // try_to_migrate: the migration holds the folio's reference now
  spinUnlock(c, ptl);
  return head;
}

/** migrate_folio() -> folio_copy(): the new folio gets the old one's content. */
export function migrateFolioCopy(c: Cpu, nhead: number, head: number): void {
  for (let i = 0; i < FANOUT; i++) copyPage(c, nhead + i, head + i);
}

/** remove_migration_pmd(): install the new folio where the migration entry is. */
export function removeMigrationPmd(c: Cpu, pmdp: number, entry: number, nhead: number, vpn: number): boolean {
  const ptl = pmdLock(c, pmdp);
  if (c.mem.load(pmdp) !== entry) {
    spinUnlock(c, ptl);
    return false;
  }
  folioAddNewAnonRmap(c, nhead, vpn);
  c.mem.store(pmdp, c.arch.mkPmdLeaf(nhead, true));
  spinUnlock(c, ptl);
  return true;
}

/** __split_huge_pmd_locked() for a pmd migration entry: a pte table of pte migration
 *  entries replaces it. The table is allocated by the caller (the deposited table). */
export function __splitHugePmdLocked(c: Cpu, pmdp: number, vpn: number): number {
  const m = c.mem;
  const a = c.arch;
  const levels = mmLevels(c, 0);
  const table = allocTable(c, 0, 1, vpn & ~(FANOUT - 1), levels);
  if (table < 0) return -1;
  const ptl = pmdLock(c, pmdp);
  winWriterOpen(c, W_SPLIT_INVALIDATE, vpn);
  const pmd = m.load(pmdp);
  if (!a.isMigrationEntry(pmd)) {
    winWriterClose(c, W_SPLIT_INVALIDATE);
    spinUnlock(c, ptl);
    freeTable(c, table); // pte_free(): a stale walker's speculative ref frees it at its put
    return -1;
  }
  if (c.bug['invalidate-nonpresent']) {
    // the historical bug: pmdp_invalidate on a non-present pmd. On arm64 <= 6.9 that sets
    // PMD_PRESENT_INVALID: the swap entry now reads as a present leaf to lockless readers
    pmdpInvalidate(c, pmdp);
  }
  c.trace(EV_SPLIT, vpn, pmd);
  winWiden(c, W_SPLIT_INVALIDATE);
  const head = a.swpOffset(pmd);
  const base = frameAddr(c.L, table, 0);
  for (let i = 0; i < FANOUT; i++) m.store(base + i, a.mkMigrationEntry(head + i, true));
  m.fence(SMP_WMB); // "make pte visible before pmd"
  m.store(pmdp, a.mkTableEntry(2, table, levels)); // pmd_populate()
  winWriterClose(c, W_SPLIT_INVALIDATE);
  spinUnlock(c, ptl);
  return table;
}

/** remove_migration_ptes(): map the new folio's subpages through the pte table (a
 *  pte-mapped THP): one mapping and one reference per pte. */
export function removeMigrationPtes(c: Cpu, table: number, nhead: number, vpn: number): void {
  const m = c.mem;
  const a = c.arch;
  const ptl = tableLockptr(c.L, frameAddr(c.L, table, 0));
  spinLock(c, ptl);
  folioAddNewAnonRmap(c, nhead, vpn & ~(FANOUT - 1));
  m.add(mdAddr(c.L, nhead, MD_MAPCOUNT), FANOUT - 1, RELAXED); // atomic_add
  m.add(mdAddr(c.L, nhead, MD_REFCOUNT), FANOUT - 1, RELAXED); // folio_ref_add
  const base = frameAddr(c.L, table, 0);
  for (let i = 0; i < FANOUT; i++) m.store(base + i, a.mkPte(nhead + i, true));
  spinUnlock(c, ptl);
}

/** The migration is over: drop the old folio (the reference try_to_migrate kept). */
export function migrationDone(c: Cpu, head: number, vpn: number): void {
  folioPutRefs(c, head, 1, vpn);
}
