// `gupstress limits`: every scenario's fixed form at each end of every range the CLI
// accepts (each --param, --frames, --huge, --readers, --writers, --levels), the others at
// their defaults. A fixed form that fails at a value the CLI accepts is a false verdict: the
// range must shrink or the model must be fixed. The tests run the same cases (the many-CPU
// ones for a few scenarios); this command runs them all. With --shard i/N, the cases i-1,
// i-1+N, ... (each case has its fixed seed), written as gupstress/limits@1 for the merge.
import { archByName } from '../../src/arch/index.js';
import { maxFrames } from '../../src/machine/layout.js';
import { SCENARIOS } from '../../src/scenarios/index.js';
import type { Scenario } from '../../src/scenarios/scenario.js';
import { type RawRunArgs, parseDuration, requireScenario, resolveRunConfig, sizeRanges } from '../run/config.js';
import type { Logger } from '../run/log.js';
import { maxParamToBoot, minFramesToBoot } from '../run/machine.js';
import { buildResults, writeJsonAtomic } from '../run/results.js';
import { runScenario } from '../run/runner.js';
import { type MergedFrom, type ShardFile, type ShardRun, type ShardTag, inOrder, mergedFrom, shardItems, shardTag, resultsFileName } from '../run/shard.js';
import { fmtInt, table } from '../output/table.js';

export interface LimitCase {
  scenario: string;
  /** what is at its limit, e.g. "--param pmds=16 (max)" */
  what: string;
  args: RawRunArgs;
  /** a limit of the machine's layout, the same for every scenario (the most frames, huge
   *  folios or CPUs it holds), rather than one the scenario declares or its boot decides */
  layout: boolean;
}

/** The cases of one scenario: each size option and parameter at its min and its max (the
 *  largest the scenario boots with, at the default sizes). */
export function limitCases(s: Scenario): LimitCase[] {
  const d = s.defaults;
  const levels = archByName(s.arches[0]).levelChoices;
  const R = sizeRanges(s, { frames: d.frames, huge: d.huge, readers: d.readers, writers: d.writers, levels: levels[0] });
  const cfg = resolveRunConfig({ scenario: s.id, seed: 1 });
  const out: LimitCase[] = [];
  const add = (what: string, args: RawRunArgs, layout = false): void => {
    out.push({ scenario: s.id, what, args, layout });
  };
  for (const [name, r] of Object.entries(R.params)) {
    add(`--param ${name}=${r.min} (min)`, { param: [`${name}=${r.min}`] });
    const max = maxParamToBoot(s, cfg, name, r.min, r.max) ?? r.min;
    add(`--param ${name}=${max} (max${max < r.max ? ` that boots with --frames ${d.frames}` : ''})`, { param: [`${name}=${max}`] });
  }
  const fmin = minFramesToBoot(s, cfg, maxFrames(d.huge)) ?? d.frames;
  add(`--frames ${fmin} (the fewest that boot)`, { frames: String(fmin) });
  add(`--frames ${R.frames.max} (max with --huge ${d.huge})`, { frames: String(R.frames.max) }, true);
  add('--huge 0 (min)', { huge: '0' });
  add(`--huge ${R.huge.max} (max with --frames ${d.frames})`, { huge: String(R.huge.max) }, true);
  add(`--writers ${R.writers.min} (min)`, { writers: String(R.writers.min) });
  add(`--writers ${R.writers.max} (max)`, { writers: String(R.writers.max) }, s.maxWriters === undefined);
  add(`--readers ${R.readers.max} (max)`, { readers: String(R.readers.max) }, s.maxReaders === undefined);
  for (const lv of [levels[0], levels[levels.length - 1]].filter((x, i, a) => a.indexOf(x) === i)) add(`--levels ${lv}`, { levels: String(lv) });
  return out;
}

export interface LimitResult extends LimitCase {
  verdict: string;
  kinds: string[];
  readerOps: number;
  writerOps: number;
  error: string | null;
}

/** Runs one case: the fixed form, short (`length`: a --duration or an --ops), with a fixed seed. */
export async function runLimitCase(c: LimitCase, length: { duration: string } | { ops: string }, log: Logger, signal?: AbortSignal): Promise<LimitResult> {
  const cfg = resolveRunConfig({ scenario: c.scenario, seed: 11, ...length, ...c.args });
  const r = buildResults(await runScenario(cfg, { log, signal }));
  return { ...c, verdict: r.verdict, kinds: Object.keys(r.violationsByKind), readerOps: r.reader.ops, writerOps: r.writer.ops, error: r.error };
}

export const LIMITS_SCHEMA = 'gupstress/limits@1';

/** What limits --json prints; with --shard (and merged) written as a file, with the rest. */
export interface LimitsFile {
  schema: typeof LIMITS_SCHEMA;
  startedAt: string;
  durationMs: number;
  results: LimitResult[];
  /** stopped by Ctrl-C before every case ran */
  interrupted: boolean;
  /** --shard: which shard of which limits run this is (its results are the shard's cases) */
  shard?: ShardTag;
  /** a merge of shards (gupstress merge): which */
  merged?: MergedFrom;
}

export async function runLimits(o: { scenarios?: unknown; duration?: unknown; json: boolean; out?: unknown; sharded?: ShardRun | null }, log: Logger, signal: AbortSignal): Promise<number> {
  const durationMs = o.duration === undefined ? 300 : parseDuration(String(o.duration), '--duration');
  const only = o.scenarios === undefined ? null : ([] as string[]).concat(o.scenarios as string[]).map((x) => requireScenario(x).id);
  const cases = SCENARIOS.filter((s) => only === null || only.includes(s.id)).flatMap(limitCases);
  const run = o.sharded ?? null;
  const items = shardItems(cases.length, run?.shard ?? null);
  const startedAt = new Date().toISOString();
  const results: LimitResult[] = [];
  for (const j of items) {
    if (signal.aborted) break;
    const r = await runLimitCase(cases[j], { duration: `${durationMs}ms` }, log, signal);
    results.push(r);
    log.info({ scenario: r.scenario, what: r.what, verdict: r.verdict }, `limits ${results.length}/${items.length}`);
  }
  const f: LimitsFile = { schema: LIMITS_SCHEMA, startedAt, durationMs, results, interrupted: signal.aborted };
  if (run === null) return showLimits(f, o.json ? 'json' : 'text', null);
  f.shard = shardTag(run.shard, run.whole, items, cases.length);
  return showLimits(f, o.json ? 'json' : 'text', writeJsonAtomic(o.out === undefined ? 'results' : String(o.out), limitsFileName(f), f));
}

/** limits.STAMP[.shard-i-of-N | .merged].json */
export function limitsFileName(f: LimitsFile): string {
  return resultsFileName('limits', f);
}

/** What limits prints (the table and its line, where the results file went if one was
 *  written; or the JSON), and its exit code: 3 when a case was an ERROR, 1 when one failed. */
export function showLimits(f: LimitsFile, format: 'text' | 'json', path: string | null): number {
  const { results } = f;
  const bad = results.filter((r) => r.verdict !== 'PASS');
  if (format === 'json') process.stdout.write(JSON.stringify({ schema: f.schema, durationMs: f.durationMs, results }, null, 2) + '\n');
  else {
    process.stdout.write(table(['scenario', 'at its limit', 'verdict', 'violation kinds', 'reader ops', 'writer ops'],
      results.map((r) => [r.scenario, r.what, r.verdict, r.kinds.join(',') || '-', fmtInt(r.readerOps), fmtInt(r.writerOps)]),
      [false, false, false, false, true, true]) + '\n\n');
    process.stdout.write(`limits: ${results.length - bad.length}/${results.length} fixed forms clean at their range limits${f.interrupted ? ' (interrupted)' : ''}\n`);
    if (path !== null) process.stdout.write(`results: ${path}\n`);
  }
  return bad.some((r) => r.verdict === 'ERROR') ? 3 : bad.length > 0 ? 1 : 0;
}

/** The shards of one limits run as the whole would have made it: every case in the whole's
 *  order (those a shard never reached, cut short, left out, and the whole marked interrupted). */
export function mergeLimits(shards: readonly ShardFile<LimitsFile>[]): LimitsFile {
  const { items: results, missing } = inOrder(shards, (s) => s.data.results);
  const interrupted = shards.some((s) => s.data.interrupted) || missing > 0;
  return { schema: LIMITS_SCHEMA, startedAt: shards.map((s) => s.data.startedAt).sort()[0], durationMs: shards[0].data.durationMs, results, interrupted, merged: mergedFrom(shards) };
}
