import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { LitmusParseError, parseLitmus, type Cond, type Expr, type LitmusTest, type Stmt } from '../src/litmus/parse.js';

// the kernel's 47 tests: on the development machine (../shared), not in a user's clone
const ROOT = join(import.meta.dirname, '..', '..', 'shared', 'litmus', 'linux');
const HAVE = existsSync(ROOT);
const skip = !HAVE && 'no ../shared/litmus/linux here';

/** MANIFEST.tsv: path, stated result, process count (with a header row). */
const manifest = new Map<string, { result: string; procs: number }>();
for (const row of HAVE ? readFileSync(join(ROOT, 'MANIFEST.tsv'), 'utf8').split('\n').slice(1) : []) {
  if (!row.trim()) continue;
  const [path = '', result = '', procs = ''] = row.split('\t');
  manifest.set(path, { result, procs: Number(procs) });
}

const files = HAVE ? readdirSync(ROOT, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.litmus')).sort() : [];

const load = (rel: string): LitmusTest => parseLitmus(readFileSync(join(ROOT, rel), 'utf8'), rel);
const find = (name: string): LitmusTest => {
  const rel = files.find((f) => basename(f, '.litmus') === name);
  assert.ok(rel, `no test named ${name}`);
  return load(rel);
};

/** Drops `line` fields so that statement shapes can be compared. */
const shape = (body: Stmt[]): unknown[] =>
  body.map((s) => (s.k === 'if' ? { k: 'if', cond: s.cond, then: shape(s.then), else: shape(s.else) } : { ...s, line: undefined }));

// Small AST builders for readable expectations.
const name = (n: string): Expr => ({ k: 'name', name: n });
const num = (v: number): Expr => ({ k: 'num', v });
const deref = (n: string): Expr => ({ k: 'deref', e: name(n) });
const call = (fn: string, ...args: Expr[]): Expr => ({ k: 'call', fn, args });
const assign = (to: Expr, e: Expr): Expr => ({ k: 'assign', to, e });
const ex = (e: Expr) => ({ k: 'expr', e, line: undefined });
const decl = (type: string, n: string, init: Expr | null = null) => ({ k: 'decl', type, name: n, init, line: undefined });
const regEq = (proc: number, reg: string, v: number): Cond => ({ k: 'eq', lhs: { proc, reg }, rhs: { k: 'int', v } });

test('the corpus holds the 47 files listed in MANIFEST.tsv', { skip }, () => {
  assert.equal(files.length, 47);
  assert.deepEqual([...manifest.keys()].sort(), files);
});

for (const rel of files) {
  test(`parses ${rel}`, () => {
    const t = load(rel);
    const m = manifest.get(rel);
    assert.ok(m, `${rel} missing from MANIFEST.tsv`);
    assert.equal(t.name, basename(rel, '.litmus'));
    assert.equal(t.result, m.result);
    assert.equal(t.procs.length, m.procs);
    assert.deepEqual(t.procs.map((p) => p.id), t.procs.map((_, i) => i));
    assert.ok(t.cond, 'every test has a final condition');
  });
}

test('MP+onceassign+derefonce: pointer init, pointer-typed params, P1 body, pointer in exists', { skip }, () => {
  const t = find('MP+onceassign+derefonce');
  assert.deepEqual(t.init, [{ loc: 'p', value: { k: 'ptr', to: 'y' }, type: null }]);
  assert.deepEqual(t.procs[1]!.params, [{ name: 'x', type: 'int *' }, { name: 'p', type: 'int **' }]);
  assert.deepEqual(shape(t.procs[1]!.body), [
    decl('int *', 'r0'),
    decl('int', 'r1'),
    ex(call('rcu_read_lock')),
    ex(assign(name('r0'), call('rcu_dereference', deref('p')))),
    ex(assign(name('r1'), call('READ_ONCE', deref('r0')))),
    ex(call('rcu_read_unlock')),
  ]);
  assert.deepEqual(t.procs[1]!.body.map((s) => s.line), [24, 25, 27, 28, 29, 30]);
  assert.deepEqual(t.cond, {
    kind: 'exists',
    e: { k: 'and', a: { k: 'eq', lhs: { proc: 1, reg: 'r0' }, rhs: { k: 'ptr', to: 'x' } }, b: regEq(1, 'r1', 0) },
  });
});

test('RM-broken: DEADLOCK result, typed init, filter and locations', { skip }, () => {
  const t = find('RM-broken');
  assert.equal(t.result, 'DEADLOCK');
  assert.deepEqual(t.resultExtra, []);
  assert.deepEqual(t.init, [
    { loc: 'x', value: { k: 'int', v: 0 }, type: 'int' },
    { loc: 'y', value: { k: 'int', v: 0 }, type: 'atomic_t' },
  ]);
  assert.deepEqual(t.procs[0]!.params.map((p) => p.type), ['int *', 'atomic_t *', 'spinlock_t *']);
  assert.deepEqual(t.filter, { k: 'and', a: regEq(1, 'r0', 0), b: regEq(1, 'r1', 1) });
  assert.deepEqual(t.locations, ['x', '0:r2', '1:r0', '1:r1', '1:r2']);
  assert.deepEqual(t.cond, { kind: 'exists', e: regEq(1, 'r2', 1) });
});

test('dep+plain: initialised declaration, plain accesses, brace-less if', { skip }, () => {
  const t = find('dep+plain');
  assert.deepEqual(shape(t.procs[0]!.body), [
    decl('int', 'a', call('READ_ONCE', deref('x'))),
    ex(assign(deref('z1'), name('a'))),
    ex(assign(deref('z2'), deref('z1'))),
    { k: 'if', cond: { k: 'bin', op: '==', a: deref('z2'), b: num(1) }, then: [ex(call('WRITE_ONCE', deref('y'), num(1)))], else: [] },
  ]);
  assert.equal(t.procs[0]!.body[0]!.line, 18);
  assert.deepEqual(t.cond?.e, {
    k: 'and',
    a: { k: 'eq', lhs: { loc: 'x' }, rhs: { k: 'int', v: 1 } },
    b: { k: 'eq', lhs: { loc: 'y' }, rhs: { k: 'int', v: 1 } },
  });
});

test('DCL-broken: nested braced ifs and an or-condition', { skip }, () => {
  const t = find('DCL-broken');
  const eq0 = (r: string): Expr => ({ k: 'bin', op: '==', a: name(r), b: num(0) });
  assert.deepEqual(shape(t.procs[0]!.body).slice(3), [
    ex(assign(name('r0'), call('READ_ONCE', deref('flag')))),
    {
      k: 'if', cond: eq0('r0'), else: [], then: [
        ex(call('spin_lock', name('lck'))),
        ex(assign(name('r1'), call('READ_ONCE', deref('flag')))),
        { k: 'if', cond: eq0('r1'), else: [], then: [ex(call('WRITE_ONCE', deref('data'), num(1))), ex(call('WRITE_ONCE', deref('flag'), num(1)))] },
        ex(call('spin_unlock', name('lck'))),
      ],
    },
    ex(assign(name('r2'), call('READ_ONCE', deref('data')))),
  ]);
  assert.deepEqual(t.locations, ['flag', 'data', '0:r0', '0:r1', '1:r0', '1:r1']);
  assert.deepEqual(t.cond, { kind: 'exists', e: { k: 'or', a: regEq(0, 'r2', 0), b: regEq(1, 'r2', 0) } });
});

test('ATOMIC_INIT, (void) casts, int *y = &x', { skip }, () => {
  const a = find('Atomic-RMW-ops-are-atomic-WRT-atomic_set');
  assert.deepEqual(a.init, [{ loc: 'v', value: { k: 'int', v: 1 }, type: 'atomic_t' }]);
  assert.deepEqual(a.procs[0]!.body, [{ k: 'expr', e: call('atomic_add_unless', name('v'), num(1), num(0)), line: 16, voidCast: true }]);
  const r = find('RCU+sync+free');
  assert.deepEqual(r.init[1], { loc: 'y', value: { k: 'ptr', to: 'x' }, type: 'int *' });
});

test('synthetic: register init, ~exists, !=, (*x) in C code, Result extras, comments', () => {
  const t = parseLitmus(
    [
      'C synth',
      '(* Result: Sometimes DATARACE *)',
      '{ 0:r1=0; x=-1; int *q = &x; }',
      'P0(int *x, int **q) /* c */ { int r0, *r1; r0 = (*x) + 1; if (!r0 && r0 != 2) r0 = 1; else { r1 = *q; } }',
      'locations [x]',
      '~exists (0:r0=1 \\/ ~(x!=0:r1 /\\ true)) (* trailing *)',
    ].join('\n'),
    'synth.litmus',
  );
  assert.equal(t.result, 'Sometimes');
  assert.deepEqual(t.resultExtra, ['DATARACE']);
  assert.deepEqual(t.regInit, [{ proc: 0, reg: 'r1', value: { k: 'int', v: 0 } }]);
  assert.deepEqual(t.init.map((i) => i.value), [{ k: 'int', v: -1 }, { k: 'ptr', to: 'x' }]);
  assert.deepEqual(shape(t.procs[0]!.body).slice(0, 3), [
    decl('int', 'r0'),
    decl('int *', 'r1'),
    ex(assign(name('r0'), { k: 'bin', op: '+', a: deref('x'), b: num(1) })),
  ]);
  assert.equal(t.cond?.kind, '~exists');
  assert.deepEqual(t.cond?.e, {
    k: 'or',
    a: regEq(0, 'r0', 1),
    b: { k: 'not', a: { k: 'and', a: { k: 'ne', lhs: { loc: 'x' }, rhs: { k: 'loc', loc: { proc: 0, reg: 'r1' } } }, b: { k: 'true' } } },
  });
});

/** Asserts that parsing throws a one-line LitmusParseError starting with `bad.litmus:LINE: `. */
function rejects(src: string, line: number, what: RegExp): void {
  assert.throws(
    () => parseLitmus(src, 'bad.litmus'),
    (err: unknown) => {
      assert.ok(err instanceof LitmusParseError);
      assert.ok(err.message.startsWith(`bad.litmus:${line}: `), err.message);
      assert.match(err.message, what);
      assert.ok(!err.message.includes('\n'));
      assert.equal(err.line, line);
      return true;
    },
  );
}

test('malformed input throws LitmusParseError naming the line', () => {
  const head = 'C bad\n(* Result: Never *)\n{}\nP0(int *x)\n{\n\tint r0;\n';
  rejects(head + '\twhile (r0) r0 = 1;\n}\nexists (0:r0=0)\n', 7, /'while' statement is not supported/);
  rejects(head + '\tr0 = READ_ONCE(*x)\n}\nexists (0:r0=0)\n', 8, /expected ';'/);
  rejects(head + '}\nexists (0:r0=0 /\\ )\n', 8, /expected a location/);
  rejects(head + '}\nP2(int *y) {}\n', 8, /expected process P1/);
  rejects('C bad\n(* Result: Never\n{}\n', 2, /unterminated comment/);
  rejects('\n  oops\n', 2, /expected 'C NAME'/);
});
