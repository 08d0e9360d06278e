// `gupstress sweep`: one scenario over strategies x readers x writers x widen values; one
// JSON holding every cell and one HTML report.
import { requireScenario, resolveRunConfig, BadInput, parseDuration } from './config.js';
import { SWEEP_SCHEMA, type SweepCell, type SweepResults } from './files.js';
import type { Logger } from './log.js';
import { writeReport } from './report.js';
import { buildResults, hostInfo, writeJsonAtomic } from './results.js';
import { runScenario } from './runner.js';

export interface SweepOptions {
  scenario: unknown;
  strategy?: unknown;
  readers?: unknown;
  writers?: unknown;
  widen?: unknown;
  duration?: unknown;
  seed?: unknown;
  out?: unknown;
  json: boolean;
}

function list(v: unknown): string[] {
  if (v === undefined) return [];
  return ([] as unknown[]).concat(v).flatMap((x) => String(x).split(',')).map((x) => x.trim()).filter(Boolean);
}

function ints(v: unknown, what: string, fallback: number): number[] {
  const xs = list(v);
  if (xs.length === 0) return [fallback];
  return xs.map((x) => {
    const n = Number(x);
    if (!Number.isInteger(n) || n < 0) throw new BadInput(`${what} takes a comma-separated list of integers (got '${x}')`);
    return n;
  });
}

/** --widen NAME=V1,V2,... (repeatable): every combination becomes a cell. */
function widenAxes(v: unknown): [string, string[]][] {
  if (v === undefined) return [];
  return ([] as unknown[]).concat(v).map((x) => {
    const s = String(x);
    const i = s.indexOf('=');
    if (i <= 0) throw new BadInput(`--widen takes NAME=DURATION[,DURATION...] (got '${s}')`);
    const values = s.slice(i + 1).split(',').map((d) => d.trim()).filter(Boolean);
    for (const d of values) parseDuration(d, `--widen ${s.slice(0, i)}`, 'ns');
    return [s.slice(0, i), values];
  });
}

function product(axes: [string, string[]][]): [string, string][][] {
  return axes.reduce<[string, string][][]>((acc, [name, values]) => acc.flatMap((combo) => values.map((v) => [...combo, [name, v] as [string, string]])), [[]]);
}

export async function runSweep(o: SweepOptions, log: Logger, signal: AbortSignal): Promise<number> {
  const s = requireScenario(o.scenario);
  const strategies = list(o.strategy).length ? list(o.strategy) : [s.defaultStrategy];
  const readers = ints(o.readers, '--readers', s.defaults.readers);
  const writers = ints(o.writers, '--writers', s.defaults.writers);
  const widen = widenAxes(o.widen);
  const duration = o.duration === undefined ? '3s' : String(o.duration);
  const out = o.out === undefined ? 'results' : String(o.out);
  const seed = o.seed === undefined ? 1 : Number(o.seed);
  // resolve every cell first: a bad value anywhere is bad input before anything runs
  const cells = strategies.flatMap((strategy) => readers.flatMap((r) => writers.flatMap((w) => product(widen).map((combo) => ({
    strategy, combo, cfg: resolveRunConfig({ scenario: s.id, strategy, readers: String(r), writers: String(w), duration, seed, out, widen: combo.map(([k, v]) => `${k}=${v}`) }),
  })))));
  const startedAt = new Date().toISOString();
  const done: SweepCell[] = [];
  for (const [i, c] of cells.entries()) {
    if (signal.aborted) break;
    const r = buildResults(await runScenario(c.cfg, { log, signal }));
    const w: Record<string, number> = {};
    for (const [k] of c.combo) w[k] = c.cfg.widen[k];
    done.push({ strategy: c.strategy, readers: c.cfg.readers, writers: c.cfg.writers, widen: w, results: r });
    log.info({ strategy: c.strategy, readers: c.cfg.readers, writers: c.cfg.writers, widen: w, verdict: r.verdict, readerOpsPerSec: r.reader.opsPerSec }, `sweep cell ${i + 1}/${cells.length}`);
  }
  const sweep: SweepResults = {
    schema: SWEEP_SCHEMA, startedAt, scenario: s.id, host: hostInfo(),
    axes: { strategies, readers, writers, widen: Object.fromEntries(widen.map(([k, vs]) => [k, vs.map((v) => parseDuration(v, k, 'ns') * 1e6)])) },
    durationMs: parseDuration(duration, '--duration'), cells: done,
  };
  const stamp = startedAt.replace(/[-:]/g, '').replace(/\.\d+Z$/, '');
  const json = writeJsonAtomic(out, `sweep.${s.id}.${stamp}.json`, sweep);
  const html = writeReport(out, `sweep.${s.id}.${stamp}.html`, [{ kind: 'sweep', path: json, data: sweep }]);
  if (o.json) process.stdout.write(JSON.stringify(sweep, null, 2) + '\n');
  else process.stdout.write(`sweep: ${done.length} cells\nresults: ${json}\nreport:  ${html}\n`);
  const verdicts = done.map((c) => c.results.verdict);
  return verdicts.includes('ERROR') ? 3 : verdicts.includes('FAIL') ? 1 : 0;
}
