// `gupstress list`: generated from the scenario declarations.
import { SCENARIOS } from '../../src/scenarios/index.js';
import { KNOBS, formatKnob } from '../../src/machine/knobs.js';
import { STRATEGIES } from '../../src/sync/strategy.js';
import { type Role, roleCounters, windowPairs } from '../../src/scenarios/scenario.js';
import { sizeRanges } from '../run/config.js';

function outcomeList(r: Role): { name: string; expect: string; doc: string; event: boolean }[] {
  return roleCounters(r).map((x) => ({ name: x.name, expect: x.def.expect, doc: x.def.doc, event: x.event }));
}

export function listScenarios(json: boolean): string {
  // every range at the scenario's default sizes (a range derived from the sizes moves with them)
  const rangesOf = (s: (typeof SCENARIOS)[number]) => sizeRanges(s, { frames: s.defaults.frames, huge: s.defaults.huge, readers: s.defaults.readers, writers: s.defaults.writers, levels: 4 });
  const data = SCENARIOS.map((s) => {
    const R = rangesOf(s);
    return {
    id: s.id,
    title: s.title,
    seed: s.seed,
    commits: s.commits,
    selftest: s.selftest,
    arches: s.arches,
    strategies: s.strategies,
    defaultStrategy: s.defaultStrategy,
    defaults: s.defaults,
    ranges: R,
    params: Object.fromEntries(Object.entries(s.params).map(([k, d]) => [k, { value: d.value, min: d.min, max: R.params[k].max, maxRule: typeof d.max === 'number' ? null : 'derived from the run\'s sizes', doc: d.doc }])),
    explore: s.explore ?? null,
    windows: windowPairs(s).map(({ window, pairedWith }) => ({ name: window.name, pairedWith: pairedWith?.name ?? null, doc: window.doc })),
    bugs: Object.entries(s.bugs).map(([name, b]) => ({ name, doc: b.doc, changes: b.changes, fixedBy: b.fixedBy ?? null, strategies: b.strategies ?? null, expectKinds: b.expectKinds.map((k) => k.name), implies: b.implies ?? [], knobs: b.knobs ?? {}, needsParallelism: b.needsParallelism ?? null, memory: b.memory ?? null })),
    detects: s.detects.map((k) => k.name),
    outcomes: { reader: outcomeList(s.reader), writer: outcomeList(s.writer) },
    };
  });
  const knobs = KNOBS.all.map((k) => ({ name: k.name, unit: k.unit, value: k.value, min: k.min, max: k.max, ...(k.choices ? { choices: k.choices } : {}), kernel: k.kernel, doc: k.doc }));
  if (json) return JSON.stringify({ scenarios: data, strategies: Object.values(STRATEGIES).map((x) => ({ name: x.name, doc: x.doc })), knobs }, null, 2);
  const out: string[] = [];
  for (const s of data) {
    out.push(`${s.id}${s.selftest ? ' (selftest)' : ''}: ${s.title}`);
    out.push(`  seed:       ${s.seed}`);
    if (s.commits.length) out.push(`  follows:    ${s.commits.join('; ')}`);
    out.push(`  arches:     ${s.arches.join(', ')}    strategies: ${s.strategies.join(', ')} (default ${s.defaultStrategy})`);
    out.push(`  defaults:   ${s.defaults.readers} reader(s), ${s.defaults.writers} writer(s), widen ${Object.entries(s.defaults.widen).map(([k, v]) => `${k}=${v}`).join(' ') || 'none'}`);
    out.push(`  sizes:      --readers ${s.ranges.readers.min}..${s.ranges.readers.max}  --writers ${s.ranges.writers.min}..${s.ranges.writers.max}  --frames ${s.ranges.frames.min}..${s.ranges.frames.max} (and what boot needs)  --huge ${s.ranges.huge.min}..${s.ranges.huge.max}`);
    if (s.explore?.params) out.push(`  explore:    ${Object.entries(s.explore.params).map(([k, v]) => `--param ${k}=${v}`).join(' ')} (a smaller instance for controlled executions)`);
    for (const [k, v] of Object.entries(s.params)) out.push(`  --param ${k}=${v.value} (${v.min}..${v.max}${v.maxRule ? ` at the default sizes, ${v.maxRule}` : ''}): ${v.doc}`);
    for (const w of s.windows) out.push(`  window ${w.name}${w.pairedWith ? ` (pairs with ${w.pairedWith})` : ''}: ${w.doc}`);
    for (const b of s.bugs) out.push(`  --bug ${b.name}: ${b.doc}${b.fixedBy ? ` (fixed by ${b.fixedBy})` : ''}; changes ${b.changes}${b.implies.length ? `, and turns on ${b.implies.join(', ')}` : ''}${b.strategies ? ` [shows under ${b.strategies.join(', ')}]` : ''} -> ${b.expectKinds.join(', ')}${b.needsParallelism ? ` (stress catches it only where two CPUs really run at once: ${b.needsParallelism})` : ''}${b.memory ? ` (a missing ordering: shows only under explore --memory ${b.memory.join(' or ')}; stress runs are sequentially consistent)` : ''}`);
    out.push(`  detects:    ${s.detects.join(', ')}`);
    out.push('');
  }
  out.push('strategies:');
  for (const x of Object.values(STRATEGIES)) out.push(`  ${x.name}: ${x.doc}`);
  out.push('');
  out.push('knobs (run --set KNOB=V, sweep --set KNOB=V1,V2,...):');
  for (const k of KNOBS.all) {
    const range = k.choices ? k.choices.join(' | ') : `${formatKnob(k, k.min)}..${formatKnob(k, k.max)}`;
    out.push(`  --set ${k.name}=${formatKnob(k, k.value)} (${range}; kernel: ${k.kernel}): ${k.doc}`);
  }
  return out.join('\n');
}
