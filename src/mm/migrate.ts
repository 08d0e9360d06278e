// migrate_pages() of a PMD-mapped THP (mm/migrate.c, mm/huge_memory.c): the pmd becomes a
// migration entry, the folio is copied, and the new folio is mapped back, either by the
// pmd (remove_migration_pmd) or, when the pmd is split while it holds the migration entry
// (__split_huge_pmd_locked, as a concurrent split_huge_pmd would), by ptes
// (remove_migration_ptes).
import { folioPutRefs } from './folio.js';
import type { Cpu } from '../machine/cpu.js';
import {
  __splitHugePmdLocked, migrateFolioCopy, migrationDone, removeMigrationPmd, removeMigrationPtes, setPmdMigrationEntry,
} from './huge_memory.js';
import { allocHugeFolio } from './page_alloc.js';

export const MIGRATE_PMD = 0; //     mapped back by the pmd
export const MIGRATE_SPLIT = 1; //   split under the migration entry, mapped back by ptes
export const MIGRATE_NOMEM = 2; //   no free PMD-sized folio to migrate to
export const MIGRATE_RACED = 3; //   the pmd changed under us: nothing migrated

/** Migrates the THP mapped by the present huge pmd at pmdp (vpn its first page). */
export function migrateHugePmd(c: Cpu, mm: number, pmdp: number, vpn: number, split: boolean): number {
  const m = c.mem;
  const nhead = allocHugeFolio(c, mm); // the migration target
  if (nhead < 0) return MIGRATE_NOMEM;
  const head = setPmdMigrationEntry(c, pmdp);
  if (head < 0) {
    folioPutRefs(c, nhead, 1, vpn);
    return MIGRATE_RACED;
  }
  migrateFolioCopy(c, nhead, head); // the old folio is unreachable and stable now
  let r = MIGRATE_RACED;
  if (!split) {
    if (removeMigrationPmd(c, pmdp, m.load(pmdp), nhead, vpn)) r = MIGRATE_PMD;
  } else {
    const table = __splitHugePmdLocked(c, pmdp, vpn);
    if (table >= 0) {
      removeMigrationPtes(c, table, nhead, vpn);
      r = MIGRATE_SPLIT;
    } else if (removeMigrationPmd(c, pmdp, m.load(pmdp), nhead, vpn)) {
      // no frame for the pte table (the kernel splits into the table deposited with the
      // THP and cannot run out here): map the new folio back by the pmd instead of leaving
      // the migration entry behind and the new folio unmapped
      r = MIGRATE_PMD;
    }
  }
  migrationDone(c, head, vpn);
  return r;
}
