// `gupstress compare A.json B.json`: two runs side by side, with B/A ratios, for tuning.
import { BadInput } from './config.js';
import { loadResultsFile } from './files.js';
import type { RunResults } from './results.js';
import { fmtFreq, fmtInt, fmtNs, table } from './table.js';

export interface CompareRow {
  metric: string;
  a: number | null;
  b: number | null;
  ratio: number | null;
  unit: 'ops/s' | 'ns' | 'count' | 'freq';
}

export function compareRuns(a: RunResults, b: RunResults): CompareRow[] {
  const rows: CompareRow[] = [];
  const add = (metric: string, unit: CompareRow['unit'], f: (r: RunResults) => number | null | undefined): void => {
    const x = f(a) ?? null;
    const y = f(b) ?? null;
    rows.push({ metric, a: x, b: y, ratio: x !== null && y !== null && x !== 0 ? y / x : null, unit });
  };
  add('reader ops/s', 'ops/s', (r) => r.reader.opsPerSec);
  add('writer ops/s', 'ops/s', (r) => r.writer.opsPerSec);
  add('reader op p50', 'ns', (r) => r.reader.latencyNs.p50);
  add('reader op p99', 'ns', (r) => r.reader.latencyNs.p99);
  add('writer op p50', 'ns', (r) => r.writer.latencyNs.p50);
  add('writer op p99', 'ns', (r) => r.writer.latencyNs.p99);
  add('IPI wait p50', 'ns', (r) => r.sync.ipiWaitNs.p50);
  add('IPI wait p99', 'ns', (r) => r.sync.ipiWaitNs.p99);
  add('synchronize_rcu p50', 'ns', (r) => r.sync.syncRcuNs.p50);
  add('synchronize_rcu_expedited p50', 'ns', (r) => r.sync.syncRcuExpeditedNs.p50);
  add('grace period p50', 'ns', (r) => r.sync.gracePeriodNs.p50);
  add('deferred frees pending max', 'count', (r) => r.sync.deferredFreesPendingMax);
  const windows = new Set([...Object.keys(a.windows), ...Object.keys(b.windows)]);
  for (const w of windows) add(`window ${w} frequency`, 'freq', (r) => r.windows[w]?.frequency);
  add('violations', 'count', (r) => r.violationCount);
  return rows;
}

function fmt(v: number | null, unit: CompareRow['unit']): string {
  if (v === null) return '-';
  return unit === 'ns' ? fmtNs(v) : unit === 'freq' ? fmtFreq(v) : fmtInt(v);
}

export function runCompare(aPath: string, bPath: string, json: boolean): number {
  const a = loadResultsFile(aPath);
  const b = loadResultsFile(bPath);
  if (a.kind !== 'run' || b.kind !== 'run') throw new BadInput('compare takes two run results files (gupstress/run@1)');
  const rows = compareRuns(a.data, b.data);
  if (json) {
    process.stdout.write(JSON.stringify({ a: aPath, b: bPath, rows }, null, 2) + '\n');
    return 0;
  }
  const label = (r: RunResults): string => `${r.scenario.id} ${r.config.strategy} ${r.config.bugs.join('+') || 'fixed'} ${r.config.readers}r/${r.config.writers}w`;
  process.stdout.write(`A: ${aPath}\n   ${label(a.data)}\nB: ${bPath}\n   ${label(b.data)}\n\n`);
  process.stdout.write(table(['metric', 'A', 'B', 'B/A'], rows.map((r) => [r.metric, fmt(r.a, r.unit), fmt(r.b, r.unit), r.ratio === null ? '-' : r.ratio.toFixed(2)]), [false, true, true, true]) + '\n');
  return 0;
}
