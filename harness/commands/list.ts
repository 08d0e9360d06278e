// `gupstress list`: generated from the scenario declarations, as text, JSON, or the markdown
// of docs/reference.md (--format md; a test holds the committed file to what it generates).
import { SCENARIOS } from '../../src/scenarios/index.js';
import { KNOBS, formatKnob } from '../../src/machine/knobs.js';
import { STRATEGIES } from '../../src/sync/strategy.js';
import { type Role, roleCounters, windowPairs } from '../../src/scenarios/scenario.js';
import { VIOLATION_KINDS } from '../../src/check/violations.js';
import { WINDOWS } from '../../src/check/windows.js';
import { sizeRanges } from '../run/config.js';

function outcomeList(r: Role): { name: string; expect: string; doc: string; event: boolean }[] {
  return roleCounters(r).map((x) => ({ name: x.name, expect: x.def.expect, doc: x.def.doc, event: x.event }));
}

/** Every scenario as `list` shows it: its declaration, with every range at its default sizes
 *  (a range derived from the sizes moves with them). */
function scenarioData() {
  const rangesOf = (s: (typeof SCENARIOS)[number]) => sizeRanges(s, { frames: s.defaults.frames, huge: s.defaults.huge, readers: s.defaults.readers, writers: s.defaults.writers, levels: 4 });
  return SCENARIOS.map((s) => {
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
}

export function listScenarios(format: 'text' | 'json' | 'md'): string {
  const data = scenarioData();
  const knobs = KNOBS.all.map((k) => ({ name: k.name, unit: k.unit, value: k.value, min: k.min, max: k.max, ...(k.choices ? { choices: k.choices } : {}), kernel: k.kernel, doc: k.doc }));
  if (format === 'md') return markdown(data);
  if (format === 'json') return JSON.stringify({ scenarios: data, strategies: Object.values(STRATEGIES).map((x) => ({ name: x.name, doc: x.doc })), knobs }, null, 2);
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

const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const mdTable = (head: string[], rows: string[][]): string[] => [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)];

/** docs/reference.md: every table a user looks things up in, generated from the declarations. */
function markdown(data: ReturnType<typeof scenarioData>): string {
  const races = data.filter((s) => !s.selftest);
  const out = [
    '# Reference: scenarios, bugs, windows, knobs, violation kinds',
    '',
    'Generated from the declarations by `gupstress list --format md` (`npm run docs` writes this',
    'file; a test fails when it differs from what the declarations give). Do not edit by hand.',
    '',
    '## Scenarios',
    '',
    ...mdTable(['scenario', 'what races', 'arches', 'strategies (default)', 'bugs'], data.map((s) => [`\`${s.id}\`${s.selftest ? ' (selftest)' : ''}`, s.title, s.arches.join(', '), `${s.strategies.join(', ')} (${s.defaultStrategy})`, s.bugs.map((b) => `\`${b.name}\``).join(', ') || '-'])),
    '',
    '## Bug switches',
    '',
    'Each re-creates a historical bug or a missing ordering (`--bug NAME`); it is caught as the',
    'violation kinds listed. A bug with a memory model shows only under `explore --memory`.',
    '',
    ...mdTable(['scenario', 'bug', 'what it changes', 'caught as', 'shows under', 'fixed by'], data.flatMap((s) => s.bugs.map((b) => [s.id, `\`${b.name}\``, `${b.doc} (\`${b.changes}\`)`, b.expectKinds.join(', '), [b.strategies?.join(', ') ?? 'every strategy', ...(b.memory ? [`--memory ${b.memory.join(', ')}`] : [])].join('; '), b.fixedBy ?? '-']))),
    '',
    '## Scenario parameters',
    '',
    'Ranges at the scenario\'s default sizes (a range derived from the sizes moves with them).',
    '',
    ...mdTable(['scenario', '--param', 'default', 'range', 'explore instance', 'meaning'], data.flatMap((s) => Object.entries(s.params).map(([k, v]) => [s.id, k, String(v.value), `${v.min}..${v.max}`, s.explore?.params?.[k] === undefined ? '-' : String(s.explore.params[k]), v.doc]))),
    '',
    '## Race windows',
    '',
    'A reader window and the writer window it pairs with overlap when the race is hit (see',
    '[reading a run](../README.md#reading-a-run)).',
    '',
    ...mdTable(['window', 'role', 'pairs with, in', 'span'], WINDOWS.all.map((w) => {
      const pairs = races.flatMap((s) => s.windows.filter((x) => x.name === w.name && x.pairedWith).map((x) => `${x.pairedWith} (${s.id})`));
      return [`\`${w.name}\``, w.role, [...new Set(pairs)].join(', ') || '-', w.doc];
    })),
    '',
    '## Strategies',
    '',
    ...mdTable(['strategy', 'what it is'], Object.values(STRATEGIES).map((x) => [`\`${x.name}\``, x.doc])),
    '',
    '## Knobs',
    '',
    '`run --set KNOB=V`, `sweep --set KNOB=V1,V2,...`.',
    '',
    ...mdTable(['knob', 'default', 'range', 'kernel', 'meaning'], KNOBS.all.map((k) => [`\`${k.name}\``, formatKnob(k, k.value), k.choices ? k.choices.join(' \\| ') : `${formatKnob(k, k.min)}..${formatKnob(k, k.max)}`, k.kernel, k.doc])),
    '',
    '## Violation kinds',
    '',
    'What the judge reports (see [what the oracle judges](adding-a-race.md#3-what-the-oracle-judges)).',
    '',
    ...mdTable(['kind', 'meaning'], VIOLATION_KINDS.all.map((v) => [`\`${v.name}\``, v.doc])),
    '',
  ];
  return out.join('\n');
}
