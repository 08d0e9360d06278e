// The scenario registry: `list`, `run` and the campaign read it; nothing else does.
import { forkCow } from './fork-cow.js';
import { ksmMerge } from './ksm-merge.js';
import { munmapFree } from './munmap-free.js';
import { pfnmapSpecial } from './pfnmap-special.js';
import { retractPgtable } from './retract-pgtable.js';
import { s390Folding } from './s390-folding.js';
import { splitMigration } from './split-migration.js';
import type { Scenario } from './scenario.js';
import { syncLocks } from './sync-locks.js';
import { syncWitness } from './sync-witness.js';
import { thpCollapse } from './thp-collapse.js';

export const SCENARIOS: readonly Scenario[] = [munmapFree, ksmMerge, thpCollapse, forkCow, retractPgtable, splitMigration, pfnmapSpecial, s390Folding, syncWitness, syncLocks];

export function scenarioById(id: string): Scenario | undefined {
  return SCENARIOS.find((s) => s.id === id);
}
