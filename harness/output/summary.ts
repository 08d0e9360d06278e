// The summary a person reads after `gupstress run`: generated from the results and the
// scenario's declaration.
import { archByName } from '../../src/arch/index.js';
import { scenarioById } from '../../src/scenarios/index.js';
import { type RunResults, WEAK_OVERLAPS } from '../run/results.js';
import { fmtFreq, fmtInt, fmtNs, table } from './table.js';

export function formatSummary(r: RunResults, path: string | null): string {
  const c = r.config;
  const out: string[] = [];
  out.push(`gupstress run ${c.scenario}  strategy=${c.strategy}  bugs=${c.bugs.join(',') || 'none'}  arch=${c.arch}/${c.levels}-level  readers=${c.readers} writers=${c.writers}  seed=${c.seed}  memory=sc (real Atomics: a missing barrier cannot show; explore --memory tso|lkmm)`);
  let verdict = `verdict ${r.verdict}  ${(r.durationMs / 1000).toFixed(1)} s  violations ${fmtInt(r.violationCount)}`;
  if (r.firstViolationMs !== null) verdict += `  first after ${r.firstViolationMs.toFixed(1)} ms`;
  verdict += evidenceText(r);
  if (r.untilBound) verdict += r.untilBound.reached ? `  [--until-bound ${r.untilBound.target}: reached]` : `  [--until-bound ${r.untilBound.target}: NOT reached, --duration ran out]`;
  if (r.interrupted) verdict += '  [interrupted]';
  out.push(verdict);
  if (r.error) out.push(`error: ${r.error}`);
  out.push('');
  for (const role of ['reader', 'writer'] as const) {
    const rr = r[role];
    out.push(`${role}s: ${fmtInt(rr.ops)} ops (${fmtInt(rr.opsPerSec)}/s), op latency p50 ${fmtNs(rr.latencyNs.p50)} p99 ${fmtNs(rr.latencyNs.p99)}`);
    const rows = Object.entries(rr.outcomes).map(([n, o]) => [n, o.expect, fmtInt(o.count), fmtFreq(o.frequency)]);
    out.push(table(['outcome', 'expect', 'count', 'freq'], rows, [false, false, true, true]));
    out.push('');
  }
  const wrows = Object.entries(r.windows).map(([n, w]) => [
    n, w.role, w.pairedWith ?? '-', fmtInt(w.entries), fmtInt(w.reached ?? w.entries), w.overlaps === null ? '-' : fmtInt(w.overlaps), w.overlapsPerSec == null ? '-' : fmtInt(w.overlapsPerSec), fmtFreq(w.frequency), fmtNs(w.widenNs), fmtNs(w.durationNs.p50), fmtNs(w.durationNs.p99),
  ]);
  out.push(table(['window', 'role', 'paired with', 'entries', 'reached', 'overlaps', 'per s', 'freq', 'widen', 'p50', 'p99'], wrows, [false, false, false, true, true, true, true, true, true, true, true]));
  out.push('(reached: entries that got to the window\'s critical step, its widen point; p50/p99 time those)');
  out.push('');
  const s = r.sync;
  out.push(`sync: ${fmtInt(s.ipiSent)} IPI broadcasts (wait p50 ${fmtNs(s.ipiWaitNs.p50)} p99 ${fmtNs(s.ipiWaitNs.p99)} max ${fmtNs(s.ipiWaitNs.max)}), ${fmtInt(s.tlbiBroadcasts)} ${archByName(c.arch).broadcastFlush} (wait for no CPU)`);
  out.push(`      ${fmtInt(s.gracePeriods)} grace periods (p50 ${fmtNs(s.gracePeriodNs.p50)} p99 ${fmtNs(s.gracePeriodNs.p99)}), synchronize_rcu ${fmtInt(s.syncRcu)} (p50 ${fmtNs(s.syncRcuNs.p50)}), expedited ${fmtInt(s.syncRcuExpedited)} (p50 ${fmtNs(s.syncRcuExpeditedNs.p50)})`);
  out.push(`      call_rcu ${fmtInt(s.callRcu)}, batch p50 ${s.callbackBatch.p50 ?? '-'} max ${s.callbackBatch.max ?? '-'}, deferred frees pending at most ${fmtInt(s.deferredFreesPendingMax)}, tables freed ${fmtInt(s.tablesFreed)}`);
  if (r.violations.length) {
    out.push('');
    out.push(`violations (first ${Math.min(5, r.violations.length)} of ${fmtInt(r.violationCount)}):`);
    for (const v of r.violations.slice(0, 5)) {
      out.push(`  ${v.kind} cpu${v.cpu} ${v.address} at ${v.timeMs} ms: ${v.detail}`);
      for (const t of v.trace.slice(-6)) out.push(`      ${t}`);
    }
    out.push('');
    out.push(`the same race under control (a schedule that replays, no widening): ${exploreCommand(r)}`);
  }
  if (r.stall) {
    out.push('');
    out.push('stall report:');
    out.push(table(['cpu', 'role', 'state', 'irq_off', 'rcu_ctr', 'qs', 'ipi req/ack', 'ops', 'waiting on'],
      r.stall.map((s) => [s.cpu, s.role, s.state, s.irqOff, s.rcuCtr, s.qsSeq, `${s.ipiReq}/${s.ipiAck}`, s.ops, s.waitingOn])));
  }
  if (path) out.push(`\nresults: ${path}`);
  return out.join('\n');
}

/** The explore command that looks for a stress run's race under the controlled executor. */
export function exploreCommand(r: RunResults): string {
  const c = r.config;
  const args = [`--scenario ${c.scenario}`, `--strategy ${c.strategy}`, ...c.bugs.map((b) => `--bug ${b}`), `--arch ${c.arch}`, `--levels ${c.levels}`];
  // the parameters this run changed from the scenario's defaults; the others are left to the
  // scenario's explore instance (smaller than the stress run's)
  const declared = scenarioById(c.scenario)?.params ?? {};
  for (const [k, v] of Object.entries(c.params)) if (declared[k] === undefined || declared[k].value !== v) args.push(`--param ${k}=${v}`);
  return `gupstress explore ${args.join(' ')} --duration 60s`;
}

/** What a clean verdict is worth, in a few words: the bound per paired-window overlap, marked
 *  WEAK under WEAK_OVERLAPS overlaps, NO EVIDENCE where the bound is 1 or more, or "no window
 *  measured" where the scenario pairs none. */
export function evidenceText(r: RunResults): string {
  const b = r.boundBasis;
  if (r.evidence === null || !b) return '';
  if (r.evidence === 'no window measured') return `  (no window measured: no paired window; 95% bound < ${b.perReaderOp?.toExponential(1) ?? '-'} per reader op)`;
  if (r.evidence === 'no evidence') return `  (NO EVIDENCE: ${fmtInt(b.overlaps)} overlaps of paired windows, a 95% bound ${r.bound === null ? '' : `of ${r.bound.toExponential(1)} `}per overlap says nothing: run longer, or --widen)`;
  return `  (${r.evidence === 'weak' ? `WEAK: ${fmtInt(b.overlaps)} overlaps, under ${WEAK_OVERLAPS}; ` : ''}95% bound < ${r.bound!.toExponential(1)} per window overlap, ${fmtInt(b.overlaps)} overlaps)`;
}
