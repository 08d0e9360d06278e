// A scenario declares its roles, its race windows, its outcome tables, its parameters with
// their ranges, its scratch memory, its bug switches and the violations it can detect
// (jcstress-style). `list`, the CLI's checks, the summary table and the reports are
// generated from the declaration: adding a scenario is one new file in this folder.
import type { Arch, ArchName } from '../arch/arch.js';
import type { ViolationDef } from '../check/violations.js';
import type { WindowDef } from '../check/windows.js';
import type { BugDef } from '../machine/bugs.js';
import type { Cpu } from '../machine/cpu.js';
import type { StrategyName } from '../sync/strategy.js';

export type Expect = 'ACCEPTABLE' | 'INTERESTING' | 'FORBIDDEN';

export interface OutcomeDef {
  readonly expect: Expect;
  readonly doc: string;
}

/** An outcome table: name -> expectation. The order of declaration is the order printed. */
export type Outcomes<O extends string = string> = Readonly<Record<O, OutcomeDef>>;

/** The run's sizes a parameter's range may depend on. */
export interface Sizes {
  readonly frames: number;
  readonly huge: number;
  readonly readers: number;
  readonly writers: number;
  readonly levels: number;
}

export interface ParamDef {
  readonly value: number;
  readonly min: number;
  /** the largest value the layout and the scenario can hold (a number, or derived from
   *  the run's sizes); the CLI refuses anything outside [min, max] */
  readonly max: number | ((k: Sizes) => number);
  readonly doc: string;
}

/** Everything a role needs that is fixed for the run. */
export interface RunParams {
  readonly readers: number;
  readonly writers: number;
  readonly mmLevels: number;
  readonly params: Readonly<Record<string, number>>;
  /** the first word of each scratch field the scenario declared (see Scenario.scratch) */
  readonly scratch: Readonly<Record<string, number>>;
}

export interface Role<S = unknown, O extends string = string> {
  /** what one operation can end in: `op` returns one of these names */
  readonly outcomes: Outcomes<O>;
  /** counted on the way, besides the op's outcome (c.event(name)): a near miss the
   *  protocol saved, a result checked after the main step */
  readonly events?: Outcomes;
  /** per-worker state, made once before the loop (no allocation in `op`) */
  init(c: Cpu, p: RunParams, index: number): S;
  /** one operation; the framework counts the outcome it returns and times it */
  op(c: Cpu, s: S): O;
}

/** A measured window, or a reader window paired with the writer window it races. */
export type WindowEntry = WindowDef | readonly [reader: WindowDef, writer: WindowDef];

export interface Scenario {
  readonly id: string;
  readonly title: string;
  /** the seed case of kernel-protocols.md it re-creates */
  readonly seed: string;
  readonly commits: readonly string[];
  readonly selftest: boolean;
  readonly arches: readonly ArchName[];
  readonly strategies: readonly StrategyName[];
  readonly defaultStrategy: StrategyName;
  readonly defaults: {
    readonly readers: number;
    readonly writers: number;
    readonly frames: number;
    readonly huge: number;
    /** widening built into the scenario (same for the fixed form and every bug) */
    readonly widen: Readonly<Record<string, string>>;
  };
  /** a smaller instance for `gupstress explore` (controlled executions want a small state
   *  space: a race on one of 4 pages, not 16): --param defaults there; --param overrides */
  readonly explore?: { readonly params?: Readonly<Record<string, number>> };
  /** scenario parameters (--param NAME=N), with their defaults, ranges and meaning */
  readonly params: Readonly<Record<string, ParamDef>>;
  /** scratch memory: field -> words, sized from the parameters; the runner lays the fields
   *  out one after the other (they cannot overlap) and hands their addresses in RunParams */
  readonly scratch?: (p: Omit<RunParams, 'scratch'>) => Readonly<Record<string, number>>;
  readonly windows: readonly WindowEntry[];
  /** the bugs this scenario re-creates, by switch name (src/machine/bugs.ts) */
  readonly bugs: Readonly<Record<string, BugDef>>;
  readonly detects: readonly ViolationDef[];
  /** mm structs the scenario uses (default 1) */
  readonly mms?: number;
  /** the most writer CPUs its roles support (default: as many as the machine has) */
  readonly maxWriters?: number;
  /** the most reader CPUs its roles support (default: as many as the machine has) */
  readonly maxReaders?: number;
  /** builds the mm(s) and the initial mappings, on the boot CPU */
  boot(c: Cpu, p: RunParams): void;
  readonly reader: Role;
  readonly writer: Role;
  /** the configuration of the arch the scenario models (e.g. withoutPteSpecial) */
  archVariant?(a: Arch, p: RunParams): Arch;
  /** at the end of the run, on the boot CPU, before the accounting: give back what the
   *  scenario parked outside the page tables (deposited tables) */
  teardown?(c: Cpu, p: RunParams): void;
  /** what a call_rcu callback does with its argument (default: free a page-table frame) */
  rcuCallback?(c: Cpu, arg: number): void;
  /** end-of-run checks beyond the generic accounting, on the boot CPU after every worker
   *  stopped; `outcomes` are the summed counts per role, by name */
  check?(c: Cpu, p: RunParams, outcomes: { reader: Readonly<Record<string, number>>; writer: Readonly<Record<string, number>> }): void;
}

const BRAND = Symbol('gupstress scenario');

/** Declares a scenario; the roles keep their own state and outcome types. */
export function defineScenario<R, RO extends string, W, WO extends string>(
  s: Omit<Scenario, 'reader' | 'writer'> & { reader: Role<R, RO>; writer: Role<W, WO> },
): Scenario {
  return Object.assign(s, { [BRAND]: true }) as unknown as Scenario;
}

export function isScenario(v: unknown): v is Scenario {
  return typeof v === 'object' && v !== null && (v as Record<symbol, unknown>)[BRAND] === true;
}

/** Declares a role on its own (a reader shared by several scenarios). */
export function defineRole<S, O extends string>(r: Role<S, O>): Role<S, O> {
  return r;
}

/** The role's counters in order: its outcomes, then its events. */
export function roleCounters(r: Role): { name: string; def: OutcomeDef; event: boolean }[] {
  return [
    ...Object.entries(r.outcomes).map(([name, def]) => ({ name, def: def as OutcomeDef, event: false })),
    ...Object.entries(r.events ?? {}).map(([name, def]) => ({ name, def: def as OutcomeDef, event: true })),
  ];
}

/** The scenario's windows as (window, the writer window it pairs with or null). */
export function windowPairs(s: Scenario): { window: WindowDef; pairedWith: WindowDef | null }[] {
  return s.windows.map((e) => ('name' in e ? { window: e as WindowDef, pairedWith: null } : { window: e[0], pairedWith: e[1] }));
}

/** A parameter's largest value for the run's sizes. */
export function paramMax(d: ParamDef, k: Sizes): number {
  return typeof d.max === 'number' ? d.max : d.max(k);
}

/** Lays the scratch fields out one after the other from `base`: field -> first word.
 *  Reading a field that was not declared throws (a typo is not address NaN). */
export function scratchFields(fields: Readonly<Record<string, number>>, base: number): { addr: Readonly<Record<string, number>>; words: number } {
  const addr: Record<string, number> = {};
  let off = base;
  for (const [name, words] of Object.entries(fields)) {
    if (!Number.isInteger(words) || words < 0) throw new Error(`scratch field ${name}: ${words} words`);
    addr[name] = off;
    off += words;
  }
  const guarded = new Proxy(Object.freeze(addr), {
    get(t, k) {
      if (typeof k === 'string' && !(k in t)) throw new Error(`no scratch field '${k}' (declared: ${Object.keys(t).join(', ') || 'none'})`);
      return t[k as string];
    },
  });
  return { addr: guarded, words: off - base };
}
