// A scenario declares its roles, its race windows, its outcome tables, its bug switches
// and the violations it can detect (jcstress-style). `list`, the summary table and the
// reports are generated from the declaration: adding a scenario never touches the harness.
import type { ArchName } from '../arch/arch.js';
import type { ViolationKind } from '../check/violations.js';
import type { Cpu } from '../machine/cpu.js';
import type { StrategyName } from '../sync/strategy.js';

export type Expect = 'ACCEPTABLE' | 'INTERESTING' | 'FORBIDDEN';

export interface OutcomeDef {
  readonly name: string;
  readonly expect: Expect;
  readonly doc: string;
}

export interface BugDef {
  readonly name: string;
  readonly doc: string;
  /** the kernel commit that fixed it, where there is one */
  readonly fixedBy?: string;
  /** strategies under which the bug can show (default: every strategy of the scenario) */
  readonly strategies?: readonly StrategyName[];
  /** the violation kinds it is expected to produce */
  readonly expectKinds: readonly ViolationKind[];
}

/** Everything a role needs that is fixed for the run. */
export interface RunParams {
  readonly readers: number;
  readonly writers: number;
  readonly mmLevels: number;
  readonly params: Readonly<Record<string, number>>;
}

export interface Role<S> {
  readonly outcomes: readonly OutcomeDef[];
  /** per-worker state, made once before the loop (no allocation in `op`) */
  init(c: Cpu, p: RunParams, index: number): S;
  /** one operation; counts its outcome in c.outcomes[i] */
  op(c: Cpu, s: S): void;
}

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
  /** scenario parameters (--param NAME=N), with their defaults and meaning */
  readonly params: Readonly<Record<string, { readonly value: number; readonly doc: string }>>;
  /** reader window -> the writer window it pairs with (null: measured, not paired) */
  readonly windows: Readonly<Record<string, string | null>>;
  readonly bugs: readonly BugDef[];
  readonly detects: readonly ViolationKind[];
  /** words of scratch memory the scenario owns */
  readonly scratchWords: number;
  /** mm structs the scenario uses (default 1) */
  readonly mms?: number;
  /** the most writer CPUs its roles support (default: no limit) */
  readonly maxWriters?: number;
  /** builds the mm(s) and the initial mappings, on the boot CPU */
  boot(c: Cpu, p: RunParams): void;
  readonly reader: Role<unknown>;
  readonly writer: Role<unknown>;
  /** the configuration of the arch the scenario models (e.g. withoutPteSpecial) */
  archVariant?(a: import('../arch/arch.js').Arch, p: RunParams): import('../arch/arch.js').Arch;
  /** at the end of the run, on the boot CPU, before the accounting: give back what the
   *  scenario parked outside the page tables (deposited tables) */
  teardown?(c: Cpu, p: RunParams): void;
  /** what a call_rcu callback does with its argument (default: free a page-table frame) */
  rcuCallback?(c: Cpu, arg: number): void;
  /** end-of-run checks beyond the generic accounting, on the boot CPU after every worker
   *  stopped; `outcomes` are the summed counts per role */
  check?(c: Cpu, p: RunParams, outcomes: { reader: Float64Array; writer: Float64Array }): void;
}

export function defineScenario<R, W>(s: Omit<Scenario, 'reader' | 'writer'> & { reader: Role<R>; writer: Role<W> }): Scenario {
  return s as Scenario;
}

/** Index of an outcome by name, for the roles' counters (checked at definition time). */
export function outcomeIndex(outcomes: readonly OutcomeDef[], name: string): number {
  const i = outcomes.findIndex((o) => o.name === name);
  if (i < 0) throw new Error(`no outcome ${name}`);
  return i;
}
