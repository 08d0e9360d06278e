// The results files: the schemas of what sweep, campaign and explore write (a run's is
// results.ts), and reading any of them back (report, compare): a bad file is bad input, with
// one line.
import { readFileSync } from 'node:fs';
import type { Violation } from '../../src/check/violations.js';
import type { MemoryModel } from '../../src/machine/weak.js';
import type { StrategyName } from '../../src/sync/strategy.js';
import { BadInput } from './config.js';
import type { ExploreOptions } from './executor.js';
import type { ExhaustiveSummary } from './exhaustive.js';
import type { RunConfig } from './machine.js';
import { type Evidence, RUN_SCHEMA, type RunResults, type hostInfo } from './results.js';
import type { MergedFrom, ShardTag } from './shard.js';
import type { Spread } from './stats.js';

export const SWEEP_SCHEMA = 'gupstress/sweep@1';
export const CAMPAIGN_SCHEMA = 'gupstress/campaign@1';

export interface SweepCell {
  strategy: string;
  readers: number;
  writers: number;
  widen: Record<string, number>;
  /** the knobs this cell set (--set), by name */
  knobs?: Record<string, number>;
  /** the cell's first run */
  results: RunResults;
  /** every repeat of the cell (--repeat N), the first one included */
  runs?: RunResults[];
  /** every metric over the cell's runs, by name: median, spread and 95% interval (figures():
   *  what the terminal's table and the HTML report show) */
  figures?: Record<string, Figure>;
}

export interface SweepResults {
  schema: typeof SWEEP_SCHEMA;
  startedAt: string;
  scenario: string;
  host: RunResults['host'];
  axes: { strategies: string[]; readers: number[]; writers: number[]; widen: Record<string, number[]>; knobs?: Record<string, number[]> };
  durationMs: number;
  /** runs per cell (--repeat) */
  repeat?: number;
  cells: SweepCell[];
  /** --shard: which shard of which sweep this is (its cells are the shard's, in order) */
  shard?: ShardTag;
  /** a merge of shards (gupstress merge): which */
  merged?: MergedFrom;
}

export type Loaded =
  | { kind: 'run'; path: string; data: RunResults }
  | { kind: 'sweep'; path: string; data: SweepResults }
  | { kind: 'campaign'; path: string; data: CampaignResults }
  | { kind: 'explore'; path: string; data: ExploreFile };

export function loadResultsFile(path: string): Loaded {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new BadInput(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let data: { schema?: unknown };
  try {
    data = JSON.parse(text);
  } catch {
    throw new BadInput(`${path} is not JSON`);
  }
  const schema = data && typeof data === 'object' ? data.schema : undefined;
  if (schema === RUN_SCHEMA) return { kind: 'run', path, data: data as RunResults };
  if (schema === SWEEP_SCHEMA) return { kind: 'sweep', path, data: data as SweepResults };
  if (schema === CAMPAIGN_SCHEMA) return { kind: 'campaign', path, data: data as Loaded['data'] as never };
  if (schema === EXPLORE_SCHEMA) return { kind: 'explore', path, data: data as Loaded['data'] as never };
  throw new BadInput(`${path} is not a gupstress results file (schema ${JSON.stringify(schema ?? null)})`);
}

export type Unit = 'ops/s' | 'ns' | 'count' | 'freq';

/** A metric over a set of runs: its median, spread and 95% interval (null: no run has it). */
export interface Figure {
  metric: string;
  unit: Unit;
  spread: Spread | null;
}

export const EXPLORE_SCHEMA = 'gupstress/explore@1';

export interface ExploreFile {
  schema: typeof EXPLORE_SCHEMA;
  startedAt: string;
  host: ReturnType<typeof hostInfo>;
  build: string;
  config: RunConfig;
  explore: ExploreOptions & {
    runs: number; distinctSchedules: number; seconds: number; minimizeSeconds: number; runsPerSec: number; stepsPerSec: number; pctBound: number | null; meanSteps: number; meanPoints: number; aborted: number;
    /** the steps and window points of every execution, summed (what the means are of) */
    totalSteps?: number;
    totalPoints?: number;
    /** every execution's outcomes and events summed, by role and name (near misses under control) */
    outcomes: { reader: Record<string, number>; writer: Record<string, number> };
  };
  /** explore --exhaustive: each instance (seed) explored, and whether every one was exhausted */
  exhaustive?: ExhaustiveSummary;
  /** --shard: which shard of which exploration this is */
  shard?: ShardTag;
  /** --shard: the executions this shard ran (their index n in the whole: seed + n) and each
   *  one's schedule hash, in order, so the merge counts distinct schedules as the whole does */
  shardExplore?: { items: number[]; schedules: string[]; keepGoing?: boolean };
  /** a merge of shards (gupstress merge): which */
  merged?: MergedFrom;
  failure: null | {
    seed: number;
    runIndex: number;
    violation: Violation;
    schedule: number[];
    /** the clock's jumps up to the violation, [step, clock, ...] */
    clockJumps: number[];
    /** the weak-memory choices up to the violation, in order (explore.memory tso, lkmm) */
    weak?: number[];
    stepsBefore: number;
    stepsAfter: number;
    switchesBefore: number;
    switchesAfter: number;
    interleaving: string[];
    /** the same rows, structured: step, CPU, the traced kernel step and its values (the last
     *  MAX_EVENTS before the violation) */
    events: { step: number; cpu: number; text: string }[];
  };
}

/** campaign --explore: what the controlled executor did with a bug row's bug. */
export interface ExploreCell {
  /** executions up to and including the first that failed, or all that ran */
  executions: number;
  seconds: number;
  found: boolean;
  kind: string | null;
  /** its minimized schedule replayed to the same violation, every time of REPLAYS */
  replayVerified: boolean;
  /** replays that brought the same violation back, of REPLAYS */
  replays: number;
  /** steps of the schedule up to the violation, and context switches, before and after minimizing */
  steps: [number, number] | null;
  switches: [number, number] | null;
}

/** campaign --unwidened: the row again with the scenario's widening off (--widen none). */
export interface UnwidenedCell {
  /** paired-window overlaps per second, widened (the row's first run) and not */
  widenedPerSec: number | null;
  perSec: number | null;
  /** bug rows: caught without widening, and when (null: not within the row's time) */
  caught: boolean | null;
  firstViolationMs: number | null;
  runMs: number;
}

export interface CampaignRow {
  /** campaign --explore: the bug under the controlled executor (bug rows only) */
  explore?: ExploreCell | null;
  /** campaign --unwidened: the same row with the built-in widening off */
  unwidened?: UnwidenedCell | null;
  scenario: string;
  strategy: StrategyName;
  /** the RCU flavor it ran under (the rcu.flavor knob, --rcu) */
  rcu?: string;
  bug: string | null;
  /** fixed: clean | DIRTY; bug: caught | MISSED; ERROR when the harness failed */
  status: 'clean' | 'DIRTY' | 'caught' | 'MISSED' | 'ERROR';
  /** a missing barrier (BugDef.memory): explored under this memory model, not run under stress */
  memory?: MemoryModel;
  expected: boolean;
  kinds: string[];
  expectKinds: string[];
  /** bugs: the median over the repeats */
  firstViolationMs: number | null;
  /** bugs: each repeat's time to first violation (null: missed) */
  firstViolationRuns: (number | null)[];
  readerOps: number;
  durationMs: number;
  runId: string;
  results: string | null;
  /** fixed forms: how clean (95% bound per paired window overlap) and how hard the race was hit */
  bound: number | null;
  overlaps: number;
  /** fixed forms: how much the clean verdict says (results.ts WEAK_OVERLAPS) */
  evidence?: Evidence | null;
  nearMisses: number;
  /** each run's seed and time limit (its --duration, ms), so `gupstress run` can repeat it exactly */
  seeds: number[];
  runMs: number[];
  /** wall-clock time of the whole row, repeats and worker start-up included (the JUnit time) */
  wallMs: number;
  /** the first run that went wrong (DIRTY, MISSED, ERROR): its index in seeds, its first violation or error */
  failure: { run: number; detail: string | null } | null;
}

/** A job named without its scenario object: what --junit lists for jobs never run. */
export interface JobKey {
  scenario: string;
  strategy: StrategyName;
  rcu?: string;
  bug: string | null;
}

export interface CampaignResults {
  schema: typeof CAMPAIGN_SCHEMA;
  startedAt: string;
  host: RunResults['host'];
  rows: CampaignRow[];
  ok: boolean;
  interrupted: boolean;
  report: string | null;
  /** --budget in ms (null: none); each row's runMs says what every run was given */
  budgetMs: number | null;
  /** jobs never run, stopped by --fail-fast or Ctrl-C */
  skipped: JobKey[];
  /** --fail-fast was given */
  failFast?: boolean;
  /** --shard: which shard of which campaign this is (its rows are the jobs ShardTag.items) */
  shard?: ShardTag;
  /** a merge of shards (gupstress merge): which */
  merged?: MergedFrom;
}
