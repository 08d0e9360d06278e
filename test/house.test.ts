// The house: every source file says what it holds in its opening comment, the import graph
// (type imports included) has no circle, and the rooms import downwards only: harness/commands
// -> harness/output -> harness/run -> src; workers/ -> harness/run, src.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { test } from 'node:test';

const ROOT = join(import.meta.dirname, '..');
const FOLDERS = ['harness', 'src', 'workers'];

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    return e.isDirectory() ? sources(p) : /\.(ts|mjs)$/.test(e.name) ? [p] : [];
  });
}

const FILES = FOLDERS.flatMap(sources).sort();
const IMPORT = /(?:^|\n)\s*(?:import|export)\b[^'";]*?from\s*'(\.[^']+)'|import\(\s*'(\.[^']+)'\s*\)|(?:^|\n)import\s*'(\.[^']+)'/g;

/** Each file's relative imports, as repository paths of .ts files. */
function graph(): Map<string, string[]> {
  const g = new Map<string, string[]>();
  for (const f of FILES) {
    const text = readFileSync(join(ROOT, f), 'utf8');
    const deps = [...text.matchAll(IMPORT)].map((m) => normalize(join(dirname(f), m[1] ?? m[2] ?? m[3])).replace(/\.js$/, '.ts'));
    g.set(f, deps.filter((d) => FILES.includes(d)));
  }
  return g;
}

/** The first circle found, as a path of files, or null. */
function circle(g: Map<string, string[]>): string[] | null {
  const state = new Map<string, 1 | 2>();
  const path: string[] = [];
  const visit = (f: string): string[] | null => {
    if (state.get(f) === 2) return null;
    if (state.get(f) === 1) return [...path.slice(path.indexOf(f)), f];
    state.set(f, 1);
    path.push(f);
    for (const d of g.get(f) ?? []) {
      const c = visit(d);
      if (c) return c;
    }
    path.pop();
    state.set(f, 2);
    return null;
  };
  for (const f of g.keys()) {
    const c = visit(f);
    if (c) return c;
  }
  return null;
}

const room = (f: string): string => (f.startsWith('harness/') && f.split('/').length > 2 ? f.split('/').slice(0, 2).join('/') : f.split('/')[0]);
/** Which rooms each room may import from (its own always). */
const MAY: Record<string, string[]> = {
  harness: ['harness/commands', 'harness/output', 'harness/run', 'src'],
  'harness/commands': ['harness/output', 'harness/run', 'src'],
  'harness/output': ['harness/run', 'src'],
  'harness/run': ['src'],
  workers: ['harness/run', 'src'],
  src: [],
};

test('every source file opens with a comment saying what it holds', () => {
  const bare = FILES.filter((f) => !/^(#![^\n]*\n)?(\/\/ \S|\/\*)/.test(readFileSync(join(ROOT, f), 'utf8')));
  assert.deepEqual(bare, []);
});

test('no import circle, type imports included', () => {
  const g = graph();
  assert.ok([...g.values()].flat().length > 200, 'the import graph was read');
  assert.equal(circle(g)?.join(' -> ') ?? null, null);
});

test('the rooms import downwards only', () => {
  const wrong: string[] = [];
  for (const [f, deps] of graph()) {
    for (const d of deps) if (room(d) !== room(f) && !MAY[room(f)].includes(room(d))) wrong.push(`${f} -> ${relative('.', d)}`);
  }
  assert.deepEqual(wrong, []);
});

test('the circle finder finds a circle', () => {
  assert.deepEqual(circle(new Map([['a', ['b']], ['b', ['c']], ['c', ['a']]])), ['a', 'b', 'c', 'a']);
  assert.equal(circle(new Map([['a', ['b']], ['b', []]])), null);
});
