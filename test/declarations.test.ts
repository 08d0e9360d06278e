// Each fact is declared once and the rest derived: these tests check the derivations that
// the type checker cannot (names that live in strings, ranges against the layout).
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { TRACE_EVENTS } from '../src/check/trace.js';
import { VIOLATION_KINDS } from '../src/check/violations.js';
import { WINDOWS } from '../src/check/windows.js';
import { bugSwitches } from '../src/machine/bugs.js';
import { Registry } from '../src/machine/registry.js';
import { HISTS, STATS } from '../src/machine/stats.js';
import { ALL_BUGS, SCENARIOS } from '../src/scenarios/index.js';
import { paramMax, roleCounters, scratchFields, windowPairs } from '../src/scenarios/scenario.js';
import { knobValue, resolveRunConfig } from '../harness/run/config.js';
import { KNOBS } from '../src/machine/knobs.js';

const root = join(import.meta.dirname, '..');
/** The TypeScript files under dir, comments removed (a comment may quote a switch). */
function sources(dir: string): { path: string; text: string }[] {
  return readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => ({ path: join(dir, f), text: readFileSync(join(root, dir, f), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '').replace(/ \/\/ .*$/gm, '') }));
}

test('every declared bug switch is read by the model, and every switch the model reads is declared', () => {
  const read = new Map<string, string[]>();
  for (const f of sources('src')) {
    for (const m of f.text.matchAll(/\bc\.bug\['([a-z0-9-]+)'\]/g)) read.set(m[1], [...(read.get(m[1]) ?? []), f.path]);
  }
  const declared = new Set(Object.keys(ALL_BUGS));
  for (const [name, where] of read) assert.ok(declared.has(name), `${where.join(', ')} reads switch '${name}', which no scenario declares`);
  for (const name of declared) assert.ok(read.has(name), `bug '${name}' is declared but no line of the model reads it`);
  for (const [name, def] of Object.entries(ALL_BUGS)) for (const n of def.implies ?? []) assert.ok(declared.has(n), `${name} implies undeclared ${n}`);
});

test('a bug turns on the switches its declaration implies, and nothing else', () => {
  const sw = bugSwitches(ALL_BUGS, ['gup-no-pmd-recheck']);
  assert.equal(sw['gup-no-pmd-recheck'], true);
  assert.equal(sw['collapse-no-ipi'], true, 'before 70cbc3cc78a9 there was no collapse IPI either');
  assert.equal(sw['detached-not-empty'], true, 'in retract-pgtable: a table detached before it is emptied');
  assert.equal(Object.entries(sw).filter(([, v]) => v).length, 3);
  assert.deepEqual(Object.keys(sw), Object.keys(ALL_BUGS).sort(), 'every run has every switch: one object shape');
  assert.throws(() => bugSwitches(ALL_BUGS, ['no-such-bug']), /unknown bug switch/);
});

test('nothing in the model calls Atomics, timers or Math.random outside Mem', () => {
  for (const f of sources('src')) {
    // the two implementations of Mem: the stress executor and the controlled one
    if (f.path.endsWith(join('machine', 'mem.ts')) || f.path.endsWith(join('machine', 'controlled.ts'))) continue;
    assert.doesNotMatch(f.text, /\bAtomics\.\w+\(|\bMath\.random\(|\bDate\.now\(|\bperformance\.now\(|\bsetTimeout\(|\bsetInterval\(/, f.path);
  }
});

test('registries: ids by name, one declaration per name, none after start-up, no id read before', () => {
  for (const r of [WINDOWS, VIOLATION_KINDS, STATS, HISTS, TRACE_EVENTS] as Registry<{ name: string; id: number }>[]) {
    const names = r.names();
    assert.deepEqual(names, [...names].sort(), `${r.what}: ids in name order`);
    r.all.forEach((x, i) => assert.equal(x.id, i));
    assert.throws(() => r.define({ name: 'late' }), /after start-up/);
    assert.ok(!('id' in JSON.parse(JSON.stringify(r.all[0]))), `${r.what}: a declaration's JSON holds no id`);
  }
  const fresh = new Registry<{ name: string; id: number }>('thing');
  const b = fresh.define({ name: 'b' });
  assert.throws(() => fresh.define({ name: 'b' }), /declared twice/);
  fresh.define({ name: 'a' });
  // used before the ids are given: loud, with the name (an id of -1 broke a report later)
  assert.throws(() => b.id, /thing b used before the ids are given/);
  assert.throws(() => fresh.all, /thing \(the list\) used before the ids are given/);
  fresh.seal();
  assert.deepEqual(fresh.all.map((x) => [x.name, x.id]), [['a', 0], ['b', 1]], 'order of declaration does not matter');
  for (const kind of ['lost-dma-write', 'pin-not-mapped', 'stale-page', 'pgtable-use-after-free', 'wild-pfn', 'special-refcounted', 'detached-nonempty', 'lost-update', 'refcount-underflow', 'refcount-leak', 'walk-mismatch', 'cow-pinned-shared', 'sync-broken']) {
    assert.ok(VIOLATION_KINDS.byName(kind), `the contract's violation kind ${kind} is declared`);
  }
});

test('every scenario: its windows pair a reader with a writer, its outcomes have names, its defaults are in range and boot', () => {
  for (const s of SCENARIOS) {
    for (const { window, pairedWith } of windowPairs(s)) {
      if (pairedWith) {
        assert.equal(window.role, 'reader', `${s.id}: ${window.name} pairs, so it is a reader window`);
        assert.equal(pairedWith.role, 'writer', `${s.id}: ${pairedWith.name} is paired with, so it is a writer window`);
      }
    }
    for (const role of [s.reader, s.writer]) {
      const names = roleCounters(role).map((x) => x.name);
      assert.equal(new Set(names).size, names.length, `${s.id}: an outcome and an event share a name`);
      assert.ok(names.length <= 64);
    }
    const d = s.defaults;
    for (const [name, p] of Object.entries(s.params)) {
      const max = paramMax(p, { frames: d.frames, huge: d.huge, readers: d.readers, writers: d.writers, levels: 4 });
      assert.ok(p.min <= p.value && p.value <= max, `${s.id}: --param ${name} default ${p.value} within ${p.min}..${max}`);
    }
    for (const [name, b] of Object.entries(s.bugs)) {
      // a bug declared by several scenarios expects the union of what they detect: each
      // scenario detects some of its kinds, and every kind is detected by one of them
      assert.ok(b.expectKinds.some((k) => s.detects.includes(k)), `${s.id}: bug ${name} expects ${b.expectKinds.map((k) => k.name).join(', ')}, none of which the scenario detects`);
      for (const k of b.expectKinds) assert.ok(SCENARIOS.some((x) => x.bugs[name] === b && x.detects.includes(k)), `bug ${name} expects ${k.name}, which no scenario declaring it detects`);
      for (const [knob, v] of Object.entries(b.knobs ?? {})) {
        const k = KNOBS.byName(knob);
        assert.ok(k, `bug ${name} needs knob ${knob}, which is not declared`);
        assert.doesNotThrow(() => knobValue(k, v), `bug ${name} needs ${knob}=${v}`);
      }
    }
    assert.doesNotThrow(() => resolveRunConfig({ scenario: s.id, seed: 1 }), `${s.id} boots with its defaults`);
  }
});

test('scratch fields are laid out one after the other; reading an undeclared one throws', () => {
  const { addr, words } = scratchFields({ deposit: 3, discard: 6, dev: 1 }, 1000);
  assert.deepEqual([addr.deposit, addr.discard, addr.dev, words], [1000, 1003, 1009, 10]);
  assert.throws(() => addr.nope, /no scratch field 'nope'/);
  assert.throws(() => scratchFields({ bad: -1 }, 0), /-1 words/);
});

test('a refcount is stored only when its frame is allocated: every other change adds or compares (folio_put, never a store)', () => {
  // a frame given back while a stale GUP-fast walker may hold a speculative reference on it
  // must drop its own reference: a store would wipe the walker's (a false refcount-underflow)
  const stores = sources('src').flatMap(({ path, text }) =>
    [...text.matchAll(/\.(store|xchg)\(\s*mdAddr\([^)]*MD_REFCOUNT\)/g)].map(() => path));
  assert.deepEqual(stores, [join('src', 'mm', 'page_alloc.ts')], 'initMeta (allocation) is the one store of a refcount');
});

test('docs/reference.md is what the declarations generate (npm run docs writes it)', async () => {
  const { listScenarios } = await import('../harness/commands/list.js');
  const committed = readFileSync(join(import.meta.dirname, '..', 'docs', 'reference.md'), 'utf8');
  const generated = listScenarios('md') + '\n';
  assert.ok(generated.includes('## Violation kinds') && generated.split('\n').length > 100);
  assert.equal(committed, generated, 'docs/reference.md differs from the declarations: run npm run docs');
});
