// `gupstress campaign` (npm start): every scenario, its fixed form under each strategy and
// each bug under each strategy it shows under; then the detection table.
import { basename, dirname, join } from 'node:path';
import { SCENARIOS } from '../../src/scenarios/index.js';
import type { Scenario } from '../../src/scenarios/scenario.js';
import type { StrategyName } from '../../src/sync/strategy.js';
import { K_RCU_FLAVOR } from '../../src/sync/rcu.js';
import { BadInput, knobValue, listOpt, parseDuration, requireScenario, resolveRunConfig } from '../run/config.js';
import { exploreToFile, memoryOpt, replayFailure, resolveExplore } from './explore.js';
import type { MemoryModel } from '../../src/machine/weak.js';
import { CAMPAIGN_SCHEMA, type CampaignResults, type CampaignRow, type ExploreCell, type JobKey } from '../run/files.js';
import type { Logger } from '../run/log.js';
import { durationArg, rerunCommand, writeJunit } from '../output/junit.js';
import { buildResults, evidenceOf, hostInfo, type RunResults, writeJsonAtomic, writeResults, stampOf } from '../run/results.js';
import { writeReport } from '../output/report.js';
import { runScenario } from '../run/runner.js';
import { median } from '../run/stats.js';
import { fmtInt } from '../output/table.js';
import { type Format, type Table, commandLine, parseFormat, renderTable } from '../output/format.js';
import { type MergedFrom, type ShardFile, type ShardRun, type ShardTag, inOrder, mergedFrom, resultsFileName, shardItems, shardSuffix, shardTag } from '../run/shard.js';



/** The exploration of a bug row whose stress detection needs real parallelism, without --explore */
export const PARALLEL_EXPLORE_MS = 30_000;

/** campaign --explore replays each schedule it finds this many times */
export const REPLAYS = 10;



export interface CampaignOptions {
  duration?: unknown;
  bugTimeout?: unknown;
  scenarios?: unknown;
  selftests?: boolean;
  out?: unknown;
  /** runs of each bug (the table gives the median time to first violation) */
  repeat?: unknown;
  /** a time box for the whole campaign, shared over its runs */
  budget?: unknown;
  /** a JUnit XML file to write */
  junit?: unknown;
  /** stop at the first row that is not as expected */
  failFast?: boolean;
  /** also explore each bug under the controlled executor for this long (e.g. '10s') */
  explore?: unknown;
  /** the table on stdout: text | md | csv | json */
  format?: unknown;
  /** also run every row once with the scenario's widening off (--widen none) */
  unwidened?: boolean;
  /** memory models (--memory sc,tso,lkmm): the barrier matrix instead of the campaign */
  memory?: unknown;
  /** RCU flavors (--rcu preempt,nonpreempt): every row under each (default: the knob's default) */
  rcu?: unknown;
  json: boolean;
  /** --shard: this process runs shard i of N of the jobs */
  sharded?: ShardRun | null;
}

interface Job {
  s: Scenario;
  strategy: StrategyName;
  rcu: string;
  bug: string | null;
}

/** Every fixed form under each strategy, every bug under each strategy it shows under; each
 *  under every RCU flavor given, but a bug only under the knob settings it needs (BugDef.knobs). */
export function campaignJobs(scenarios: readonly Scenario[], flavors: readonly string[] = [K_RCU_FLAVOR.choices![K_RCU_FLAVOR.value]]): Job[] {
  const jobs: Job[] = [];
  for (const rcu of flavors) {
    for (const s of scenarios) {
      for (const strategy of s.strategies) jobs.push({ s, strategy, rcu, bug: null });
      for (const [name, b] of Object.entries(s.bugs)) {
        const need = b.knobs?.[K_RCU_FLAVOR.name];
        if (need !== undefined && need !== rcu) continue;
        for (const strategy of b.strategies ?? s.strategies) jobs.push({ s, strategy, rcu, bug: name });
      }
    }
  }
  return jobs;
}

/** --rcu: flavors by name, each checked. */
function campaignFlavors(v: unknown): string[] {
  const names = listOpt(v);
  for (const n of names) knobValue(K_RCU_FLAVOR, n);
  return names.length ? [...new Set(names)] : [K_RCU_FLAVOR.choices![K_RCU_FLAVOR.value]];
}

/** Runs of every job: each runs --repeat times. */
export function campaignRuns(jobs: readonly Job[], repeat: number): number {
  // (a missing barrier's row is an exploration, not a stress run: outside the budget)
  return jobs.filter((j) => j.bug === null || j.s.bugs[j.bug].memory === undefined).length * repeat;
}

/** Shorter runs say nothing: the workers barely start, and a fixed form's bound is meaningless. */
export const MIN_RUN_MS = 200;

/**
 * The next run's time under --budget: what is left of it shared over the runs still to go, so
 * the time a bug run saves by stopping at its first violation goes to the runs after it.
 * Never above the run's own limit (--duration, --bug-timeout when given); never below
 * MIN_RUN_MS, even when earlier runs (worker start-up) ate into the budget.
 */
export function nextRunMs(budgetLeftMs: number, runsLeft: number, capMs = Infinity): number {
  return Math.min(capMs, Math.max(MIN_RUN_MS, Math.floor(budgetLeftMs / Math.max(1, runsLeft))));
}

/** --fail-fast: a row that is not as expected (DIRTY, MISSED, ERROR) ends the campaign. */
export function stopsCampaign(row: CampaignRow, failFast: boolean): boolean {
  return failFast && !row.expected;
}

/** The first violation (or the harness error) of a run, for the JUnit failure text. */
function firstProblem(r: RunResults): string | null {
  if (r.error !== null) return r.error;
  const v = r.violations[0];
  return v === undefined ? null : `${v.kind} at ${v.address} (cpu ${v.cpu}, ${v.timeMs.toFixed(1)} ms): ${v.detail}`;
}

export function rowOf(job: Job, r: RunResults, path: string | null): CampaignRow {
  const kinds = Object.keys(r.violationsByKind);
  const expectKinds = job.bug ? (job.s.bugs[job.bug]?.expectKinds ?? []).map((k) => k.name) : [];
  let status: CampaignRow['status'];
  if (r.verdict === 'ERROR') status = 'ERROR';
  else if (job.bug === null) status = r.verdict === 'PASS' ? 'clean' : 'DIRTY';
  else status = kinds.some((k) => (expectKinds as string[]).includes(k)) ? 'caught' : 'MISSED';
  return {
    scenario: job.s.id, strategy: job.strategy, rcu: job.rcu, bug: job.bug, status, expected: status === 'clean' || status === 'caught', kinds, expectKinds,
    firstViolationMs: r.firstViolationMs, firstViolationRuns: [r.firstViolationMs], readerOps: r.reader.ops, durationMs: r.durationMs, runId: r.runId, results: path,
    bound: r.bound, overlaps: r.boundBasis?.overlaps ?? 0, evidence: r.evidence,
    nearMisses: [r.reader, r.writer].reduce((a, role) => a + Object.values(role.outcomes).filter((o) => o.expect === 'INTERESTING').reduce((x, o) => x + o.count, 0), 0),
    seeds: [r.config.seed], runMs: [r.config.durationMs ?? 0], wallMs: 0,
    failure: status === 'clean' || status === 'caught' ? null : { run: 0, detail: firstProblem(r) },
  };
}

/** The row of a missing-barrier bug (BugDef.memory): its exploration under the weak memory
 *  model is its detection (stress runs are sequentially consistent). */
function weakRow(job: Job, cell: ExploreCell, memory: MemoryModel): CampaignRow {
  const expectKinds = (job.s.bugs[job.bug!].expectKinds ?? []).map((k) => k.name);
  const caught = cell.found && cell.replayVerified && expectKinds.includes(cell.kind!);
  return {
    scenario: job.s.id, strategy: job.strategy, rcu: job.rcu, bug: job.bug, status: caught ? 'caught' : 'MISSED', expected: caught, kinds: cell.kind ? [cell.kind] : [], expectKinds,
    firstViolationMs: null, firstViolationRuns: [], readerOps: 0, durationMs: Math.round(cell.seconds * 1000), runId: `explore --memory ${memory}`, results: null, bound: null, overlaps: 0,
    nearMisses: 0, seeds: [1], runMs: [], wallMs: Math.round(cell.seconds * 1000), explore: cell, memory,
    failure: caught ? null : { run: 0, detail: cell.found ? `found ${cell.kind}, replayed ${cell.replays}/${REPLAYS}` : `not found under --memory ${memory} in ${cell.executions} executions` },
  };
}

/** Folds repeat `k` into its row: a bug must be caught by every repeat, a fixed form clean in
 *  every one; a fixed form's evidence is over all of them (the bound 3/N over their N
 *  overlaps together). */
function addRepeat(row: CampaignRow, one: CampaignRow, k: number): void {
  row.firstViolationRuns.push(one.firstViolationMs);
  if (one.status !== row.status && (row.status === 'caught' || row.status === 'clean')) row.status = one.status;
  row.expected = row.status === 'caught' || row.status === 'clean';
  for (const kind of one.kinds) if (!row.kinds.includes(kind)) row.kinds.push(kind);
  row.seeds.push(...one.seeds);
  row.runMs.push(...one.runMs);
  row.readerOps += one.readerOps;
  row.durationMs += one.durationMs;
  if (row.bug === null && row.status === 'clean' && row.evidence && row.evidence !== 'no window measured') {
    row.overlaps += one.overlaps;
    row.bound = row.overlaps > 0 ? 3 / row.overlaps : row.bound;
    row.evidence = evidenceOf(row.overlaps, true);
  }
  if (row.failure === null && one.failure !== null) row.failure = { run: k, detail: one.failure.detail };
}

/** A clean row's evidence: its bound and overlaps, WEAK under WEAK_OVERLAPS, no evidence where
 *  the bound says nothing, or no window. */
function evidenceCell(r: CampaignRow): string {
  if (r.bug !== null || !r.evidence) return '-';
  if (r.evidence === 'no window measured') return 'no window measured';
  if (r.evidence === 'no evidence') return `NO EVIDENCE (${fmtInt(r.overlaps)} overlaps)`;
  const b = r.bound === null ? '-' : r.bound.toExponential(1);
  return `${r.evidence === 'weak' ? 'WEAK ' : ''}bound ${b} (${fmtInt(r.overlaps)} overlaps)`;
}

/** --unwidened: a fixed row's overlaps per second widened -> not; a bug row's time to first
 *  violation with no widening, or that it was not caught in the row's time. */
function unwidenedCell(r: CampaignRow): string {
  const u = r.unwidened;
  if (!u) return '-';
  if (r.bug === null) return u.perSec === null ? 'no window' : `${fmtInt(u.widenedPerSec ?? 0)} -> ${fmtInt(u.perSec)} /s`;
  return u.caught ? `${u.firstViolationMs!.toFixed(1)} ms` : `not in ${(u.runMs / 1000).toFixed(0)} s`;
}

export function campaignTable(rows: CampaignRow[]): Table {
  const explored = rows.some((r) => r.explore);
  const unwidened = rows.some((r) => r.unwidened);
  const cell = (r: CampaignRow): string => {
    const e = r.explore;
    if (!e) return '-';
    if (!e.found) return `not in ${fmtInt(e.executions)} (${e.seconds.toFixed(0)} s)`;
    return `${fmtInt(e.executions)} execs, ${e.seconds.toFixed(1)} s, ${e.steps![0]}->${e.steps![1]} steps, replay ${e.replays}/${REPLAYS}${e.replayVerified ? '' : ' FAILED'}`;
  };
  // the RCU flavor, where the rows differ in it (a campaign under one flavor says it once, in its command)
  const flavors = new Set(rows.map((r) => r.rcu ?? '-')).size > 1;
  const head = ['scenario', 'strategy', ...(flavors ? ['rcu'] : []), 'bug', 'result', 'violation kinds', 'first violation (median)', 'runs', 'reader ops', 'time', 'evidence (clean rows)', ...(unwidened ? ['without widening (overlaps/s; caught)'] : []), ...(explored ? ['explore (no widening)'] : [])];
  const numeric = new Set(['first violation (median)', 'runs', 'reader ops', 'time']);
  return {
    head,
    rows: rows.map((r) => [
      r.scenario, r.strategy, ...(flavors ? [r.rcu ?? '-'] : []), r.bug ?? '(fixed)', r.memory ? `${r.status} (${r.memory})` : r.status, r.kinds.join(',') || '-',
      r.firstViolationMs === null ? '-' : `${r.firstViolationMs.toFixed(1)} ms`, String(r.seeds.length),
      fmtInt(r.readerOps), `${(r.durationMs / 1000).toFixed(1)} s`, evidenceCell(r), ...(unwidened ? [unwidenedCell(r)] : []), ...(explored ? [cell(r)] : []),
    ]),
    right: head.map((h) => numeric.has(h)),
    key: flavors ? 4 : 3,
  };
}

/** The bug under the controlled executor: default scheduler, no widening, seed 1, for at
 *  most ms; a schedule it finds is replayed and must give the same violation. */
async function exploreCell(scenario: string, strategy: StrategyName, rcu: string, bug: string | null, ms: number, log: Logger, memory: MemoryModel = 'sc', runs: number | null = null): Promise<ExploreCell> {
  // (under a weak model, random scheduling: the reorderings are choices of their own, which
  // PCT's priorities do not steer, and the barrier bugs are found sooner so)
  const { cfg, o } = resolveExplore({ scenario, strategy, rcu, bug: bug ?? undefined, seed: 1, memory, sched: memory === 'sc' ? undefined : 'random' });
  const f = await exploreToFile(cfg, o, { runs, durationMs: runs === null ? ms : null, keepGoing: false, minimizeMs: Math.min(3000, ms / 4) }, log);
  const x = f.failure;
  const replays = x ? (await replayFailure(f, requireScenario(scenario), REPLAYS)).reproduced : 0;
  return {
    executions: x ? x.runIndex + 1 : f.explore.runs, seconds: f.explore.seconds, found: x !== null, kind: x?.violation.kind ?? null, replayVerified: x !== null && replays === REPLAYS, replays,
    steps: x ? [x.stepsBefore, x.stepsAfter] : null, switches: x ? [x.switchesBefore, x.switchesAfter] : null,
  };
}

interface Limits {
  fixedMs: number;
  bugMs: number;
  /** given explicitly: a budget share never goes above them */
  fixedCap: number;
  bugCap: number;
  budget: { totalMs: number; t0: number; runsLeft: number } | null;
}

function parseLimits(o: CampaignOptions, runs: number, scenarios: readonly Scenario[]): Limits {
  const fixedCap = o.duration === undefined ? Infinity : parseDuration(String(o.duration), '--duration');
  const bugCap = o.bugTimeout === undefined ? Infinity : parseDuration(String(o.bugTimeout), '--bug-timeout');
  if (!(fixedCap > 0) || !(bugCap > 0)) throw new BadInput('--duration and --bug-timeout must be more than 0');
  const limits: Limits = { fixedMs: o.duration === undefined ? 3000 : fixedCap, bugMs: o.bugTimeout === undefined ? 20000 : bugCap, fixedCap, bugCap, budget: null };
  if (o.budget === undefined) return limits;
  const totalMs = parseDuration(String(o.budget), '--budget');
  const least = MIN_RUN_MS * runs;
  if (totalMs < least) {
    throw new BadInput(`--budget ${String(o.budget)} is too small: ${runs} runs (${scenarios.map((s) => s.id).join(', ')}) need ${MIN_RUN_MS} ms each; the smallest budget that works is ${least < 1000 ? `${least}ms` : `${Math.ceil(least / 1000)}s`}`);
  }
  return { ...limits, budget: { totalMs, t0: performance.now(), runsLeft: runs } };
}

/**
 * This run's --duration: the defaults, or its share of what is left of the budget. The budget
 * is wall-clock time, worker start-up included, so the campaign ends near it; it can only
 * overrun where MIN_RUN_MS keeps the last runs from shrinking to nothing.
 */
function runMsFor(job: Job, l: Limits): number {
  const cap = job.bug === null ? l.fixedCap : l.bugCap;
  if (l.budget === null) return job.bug === null ? l.fixedMs : l.bugMs;
  const b = l.budget;
  const ms = nextRunMs(b.totalMs - (performance.now() - b.t0), b.runsLeft, cap);
  b.runsLeft -= 1;
  return ms;
}

/** Paired-window overlaps per second of a run, all its paired windows together. */
function pairedPerSec(r: RunResults): number | null {
  const v = Object.values(r.windows).filter((w) => w.overlapsPerSec != null);
  return v.length ? v.reduce((a, w) => a + w.overlapsPerSec!, 0) : null;
}

/** One job: its --repeat runs folded into one row, and with --unwidened one run more without
 *  widening (null: interrupted before it began, or before a run of it reached a verdict). */
async function runJob(job: Job, i: number, runs: number, l: Limits, out: string, log: Logger, signal: AbortSignal, unwidened: boolean): Promise<CampaignRow | null> {
  const t0 = performance.now();
  let row: CampaignRow | null = null;
  let widenedPerSec: number | null = null;
  const config = (k: number, ms: number, widen?: string) => resolveRunConfig({
    scenario: job.s.id, strategy: job.strategy, rcu: job.rcu, bug: job.bug ?? undefined, out, widen,
    duration: `${ms}ms`, stopOnViolation: job.bug !== null, seed: 1000 + 64 * i + k,
  });
  for (let k = 0; k < runs && !signal.aborted; k++) {
    const r = buildResults(await runScenario(config(k, runMsFor(job, l)), { log, signal }));
    const one = rowOf(job, r, writeResults(r, out));
    // a run Ctrl-C cut short before it found anything proves nothing (a bug not caught yet, a
    // fixed form clean so far): the row was not run. What it found stands.
    if (r.interrupted && (one.status === 'MISSED' || one.status === 'clean')) return null;
    if (row === null) {
      row = one;
      widenedPerSec = pairedPerSec(r);
    } else addRepeat(row, one, k);
  }
  if (row === null) return null;
  if (unwidened && !signal.aborted) {
    // the same row, its scenario's widening off: how often the race is hit, and whether the
    // bug is caught, by the walk's own speed alone
    const ms = runMsFor(job, l);
    const r = buildResults(await runScenario(config(0, ms, 'none'), { log, signal }));
    writeResults(r, out);
    const caught = job.bug === null ? null : rowOf(job, r, null).status === 'caught';
    // (cut short by Ctrl-C before it caught the bug, or before a rate means anything: no cell)
    if (!r.interrupted || caught === true) row.unwidened = { widenedPerSec, perSec: pairedPerSec(r), caught, firstViolationMs: caught ? r.firstViolationMs : null, runMs: ms };
  }
  const caught = row.firstViolationRuns.filter((x): x is number => x !== null);
  row.firstViolationMs = caught.length ? median(caught) : null;
  row.wallMs = Math.round(performance.now() - t0);
  return row;
}

function printCampaign(summary: CampaignResults, path: string, junit: string | null, format: Exclude<Format, 'json'>): void {
  const { rows } = summary;
  process.stdout.write(renderTable(campaignTable(rows), format, commandLine()) + '\n\n');
  if (format === 'csv') return;
  const fixed = rows.filter((r) => r.bug === null);
  const bugs = rows.filter((r) => r.bug !== null);
  const underControl = bugs.filter((r) => r.status === 'MISSED' && r.expected).length;
  process.stdout.write(`fixed forms clean: ${fixed.filter((r) => r.status === 'clean').length}/${fixed.length}   bugs caught: ${bugs.filter((r) => r.status === 'caught').length}/${bugs.length}${underControl ? ` (+${underControl} missed by stress on this machine, found under explore: they need real parallelism)` : ''}\n`);
  if (summary.budgetMs !== null && rows.length) {
    const given = rows.flatMap((r) => r.runMs);
    process.stdout.write(`budget ${durationArg(summary.budgetMs)}: ${given.length} runs, each given ${Math.min(...given)}-${Math.max(...given)} ms\n`);
  }
  for (const r of rows.filter((x) => !x.expected)) process.stdout.write(`${r.status}: ${rerunCommand(r)}\n`);
  if (summary.skipped.length) process.stdout.write(`not run: ${summary.skipped.length} (${summary.interrupted ? 'interrupted' : '--fail-fast'})\n`);
  process.stdout.write(`campaign: ${path}\nreport:   ${summary.report}\n${junit === null ? '' : `junit:    ${junit}\n`}`);
}

/** campaign --memory: one cell of the barrier matrix. */
export interface MatrixCell {
  scenario: string;
  strategy: StrategyName;
  /** null: the fixed form (nothing taken away: clean under every model) */
  bug: string | null;
  memory: MemoryModel;
  /** the ordering is needed under this model: taking it away was found */
  needed: boolean;
  /** what the bug's declaration says (BugDef.memory) */
  expected: boolean;
  cell: ExploreCell;
}

/** EXPLORE executions per cell of the barrier matrix (the issue's fixed-form count) */
export const MATRIX_RUNS = 10_000;

export const MATRIX_SCHEMA = 'gupstress/memory-matrix@1';

/** The barrier matrix's file. */
export interface MatrixFile {
  schema: typeof MATRIX_SCHEMA;
  startedAt: string;
  host: ReturnType<typeof hostInfo>;
  models: MemoryModel[];
  cells: MatrixCell[];
  ok: boolean;
  /** the seconds it took (summed over the shards, merged) */
  seconds: number;
  shard?: ShardTag;
  merged?: MergedFrom;
}

/** The cells of the barrier matrix, in order: each scenario's fixed form under each strategy,
 *  then each ordering it can take away under its first strategy, each under every model. */
function matrixCells(scenarios: readonly Scenario[], models: readonly MemoryModel[]): Omit<MatrixCell, 'needed' | 'cell'>[] {
  const out: Omit<MatrixCell, 'needed' | 'cell'>[] = [];
  for (const s of scenarios) {
    for (const strategy of s.strategies) for (const memory of models) out.push({ scenario: s.id, strategy, bug: null, memory, expected: false });
    for (const [name, b] of Object.entries(s.bugs)) {
      if (!b.memory) continue;
      for (const memory of models) out.push({ scenario: s.id, strategy: (b.strategies ?? s.strategies)[0], bug: name, memory, expected: b.memory.includes(memory) });
    }
  }
  return out;
}

/** `campaign --memory sc,tso,lkmm`: every ordering the model can take away (a bug declared
 *  with BugDef.memory) explored under each memory model: needed (found, after how many
 *  executions, the schedule replayed) or not needed (clean in MATRIX_RUNS executions). Exit 1
 *  where that is not what the declaration says. */
export async function runMemoryMatrix(o: CampaignOptions, models: readonly MemoryModel[], log: Logger, signal: AbortSignal): Promise<number> {
  const only = o.scenarios === undefined ? null : ([] as string[]).concat(o.scenarios as string[]).map((x) => requireScenario(x).id);
  const format = parseFormat(o.format, o.json);
  const all = matrixCells(SCENARIOS.filter((x) => !only || only.includes(x.id)), models);
  const run = o.sharded ?? null;
  const items = shardItems(all.length, run?.shard ?? null);
  const cells: MatrixCell[] = [];
  const started = performance.now();
  const startedAt = new Date().toISOString();
  for (const c of items.map((i) => all[i])) {
    if (signal.aborted) break;
    // (the fixed form, every ordering in place, is clean under every model)
    const cell = await exploreCell(c.scenario, c.strategy, K_RCU_FLAVOR.choices![K_RCU_FLAVOR.value], c.bug, 0, log, c.memory, MATRIX_RUNS);
    cells.push({ ...c, needed: cell.found, cell });
  }
  const f: MatrixFile = {
    schema: MATRIX_SCHEMA, startedAt, host: hostInfo(), models: [...models], cells, ok: !signal.aborted && cells.length === items.length && matrixOk(cells), seconds: Math.round((performance.now() - started) / 1000),
    ...(run ? { shard: shardTag(run.shard, run.whole, items, all.length) } : {}),
  };
  const out = o.out === undefined ? 'results' : String(o.out);
  return finishMatrix(f, writeJsonAtomic(out, resultsFileName('memory-matrix', f), f), format);
}

function matrixOk(cells: readonly MatrixCell[]): boolean {
  return cells.every((c) => c.needed === c.expected && (!c.needed || c.cell.replayVerified));
}

/** The barrier matrix shown; exit 0 when every cell is as declared. */
export function finishMatrix(f: MatrixFile, file: string, format: Format): number {
  const { models, cells, ok } = f;
  if (format === 'json') {
    process.stdout.write(JSON.stringify({ models, cells, ok }, null, 2) + '\n');
    return ok ? 0 : 1;
  }
  const keys = [...new Set(cells.map((c) => `${c.scenario}\t${c.strategy}\t${c.bug ?? ''}`))];
  const t: Table = {
    head: ['scenario', 'strategy', 'the ordering taken away (bug)', ...models.map((m) => `--memory ${m}`)],
    rows: keys.map((k) => {
      const [scenario, strategy, bug] = k.split('\t');
      return [scenario, strategy, bug || 'fixed (none)', ...models.map((m) => {
        const c = cells.find((x) => x.scenario === scenario && x.strategy === strategy && (x.bug ?? '') === bug && x.memory === m);
        if (!c) return '-';
        const mark = c.needed === c.expected ? '' : ' UNEXPECTED';
        if (c.bug === null) return c.needed ? `DIRTY: ${c.cell.kind} in ${fmtInt(c.cell.executions)}` : `clean in ${fmtInt(c.cell.executions)}`;
        return c.needed ? `needed: ${c.cell.kind} in ${fmtInt(c.cell.executions)}${c.cell.replayVerified ? '' : ' (replay FAILED)'}${mark}` : `not needed: clean in ${fmtInt(c.cell.executions)}${mark}`;
      })];
    }),
    key: 3,
  };
  process.stdout.write(renderTable(t, format, commandLine()) + '\n');
  process.stdout.write(`${cells.filter((c) => c.needed === c.expected).length}/${cells.length} cells as declared; ${f.seconds} s; ${file}\n`);
  return ok ? 0 : 1;
}

/** The matrix's shards as the whole matrix: its cells in order. */
export function mergeMatrix(shards: readonly ShardFile<MatrixFile>[]): MatrixFile {
  const { items: ran, missing } = inOrder(shards, (s) => s.data.cells);
  const fs = shards.map((s) => s.data);
  return {
    schema: MATRIX_SCHEMA, startedAt: fs.map((f) => f.startedAt).sort()[0], host: fs[0].host, models: fs[0].models, cells: ran, ok: missing === 0 && fs.every((f) => f.ok) && matrixOk(ran),
    seconds: fs.reduce((a, f) => a + f.seconds, 0), merged: mergedFrom(shards),
  };
}

export async function runCampaign(o: CampaignOptions, log: Logger, signal: AbortSignal): Promise<number> {
  if (o.memory !== undefined) {
    const models = listOpt(o.memory).map((m) => memoryOpt(m));
    if (models.length === 0) throw new BadInput('--memory takes memory models, e.g. sc,tso,lkmm');
    return runMemoryMatrix(o, models, log, signal);
  }
  const out = o.out === undefined ? 'results' : String(o.out);
  const format = parseFormat(o.format, o.json);
  const repeat = o.repeat === undefined ? 1 : Number(o.repeat);
  if (!Number.isInteger(repeat) || repeat < 1 || repeat > 50) throw new BadInput(`--repeat must be an integer from 1 to 50 (got ${String(o.repeat)})`);
  if (o.junit !== undefined && String(o.junit) === '') throw new BadInput('--junit takes a file name');
  const only = o.scenarios === undefined ? null : ([] as string[]).concat(o.scenarios as string[]).map((x) => requireScenario(x).id);
  const scenarios = SCENARIOS.filter((s) => (only ? only.includes(s.id) : o.selftests !== false || !s.selftest));
  if (scenarios.length === 0) throw new BadInput('no scenario to run');
  const all = campaignJobs(scenarios, campaignFlavors(o.rcu));
  // (--shard: this shard's jobs; job i keeps its seeds, so a row is the same sharded or not)
  const run = o.sharded ?? null;
  const items = shardItems(all.length, run?.shard ?? null);
  const jobs = items.map((i) => all[i]);
  const limits = parseLimits(o, campaignRuns(jobs, repeat), scenarios);
  const exploreMs = o.explore === undefined || o.explore === false ? null : o.explore === true || o.explore === '' ? 10000 : parseDuration(String(o.explore), '--explore');
  if (limits.budget) log.info({ budgetMs: limits.budget.totalMs, runs: limits.budget.runsLeft }, `campaign budget: ${nextRunMs(limits.budget.totalMs, limits.budget.runsLeft)} ms per run to start with`);
  const startedAt = new Date().toISOString();
  const stamp = `${stampOf(startedAt)}${shardSuffix(run?.shard ?? null)}`;
  // every run's file in one folder, next to the campaign's JSON and report
  const runsDir = join(out, `campaign.${stamp}`);
  const rows: CampaignRow[] = [];
  for (const [k, job] of jobs.entries()) {
    if (signal.aborted) break;
    const i = items[k];
    const progress = `campaign ${k + 1}/${jobs.length}${run ? ` (job ${i + 1} of ${all.length}, shard ${run.shard.index}/${run.shard.count})` : ''}`;
    const weak = job.bug === null ? undefined : job.s.bugs[job.bug].memory;
    if (weak !== undefined) {
      // a missing barrier: stress (sequentially consistent) cannot show it; explored under the
      // first memory model it shows under
      const cell = await exploreCell(job.s.id, job.strategy, job.rcu, job.bug, exploreMs ?? PARALLEL_EXPLORE_MS, log, weak[0]);
      if (signal.aborted && !cell.found) break;
      const row = weakRow(job, cell, weak[0]);
      rows.push(row);
      log.info({ scenario: row.scenario, strategy: row.strategy, bug: row.bug, memory: weak[0], status: row.status }, progress);
      if (stopsCampaign(row, Boolean(o.failFast))) break;
      continue;
    }
    const row = await runJob(job, i, repeat, limits, runsDir, log, signal, Boolean(o.unwidened));
    if (row === null) break;
    const parallel = row.bug !== null && job.s.bugs[row.bug].needsParallelism !== undefined;
    // (a stress miss that its exploration decides, which Ctrl-C stopped: not run)
    if (signal.aborted && parallel && row.status === 'MISSED') break;
    if (row.bug !== null && (exploreMs !== null || parallel) && !signal.aborted) {
      // every bug row with --explore; a bug whose stress detection needs real parallelism
      // (BugDef.needsParallelism) always: on a busy machine its stress run may miss it
      row.explore = await exploreCell(job.s.id, row.strategy, job.rcu, row.bug, exploreMs ?? PARALLEL_EXPLORE_MS, log);
      // a bug the controlled executor does not find, or whose schedule does not replay, fails
      // the row; one that needs parallelism and was found under control passes it, stress or not
      if (!row.explore.replayVerified) row.expected = false;
      else if (parallel && row.status === 'MISSED') row.expected = true;
    }
    rows.push(row);
    log.info({ scenario: row.scenario, strategy: row.strategy, bug: row.bug, status: row.status, kinds: row.kinds, firstViolationMs: row.firstViolationMs, runMs: row.runMs }, progress);
    if (stopsCampaign(row, Boolean(o.failFast))) break;
  }
  const summary: CampaignResults = {
    schema: CAMPAIGN_SCHEMA, startedAt, host: hostInfo(), rows, ok: rows.length === jobs.length && rows.every((r) => r.expected), interrupted: signal.aborted, report: null,
    budgetMs: limits.budget?.totalMs ?? null, skipped: jobs.slice(rows.length).map(jobKey), failFast: Boolean(o.failFast),
    ...(run ? { shard: shardTag(run.shard, run.whole, items, all.length) } : {}),
  };
  return finishCampaign(summary, { out, stamp, junit: o.junit === undefined ? null : String(o.junit), html: null, format });
}

function jobKey(j: Job): JobKey {
  return { scenario: j.s.id, strategy: j.strategy, rcu: j.rcu, bug: j.bug };
}

/** A campaign's results written (JSON, HTML report, JUnit) and shown; its exit code: 0 when
 *  every row ran is as expected (an interrupted campaign is judged on what ran), else 1. */
export function finishCampaign(summary: CampaignResults, t: { out: string; stamp: string; junit: string | null; html: string | null; format: Format }): number {
  const { rows, skipped } = summary;
  summary.report = t.html === null ? writeReport(t.out, `campaign.${t.stamp}.html`, [{ kind: 'campaign', path: 'campaign', data: summary }]) : writeReport(dirname(t.html), basename(t.html), [{ kind: 'campaign', path: 'campaign', data: summary }]);
  const path = writeJsonAtomic(t.out, `campaign.${t.stamp}.json`, summary);
  const junit = t.junit === null ? null : writeJunit(t.junit, rows, skipped, summary.interrupted ? 'the campaign was interrupted' : '--fail-fast stopped the campaign at an unexpected result');
  if (t.format === 'json') process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
  else printCampaign(summary, path, junit, t.format);
  return rows.every((r) => r.expected) && (summary.ok || summary.interrupted) ? 0 : 1;
}

/** A campaign's shards as the whole campaign: its rows in job order, the jobs no shard ran
 *  (Ctrl-C, --fail-fast) skipped, ok when every job ran as expected. */
export function mergeCampaign(shards: readonly ShardFile<CampaignResults>[]): CampaignResults {
  const fs = shards.map((s) => s.data);
  // each shard's jobs in the order it had them: the rows it ran, then the ones it skipped
  const jobs = inOrder(shards, (s) => [...s.data.rows.map((row) => ({ row })), ...s.data.skipped.map((key) => ({ key }))]);
  const rows = jobs.items.flatMap((j) => ('row' in j ? [j.row] : []));
  const skipped = jobs.items.flatMap((j) => ('key' in j ? [j.key] : []));
  return {
    schema: CAMPAIGN_SCHEMA, startedAt: fs.map((f) => f.startedAt).sort()[0], host: fs[0].host, rows, interrupted: fs.some((f) => f.interrupted), report: null,
    ok: jobs.missing === 0 && skipped.length === 0 && rows.every((r) => r.expected), budgetMs: fs[0].budgetMs, skipped, failFast: fs[0].failFast, merged: mergedFrom(shards),
  };
}
