// `gupstress campaign` (npm start): every scenario, its fixed form under each strategy and
// each bug under each strategy it shows under; then the detection table.
import { SCENARIOS } from '../src/scenarios/index.js';
import type { Scenario } from '../src/scenarios/scenario.js';
import type { StrategyName } from '../src/sync/strategy.js';
import { BadInput, parseDuration, requireScenario, resolveRunConfig } from './config.js';
import { CAMPAIGN_SCHEMA } from './files.js';
import type { Logger } from './log.js';
import { buildResults, hostInfo, type RunResults, writeJsonAtomic, writeResults } from './results.js';
import { writeReport } from './report.js';
import { runScenario } from './runner.js';
import { fmtInt, table } from './table.js';


export interface CampaignRow {
  scenario: string;
  strategy: StrategyName;
  bug: string | null;
  /** fixed: clean | DIRTY; bug: caught | MISSED; ERROR when the harness failed */
  status: 'clean' | 'DIRTY' | 'caught' | 'MISSED' | 'ERROR';
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
  nearMisses: number;
}

export interface CampaignResults {
  schema: typeof CAMPAIGN_SCHEMA;
  startedAt: string;
  host: RunResults['host'];
  rows: CampaignRow[];
  ok: boolean;
  interrupted: boolean;
  report: string | null;
}

export interface CampaignOptions {
  duration?: unknown;
  bugTimeout?: unknown;
  scenarios?: unknown;
  selftests?: boolean;
  out?: unknown;
  /** runs of each bug (the table gives the median time to first violation) */
  repeat?: unknown;
  json: boolean;
}

interface Job {
  s: Scenario;
  strategy: StrategyName;
  bug: string | null;
}

export function campaignJobs(scenarios: readonly Scenario[]): Job[] {
  const jobs: Job[] = [];
  for (const s of scenarios) {
    for (const strategy of s.strategies) jobs.push({ s, strategy, bug: null });
    for (const b of s.bugs) for (const strategy of b.strategies ?? s.strategies) jobs.push({ s, strategy, bug: b.name });
  }
  return jobs;
}

export function rowOf(job: Job, r: RunResults, path: string | null): CampaignRow {
  const kinds = Object.keys(r.violationsByKind);
  const expectKinds = job.bug ? [...(job.s.bugs.find((b) => b.name === job.bug)?.expectKinds ?? [])] : [];
  let status: CampaignRow['status'];
  if (r.verdict === 'ERROR') status = 'ERROR';
  else if (job.bug === null) status = r.verdict === 'PASS' ? 'clean' : 'DIRTY';
  else status = kinds.some((k) => (expectKinds as string[]).includes(k)) ? 'caught' : 'MISSED';
  return {
    scenario: job.s.id, strategy: job.strategy, bug: job.bug, status, expected: status === 'clean' || status === 'caught', kinds, expectKinds,
    firstViolationMs: r.firstViolationMs, firstViolationRuns: [r.firstViolationMs], readerOps: r.reader.ops, durationMs: r.durationMs, runId: r.runId, results: path,
    bound: r.bound, overlaps: r.boundBasis?.overlaps ?? 0,
    nearMisses: [r.reader, r.writer].reduce((a, role) => a + Object.values(role.outcomes).filter((o) => o.expect === 'INTERESTING').reduce((x, o) => x + o.count, 0), 0),
  };
}

export function formatCampaign(rows: CampaignRow[]): string {
  return table(
    ['scenario', 'strategy', 'bug', 'result', 'violation kinds', 'first violation (median)', 'runs', 'reader ops', 'time'],
    rows.map((r) => [
      r.scenario, r.strategy, r.bug ?? '(fixed)', r.status, r.kinds.join(',') || '-',
      r.firstViolationMs === null ? '-' : `${r.firstViolationMs.toFixed(1)} ms`, r.bug === null ? '1' : String(r.firstViolationRuns.length),
      fmtInt(r.readerOps), `${(r.durationMs / 1000).toFixed(1)} s`,
    ]),
    [false, false, false, false, false, true, true, true, true],
  );
}

function median(xs: (number | null)[]): number | null {
  const v = xs.filter((x): x is number => x !== null).sort((a, b) => a - b);
  if (v.length === 0) return null;
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
}

export async function runCampaign(o: CampaignOptions, log: Logger, signal: AbortSignal): Promise<number> {
  const fixedMs = o.duration === undefined ? 3000 : parseDuration(String(o.duration), '--duration');
  const bugMs = o.bugTimeout === undefined ? 20000 : parseDuration(String(o.bugTimeout), '--bug-timeout');
  const out = o.out === undefined ? 'results' : String(o.out);
  const repeat = o.repeat === undefined ? 1 : Number(o.repeat);
  if (!Number.isInteger(repeat) || repeat < 1 || repeat > 50) throw new BadInput(`--repeat must be an integer from 1 to 50 (got ${String(o.repeat)})`);
  const only = o.scenarios === undefined ? null : ([] as string[]).concat(o.scenarios as string[]).map((x) => requireScenario(x).id);
  const scenarios = SCENARIOS.filter((s) => (only ? only.includes(s.id) : o.selftests !== false || !s.selftest));
  if (scenarios.length === 0) throw new BadInput('no scenario to run');
  const jobs = campaignJobs(scenarios);
  const startedAt = new Date().toISOString();
  const rows: CampaignRow[] = [];
  for (const [i, job] of jobs.entries()) {
    if (signal.aborted) break;
    const runs = job.bug === null ? 1 : repeat;
    let row: CampaignRow | null = null;
    for (let k = 0; k < runs && !signal.aborted; k++) {
      const cfg = resolveRunConfig({
        scenario: job.s.id, strategy: job.strategy, bug: job.bug ?? undefined, out,
        duration: `${job.bug ? bugMs : fixedMs}ms`, stopOnViolation: job.bug !== null, seed: 1000 + 64 * i + k,
      });
      const r = buildResults(await runScenario(cfg, { log, signal }));
      const one = rowOf(job, r, writeResults(r, out));
      if (row === null) row = one;
      else {
        row.firstViolationRuns.push(one.firstViolationMs);
        if (one.status !== row.status && row.status === 'caught') row.status = one.status; // every repeat must catch it
        row.expected = row.status === 'caught';
        for (const kind of one.kinds) if (!row.kinds.includes(kind)) row.kinds.push(kind);
      }
    }
    if (row === null) break;
    row.firstViolationMs = median(row.firstViolationRuns);
    rows.push(row);
    log.info({ scenario: row.scenario, strategy: row.strategy, bug: row.bug, status: row.status, kinds: row.kinds, firstViolationMs: row.firstViolationMs }, `campaign ${i + 1}/${jobs.length}`);
  }
  const ok = rows.length === jobs.length && rows.every((r) => r.expected);
  const stamp = startedAt.replace(/[-:]/g, '').replace(/\.\d+Z$/, '');
  const summary: CampaignResults = { schema: CAMPAIGN_SCHEMA, startedAt, host: hostInfo(), rows, ok, interrupted: signal.aborted, report: null };
  summary.report = writeReport(out, `campaign.${stamp}.html`, [{ kind: 'campaign', path: 'campaign', data: summary }]);
  const path = writeJsonAtomic(out, `campaign.${stamp}.json`, summary);
  if (o.json) process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
  else {
    process.stdout.write(formatCampaign(rows) + '\n\n');
    const fixed = rows.filter((r) => r.bug === null);
    const bugs = rows.filter((r) => r.bug !== null);
    process.stdout.write(`fixed forms clean: ${fixed.filter((r) => r.status === 'clean').length}/${fixed.length}   bugs caught: ${bugs.filter((r) => r.status === 'caught').length}/${bugs.length}\n`);
    process.stdout.write(`campaign: ${path}\nreport:   ${summary.report}\n`);
  }
  // interrupted: judge what ran
  return rows.every((r) => r.expected) && (ok || signal.aborted) ? 0 : 1;
}
