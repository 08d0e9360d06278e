// `gupstress selftest`: the kernel's cow.c and gup_longterm.c cases (src/selftests/cases.ts),
// each run once, deterministically, on one CPU: PASS, FAIL with the kernel's own line, or
// SKIP where the model cannot build the backing. For every case, the model changes (the
// kernel-selftests scenario's bug switches) under which it fails, found by running it under
// each. Then the same cases under stress: the kernel-selftests scenario, every reader CPU
// running them at once. With --shard i/N, the cases i-1, i-1+N, ... (each case gives the same
// result whichever others run before it on the machine: test/shard-commands.test.ts), and
// the stress in shard 1 only, written as gupstress/selftest@1 for the merge.
import { kernelSelftests } from '../../src/scenarios/kernel-selftests.js';
import { MmuGather } from '../../src/mm/mmu_gather.js';
import { SELFTEST_CASES, type SelftestCase } from '../../src/selftests/cases.js';
import { BadInput, listOpt, parseDuration, resolveRunConfig } from '../run/config.js';
import { type Format, commandLine, parseFormat, renderTable } from '../output/format.js';
import type { Logger } from '../run/log.js';
import { bareMachine } from '../run/machine.js';
import { buildResults, writeJsonAtomic, writeResults } from '../run/results.js';
import { runScenario } from '../run/runner.js';
import { type MergedFrom, type Shard, type ShardFile, type ShardRun, type ShardTag, inOrder, mergedFrom, ownsItem, shardItems, shardTag, resultsFileName } from '../run/shard.js';

export interface CaseResult {
  name: string;
  file: SelftestCase['file'];
  fn: string;
  result: 'PASS' | 'FAIL' | 'SKIP';
  /** FAIL: the kernel's line (and what the model saw); SKIP: why */
  detail: string | null;
  /** the model changes under which this case fails (PASS cases only) */
  failsUnder: string[];
}

/** The cases given (every case by default) once each under the given switches, in order, on
 *  a fresh one-CPU machine (the ipi strategy: with one CPU a flush waits for nobody, and
 *  nothing waits for a grace period). */
export function runCases(bugs: readonly string[], cases: readonly SelftestCase[] = SELFTEST_CASES): { k: SelftestCase; r: string | null }[] {
  const m = bareMachine({ mms: 2, bugs: [...bugs], frames: 2048 });
  return cases.filter((k) => k.skip === null).map((k) => {
    const r = k.run({ c: m.c, parent: 0, child: 1, levels: 4, tlb: new MmuGather() });
    const v = m.c.violations.shift();
    return { k, r: r ?? (v ? `${v.kind}: ${v.detail}` : null) };
  });
}

/** The table: each case's result under `bugs`, and the switches each PASS fails under; with
 *  a shard, its cases only (case j of SELFTEST_CASES is shard j mod N's). */
export function selftestResults(bugs: readonly string[], shard: Shard | null = null): CaseResult[] {
  const cases = SELFTEST_CASES.filter((_, j) => ownsItem(shard, j));
  const base = new Map(runCases(bugs, cases).map((x) => [x.k, x.r]));
  const switches = Object.keys(kernelSelftests.bugs);
  const under = new Map<SelftestCase, string[]>();
  for (const b of switches) {
    if (bugs.includes(b)) continue;
    for (const { k, r } of runCases([...bugs, b], cases)) if (r !== null && base.get(k) === null) under.set(k, [...(under.get(k) ?? []), b]);
  }
  return cases.map((k): CaseResult => {
    if (k.skip !== null) return { name: k.name, file: k.file, fn: k.fn, result: 'SKIP', detail: k.skip, failsUnder: [] };
    const r = base.get(k)!;
    return { name: k.name, file: k.file, fn: k.fn, result: r === null ? 'PASS' : 'FAIL', detail: r, failsUnder: under.get(k) ?? [] };
  });
}

export interface SelftestOptions {
  bug?: unknown;
  stress?: unknown;
  format?: unknown;
  json: boolean;
  out?: unknown;
  /** --shard: this process runs shard i of N (the cases; the stress in shard 1) */
  sharded?: ShardRun | null;
}

export const SELFTEST_SCHEMA = 'gupstress/selftest@1';

/** The cases under stress: the kernel-selftests scenario's run. */
export interface SelftestStress {
  verdict: string;
  cases: number;
  cpus: number;
  failures: number;
  /** its results file */
  path: string;
}

/** What a selftest shard writes (and its merge): the table's rows, the stress. */
export interface SelftestFile {
  schema: typeof SELFTEST_SCHEMA;
  startedAt: string;
  /** --bug: the model changes every case ran under */
  bugs: string[];
  cases: CaseResult[];
  stress: SelftestStress | null;
  /** --shard: which shard of which selftest this is (its cases are the shard's) */
  shard?: ShardTag;
  /** a merge of shards (gupstress merge): which */
  merged?: MergedFrom;
}

/** Text: one line per case run (the kernel's ok/not ok), the SKIPs one line per backing,
 *  under the command that made them. */
function textLines(rows: CaseResult[], command: string): string {
  const out: string[] = [command, ''];
  for (const r of rows.filter((x) => x.result !== 'SKIP')) {
    out.push(`${r.result === 'PASS' ? 'ok    ' : 'not ok'} ${r.file}: ${r.name}${r.result === 'FAIL' ? ` # ${r.detail}` : ''}`);
    if (r.result === 'PASS') out.push(`         fails under: ${r.failsUnder.join(', ') || 'none of the model changes'}`);
  }
  const skips = new Map<string, CaseResult[]>();
  for (const r of rows.filter((x) => x.result === 'SKIP')) {
    const key = `${r.file}|${r.name.includes(' ... with ') ? r.name.slice(r.name.indexOf(' ... with ') + 5) : 'THP collapse family'}|${r.detail}`;
    skips.set(key, [...(skips.get(key) ?? []), r]);
  }
  for (const [key, rs] of skips) {
    const [file, backing, why] = key.split('|');
    out.push(`# SKIP ${file}: ${rs.length} case${rs.length > 1 ? 's' : ''} ${backing}: ${why}`);
  }
  return out.join('\n');
}

export async function runSelftest(o: SelftestOptions, log: Logger, signal: AbortSignal): Promise<number> {
  const format: Format = parseFormat(o.format, o.json);
  const bugs = listOpt(o.bug);
  for (const b of bugs) if (!(b in kernelSelftests.bugs)) throw new BadInput(`no model change '${b}' (the kernel-selftests switches: ${Object.keys(kernelSelftests.bugs).join(', ')})`);
  const stressMs = o.stress === undefined ? 3000 : parseDuration(String(o.stress), '--stress');
  const run = o.sharded ?? null;
  const startedAt = new Date().toISOString();
  const rows = selftestResults(bugs, run?.shard ?? null);
  let stress: SelftestStress | null = null;
  // the stress is one run, not items to split: shard 1 runs it, as long as the whole would
  if (stressMs > 0 && !signal.aborted && (run === null || run.shard.index === 1)) {
    const cfg = resolveRunConfig({ scenario: kernelSelftests.id, bug: bugs, duration: `${stressMs}ms`, out: o.out });
    const r = buildResults(await runScenario(cfg, { log, signal }));
    stress = { verdict: r.verdict, cases: r.reader.ops, cpus: cfg.readers, failures: r.violationsByKind['selftest-fail'] ?? 0, path: writeResults(r, cfg.out) };
  }
  const f: SelftestFile = { schema: SELFTEST_SCHEMA, startedAt, bugs, cases: rows, stress };
  if (run === null) return showSelftest(f, format, null, commandLine());
  f.shard = shardTag(run.shard, run.whole, shardItems(SELFTEST_CASES.length, run.shard), SELFTEST_CASES.length);
  return showSelftest(f, format, writeJsonAtomic(o.out === undefined ? 'results' : String(o.out), selftestFileName(f), f), commandLine());
}

/** selftest.STAMP[.shard-i-of-N | .merged].json */
export function selftestFileName(f: SelftestFile): string {
  return resultsFileName('selftest', f);
}

/** What selftest prints (the cases under `command`, the summary, the stress, where the
 *  selftest's own file went if one was written; or the JSON), and its exit code: 3 when the
 *  stress run was an ERROR, 1 when a case failed or the stress did not PASS, else 0. */
export function showSelftest(f: SelftestFile, format: Format, path: string | null, command: string): number {
  const { cases: rows, stress } = f;
  const ran = rows.filter((r) => r.result !== 'SKIP');
  const failed = ran.filter((r) => r.result === 'FAIL').length;
  const summary = `${ran.length - failed}/${ran.length} PASS, ${failed} FAIL, ${rows.length - ran.length} SKIP (of ${rows.length} cases in cow.c and gup_longterm.c)`;
  if (format === 'json') process.stdout.write(JSON.stringify({ cases: rows, summary, stress }, null, 2) + '\n');
  else {
    if (format === 'text') process.stdout.write(textLines(rows, command) + '\n');
    else {
      const table = { head: ['result', 'file', 'case', 'fails under (model change)'], rows: rows.map((r) => [r.result, r.file, r.name, r.result === 'SKIP' ? r.detail! : r.result === 'FAIL' ? r.detail! : r.failsUnder.join(', ') || '-']) };
      process.stdout.write(renderTable(table, format, command) + '\n');
    }
    if (format !== 'csv') {
      process.stdout.write(`\n${summary}\n`);
      if (stress) process.stdout.write(`under stress (kernel-selftests, ${stress.cases.toLocaleString('en-US')} cases on ${stress.cpus} CPUs at once): ${stress.verdict}, ${stress.failures} failed\nresults: ${stress.path}\n`);
      if (path !== null) process.stdout.write(`selftest results: ${path}\n`);
    }
  }
  if (stress?.verdict === 'ERROR') return 3;
  return failed > 0 || (stress !== null && stress.verdict !== 'PASS') ? 1 : 0;
}

/** The shards of one selftest as the whole would have made it: every case in the whole's
 *  order, the stress shard 1 ran. */
export function mergeSelftest(shards: readonly ShardFile<SelftestFile>[]): SelftestFile {
  const [a] = shards.map((s) => s.data);
  const cases = inOrder(shards, (s) => s.data.cases).items;
  return { schema: SELFTEST_SCHEMA, startedAt: shards.map((s) => s.data.startedAt).sort()[0], bugs: a.bugs, cases, stress: shards.find((s) => s.tag.index === 1)!.data.stress, merged: mergedFrom(shards) };
}
