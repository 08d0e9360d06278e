// The scenario registry: `list`, `run` and the campaign read it; nothing else does.
import { ksmMerge } from './ksm-merge.js';
import { munmapFree } from './munmap-free.js';
import { splitMigration } from './split-migration.js';
import type { Scenario } from './scenario.js';
import { syncLocks } from './sync-locks.js';
import { syncWitness } from './sync-witness.js';

export const SCENARIOS: readonly Scenario[] = [munmapFree, ksmMerge, splitMigration, syncWitness, syncLocks];

export function scenarioById(id: string): Scenario | undefined {
  return SCENARIOS.find((s) => s.id === id);
}
