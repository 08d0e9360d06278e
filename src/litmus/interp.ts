// A litmus test's processes run on the controlled executor: each a generator over its CPU's
// SequentialMem, every shared access a scheduling point first (as the model's resumable form
// makes them), every kernel primitive mapped by name onto the same accesses, orderings and
// fences the page-table model uses (mem.ts), spin locks through src/sync/spinlock.ts's words.
import { ACQUIRE, ADDR_DEP, type Fence, MB_AFTER_ATOMIC, MB_BEFORE_ATOMIC, RELAXED, RELEASE, SMP_MB, SMP_RMB, SMP_WMB } from '../machine/mem.js';
import type { SequentialMem } from '../machine/controlled.js';
import { spinRelease, spinTakeContended, spinTrylock } from '../sync/spinlock.js';
import type { Cond, CondLoc, Expr, LitmusTest, Proc, Stmt, Value } from './parse.js';

/** A pointer's value: PTR_BASE + the word of the location it points to. */
export const PTR_BASE = 0x10000;
/** a wait that never times out (in logical time: far past any litmus execution) */
const FOREVER_MS = 1e6;

/** Why a test cannot run here: a construct the interpreter does not model. */
export class LitmusUnsupported extends Error {}

/** The words of a test: each shared location one, then each process's RCU reader word. */
export interface Layout {
  words: number;
  loc: Map<string, number>;
  rcu: number[];
}

export function layoutOf(t: LitmusTest): Layout {
  const loc = new Map<string, number>();
  const add = (n: string): void => {
    if (!loc.has(n)) loc.set(n, loc.size);
  };
  for (const i of t.init) add(i.loc);
  for (const p of t.procs) for (const a of p.params) add(a.name);
  for (const i of t.init) if (i.value.k === 'ptr') add(i.value.to);
  const rcu = t.procs.map((_, i) => loc.size + i);
  return { words: loc.size + t.procs.length, loc, rcu };
}

function valueOf(L: Layout, v: Value): number {
  if (v.k === 'int') return v.v;
  const w = L.loc.get(v.to);
  if (w === undefined) throw new LitmusUnsupported(`a pointer to ${v.to}, which is no location of the test`);
  return PTR_BASE + w;
}

/** The memory at the start: the init block's values. */
export function initialMemory(t: LitmusTest, L: Layout, m: Int32Array): void {
  m.fill(0, 0, L.words);
  for (const i of t.init) m[L.loc.get(i.loc)!] = valueOf(L, i.value);
}

/** A register: its value, and whether it came from a load (an address made of it is a
 *  dependency on that load: ADDR_DEP). */
interface Reg { v: number; dep: boolean }

const FENCES: Record<string, Fence> = {
  smp_mb: SMP_MB, smp_rmb: SMP_RMB, smp_wmb: SMP_WMB, smp_mb__before_atomic: MB_BEFORE_ATOMIC, smp_mb__after_atomic: MB_AFTER_ATOMIC, smp_mb__after_spinlock: SMP_MB,
  smp_mb__after_unlock_lock: SMP_MB,
};

/** The ordering a kernel name's suffix gives a read-modify-write */
function rmwOrder(fn: string): number {
  if (fn.endsWith('_relaxed')) return RELAXED;
  if (fn.endsWith('_acquire')) return ACQUIRE;
  if (fn.endsWith('_release')) return RELEASE;
  return 0;
}

/** The body of process p as a generator over its memory; its registers end in `regs`. */
export function* runProc(t: LitmusTest, L: Layout, p: Proc, mem: SequentialMem, regs: Map<string, number>): Generator<undefined, void, undefined> {
  const R = new Map<string, Reg>();
  for (const r of t.regInit) if (r.proc === p.id) R.set(r.reg, { v: valueOf(L, r.value), dep: false });
  const params = new Set(p.params.map((x) => x.name));
  const word = (v: number): number => {
    const w = v - PTR_BASE;
    if (w < 0 || w >= L.loc.size) throw new LitmusUnsupported(`P${p.id} dereferences ${v}, which is no pointer`);
    return w;
  };
  function* step(): Generator<undefined, void, undefined> {
    if (mem.step()) yield;
  }
  // a pointer expression: its value and whether it depends on a load
  function* ptr(e: Expr): Generator<undefined, Reg, undefined> {
    if (e.k === 'addr' && e.e.k === 'name' && L.loc.has(e.e.name)) return { v: PTR_BASE + L.loc.get(e.e.name)!, dep: false };
    return yield* rvalue(e);
  }
  // the location an lvalue names (*E, or a location by name)
  function* lvalue(e: Expr): Generator<undefined, Reg, undefined> {
    if (e.k === 'deref') return yield* ptr(e.e);
    if (e.k === 'name' && !R.has(e.name) && L.loc.has(e.name) && !params.has(e.name)) return { v: PTR_BASE + L.loc.get(e.name)!, dep: false };
    throw new LitmusUnsupported(`P${p.id}: ${JSON.stringify(e)} is not a location`);
  }
  function* load(a: Reg, ord: number): Generator<undefined, Reg, undefined> {
    yield* step();
    return { v: mem.load(word(a.v), a.dep && ord === 0 ? ADDR_DEP : ord), dep: true };
  }
  function* store(a: Reg, v: number, ord: number): Generator<undefined, void, undefined> {
    yield* step();
    mem.store(word(a.v), v, ord);
  }
  function* args(e: Expr & { k: 'call' }, n: number): Generator<undefined, Reg[], undefined> {
    if (e.args.length !== n) throw new LitmusUnsupported(`P${p.id}: ${e.fn} with ${e.args.length} arguments`);
    const out: Reg[] = [];
    for (const a of e.args) out.push(yield* rvalue(a));
    return out;
  }
  function* call(e: Expr & { k: 'call' }): Generator<undefined, Reg, undefined> {
    const fn = e.fn;
    const none: Reg = { v: 0, dep: false };
    if (fn in FENCES) {
      mem.fence(FENCES[fn]);
      return none;
    }
    switch (fn) {
      case 'READ_ONCE': case 'rcu_dereference': return yield* load(yield* lvalue(e.args[0]), 0);
      case 'WRITE_ONCE': { const a = yield* lvalue(e.args[0]); const v = yield* rvalue(e.args[1]); yield* store(a, v.v, 0); return none; }
      case 'rcu_assign_pointer': { const a = yield* lvalue(e.args[0]); const v = yield* rvalue(e.args[1]); yield* store(a, v.v, RELEASE); return none; }
      case 'smp_load_acquire': case 'atomic_read_acquire': return yield* load(yield* ptr(e.args[0]), ACQUIRE);
      case 'atomic_read': return yield* load(yield* ptr(e.args[0]), 0);
      case 'smp_store_release': case 'atomic_set_release': { const a = yield* ptr(e.args[0]); const v = yield* rvalue(e.args[1]); yield* store(a, v.v, RELEASE); return none; }
      case 'atomic_set': { const a = yield* ptr(e.args[0]); const v = yield* rvalue(e.args[1]); yield* store(a, v.v, 0); return none; }
      case 'spin_lock': {
        const a = yield* ptr(e.args[0]);
        yield* step();
        if (spinTrylock(mem, word(a.v))) return none;
        for (;;) {
          yield* step();
          if (spinTakeContended(mem, word(a.v))) return none;
          yield* mem.wait(word(a.v), 2, FOREVER_MS);
        }
      }
      case 'spin_trylock': { const a = yield* ptr(e.args[0]); yield* step(); return { v: spinTrylock(mem, word(a.v)) ? 1 : 0, dep: true }; }
      case 'spin_unlock': {
        const a = yield* ptr(e.args[0]);
        yield* step();
        if (spinRelease(mem, word(a.v))) {
          yield* step();
          mem.notify(word(a.v), 1);
        }
        return none;
      }
      case 'spin_is_locked': { const a = yield* ptr(e.args[0]); const v = yield* load(a, 0); return { v: v.v !== 0 ? 1 : 0, dep: true }; }
      case 'rcu_read_lock': case 'rcu_read_unlock': {
        // the reader marks itself in and out, with a full barrier each side (the kernel's
        // grace-period machinery forces one on a reader's CPU: a context switch, an IPI)
        mem.fence(SMP_MB);
        yield* step();
        mem.store(L.rcu[p.id], fn === 'rcu_read_lock' ? 1 : 0);
        mem.fence(SMP_MB);
        return none;
      }
      case 'synchronize_rcu': {
        // every other reader's section in progress ends first
        mem.fence(SMP_MB);
        for (let q = 0; q < t.procs.length; q++) {
          if (q === p.id) continue;
          for (;;) {
            yield* step();
            if (mem.load(L.rcu[q], ACQUIRE) === 0) break;
            yield* mem.wait(L.rcu[q], 1, FOREVER_MS);
          }
        }
        mem.fence(SMP_MB);
        return none;
      }
    }
    // read-modify-writes, by name and ordering suffix
    const base = fn.replace(/_(relaxed|acquire|release)$/, '');
    const ord = rmwOrder(fn);
    const rmwAdd = function* (a: Reg, d: number, ret: 'old' | 'new' | 'none', o: number): Generator<undefined, Reg, undefined> {
      yield* step();
      const old = mem.add(word(a.v), d, o);
      return { v: ret === 'old' ? old : ret === 'new' ? old + d : 0, dep: true };
    };
    switch (base) {
      case 'xchg': case 'atomic_xchg': { const [a, v] = yield* args(e, 2); yield* step(); return { v: mem.xchg(word(a.v), v.v, ord), dep: true }; }
      case 'cmpxchg': case 'atomic_cmpxchg': { const [a, o, n] = yield* args(e, 3); yield* step(); return { v: mem.cas(word(a.v), o.v, n.v, ord), dep: true }; }
      case 'atomic_inc': case 'atomic_dec': { const [a] = yield* args(e, 1); return yield* rmwAdd(a, base === 'atomic_inc' ? 1 : -1, 'none', RELAXED); }
      case 'atomic_add': case 'atomic_sub': { const [i, a] = yield* args(e, 2); return yield* rmwAdd(a, base === 'atomic_add' ? i.v : -i.v, 'none', RELAXED); }
      case 'atomic_inc_return': case 'atomic_dec_return': { const [a] = yield* args(e, 1); return yield* rmwAdd(a, base === 'atomic_inc_return' ? 1 : -1, 'new', ord); }
      case 'atomic_add_return': case 'atomic_sub_return': { const [i, a] = yield* args(e, 2); return yield* rmwAdd(a, base === 'atomic_add_return' ? i.v : -i.v, 'new', ord); }
      case 'atomic_fetch_add': case 'atomic_fetch_sub': { const [i, a] = yield* args(e, 2); return yield* rmwAdd(a, base === 'atomic_fetch_add' ? i.v : -i.v, 'old', ord); }
      case 'atomic_fetch_inc': case 'atomic_fetch_dec': { const [a] = yield* args(e, 1); return yield* rmwAdd(a, base === 'atomic_fetch_inc' ? 1 : -1, 'old', ord); }
      case 'atomic_add_unless': {
        // fully ordered when it adds; when it does not, it orders nothing
        const [a, i, u] = yield* args(e, 3);
        for (;;) {
          const cur = (yield* load(a, 0)).v;
          if (cur === u.v) return { v: 0, dep: true };
          yield* step();
          if (mem.cas(word(a.v), cur, cur + i.v, 0) === cur) return { v: 1, dep: true };
        }
      }
    }
    throw new LitmusUnsupported(`P${p.id}: ${fn}() is not modelled`);
  }
  function* rvalue(e: Expr): Generator<undefined, Reg, undefined> {
    switch (e.k) {
      case 'num': return { v: e.v, dep: false };
      case 'name': {
        const r = R.get(e.name);
        if (r) return r;
        if (params.has(e.name) && L.loc.has(e.name)) return { v: PTR_BASE + L.loc.get(e.name)!, dep: false }; // a parameter: the pointer
        if (L.loc.has(e.name)) return yield* load({ v: PTR_BASE + L.loc.get(e.name)!, dep: false }, 0); // a plain read of a location
        return { v: 0, dep: false }; // a register declared without a value
      }
      case 'deref': return yield* load(yield* ptr(e.e), 0); // a plain read: as READ_ONCE
      case 'addr': return yield* ptr(e);
      case 'call': return yield* call(e);
      case 'assign': {
        if (e.to.k === 'name' && !L.loc.has(e.to.name)) {
          const v = yield* rvalue(e.e);
          R.set(e.to.name, v);
          return v;
        }
        const a = yield* lvalue(e.to); // a plain write: as WRITE_ONCE
        const v = yield* rvalue(e.e);
        yield* store(a, v.v, 0);
        return v;
      }
      case 'not': { const v = yield* rvalue(e.e); return { v: v.v === 0 ? 1 : 0, dep: v.dep }; }
      case 'bin': {
        const a = yield* rvalue(e.a);
        if (e.op === '&&' && a.v === 0) return { v: 0, dep: a.dep };
        if (e.op === '||' && a.v !== 0) return { v: 1, dep: a.dep };
        const b = yield* rvalue(e.b);
        const dep = a.dep || b.dep;
        const f: Record<string, (x: number, y: number) => number> = {
          '==': (x, y) => +(x === y), '!=': (x, y) => +(x !== y), '+': (x, y) => (x + y) | 0, '-': (x, y) => (x - y) | 0, '&&': (x, y) => +(x !== 0 && y !== 0), '||': (x, y) => +(x !== 0 || y !== 0),
          '&': (x, y) => x & y, '|': (x, y) => x | y, '^': (x, y) => x ^ y, '<': (x, y) => +(x < y), '>': (x, y) => +(x > y), '<=': (x, y) => +(x <= y), '>=': (x, y) => +(x >= y),
        };
        return { v: f[e.op](a.v, b.v), dep };
      }
    }
  }
  function* exec(body: readonly Stmt[]): Generator<undefined, void, undefined> {
    for (const s of body) {
      if (s.k === 'decl') R.set(s.name, s.init ? yield* rvalue(s.init) : { v: 0, dep: false });
      else if (s.k === 'expr') yield* rvalue(s.e);
      else yield* exec((yield* rvalue(s.cond)).v !== 0 ? s.then : s.else);
    }
  }
  yield* exec(p.body);
  for (const [n, r] of R) regs.set(n, r.v);
}

/** A final state's value of a condition's location: a register of a process, or a
 *  location's newest value. */
export function stateValue(L: Layout, m: Int32Array, regs: readonly Map<string, number>[], c: CondLoc): number {
  if ('reg' in c) return regs[c.proc]?.get(c.reg) ?? 0;
  const w = L.loc.get(c.loc);
  if (w === undefined) throw new LitmusUnsupported(`the condition names ${c.loc}, which is no location of the test`);
  return m[w];
}

export function holds(L: Layout, m: Int32Array, regs: readonly Map<string, number>[], c: Cond): boolean {
  switch (c.k) {
    case 'true': return true;
    case 'false': return false;
    case 'not': return !holds(L, m, regs, c.a);
    case 'and': return holds(L, m, regs, c.a) && holds(L, m, regs, c.b);
    case 'or': return holds(L, m, regs, c.a) || holds(L, m, regs, c.b);
    case 'eq': case 'ne': {
      const a = stateValue(L, m, regs, c.lhs);
      const b = c.rhs.k === 'loc' ? stateValue(L, m, regs, c.rhs.loc) : valueOf(L, c.rhs);
      return (a === b) === (c.k === 'eq');
    }
  }
}

/** The locations a test's outcome is told by: `locations`, then those its conditions name. */
export function observed(t: LitmusTest): CondLoc[] {
  const out: CondLoc[] = [];
  const key = (c: CondLoc): string => ('reg' in c ? `${c.proc}:${c.reg}` : c.loc);
  const seen = new Set<string>();
  const add = (c: CondLoc): void => {
    if (!seen.has(key(c))) {
      seen.add(key(c));
      out.push(c);
    }
  };
  for (const l of t.locations) {
    const m = /^(\d+):(.+)$/.exec(l);
    add(m ? { proc: Number(m[1]), reg: m[2] } : { loc: l });
  }
  const walk = (c: Cond | null): void => {
    if (c === null) return;
    if (c.k === 'and' || c.k === 'or') {
      walk(c.a);
      walk(c.b);
    } else if (c.k === 'not') walk(c.a);
    else if (c.k === 'eq' || c.k === 'ne') {
      add(c.lhs);
      if (c.rhs.k === 'loc') add(c.rhs.loc);
    }
  };
  walk(t.cond?.e ?? null);
  walk(t.filter);
  return out;
}

/** A value as the test writes it: a pointer by its location's name. */
export function showValue(L: Layout, v: number): string {
  if (v >= PTR_BASE && v < PTR_BASE + L.loc.size) for (const [n, w] of L.loc) if (w === v - PTR_BASE) return n;
  return String(v);
}
