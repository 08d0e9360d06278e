// `gupstress report`: one self-contained HTML file (inline CSS and SVG, no script, no
// network) from runs, sweeps and campaigns.
import { KNOBS, formatKnob } from '../../src/machine/knobs.js';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CampaignResults, ExploreFile, Figure, Loaded, SweepResults } from '../run/files.js';
import { cellFigures } from '../run/figures.js';
import type { HistSummary, RunResults } from '../run/results.js';
import { type ScatterPoint, type TickKind, barChart, esc, scatterChart, sequenceChart } from './svg.js';
import { METHOD, type Spread, spread } from '../run/stats.js';
import { STEP_NS } from '../../src/machine/controlled.js';
import { fmtFreq, fmtInt, fmtNs, spreadCell } from './table.js';

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:1100px;color:#222;padding:0 16px}
h1{font-size:22px}h2{font-size:18px;margin-top:36px;border-bottom:1px solid #ddd;padding-bottom:4px}h3{font-size:15px;margin-top:22px}
table{border-collapse:collapse;margin:8px 0 16px;font-size:13px}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}th{background:#f4f4f4}
.PASS,.clean,.caught,.ACCEPTABLE{color:#2b7a2b}.FAIL,.DIRTY,.MISSED,.FORBIDDEN{color:#b3261e;font-weight:600}.ERROR{color:#b3261e;font-weight:700}.INTERESTING{color:#a06000}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;border:1px solid currentColor;font-weight:600}
svg.chart{display:block;margin:10px 0 18px}pre{background:#f7f7f7;padding:8px;font-size:12px;overflow:auto}
.muted{color:#666}`;

function htmlTable(head: string[], rows: (string | number)[][], numeric: boolean[] = [], classes: (string | null)[][] = []): string {
  const th = head.map((h) => `<th>${esc(h)}</th>`).join('');
  const body = rows
    .map((r, ri) => `<tr>${r.map((c, i) => `<td class="${[numeric[i] ? 'n' : '', classes[ri]?.[i] ?? ''].join(' ').trim()}">${esc(c)}</td>`).join('')}</tr>`)
    .join('');
  return `<table><thead><tr>${th}</tr></thead><tbody>${body}</tbody></table>`;
}

let chartSeq = 0;
const chartId = (what: string): string => `chart-${++chartSeq}-${what.replace(/[^a-z0-9]+/gi, '-')}`;

function latencyChart(r: RunResults): string {
  const rows: [string, HistSummary][] = [
    ['reader op', r.reader.latencyNs], ['writer op', r.writer.latencyNs], ['IPI wait', r.sync.ipiWaitNs],
    ['synchronize_rcu', r.sync.syncRcuNs], ['expedited', r.sync.syncRcuExpeditedNs], ['grace period', r.sync.gracePeriodNs],
  ];
  const present = rows.filter(([, h]) => h.count > 0);
  if (present.length === 0) return '';
  return barChart({
    id: chartId('latency'), title: 'Latency percentiles', series: ['p50', 'p99', 'max'], axis: 'latency', ticks: 'ns', log: true,
    groups: present.map(([label, h]) => ({ label, values: [h.p50, h.p99, h.max] })),
  });
}

function windowChart(r: RunResults): string {
  const paired = Object.entries(r.windows).filter(([, w]) => w.frequency !== null);
  if (paired.length === 0) return '';
  return barChart({
    id: chartId('windows'), title: 'Race-window overlap frequency (overlaps / reader windows)', series: ['frequency'], axis: 'overlaps per window', ticks: 'number',
    groups: paired.map(([name, w]) => ({ label: `${name} x ${w.pairedWith}`, values: [w.frequency] })), format: (v) => fmtFreq(v),
  });
}

function outcomeTable(role: RunResults['reader']): string {
  const entries = Object.entries(role.outcomes);
  return htmlTable(['outcome', 'expect', 'count', 'frequency', 'meaning'],
    entries.map(([n, o]) => [n, o.expect, fmtInt(o.count), fmtFreq(o.frequency), o.doc]), [false, false, true, true, false],
    entries.map(([, o]) => [null, o.expect, o.expect === 'FORBIDDEN' && o.count > 0 ? 'FORBIDDEN' : null, null, null]));
}

function runSection(r: RunResults, path: string): string {
  const c = r.config;
  const out: string[] = [];
  out.push(`<h2 id="${esc(r.runId)}">${esc(r.scenario.id)} &middot; ${esc(c.strategy)} &middot; ${esc(c.bugs.join(', ') || 'fixed')} <span class="badge ${r.verdict}">${r.verdict}</span></h2>`);
  out.push(`<p class="muted">${esc(r.scenario.title)}. Seed case: ${esc(r.scenario.seed)}. From <code>${esc(path)}</code>, started ${esc(r.startedAt)} on ${r.host.cpus} x ${esc(r.host.cpuModel)}, Node ${esc(r.host.node)}.</p>`);
  let verdict = `${fmtInt(r.violationCount)} violations in ${(r.durationMs / 1000).toFixed(1)} s`;
  if (r.firstViolationMs !== null) verdict += `, the first after ${r.firstViolationMs.toFixed(1)} ms`;
  if (r.bound !== null && r.boundBasis) verdict += `; 95% upper bound ${r.bound.toExponential(2)} violations per window overlap (${fmtInt(r.boundBasis.overlaps)} overlaps, rule of three)`;
  if (r.error) verdict += `; error: ${r.error}`;
  out.push(`<p>${esc(verdict)}</p>`);
  out.push(htmlTable(['option', 'value'], [
    ['arch', `${c.arch}, ${c.levels}-level`], ['readers / writers', `${c.readers} / ${c.writers}`], ['seed', c.seed],
    ['widen', Object.entries(c.widen).map(([k, v]) => `${k}=${fmtNs(v)}`).join(' ') || 'none'], ['jitter', c.jitter],
    ['frames / huge folios', `${c.frames} / ${c.huge}`], ['params', JSON.stringify(c.params)],
  ]));
  for (const role of ['reader', 'writer'] as const) {
    const rr = r[role];
    out.push(`<h3>${role}s: ${fmtInt(rr.ops)} ops, ${fmtInt(rr.opsPerSec)}/s</h3>`);
    out.push(outcomeTable(rr));
  }
  out.push('<h3>Race windows</h3>');
  out.push(htmlTable(['window', 'role', 'paired with', 'entries', 'overlaps', 'frequency', 'widen', 'p50', 'p99', 'max'],
    Object.entries(r.windows).map(([n, w]) => [n, w.role, w.pairedWith ?? '-', fmtInt(w.entries), w.overlaps === null ? '-' : fmtInt(w.overlaps), fmtFreq(w.frequency), fmtNs(w.widenNs), fmtNs(w.durationNs.p50), fmtNs(w.durationNs.p99), fmtNs(w.durationNs.max)]),
    [false, false, false, true, true, true, true, true, true, true]));
  out.push(windowChart(r));
  out.push('<h3>Synchronization cost</h3>');
  const s = r.sync;
  out.push(htmlTable(['measure', 'value'], [
    ['IPI broadcasts (targets)', `${fmtInt(s.ipiSent)} (${fmtInt(s.ipiTargets)})`], ['TLBI broadcasts', fmtInt(s.tlbiBroadcasts)],
    ['grace periods (gp worker)', fmtInt(s.gracePeriods)], ['synchronize_rcu / expedited calls', `${fmtInt(s.syncRcu)} / ${fmtInt(s.syncRcuExpedited)}`],
    ['call_rcu, callbacks run', `${fmtInt(s.callRcu)}, ${fmtInt(s.callbacksRun)}`], ['callbacks per grace period p50 / max', `${s.callbackBatch.p50 ?? '-'} / ${s.callbackBatch.max ?? '-'}`],
    ['deferred frees pending at most (memory held)', fmtInt(s.deferredFreesPendingMax)], ['page tables freed', fmtInt(s.tablesFreed)],
  ], [false, true]));
  out.push(latencyChart(r));
  if (r.violations.length) {
    out.push(`<h3 class="FAIL">Violations (${fmtInt(r.violationCount)}; first ${r.violations.length} recorded)</h3>`);
    for (const v of r.violations) {
      out.push(`<p><b class="FORBIDDEN">${esc(v.kind)}</b> cpu ${v.cpu}, address ${esc(v.address)}, at ${v.timeMs} ms: ${esc(v.detail)}</p><pre>${esc(v.trace.join('\n'))}</pre>`);
    }
  }
  if (r.stall) {
    out.push('<h3 class="ERROR">Stall report</h3>');
    out.push(htmlTable(['cpu', 'role', 'state', 'irq_off', 'rcu_ctr', 'qs', 'ipi req/ack', 'ops', 'waiting on'],
      r.stall.map((x) => [x.cpu, x.role, x.state, x.irqOff, x.rcuCtr, x.qsSeq, `${x.ipiReq}/${x.ipiAck}`, x.ops, x.waitingOn])));
  }
  return out.join('\n');
}

function cellLabel(c: SweepResults['cells'][number]): string {
  const w = Object.entries(c.widen).map(([k, v]) => `${k.split('.').pop()}=${fmtNs(v)}`).join(' ');
  const k = Object.entries(c.knobs ?? {}).map(([n, v]) => `${n}=${KNOBS.byName(n) ? formatKnob(KNOBS.byName(n)!, v) : v}`).join(' ');
  return `${c.readers}r/${c.writers}w${w ? ' ' + w : ''}${k ? ' ' + k : ''}`;
}

/** A cell's figure of `metric`, or null. */
type Figs = Record<string, Figure>;
const fig = (f: Figs, metric: string): Spread | null => f[metric]?.spread ?? null;

/** The trade-off, drawn: a point per cell at its medians over the repeats, error bars from
 *  their 95% intervals (the cell's figures, as the terminal's table shows them): writer
 *  latency against the memory held by deferred frees, and against reader throughput, so the
 *  cheapest safe setting can be seen. */
function tradeOffCharts(sw: SweepResults, figs: Figs[]): string[] {
  const points = (mx: string, my: string): ScatterPoint[] =>
    sw.cells.flatMap((c, i) => {
      const x = fig(figs[i], mx);
      const y = fig(figs[i], my);
      return x && y ? [{ label: `${c.strategy} ${cellLabel(c)}`, series: c.strategy, x: x.median, y: y.median, xlo: x.lo, xhi: x.hi, ylo: y.lo, yhi: y.hi }] : [];
    });
  const held = 'deferred frees pending max';
  return [
    scatterChart({ id: chartId('Trade-off: writer p99 against memory held'), title: 'Trade-off: writer latency p99 against memory held', xLabel: 'deferred frees pending at most (frames)', yLabel: 'writer op p99', points: points(held, 'writer op p99'), xTicks: 'count', yTicks: 'ns', logY: true }),
    scatterChart({ id: chartId('Trade-off: writer p50 against memory held'), title: 'Trade-off: writer latency p50 against memory held', xLabel: 'deferred frees pending at most (frames)', yLabel: 'writer op p50', points: points(held, 'writer op p50'), xTicks: 'count', yTicks: 'ns', logY: true }),
    scatterChart({ id: chartId('Trade-off: writer p99 against reader throughput'), title: 'Trade-off: writer latency p99 against reader throughput', xLabel: 'reader ops/s', yLabel: 'writer op p99', points: points('reader ops/s', 'writer op p99'), xTicks: 'count', yTicks: 'ns', logY: true }),
  ];
}

/** The sweep's table in the report: every cell, each metric as median [95% interval]. */
const SWEEP_HTML_COLUMNS = ['reader ops/s', 'writer ops/s', 'writer op p50', 'writer op p99', 'sync wait p50', 'IPI wait p50', 'grace period p50', 'deferred frees pending max', 'violations'];

function sweepSection(sw: SweepResults, path: string): string {
  const out: string[] = [];
  const figs = sw.cells.map(cellFigures);
  const repeat = Math.max(...sw.cells.map((c) => (c.runs ?? [c.results]).length), 1);
  out.push(`<h2>Sweep: ${esc(sw.scenario)}</h2>`);
  out.push(`<p class="muted">From <code>${esc(path)}</code>, started ${esc(sw.startedAt)} on ${sw.host.cpus} x ${esc(sw.host.cpuModel)}; ${sw.cells.length} cells of ${(sw.durationMs / 1000).toFixed(1)} s, ${repeat} run${repeat > 1 ? 's' : ''} each. Strategies ${esc(sw.axes.strategies.join(', '))}; readers ${esc(sw.axes.readers.join(', '))}; writers ${esc(sw.axes.writers.join(', '))}.</p>`);
  out.push(`<p class="muted">${repeat > 1 ? `Every bar and point is the median of a cell's ${repeat} runs; the error bars are its 95% interval (${esc(METHOD)}), as in the terminal's table and the JSON's <code>figures</code>.` : 'One run per cell: no interval can be given (sweep --repeat N draws error bars).'}</p>`);
  const strategies = sw.axes.strategies;
  const labels = [...new Set(sw.cells.map(cellLabel))];
  const at = (st: string, label: string): number => sw.cells.findIndex((c) => c.strategy === st && cellLabel(c) === label);
  const chart = (what: string, metric: string, axis: string, ticks: TickKind, log = false, format?: (v: number) => string): string =>
    barChart({
      id: chartId(what), title: what, series: strategies, axis, ticks, log, format, groups: labels.map((label) => {
        const fs = strategies.map((st) => (at(st, label) < 0 ? null : fig(figs[at(st, label)], metric)));
        return { label, values: fs.map((f) => f?.median ?? null), lo: fs.map((f) => f?.lo ?? null), hi: fs.map((f) => f?.hi ?? null) };
      }),
    });
  out.push(chart('Reader throughput', 'reader ops/s', 'reader ops/s', 'count'));
  out.push(chart('Writer operation latency p50', 'writer op p50', 'writer op p50', 'ns', true));
  out.push(chart('Writer operation latency p99', 'writer op p99', 'writer op p99', 'ns', true));
  out.push(...tradeOffCharts(sw, figs));
  const windows = [...new Set(figs.flatMap((f) => Object.keys(f).filter((m) => /^window .* frequency$/.test(m) && f[m].spread !== null)))].sort();
  for (const w of windows) out.push(chart(`Race-window overlap frequency: ${w.replace(/^window | frequency$/g, '')}`, w, 'overlaps per reader window', 'number', false, fmtFreq));
  out.push(chart('Memory held: deferred frees pending at most', 'deferred frees pending max', 'deferred frees pending (frames)', 'count'));
  const cols = SWEEP_HTML_COLUMNS.filter((m) => figs.some((f) => fig(f, m)));
  out.push(htmlTable(['strategy', 'cell', 'verdicts', ...cols],
    sw.cells.map((c, i) => [c.strategy, cellLabel(c), [...new Set((c.runs ?? [c.results]).map((r) => r.verdict))].join('/'), ...cols.map((m) => spreadCell(fig(figs[i], m), figs[i][m].unit))]),
    [false, false, false, ...cols.map(() => true)],
    sw.cells.map((c) => [null, null, c.runs?.some((r) => r.verdict !== 'PASS') || c.results.verdict !== 'PASS' ? 'FAIL' : 'PASS', ...cols.map(() => null)])));
  return out.join('\n');
}

function exploreSection(f: ExploreFile, path: string): string {
  const c = f.config;
  const e = f.explore;
  const out: string[] = [];
  const ok = f.failure === null;
  out.push(`<h2>Explore: ${esc(c.scenario)} ${esc(c.strategy)} ${esc(c.bugs.join(', ') || '(fixed)')} <span class="badge ${ok ? 'PASS' : 'FAIL'}">${ok ? 'CLEAN' : 'VIOLATION'}</span></h2>`);
  out.push(`<p class="muted">From <code>${esc(path)}</code>: ${fmtInt(e.runs)} controlled executions (${fmtInt(e.distinctSchedules)} distinct schedules), scheduler ${esc(e.sched)}${e.sched === 'pct' ? ` depth ${e.depth}` : ''}, ${fmtInt(e.runsPerSec)} executions/s, ${fmtInt(e.stepsPerSec)} steps/s; no widening, no jitter.</p>`);
  if (f.failure) {
    const v = f.failure;
    const roles = [...Array(c.readers).fill('reader'), ...Array(c.writers).fill('writer'), 'gp'];
    out.push(`<p><b>${esc(v.violation.kind)}</b> cpu${v.violation.cpu} ${esc(v.violation.address)} at execution ${v.runIndex + 1} (seed ${v.seed}): ${esc(v.violation.detail)}</p>`);
    out.push(`<p class="muted">Schedule minimized from ${fmtInt(v.stepsBefore)} to ${fmtInt(v.stepsAfter)} steps (${v.switchesBefore} to ${v.switchesAfter} context switches). <code>gupstress replay ${esc(path)}</code> runs it again.</p>`);
    out.push(sequenceChart(`seq-${c.scenario}`, roles.map((r, i) => `cpu${i} (${r})`), v.events ?? [], { step: Math.round((v.violation.timeMs * 1e6) / STEP_NS), cpu: v.violation.cpu, text: `VIOLATION ${v.violation.kind}` }));
  }
  return out.join('\n');
}

function campaignSection(cp: CampaignResults, path: string): string {
  const out: string[] = [];
  out.push(`<h2>Campaign: the detection table <span class="badge ${cp.ok ? 'PASS' : 'FAIL'}">${cp.ok ? 'ALL AS EXPECTED' : 'UNEXPECTED RESULTS'}</span></h2>`);
  out.push(`<p class="muted">From <code>${esc(path)}</code>, started ${esc(cp.startedAt)} on ${cp.host.cpus} x ${esc(cp.host.cpuModel)}, Node ${esc(cp.host.node)}. Fixed forms must stay clean; every bug must be caught with one of its expected kinds.</p>`);
  out.push(htmlTable(['scenario', 'strategy', 'bug', 'result', 'violation kinds', 'first violation', 'reader ops', 'near misses', '95% bound / overlap'],
    cp.rows.map((r) => [r.scenario, r.strategy, r.bug ?? '(fixed)', r.status, r.kinds.join(', ') || '-', r.firstViolationMs === null ? '-' : `${r.firstViolationMs.toFixed(1)} ms`, fmtInt(r.readerOps), fmtInt(r.nearMisses), r.bound === null ? '-' : r.bound.toExponential(1)]),
    [false, false, false, false, false, true, true, true, true], cp.rows.map((r) => [null, null, null, r.status, null, null, null, null, null])));
  const bugs = cp.rows.filter((r) => r.bug !== null && r.firstViolationMs !== null);
  if (bugs.length) {
    out.push(barChart({ id: chartId('detection'), title: 'Time to first violation', series: ['first violation'], axis: 'time to first violation', ticks: 'ms', log: true,
      groups: bugs.map((r) => {
        // --repeat: the median over the repeats that caught it, with its interval
        const xs = r.firstViolationRuns.filter((x): x is number => x !== null);
        const sp = xs.length >= 2 ? spread(xs) : null;
        return { label: `${r.bug} (${r.strategy})`, values: [Math.max(r.firstViolationMs!, 0.01)], lo: [sp?.lo ?? null], hi: [sp?.hi ?? null] };
      }) }));
  }
  const fixed = cp.rows.filter((r) => r.bug === null);
  if (fixed.length) {
    out.push(barChart({ id: chartId('near-misses'), title: 'Fixed forms: near misses (INTERESTING outcomes) per run', series: ['near misses'], axis: 'INTERESTING outcomes per run', ticks: 'count', log: true,
      groups: fixed.map((r) => ({ label: `${r.scenario} (${r.strategy})`, values: [r.nearMisses] })) }));
  }
  return out.join('\n');
}

export function renderReport(files: Loaded[]): string {
  chartSeq = 0;
  const sections = files.map((f) => (f.kind === 'run' ? runSection(f.data, f.path) : f.kind === 'sweep' ? sweepSection(f.data, f.path) : f.kind === 'explore' ? exploreSection(f.data, f.path) : campaignSection(f.data, f.path)));
  const toc = files.length > 1 ? `<ul>${files.map((f) => `<li>${esc(f.kind)}: ${esc(f.path)}</li>`).join('')}</ul>` : '';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>gupstress report</title><style>${CSS}</style></head><body><h1>gupstress report</h1><p class="muted">Generated ${esc(new Date().toISOString())}.</p>${toc}${sections.join('\n')}</body></html>\n`;
}

/** Writes the report atomically; returns its path. */
export function writeReport(dir: string, name: string, files: Loaded[]): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, name);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, renderReport(files));
  renameSync(tmp, path);
  return path;
}
