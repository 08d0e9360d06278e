// `gupstress sweep`: one scenario over strategies x readers x writers x widen values; one
// JSON holding every cell and one HTML report. With --shard i/N, the cells i-1, i-1+N, ...
// (each cell's seeds are its own, so it gives the same results sharded or not); the merge
// puts the cells back in order.
import { basename, dirname } from 'node:path';
import { cellFigures, figures } from '../run/figures.js';
import { fmtUnit, spreadCell } from '../output/table.js';
import { KNOBS, formatKnob } from '../../src/machine/knobs.js';
import { requireScenario, resolveRunConfig, BadInput, intOpt, knobValue, listOpt, parseDuration } from '../run/config.js';
import { type Format, type Table, commandLine, parseFormat, renderTable } from '../output/format.js';
import { METHOD } from '../run/stats.js';
import { SWEEP_SCHEMA, type SweepCell, type SweepResults } from '../run/files.js';
import type { Logger } from '../run/log.js';
import { writeReport } from '../output/report.js';
import { type RunResults, buildResults, hostInfo, writeJsonAtomic } from '../run/results.js';
import { runScenario } from '../run/runner.js';
import { type ShardFile, type ShardRun, inOrder, mergedFrom, ownsItem, shardTag, resultsFileName } from '../run/shard.js';

export interface SweepOptions {
  scenario: unknown;
  strategy?: unknown;
  readers?: unknown;
  writers?: unknown;
  widen?: unknown;
  duration?: unknown;
  seed?: unknown;
  out?: unknown;
  repeat?: unknown;
  format?: unknown;
  /** KNOB=V1,V2,... (repeatable): knob axes */
  set?: unknown;
  json: boolean;
  /** --shard: this process runs shard i of N (the cells) */
  sharded?: ShardRun | null;
}

function ints(v: unknown, what: string, fallback: number): number[] {
  const xs = listOpt(v);
  if (xs.length === 0) return [fallback];
  return xs.map((x) => {
    const n = Number(x);
    if (!Number.isInteger(n) || n < 0) throw new BadInput(`${what} takes a comma-separated list of integers (got '${x}')`);
    return n;
  });
}

/** NAME=V1,V2,... options (repeatable): each an axis of the sweep. `name` gives an axis'
 *  canonical name (undefined: no such axis); `check` throws on a bad value. */
function axes(v: unknown, usage: string, name: (n: string) => string | undefined, check: (name: string, value: string) => void): [string, string[]][] {
  if (v === undefined) return [];
  return ([] as unknown[]).concat(v).map((x) => {
    const s = String(x);
    const i = s.indexOf('=');
    const n = i > 0 ? name(s.slice(0, i)) : undefined;
    if (n === undefined) throw new BadInput(`${usage} (got '${s}')`);
    const vals = s.slice(i + 1).split(',').map((d) => d.trim()).filter(Boolean);
    for (const d of vals) check(n, d);
    return [n, vals];
  });
}

/** --widen NAME=V1,V2,... (repeatable): every combination becomes a cell. */
const widenAxes = (v: unknown): [string, string[]][] =>
  axes(v, '--widen takes NAME=DURATION[,DURATION...]', (n) => n, (n, d) => parseDuration(d, `--widen ${n}`, 'ns'));

/** --set KNOB=V1,V2,... (repeatable): each knob an axis; every value checked against its range. */
const knobAxes = (v: unknown): [string, string[]][] =>
  axes(v, `--set takes KNOB=V1[,V2...] with a knob of: ${KNOBS.names().join(', ')}`, (n) => KNOBS.byName(n)?.name, (n, d) => knobValue(KNOBS.byName(n)!, d));

function product(axes: [string, string[]][]): [string, string][][] {
  return axes.reduce<[string, string][][]>((acc, [name, values]) => acc.flatMap((combo) => values.map((v) => [...combo, [name, v] as [string, string]])), [[]]);
}

export async function runSweep(o: SweepOptions, log: Logger, signal: AbortSignal): Promise<number> {
  const s = requireScenario(o.scenario);
  const given = listOpt(o.strategy);
  const strategies = given.length ? given : [s.defaultStrategy];
  const readers = ints(o.readers, '--readers', s.defaults.readers);
  const writers = ints(o.writers, '--writers', s.defaults.writers);
  const widen = widenAxes(o.widen);
  const knobs = knobAxes(o.set);
  const isKnob = new Set(knobs.map(([k]) => k));
  const duration = o.duration === undefined ? '3s' : String(o.duration);
  const out = o.out === undefined ? 'results' : String(o.out);
  const seed = o.seed === undefined ? 1 : Number(o.seed);
  const repeat = o.repeat === undefined ? 1 : intOpt(o.repeat, '--repeat', 1, 100);
  const format = parseFormat(o.format, o.json);
  // resolve every cell first: a bad value anywhere is bad input before anything runs
  const cells = strategies.flatMap((strategy) => readers.flatMap((r) => writers.flatMap((w) => product([...widen, ...knobs]).map((combo) => ({
    strategy, combo, cfg: resolveRunConfig({
      scenario: s.id, strategy, readers: String(r), writers: String(w), duration, seed, out,
      widen: combo.filter(([k]) => !isKnob.has(k)).map(([k, v]) => `${k}=${v}`), set: combo.filter(([k]) => isKnob.has(k)).map(([k, v]) => `${k}=${v}`),
    }),
  })))));
  const startedAt = new Date().toISOString();
  const run = o.sharded ?? null;
  const done: SweepCell[] = [];
  for (const [i, c] of cells.entries()) {
    if (!ownsItem(run?.shard ?? null, i)) continue;
    if (signal.aborted) break;
    const runs: RunResults[] = [];
    for (let k = 0; k < repeat && !signal.aborted; k++) {
      const r = buildResults(await runScenario({ ...c.cfg, seed: (c.cfg.seed + k) >>> 0 }, { log, signal }));
      runs.push(r);
      if (r.verdict !== 'PASS') warnVerdict(log, c.strategy, c.cfg.readers, c.cfg.writers, r);
    }
    if (runs.length === 0) break;
    const w: Record<string, number> = {};
    const kn: Record<string, number> = {};
    for (const [k] of c.combo) if (isKnob.has(k)) kn[k] = c.cfg.knobs[k];
    else w[k] = c.cfg.widen[k];
    done.push({ strategy: c.strategy, readers: c.cfg.readers, writers: c.cfg.writers, widen: w, knobs: kn, results: runs[0], runs, figures: figures(runs) });
    log.info({ strategy: c.strategy, readers: c.cfg.readers, writers: c.cfg.writers, widen: w, verdicts: runs.map((r) => r.verdict), readerOpsPerSec: runs.map((r) => r.reader.opsPerSec) }, `sweep cell ${i + 1}/${cells.length}`);
  }
  const sweep: SweepResults = {
    schema: SWEEP_SCHEMA, startedAt, scenario: s.id, host: hostInfo(),
    axes: {
      strategies, readers, writers, widen: Object.fromEntries(widen.map(([k, vs]) => [k, vs.map((v) => parseDuration(v, k, 'ns') * 1e6)])),
      knobs: Object.fromEntries(knobs.map(([k, vs]) => [k, vs.map((v) => knobValue(KNOBS.byName(k)!, v))])),
    },
    durationMs: parseDuration(duration, '--duration'), repeat, cells: done,
  };
  if (run) sweep.shard = shardTag(run.shard, run.whole, cells.flatMap((_, i) => (ownsItem(run.shard, i) ? [i] : [])), cells.length);
  const json = writeJsonAtomic(out, sweepFileName(sweep), sweep);
  const html = writeReport(out, sweepFileName(sweep).replace(/\.json$/, '.html'), [{ kind: 'sweep', path: json, data: sweep }]);
  return showSweep(sweep, format, json, html, commandLine());
}

/** sweep.SCENARIO.STAMP[.shard-i-of-N | .merged].json */
export function sweepFileName(sw: SweepResults): string {
  return resultsFileName(`sweep.${sw.scenario}`, sw);
}

/** What sweep prints (the table under the command that made it, with where the JSON and the
 *  report went; or the JSON), and its exit code: 3 when a run was an ERROR, 1 when one FAILed, else 0. */
export function showSweep(sweep: SweepResults, format: Format, json: string, html: string, command: string): number {
  const done = sweep.cells;
  const repeat = sweep.repeat ?? 1;
  if (format === 'json') process.stdout.write(JSON.stringify(sweep, null, 2) + '\n');
  else {
    const notes = [`${done.length} cells x ${repeat} run${repeat > 1 ? 's' : ''}${repeat > 1 ? `; median [95% interval: ${METHOD}]` : ''}`, `results: ${json}`, `report:  ${html}`];
    process.stdout.write(renderTable(sweepTable(sweep), format, command, format === 'csv' ? [] : notes) + '\n');
  }
  const verdicts = done.flatMap((c) => (c.runs ?? [c.results]).map((r) => r.verdict));
  return verdicts.includes('ERROR') ? 3 : verdicts.includes('FAIL') ? 1 : 0;
}

/** The shards of one sweep as the whole would have written it: every cell in the whole's
 *  order (a cell a shard never reached, cut short, is left out, as the whole leaves out the
 *  cells after it stopped), the axes as given, the earliest start. Written next to the
 *  shards' as .merged, with its report (`html`, or next to it). */
export function mergeSweep(shards: readonly ShardFile<SweepResults>[], out: string, html: string | null): { sweep: SweepResults; json: string; html: string } {
  const [a] = shards.map((s) => s.data);
  const { shard: _, ...rest } = a;
  const cells = inOrder(shards, (s) => s.data.cells).items;
  const sweep: SweepResults = { ...rest, startedAt: shards.map((s) => s.data.startedAt).sort()[0], cells, merged: mergedFrom(shards) };
  const json = writeJsonAtomic(out, sweepFileName(sweep), sweep);
  const target = html ?? json.replace(/\.json$/, '.html');
  return { sweep, json, html: writeReport(dirname(target), basename(target), [{ kind: 'sweep', path: json, data: sweep }]) };
}

/** The columns of the sweep table: what a strategy and knob choice trades (metric names of
 *  compare.ts's metrics, declared there once). */
const SWEEP_COLUMNS: { head: string; metric: string }[] = [
  { head: 'reader ops/s', metric: 'reader ops/s' },
  { head: 'writer p50', metric: 'writer op p50' },
  { head: 'writer p99', metric: 'writer op p99' },
  { head: 'sync wait p50', metric: 'sync wait p50' },
  { head: 'frees pending max', metric: 'deferred frees pending max' },
];

/** A sweep cell's run that failed says so as it ends (the exit code alone says only that one
 *  did): its seed, the error or the first violation with the trace before it. */
function warnVerdict(log: Logger, strategy: string, readers: number, writers: number, r: RunResults): void {
  const v = r.violations[0];
  log.warn({ strategy, readers, writers, seed: r.config.seed, violations: r.violationsByKind, first: v, error: r.error },
    `sweep: ${r.verdict} under ${strategy} ${readers}r/${writers}w seed ${r.config.seed}: ${r.error ?? (v ? `${v.kind} at ${v.address} (cpu ${v.cpu}): ${v.detail}` : JSON.stringify(r.violationsByKind))}`);
}

/** One row per cell: its axes, the verdicts, and each column as median [95% interval]. */
export function sweepTable(sw: SweepResults): Table {
  const widen = Object.keys(sw.axes.widen);
  const knobs = Object.keys(sw.axes.knobs ?? {});
  const figs = sw.cells.map(cellFigures);
  const cols = SWEEP_COLUMNS.filter((c) => figs.some((f) => f[c.metric]?.spread));
  return {
    head: ['strategy', 'r', 'w', ...widen, ...knobs, 'verdict', ...cols.map((c) => c.head)],
    rows: sw.cells.map((cell, i) => {
      const runs = cell.runs ?? [cell.results];
      const verdicts = [...new Set(runs.map((r) => r.verdict))].join('/');
      return [cell.strategy, String(cell.readers), String(cell.writers), ...widen.map((k) => fmtUnit(cell.widen[k], 'ns')), ...knobs.map((k) => (cell.knobs?.[k] === undefined ? '-' : KNOBS.byName(k) ? formatKnob(KNOBS.byName(k)!, cell.knobs[k]) : String(cell.knobs[k]))), verdicts, ...cols.map((c) => {
        const f = figs[i][c.metric];
        return f?.spread ? spreadCell(f.spread, f.unit) : '-';
      })];
    }),
    right: [false, true, true, ...widen.map(() => true), ...knobs.map(() => true), false, ...cols.map(() => true)],
    key: 3 + widen.length + knobs.length,
  };
}
