// The metrics of a set of runs, declared once, and their figures (median, spread, 95% interval):
// what compare, run --repeat, sweep and the HTML report all show.
import type { Figure, SweepCell, Unit } from './files.js';
import type { RunResults } from './results.js';
import { spread } from './stats.js';

interface Metric {
  name: string;
  unit: Unit;
  /** which way is better: throughput up, latency down; null where neither is */
  better: 'higher' | 'lower' | null;
  get: (r: RunResults) => number | null | undefined;
}

/** The metrics compared, declared once (the window rows follow the runs' windows). */
export function metrics(runs: readonly RunResults[]): Metric[] {
  const m: Metric[] = [
    { name: 'reader ops/s', unit: 'ops/s', better: 'higher', get: (r) => r.reader.opsPerSec },
    { name: 'writer ops/s', unit: 'ops/s', better: 'higher', get: (r) => r.writer.opsPerSec },
    { name: 'reader op p50', unit: 'ns', better: 'lower', get: (r) => r.reader.latencyNs.p50 },
    { name: 'reader op p99', unit: 'ns', better: 'lower', get: (r) => r.reader.latencyNs.p99 },
    { name: 'writer op p50', unit: 'ns', better: 'lower', get: (r) => r.writer.latencyNs.p50 },
    { name: 'writer op p99', unit: 'ns', better: 'lower', get: (r) => r.writer.latencyNs.p99 },
    { name: 'IPI wait p50', unit: 'ns', better: 'lower', get: (r) => r.sync.ipiWaitNs.p50 },
    { name: 'IPI wait p99', unit: 'ns', better: 'lower', get: (r) => r.sync.ipiWaitNs.p99 },
    { name: 'synchronize_rcu p50', unit: 'ns', better: 'lower', get: (r) => r.sync.syncRcuNs.p50 },
    { name: 'synchronize_rcu_expedited p50', unit: 'ns', better: 'lower', get: (r) => r.sync.syncRcuExpeditedNs.p50 },
    { name: 'grace period p50', unit: 'ns', better: 'lower', get: (r) => r.sync.gracePeriodNs.p50 },
    { name: 'sync wait p50', unit: 'ns', better: 'lower', get: syncWaitNs },
    { name: 'deferred frees pending max', unit: 'count', better: 'lower', get: (r) => r.sync.deferredFreesPendingMax },
  ];
  const windows = new Set(runs.flatMap((r) => Object.keys(r.windows)));
  for (const w of [...windows].sort()) m.push({ name: `window ${w} frequency`, unit: 'freq', better: null, get: (r) => r.windows[w]?.frequency });
  m.push({ name: 'violations', unit: 'count', better: 'lower', get: (r) => r.violationCount });
  return m;
}

/** What the strategy waits on, p50: the IPI broadcast (ipi), the grace period that holds the
 *  call_rcu frees (rcu), synchronize_rcu (rcu-sync), synchronize_rcu_expedited (rcu-exp). */
export function syncWaitNs(r: RunResults): number | null {
  const s = r.sync;
  switch (r.config.strategy) {
    case 'ipi': return s.ipiWaitNs.p50;
    case 'rcu': return s.gracePeriodNs.p50;
    case 'rcu-sync': return s.syncRcuNs.p50;
    case 'rcu-exp': return s.syncRcuExpeditedNs.p50;
  }
  return null;
}


/** Every figure a set of repeated runs shows, by metric name: the one computation behind the
 *  terminal's tables (run --repeat, sweep), the JSON (a sweep cell's `figures`) and the HTML
 *  report's bars and points, so none of them can show another number. */
export function figures(runs: readonly RunResults[]): Record<string, Figure> {
  return Object.fromEntries(metrics(runs).map((m) => {
    const xs = values(runs, m.get);
    return [m.name, { metric: m.name, unit: m.unit, spread: xs.length ? spread(xs) : null }];
  }));
}

/** A sweep cell's figures: as its JSON holds them, or (a file written before they were kept)
 *  computed the same way from its runs. */
export function cellFigures(cell: SweepCell): Record<string, Figure> {
  return cell.figures ?? figures(cell.runs ?? [cell.results]);
}

/** A metric's values over runs, leaving out the runs that have none. */
export function values(runs: readonly RunResults[], get: (r: RunResults) => number | null | undefined): number[] {
  return runs.map(get).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
}
