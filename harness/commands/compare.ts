// `gupstress compare A B`: two sets of runs side by side. Each side is a run file, a folder of
// run files (what `run --repeat` writes), a glob, or a sweep's cell (FILE@strategy=rcu,...).
// Per metric: the medians with their 95% intervals, B/A with its interval, and a verdict
// from that interval (criterion's "no change detected" when it holds 1).
import { readdirSync, statSync } from 'node:fs';
import { KNOBS, formatKnob } from '../../src/machine/knobs.js';
import { basename, dirname, join } from 'node:path';
import { BadInput } from '../run/config.js';
import { type Format, type Table, commandLine, renderTable } from '../output/format.js';
import { loadResultsFile } from '../run/files.js';
import type { RunResults } from '../run/results.js';
import type { Unit } from '../run/files.js';
import { figures, metrics, values } from '../run/figures.js';
import { FEW_RUNS, METHOD, type RatioSpread, type Spread, ratioSpread, spread } from '../run/stats.js';
import { fmtUnit, spreadCell } from '../output/table.js';



export interface CompareRow {
  metric: string;
  unit: Unit;
  a: Spread | null;
  b: Spread | null;
  /** B/A of the medians, its interval and the verdict: 'B faster' / 'B slower' where one way
   *  is better, 'B higher' / 'B lower' elsewhere, or no significant difference */
  ratio: (RatioSpread & { says: string | null }) | null;
}


export function compareSets(a: readonly RunResults[], b: readonly RunResults[]): CompareRow[] {
  return metrics([...a, ...b]).map((m) => ({ m, xa: values(a, m.get), xb: values(b, m.get) })).filter(({ xa, xb }) => xa.length + xb.length > 0).map(({ m, xa, xb }) => {
    const r = xa.length && xb.length ? ratioSpread(xa, xb) : null;
    let says: string | null = r?.verdict ?? null;
    if (r && m.better && (r.verdict === 'B higher' || r.verdict === 'B lower')) says = (r.verdict === 'B higher') === (m.better === 'higher') ? 'B faster' : 'B slower';
    return { metric: m.name, unit: m.unit, a: xa.length ? spread(xa) : null, b: xb.length ? spread(xb) : null, ratio: r ? { ...r, says } : null };
  });
}

/** One side of a comparison: the runs a spec names. */
export function loadRunSet(spec: string): RunResults[] {
  const at = spec.lastIndexOf('@');
  if (at > 0 && spec.slice(0, at).endsWith('.json')) return sweepCell(spec.slice(0, at), spec.slice(at + 1));
  let files: string[];
  if (spec.includes('*')) {
    const dir = dirname(spec);
    const re = new RegExp(`^${basename(spec).split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
    files = listDir(dir).filter((f) => re.test(f)).map((f) => join(dir, f));
  } else if (isDir(spec)) {
    // a folder: its run files (a run --repeat folder also holds its summary and report)
    const runs = listDir(spec).filter((f) => f.endsWith('.json')).sort().map((f) => loadResultsFile(join(spec, f))).filter((l) => l.kind === 'run').map((l) => l.data as RunResults);
    if (runs.length === 0) throw new BadInput(`${spec}: no run files (gupstress/run@1) in this folder`);
    return runs;
  } else files = [spec];
  if (files.length === 0) throw new BadInput(`${spec}: no run files`);
  return files.sort().map((f) => {
    const l = loadResultsFile(f);
    if (l.kind === 'sweep') throw new BadInput(`${f} is a sweep: name a cell, ${f}@strategy=NAME[,readers=N,...]`);
    if (l.kind !== 'run') throw new BadInput(`${f} is not a run results file (gupstress/run@1)`);
    return l.data;
  });
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function listDir(d: string): string[] {
  try {
    return readdirSync(d);
  } catch (e) {
    throw new BadInput(`cannot read ${d}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** FILE@strategy=rcu,readers=2,KNOB=V: the runs of the sweep cells that match every key. */
function sweepCell(file: string, sel: string): RunResults[] {
  const l = loadResultsFile(file);
  if (l.kind !== 'sweep') throw new BadInput(`${file} is not a sweep (gupstress/sweep@1): '@' names a sweep's cell`);
  const want = sel.split(',').filter(Boolean).map((kv) => {
    const i = kv.indexOf('=');
    if (i <= 0) throw new BadInput(`${file}@${sel}: a cell is named by KEY=VALUE pairs (strategy, readers, writers, a widened window, a knob)`);
    return [kv.slice(0, i), kv.slice(i + 1)] as const;
  });
  const cells = l.data.cells.filter((c) => want.every(([k, v]) => {
    const knob = KNOBS.byName(k);
    const got = k === 'strategy' ? c.strategy : k === 'readers' ? c.readers : k === 'writers' ? c.writers : c.knobs?.[k] !== undefined && knob ? formatKnob(knob, c.knobs[k]) : c.widen[k];
    return got !== undefined && (String(got) === v || (knob !== undefined && knob.unit !== 'choice' && String(c.knobs?.[k]) === v));
  }));
  if (cells.length === 0) throw new BadInput(`${file}: no cell with ${sel}`);
  return cells.flatMap((c) => c.runs ?? [c.results]);
}

/** B/A, or where A's median is 0 the difference B-A in the metric's unit (signed). */
function ratioCell(r: CompareRow['ratio'], unit: Unit): string {
  if (r === null || r.ratio === null) return '-';
  if (r.of === 'difference') {
    const d = (v: number): string => `${v < 0 ? '-' : '+'}${fmtUnit(Math.abs(v), unit)}`;
    return `${r.lo === null ? d(r.ratio) : `${d(r.ratio)} [${d(r.lo)}, ${d(r.hi!)}]`} (B-A)`;
  }
  return r.lo === null ? r.ratio.toFixed(2) : `${r.ratio.toFixed(2)} [${r.lo.toFixed(2)}, ${r.hi!.toFixed(2)}]`;
}

/** A verdict from fewer than FEW_RUNS values on a side says so (each side's n is in its spread). */
const fewRuns = (r: CompareRow): boolean => Math.min(r.a?.n ?? 0, r.b?.n ?? 0) < FEW_RUNS;

export function compareTable(rows: CompareRow[]): Table {
  return {
    head: ['metric', 'A', 'B', 'B/A (or B-A)', 'verdict'],
    rows: rows.map((r) => [r.metric, spreadCell(r.a, r.unit), spreadCell(r.b, r.unit), ratioCell(r.ratio, r.unit), r.ratio?.says ? `${r.ratio.says}${fewRuns(r) && r.ratio.lo !== null ? ' (few runs)' : ''}` : '-']),
    right: [false, true, true, true, false],
  };
}

function label(runs: RunResults[]): string {
  const kinds = new Set(runs.map((r) => `${r.scenario.id} ${r.config.strategy} ${r.config.bugs.join('+') || 'fixed'} ${r.config.readers}r/${r.config.writers}w`));
  return `${runs.length} run${runs.length === 1 ? '' : 's'}: ${[...kinds].join('; ')}`;
}

export function runCompare(aSpec: string, bSpec: string, format: Format): number {
  const a = loadRunSet(aSpec);
  const b = loadRunSet(bSpec);
  const rows = compareSets(a, b);
  if (format === 'json') {
    process.stdout.write(JSON.stringify({ command: commandLine(), method: METHOD, a: { spec: aSpec, runs: a.length }, b: { spec: bSpec, runs: b.length }, rows }, null, 2) + '\n');
    return 0;
  }
  const one = a.length < 2 || b.length < 2;
  const few = Math.min(a.length, b.length) < FEW_RUNS;
  const notes = [
    `A: ${aSpec} (${label(a)})`,
    `B: ${bSpec} (${label(b)})`,
    one
      ? 'With one run on a side no significance can be given: repeat the runs (run --repeat N) for intervals.'
      : `Cells: median [95% interval]; verdict from the interval of B/A (${METHOD}): 1 inside it is no significant difference; where A's median is 0, of B-A: 0 inside it.`,
    ...(few && !one ? [`Few runs: ${a.length} in A, ${b.length} in B (fewer than ${FEW_RUNS} a side): the intervals are wide and a verdict rests on little; repeat more (run --repeat ${FEW_RUNS * 2}).`] : []),
  ];
  process.stdout.write(renderTable(compareTable(rows), format, commandLine(), format === 'csv' ? [] : notes) + '\n');
  return 0;
}

/** run --repeat: every metric over the repeats, median [95% interval] and min-max. */
export function repeatTable(runs: readonly RunResults[]): Table {
  const rows: string[][] = [];
  for (const { metric, unit, spread: s } of Object.values(figures(runs))) {
    if (s === null) continue;
    rows.push([metric, spreadCell(s, unit), `${fmtUnit(s.min, unit)} - ${fmtUnit(s.max, unit)}`, String(s.n)]);
  }
  return { head: ['metric', 'median [95% interval]', 'min - max', 'runs'], rows, right: [false, true, true, true] };
}
