// The resumable form of the model, made by the build from the compiled model (dist/src) into
// dist/resumable/src: every function that can reach an access to emulated memory becomes a
// generator, every call of one a `yield*`, and every access asks the CPU's SequentialMem
// first whether another CPU takes this step (`m.load(p, m.step() && (yield))`). The
// sequential executor (src/machine/controlled.ts, runSequential) then runs every CPU of an
// execution on one thread, switching CPUs where the scheduler says, without a thread
// hand-over. The model is written once: this is build output, never edited, and the tests
// hold the two executors equal (same seed, same schedule, same violations).
//
// What can reach an access is found over the whole model, by name: a function's keys are its
// own name, the property or method name it is stored under, and the parameter it is passed
// as; keys joined by such bindings form one class (union-find), and a class is effectful when
// any function in it makes an access or calls an effectful key. Where that cannot be written
// as a generator (a callback handed to a builtin such as Array.map, a getter, a constructor)
// the build stops and names the place: write a loop there.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'acorn';
import MagicString from 'magic-string';

/** An ESTree node as acorn gives it. */
interface N {
  type: string;
  start: number;
  end: number;
  [k: string]: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** Accesses to emulated memory that are one scheduling point before the access itself. */
const STEP_OPS = new Set(['load', 'store', 'cas', 'add', 'xchg', 'notify']);
/** Accesses with scheduling points of their own: generator methods of SequentialMem. */
const GEN_OPS = new Set(['wait', 'delay']);
/** A window point: a scheduling point and no access. */
const POINT_OP = 'point';
/** The Mem implementations: copied as they are. */
const VERBATIM = new Set(['machine/mem.js', 'machine/controlled.js', 'machine/weak.js']);
/** Not the model: the litmus tests' interpreter, which makes its own scheduling points (left out) */
const NOT_MODEL = /^litmus\//;

/** Names of builtin methods: a model function stored under one of these names and made a
 *  generator would turn every call of the builtin into a yield*. */
const BUILTIN_KEYS = new Set([
  ...Object.getOwnPropertyNames(Array.prototype), ...Object.getOwnPropertyNames(Object.prototype), ...Object.getOwnPropertyNames(Map.prototype),
  ...Object.getOwnPropertyNames(Set.prototype), ...Object.getOwnPropertyNames(String.prototype), ...Object.getOwnPropertyNames(Int32Array.prototype),
  ...Object.getOwnPropertyNames(Object), ...Object.getOwnPropertyNames(Array), ...Object.getOwnPropertyNames(Math), ...Object.getOwnPropertyNames(JSON),
  ...Object.getOwnPropertyNames(Atomics), ...Object.getOwnPropertyNames(Number), 'recordValue', 'encodeIntoCompressedBase64', 'then',
]);

export class ResumableError extends Error {}

/** dist/resumable/MODEL: the compiled model's hash, written by the build */
export const MODEL_ID_FILE = 'MODEL';

interface Fn {
  id: number;
  node: N;
  file: string;
  /** the keys it is bound to: its name, a property or method name, a parameter */
  keys: string[];
  /** where it stands: may it become a generator, and how */
  pos: 'decl' | 'expr' | 'method' | 'arrow' | 'fixed';
  /** why it cannot become a generator (pos 'fixed') */
  why?: string;
  /** a method: where its key starts (the star goes there) */
  keyStart?: number;
  /** passed as an argument: the callee's key (a model function may take a generator, a
   *  builtin may not) */
  argOf?: string | null;
  /** parameter names by position (null: a pattern) */
  params: (string | null)[];
  /** accesses to emulated memory in its own body */
  accesses: N[];
  /** calls in its own body: the callee's key (null: not a name) */
  calls: { node: N; key: string | null }[];
}

interface Module {
  file: string;
  code: string;
  ast: N;
}

/** Every child node of n. */
function children(n: N): N[] {
  const out: N[] = [];
  for (const k of Object.keys(n)) {
    if (k === 'type' || k === 'start' || k === 'end') continue;
    const v = n[k];
    if (Array.isArray(v)) {
      for (const x of v) if (x && typeof x.type === 'string') out.push(x);
    } else if (v && typeof v.type === 'string') out.push(v);
  }
  return out;
}

const isFn = (n: N): boolean => n.type === 'FunctionDeclaration' || n.type === 'FunctionExpression' || n.type === 'ArrowFunctionExpression';

function keyName(k: N, computed: boolean): string | null {
  if (computed) return k.type === 'Literal' && typeof k.value === 'string' ? k.value : null;
  return k.type === 'Identifier' ? k.name : k.type === 'Literal' ? String(k.value) : k.type === 'PrivateIdentifier' ? `#${k.name}` : null;
}

/** The receiver of a Mem access: `m`, `mem`, or anything ending in `.mem`. */
function isMemReceiver(o: N): boolean {
  return (o.type === 'Identifier' && (o.name === 'm' || o.name === 'mem')) || (o.type === 'MemberExpression' && !o.computed && o.property.type === 'Identifier' && o.property.name === 'mem');
}

/** A call's Mem access name, or null. */
function memOp(call: N): string | null {
  const c = call.callee;
  if (call.type !== 'CallExpression' || c.type !== 'MemberExpression' || c.computed || c.property.type !== 'Identifier') return null;
  const op = c.property.name as string;
  if (!(STEP_OPS.has(op) || GEN_OPS.has(op) || op === POINT_OP) || !isMemReceiver(c.object)) return null;
  return op;
}

/** The key a call's callee names: f(...) -> f, x.f(...) -> f. */
function calleeKey(call: N): string | null {
  const c = call.callee;
  if (c.type === 'Identifier') return c.name;
  if (c.type === 'MemberExpression') return keyName(c.property, c.computed);
  return null;
}

class UnionFind {
  private readonly parent = new Map<string, string>();
  find(x: string): string {
    let p = this.parent.get(x) ?? x;
    if (p !== x) {
      p = this.find(p);
      this.parent.set(x, p);
    }
    return p;
  }
  union(a: string, b: string): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra !== rb) this.parent.set(ra, rb);
  }
}

/** The function values an argument or property value may hold: keys of names and members,
 *  both sides of `a ?? b`, `a || b`, `c ? a : b`. */
function valueKeys(v: N, fnOf: Map<N, Fn>): string[] {
  if (v.type === 'Identifier') return [v.name];
  if (v.type === 'MemberExpression') {
    const k = keyName(v.property, v.computed);
    return k ? [k] : [];
  }
  if (v.type === 'LogicalExpression') return [...valueKeys(v.left, fnOf), ...valueKeys(v.right, fnOf)];
  if (v.type === 'ConditionalExpression') return [...valueKeys(v.consequent, fnOf), ...valueKeys(v.alternate, fnOf)];
  const f = fnOf.get(v);
  return f ? [`#${f.id}`] : [];
}

/** Reads the model's modules, finds what is effectful, and rewrites them. */
export function resumable(modules: Module[]): Map<string, string> {
  const fns: Fn[] = [];
  const fnOf = new Map<N, Fn>();
  const uf = new UnionFind();
  /** functions by each key they are bound to directly (for argument-parameter bindings) */
  const byKey = new Map<string, Fn[]>();
  const bindings: [string, N][] = []; // property key or parameter -> a value
  const argBindings: { key: string; index: number; value: N }[] = [];

  // 1. every function, its position and keys; its own accesses and calls
  for (const mod of modules) {
    const visit = (n: N, parent: N | null, owner: Fn | null): void => {
      let here = owner;
      if (isFn(n)) {
        const f: Fn = { id: fns.length, node: n, file: mod.file, keys: [], pos: 'fixed', params: n.params.map((p: N) => (p.type === 'Identifier' ? p.name : p.type === 'AssignmentPattern' && p.left.type === 'Identifier' ? p.left.name : null)), accesses: [], calls: [] };
        fns.push(f);
        fnOf.set(n, f);
        const arrow = n.type === 'ArrowFunctionExpression';
        const to = arrow ? 'arrow' : 'expr';
        if (n.type === 'FunctionDeclaration') {
          f.pos = 'decl';
          if (n.id) f.keys.push(n.id.name);
        } else if (parent?.type === 'VariableDeclarator' && parent.init === n && parent.id.type === 'Identifier') {
          f.pos = to;
          f.keys.push(parent.id.name);
        } else if (parent?.type === 'Property' && parent.value === n && parent.kind === 'init') {
          f.pos = parent.method ? 'method' : to;
          f.keyStart = parent.computed ? code(mod).lastIndexOf('[', parent.key.start) : parent.key.start;
          const k = keyName(parent.key, parent.computed);
          if (k) f.keys.push(k);
        } else if (parent?.type === 'MethodDefinition' && parent.value === n) {
          const k = keyName(parent.key, parent.computed);
          if (parent.kind === 'method' && k) {
            f.pos = 'method';
            f.keyStart = parent.computed ? code(mod).lastIndexOf('[', parent.key.start) : parent.key.start;
            f.keys.push(k);
          } else f.why = `a ${parent.kind} cannot be a generator`;
        } else if (parent?.type === 'CallExpression' && parent.arguments.includes(n)) {
          f.pos = to;
          f.argOf = calleeKey(parent);
          if (f.argOf) argBindings.push({ key: f.argOf, index: parent.arguments.indexOf(n), value: n });
        } else {
          f.why = 'a function in this position';
        }
        if (arrow && usesThis(n.body)) {
          f.pos = 'fixed';
          f.why = 'an arrow function that uses this';
        }
        f.keys.push(`#${f.id}`);
        for (const k of f.keys) {
          uf.union(k, `#${f.id}`);
          if (!k.startsWith('#')) byKey.set(k, [...(byKey.get(k) ?? []), f]);
        }
        here = f;
      }
      if (n.type === 'CallExpression' && here) {
        if (memOp(n)) here.accesses.push(n);
        else here.calls.push({ node: n, key: calleeKey(n) });
        const key = calleeKey(n);
        if (key) n.arguments.forEach((a: N, i: number) => (isFn(a) ? null : argBindings.push({ key, index: i, value: a })));
      }
      if (n.type === 'Property' && n.kind === 'init' && !isFn(n.value)) {
        const k = keyName(n.key, n.computed);
        if (k) bindings.push([k, n.value]);
      }
      if (n.type === 'ImportSpecifier' && n.imported.name !== n.local.name) uf.union(n.imported.name, n.local.name);
      for (const ch of children(n)) visit(ch, n, here);
    };
    visit(mod.ast, null, null);
  }
  // 2. bindings: a property holding a function is that function's key too; a function passed
  //    as an argument is bound to the parameter it is passed as, in every function of the
  //    callee's key (a function stored under that key by name counts: `freeTables: freeAll`).
  //    Only names that hold functions take part: a key of a function, or (to a fixpoint) a
  //    property that holds one
  const fnKeys = new Set<string>(byKey.keys());
  for (let grew = true; grew; ) {
    grew = false;
    for (const [k, v] of bindings) {
      if (!fnKeys.has(k) && valueKeys(v, fnOf).some((x) => fnKeys.has(x) || x.startsWith('#'))) {
        fnKeys.add(k);
        grew = true;
      }
    }
  }
  const fnValues = (v: N): string[] => valueKeys(v, fnOf).filter((x) => fnKeys.has(x) || x.startsWith('#'));
  for (const [k, v] of bindings) for (const x of fnValues(v)) uf.union(k, x);
  const definitions = (key: string): Fn[] => {
    const direct = byKey.get(key) ?? [];
    const aliased = bindings.filter(([k]) => k === key).flatMap(([, v]) => fnValues(v).flatMap((x) => byKey.get(x) ?? []));
    return [...new Set([...direct, ...aliased])];
  };
  for (const { key, index, value } of argBindings) {
    const vals = fnValues(value);
    if (vals.length === 0) continue;
    for (const d of definitions(key)) {
      const p = d.params[index];
      if (p) for (const x of vals) uf.union(p, x);
    }
  }
  // 3. effectful classes, to a fixpoint
  const effectful = new Set<string>();
  for (const f of fns) if (f.accesses.length > 0) effectful.add(uf.find(`#${f.id}`));
  for (let changed = true; changed; ) {
    changed = false;
    for (const f of fns) {
      const cls = uf.find(`#${f.id}`);
      if (effectful.has(cls)) continue;
      if (f.calls.some((c) => c.key !== null && effectful.has(uf.find(c.key)))) {
        effectful.add(cls);
        changed = true;
      }
    }
  }
  const isGen = (f: Fn): boolean => effectful.has(uf.find(`#${f.id}`));
  const effectfulCall = (c: N): boolean => {
    const k = calleeKey(c);
    return k !== null && effectful.has(uf.find(k)) && c.type === 'CallExpression';
  };
  // 4. what cannot be written as generators
  const errors: string[] = [];
  const where = (f: Fn, n: N): string => {
    const m = modules.find((x) => x.file === f.file)!;
    const line = m.code.slice(0, n.start).split('\n').length;
    return `${f.file}:${line}`;
  };
  for (const f of fns) {
    if (!isGen(f)) continue;
    if (f.pos === 'fixed') errors.push(`${where(f, f.node)}: ${f.why} reaches an access to emulated memory (write a loop, or name the function)`);
    else if (f.argOf !== undefined && (f.argOf === null || !fnKeys.has(f.argOf))) errors.push(`${where(f, f.node)}: a function passed to ${f.argOf ?? 'a call'}() (not a model function) reaches an access to emulated memory: write a loop`);
    for (const k of f.keys) if (!k.startsWith('#') && BUILTIN_KEYS.has(k)) errors.push(`${where(f, f.node)}: an effectful function named '${k}', a builtin's name`);
  }
  // 5. rewrite
  const out = new Map<string, string>();
  for (const mod of modules) {
    const s = new MagicString(mod.code);
    const rewrite = (n: N, gen: boolean, fn: Fn | null): void => {
      let inGen = gen;
      let owner = fn;
      if (isFn(n)) {
        owner = fnOf.get(n)!;
        inGen = isGen(owner);
      }
      for (const ch of children(n)) rewrite(ch, inGen, owner);
      // (post-order: an inner call's prefix is written before the outer one's, so that the
      // outer prefix lands first at a shared start)
      if (isFn(n) && inGen) toGenerator(s, mod.code, n, owner!);
      if (n.type !== 'CallExpression') return;
      if (!owner) {
        if (memOp(n) !== null || effectfulCall(n)) errors.push(`${mod.file}:${mod.code.slice(0, n.start).split('\n').length}: an access or effectful call at module level`);
        return;
      }
      const op = memOp(n);
      if (op !== null) {
        if (!inGen) return; // (unreachable: an access makes its function a generator)
        const recv = mod.code.slice(n.callee.object.start, n.callee.object.end);
        if (op === POINT_OP) {
          s.prependLeft(n.start, '(');
          s.appendLeft(n.end, ' && (yield))');
        } else if (GEN_OPS.has(op)) {
          s.prependLeft(n.start, '(yield* ');
          s.appendLeft(n.end, ')');
        } else {
          // the scheduling point as one argument more, after the access's own: the model as
          // written evaluates the arguments (which may hold accesses of their own) and then
          // takes the turn inside the access; so does this (the access ignores the extra one)
          s.appendLeft(n.end - 1, `${n.arguments.length ? ', ' : ''}${recv}.step() && (yield)`);
        }
        return;
      }
      if (!effectfulCall(n)) return;
      if (n.optional || n.callee.optional) errors.push(`${where(owner, n)}: an optional call of an effectful function`);
      if (!inGen) {
        errors.push(`${where(owner, n)}: an effectful call in a function that cannot be a generator`);
        return;
      }
      s.prependLeft(n.start, '(yield* ');
      s.appendLeft(n.end, ')');
    };
    rewrite(mod.ast, false, null);
    out.set(mod.file, s.toString());
  }
  if (errors.length) throw new ResumableError(`the resumable form cannot be built:\n${[...new Set(errors)].join('\n')}`);
  return out;
}

const code = (m: Module): string => m.code;

function usesThis(n: N): boolean {
  if (n.type === 'ThisExpression') return true;
  if (n.type === 'FunctionDeclaration' || n.type === 'FunctionExpression') return false;
  return children(n).some(usesThis);
}

/** Rewrites function f as a generator. */
function toGenerator(s: MagicString, code: string, n: N, f: Fn): void {
  if (n.generator) return;
  if (n.async) throw new ResumableError(`${f.file}: an async function cannot be made resumable`);
  if (f.pos === 'method') {
    // `name(...) {` (object or class method) -> `*name(...) {`
    s.prependLeft(f.keyStart!, '*');
    return;
  }
  if (n.type === 'ArrowFunctionExpression') {
    const arrowAt = code.indexOf('=>', n.params.length ? n.params[n.params.length - 1].end : n.start);
    let params = code.slice(n.start, arrowAt).trim();
    if (!params.startsWith('(')) params = `(${params})`;
    if (n.body.type === 'BlockStatement') {
      s.overwrite(n.start, arrowAt + 2, `function* ${params}`);
    } else {
      s.overwrite(n.start, arrowAt + 2, `function* ${params} { return`);
      s.appendLeft(n.end, '; }');
    }
    return;
  }
  // function f(...) / function (...): the star after the keyword
  const kw = code.indexOf('function', n.start);
  s.appendLeft(kw + 'function'.length, '*');
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : e.name.endsWith('.js') ? [join(dir, e.name)] : []));
}

/** dist/src -> dist/resumable/src. */
export function buildResumable(distDir: string): { files: number; generators: number } {
  const from = join(distDir, 'src');
  const to = join(distDir, 'resumable', 'src');
  const modules: Module[] = [];
  const verbatim: [string, string][] = [];
  for (const path of filesUnder(from)) {
    const file = relative(from, path).split('\\').join('/');
    if (NOT_MODEL.test(file)) continue;
    const code = readFileSync(path, 'utf8');
    if (VERBATIM.has(file)) verbatim.push([file, code]);
    else modules.push({ file, code, ast: parse(code, { ecmaVersion: 'latest', sourceType: 'module' }) as unknown as N });
  }
  const out = resumable(modules);
  rmSync(to, { recursive: true, force: true });
  // the model's fingerprint: a schedule recorded by another model does not replay on this one
  const model = createHash('sha256');
  for (const m of [...modules.map((x) => [x.file, x.code]), ...verbatim].sort((a, b) => (a[0] < b[0] ? -1 : 1))) model.update(`${m[0]}\0${m[1]}\0`);
  mkdirSync(to, { recursive: true });
  writeFileSync(join(to, '..', MODEL_ID_FILE), model.digest('hex').slice(0, 16) + '\n');
  let generators = 0;
  const header = '// build output (build/resumable.ts): the resumable form of the model. Never edited.\n';
  for (const [file, code] of [...out, ...verbatim]) {
    mkdirSync(dirname(join(to, file)), { recursive: true });
    writeFileSync(join(to, file), header + code);
    generators += (code.match(/function\*|\*[\w$#]+\(/g) ?? []).length;
  }
  return { files: out.size + verbatim.length, generators };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const dist = join(dirname(fileURLToPath(import.meta.url)), '..');
  try {
    const { files, generators } = buildResumable(dist);
    process.stdout.write(`resumable: ${files} modules, ${generators} generator functions -> ${join(dist, 'resumable')}\n`);
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(1);
  }
}
