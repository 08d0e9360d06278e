// `campaign --junit FILE`: the campaign as JUnit XML, the format CI test reporters (GitLab,
// Jenkins, GitHub actions) read. One <testsuite> per scenario, one <testcase> per row; every
// case carries the exact `gupstress run` command that repeats it.
import { basename, dirname } from 'node:path';
import type { CampaignRow, JobKey } from '../run/files.js';
import { writeTextAtomic } from '../run/results.js';

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

/** Text content. XML 1.0 forbids most control characters even as &#n;, so they are spelled \xNN. */
export function xmlText(s: string): string {
  return s
    .replace(/[&<>"']/g, (c) => ENTITIES[c])
    .replace(/[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
    .replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
}

/** Attribute values: a parser turns raw tabs and newlines there into spaces, so they are references. */
const xmlAttr = (s: string): string => xmlText(s).replace(/[\t\n\r]/g, (c) => `&#${c.charCodeAt(0)};`);

/** A --duration that parseDuration reads back to the same ms: 20000 -> 20s, 1500 -> 1500ms. */
export function durationArg(ms: number): string {
  return ms >= 1000 && ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/** The command that repeats run `run` of a row (by default the one that went wrong, else the first). */
export function rerunCommand(row: CampaignRow, run = row.failure?.run ?? 0): string {
  const bug = row.bug === null ? [] : ['--bug', row.bug];
  const stop = row.bug === null ? [] : ['--stop-on-violation'];
  const rcu = row.rcu === undefined ? [] : ['--rcu', row.rcu];
  return ['gupstress run --scenario', row.scenario, '--strategy', row.strategy, ...rcu, ...bug, '--seed', row.seeds[run], '--duration', durationArg(row.runMs[run]), ...stop].join(' ');
}

const caseName = (r: JobKey): string => `${r.scenario} ${r.strategy}${r.rcu === undefined ? '' : ` ${r.rcu}`} ${r.bug ?? 'fixed'}`;

/** What a row that is not as expected failed at: <error> for the harness, <failure> for the verdict. */
function problem(row: CampaignRow): { tag: 'failure' | 'error'; message: string } | null {
  if (row.expected) return null;
  const which = row.seeds.length > 1 && row.failure ? ` (run ${row.failure.run + 1} of ${row.seeds.length})` : '';
  if (row.status === 'ERROR') return { tag: 'error', message: `harness error${which}${row.failure?.detail ? `: ${row.failure.detail}` : ''}` };
  if (row.status === 'DIRTY') return { tag: 'failure', message: `fixed form not clean: ${row.kinds.join(', ')}` };
  return { tag: 'failure', message: `bug ${row.status}${which}: expected ${row.expectKinds.join(' or ')}, saw ${row.kinds.join(', ') || 'no violation'}` };
}

function testcase(row: CampaignRow): string {
  const rerun = `re-run: ${rerunCommand(row)}`;
  const p = problem(row);
  const text = [row.failure?.detail, rerun].filter((x) => x).join('\n');
  const bad = p ? `<${p.tag} message="${xmlAttr(p.message)}" type="${row.status}">${xmlText(text)}</${p.tag}>` : '';
  return `<testcase name="${xmlAttr(caseName(row))}" classname="gupstress.${xmlAttr(row.scenario)}" time="${(row.wallMs / 1000).toFixed(3)}">${bad}<system-out>${xmlText(rerun)}</system-out></testcase>`;
}

const skippedCase = (job: JobKey, why: string): string =>
  `<testcase name="${xmlAttr(caseName(job))}" classname="gupstress.${xmlAttr(job.scenario)}" time="0"><skipped/><system-out>${xmlText(`not run: ${why}`)}</system-out></testcase>`;

interface Tally { tests: number; failures: number; errors: number; skipped: number; time: number }

const tallyAttrs = (t: Tally): string => `tests="${t.tests}" failures="${t.failures}" errors="${t.errors}" skipped="${t.skipped}" time="${t.time.toFixed(3)}"`;

function tally(rows: CampaignRow[], skipped: JobKey[]): Tally {
  const failed = rows.map(problem);
  return {
    tests: rows.length + skipped.length, failures: failed.filter((p) => p?.tag === 'failure').length, errors: failed.filter((p) => p?.tag === 'error').length,
    skipped: skipped.length, time: rows.reduce((a, r) => a + r.wallMs, 0) / 1000,
  };
}

/** The report: rows that ran and jobs never run (--fail-fast, Ctrl-C), grouped by scenario in campaign order. */
export function junitXml(rows: CampaignRow[], skipped: JobKey[], skipWhy: string): string {
  const scenarios = [...new Set([...rows, ...skipped].map((r) => r.scenario))];
  const suites = scenarios.map((id) => {
    const rs = rows.filter((r) => r.scenario === id);
    const ss = skipped.filter((j) => j.scenario === id);
    const cases = [...rs.map(testcase), ...ss.map((j) => skippedCase(j, skipWhy))].map((c) => `    ${c}\n`).join('');
    return `  <testsuite name="${xmlAttr(id)}" ${tallyAttrs(tally(rs, ss))}>\n${cases}  </testsuite>\n`;
  });
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="gupstress campaign" ${tallyAttrs(tally(rows, skipped))}>\n${suites.join('')}</testsuites>\n`;
}

export function writeJunit(file: string, rows: CampaignRow[], skipped: JobKey[], skipWhy: string): string {
  return writeTextAtomic(dirname(file), basename(file), junitXml(rows, skipped, skipWhy));
}
