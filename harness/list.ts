// `gupstress list`: generated from the scenario declarations.
import { SCENARIOS } from '../src/scenarios/index.js';
import { STRATEGIES } from '../src/sync/strategy.js';
import { WINDOWS } from '../src/check/windows.js';

export function listScenarios(json: boolean): string {
  const data = SCENARIOS.map((s) => ({
    id: s.id,
    title: s.title,
    seed: s.seed,
    commits: s.commits,
    selftest: s.selftest,
    arches: s.arches,
    strategies: s.strategies,
    defaultStrategy: s.defaultStrategy,
    defaults: s.defaults,
    params: s.params,
    windows: Object.entries(s.windows).map(([name, pair]) => ({ name, pairedWith: pair, doc: WINDOWS.find((w) => w.name === name)?.doc ?? '' })),
    bugs: s.bugs,
    detects: s.detects,
    outcomes: { reader: s.reader.outcomes, writer: s.writer.outcomes },
  }));
  if (json) return JSON.stringify({ scenarios: data, strategies: Object.values(STRATEGIES).map((x) => ({ name: x.name, doc: x.doc })) }, null, 2);
  const out: string[] = [];
  for (const s of data) {
    out.push(`${s.id}${s.selftest ? ' (selftest)' : ''}: ${s.title}`);
    out.push(`  seed:       ${s.seed}`);
    if (s.commits.length) out.push(`  follows:    ${s.commits.join('; ')}`);
    out.push(`  arches:     ${s.arches.join(', ')}    strategies: ${s.strategies.join(', ')} (default ${s.defaultStrategy})`);
    out.push(`  defaults:   ${s.defaults.readers} reader(s), ${s.defaults.writers} writer(s), widen ${Object.entries(s.defaults.widen).map(([k, v]) => `${k}=${v}`).join(' ') || 'none'}`);
    for (const [k, v] of Object.entries(s.params)) out.push(`  --param ${k}=${v.value}: ${v.doc}`);
    for (const w of s.windows) out.push(`  window ${w.name}${w.pairedWith ? ` (pairs with ${w.pairedWith})` : ''}: ${w.doc}`);
    for (const b of s.bugs) out.push(`  --bug ${b.name}: ${b.doc}${b.strategies ? ` [shows under ${b.strategies.join(', ')}]` : ''} -> ${b.expectKinds.join(', ')}`);
    out.push(`  detects:    ${s.detects.join(', ')}`);
    out.push('');
  }
  out.push('strategies:');
  for (const x of Object.values(STRATEGIES)) out.push(`  ${x.name}: ${x.doc}`);
  return out.join('\n');
}
