// The scenario registry: every module of this folder that declares a scenario
// (defineScenario) is one, found at start-up; adding a scenario is adding its file. Loading it
// is start-up: the other registries' ids are given at its end.
// `list`, `run` and the campaign read the registry; nothing else does. Order: the races by
// id, then the selftests by id.
import { readdirSync } from 'node:fs';
import type { BugDef } from '../machine/bugs.js';
import { sealRegistries } from '../machine/registry.js';
import { type Scenario, isScenario } from './scenario.js';

const here = new URL('.', import.meta.url);
const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
const found: Scenario[] = [];
for (const file of readdirSync(here).filter((f) => f.endsWith(ext) && !f.endsWith('.d.ts') && f !== `index${ext}`).sort()) {
  const mod = (await import(new URL(file, here).href)) as Record<string, unknown>;
  for (const v of Object.values(mod)) if (isScenario(v)) found.push(v);
}
found.sort((a, b) => Number(a.selftest) - Number(b.selftest) || (a.id < b.id ? -1 : 1));
// every module that declares windows, trace events, stats, knobs and violation kinds is
// loaded now (the scenarios import the model): the ids are given here, before any CPU runs
sealRegistries();

export const SCENARIOS: readonly Scenario[] = found;

export function scenarioById(id: string): Scenario | undefined {
  return SCENARIOS.find((s) => s.id === id);
}

/** Every bug switch any scenario declares, by name: the switches object of every run has
 *  them all (one shape), and a name declared twice must be the same declaration. */
export const ALL_BUGS: Readonly<Record<string, BugDef>> = (() => {
  const all: Record<string, BugDef> = {};
  for (const s of SCENARIOS) {
    for (const [name, def] of Object.entries(s.bugs)) {
      if (all[name] !== undefined && all[name] !== def) throw new Error(`bug ${name} is declared by two scenarios differently: declare it once and import it`);
      all[name] = def;
    }
  }
  return all;
})();
