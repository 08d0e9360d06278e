// `gupstress litmus FILE|DIR...`: the kernel's C litmus tests (tools/memory-model's format)
// run exhaustively on the emulated primitives under each memory model asked for: every
// schedule and every weak-memory choice (harness/exhaustive.ts enumerateAll), each
// execution's final state told by the test's `locations` and conditions, the verdict
// (Always / Sometimes / Never; DEADLOCK when no execution passes the `filter`) against the
// test's stated `Result:` (or, for the project's own tests, its expectation per model).
// With --shard i/N, the (test, model) pairs i-1, i-1+N, ... in the order the whole runs
// them, written as gupstress/litmus@1 for the merge.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SLEEP_BLOCKED_ABORT, SequentialMem, controlChoices, controlResult, controlWeak, newControl, runSequential, weakChoice } from '../../src/machine/controlled.js';
import { MEMORY_MODELS, type MemoryModel, newWeakMemory } from '../../src/machine/weak.js';
import { LitmusUnsupported, holds, initialMemory, layoutOf, observed, runProc, showValue, stateValue } from '../../src/litmus/interp.js';
import { LitmusParseError, type LitmusTest, parseLitmus } from '../../src/litmus/parse.js';
import { type Recorded, enumerateAll } from '../run/exhaustive.js';
import { BadInput, listOpt } from '../run/config.js';
import { writeJsonAtomic } from '../run/results.js';
import { type MergedFrom, type ShardFile, type ShardRun, type ShardTag, inOrder, mergedFrom, shardItems, shardTag, resultsFileName } from '../run/shard.js';

export const VERDICTS = ['Always', 'Sometimes', 'Never', 'DEADLOCK'] as const;
export type Verdict = (typeof VERDICTS)[number];

/** The kernel's tests whose LKMM result the lkmm model knowingly does not give, and why: the
 *  behaviours weak.ts names as missing. Stronger than LKMM there (a Sometimes it calls Never),
 *  never weaker. */
export const KNOWN_GAPS: Record<string, { memory: MemoryModel; why: string }> = {
  'LB+poonceonces': { memory: 'lkmm', why: 'load buffering: the model never lets a store pass an earlier load' },
  'Z6.0+pooncelock+pooncelock+pombonce': { memory: 'lkmm', why: 'non-multicopy-atomic propagation (Power): the model is multicopy-atomic, as arm64 and x86 are' },
};

export interface LitmusResult {
  file: string;
  name: string;
  memory: MemoryModel;
  /** the test's `Result:` (herd7's, under LKMM) */
  stated: string | null;
  /** the result the test expects under this model: its `Result:`, or its per-model line */
  expected: string | null;
  verdict: Verdict | null;
  /** a test the interpreter cannot express: why */
  unsupported: string | null;
  /** each final state (the observed locations), how many executions ended in it, whether
   *  it passes the filter and satisfies the condition */
  outcomes: { state: string; count: number; filtered: boolean; satisfies: boolean }[];
  executions: number;
  /** paths cut by their sleep sets (orders of independent steps explored already) */
  pruned: number;
  complete: boolean;
  /** agree: the verdict is the expected one; gap: a known gap of the model (KNOWN_GAPS) */
  judgement: 'agree' | 'disagree' | 'gap' | 'unsupported';
  gap?: string;
  seconds: number;
}

/** A project test's expectation per model: a comment line `gupstress: sc Never, tso Sometimes, lkmm Sometimes`. */
function expectations(text: string): Partial<Record<MemoryModel, string>> {
  const m = /gupstress:\s*([^\n*]+)/.exec(text);
  if (!m) return {};
  const out: Partial<Record<MemoryModel, string>> = {};
  for (const part of m[1].split(',')) {
    const [model, verdict] = part.trim().split(/\s+/);
    if ((MEMORY_MODELS as readonly string[]).includes(model) && (VERDICTS as readonly string[]).includes(verdict)) out[model as MemoryModel] = verdict;
  }
  return out;
}

/** Runs one test under one memory model, every execution. */
export async function runLitmus(file: string, text: string, t: LitmusTest, memory: MemoryModel, lim: { maxExecutions: number; signal?: AbortSignal } = { maxExecutions: 1_000_000 }): Promise<LitmusResult> {
  const t0 = performance.now();
  const expected = expectations(text)[memory] ?? t.result;
  const res: LitmusResult = { file, name: t.name, memory, stated: t.result, expected, verdict: null, unsupported: null, outcomes: [], executions: 0, pruned: 0, complete: false, judgement: 'unsupported', seconds: 0 };
  try {
    const L = layoutOf(t);
    const n = t.procs.length;
    const sab = new SharedArrayBuffer(Math.max(64, L.words) * 4);
    const m = new Int32Array(sab);
    const dirty = new Uint8Array(Math.ceil(L.words / 64) + 1);
    const obs = observed(t);
    const states = new Map<string, LitmusResult['outcomes'][number]>();
    let ctl: SharedArrayBuffer | undefined;
    const run = (schedule: number[], weak: number[], sleepers: number[]): Recorded => {
      initialMemory(t, L, m);
      ctl = newControl({ sched: 'replay', seed: 1, participants: n, depth: 1, pctSteps: 1, pctRunSteps: 1, preemptNs: 0, maxPreemptions: -1, maxSteps: 100_000, replay: schedule, jumps: [], recordChoices: true, memory, weak, sleepers }, ctl);
      const k = new Int32Array(ctl);
      const mems = t.procs.map((_, i) => new SequentialMem(sab, ctl!, i, 1, dirty));
      const w = newWeakMemory(memory, m, (p, v) => (m[p] = v), (x) => weakChoice(k, x), null, n);
      for (const x of mems) x.weak = w;
      const regs = t.procs.map(() => new Map<string, number>());
      const aborted = runSequential(ctl, mems, t.procs.map((p, i) => runProc(t, L, p, mems[i], regs[i])));
      const recorded = { schedule: controlResult(ctl).schedule, choices: controlChoices(ctl), weak: controlWeak(ctl), pruned: aborted === SLEEP_BLOCKED_ABORT };
      if (recorded.pruned) {
        res.pruned++;
        return recorded;
      }
      if (aborted !== null) throw new LitmusUnsupported(`an execution did not end (${aborted})`);
      const state = obs.map((c) => `${'reg' in c ? `${c.proc}:${c.reg}` : c.loc}=${showValue(L, stateValue(L, m, regs, c))};`).join(' ');
      let o = states.get(state);
      if (!o) states.set(state, (o = { state, count: 0, filtered: t.filter === null || holds(L, m, regs, t.filter), satisfies: t.cond !== null && holds(L, m, regs, t.cond.e) }));
      o.count++;
      res.executions++;
      return recorded;
    };
    res.complete = await enumerateAll(run, () => res.executions >= lim.maxExecutions || lim.signal?.aborted === true, { maxPreemptions: -1, long: false });
    res.outcomes = [...states.values()].sort((a, b) => (a.state < b.state ? -1 : 1));
    const kept = res.outcomes.filter((o) => o.filtered);
    const pos = kept.filter((o) => (t.cond!.kind === '~exists' ? !o.satisfies : o.satisfies)).length;
    res.verdict = kept.length === 0 ? 'DEADLOCK' : pos === 0 ? 'Never' : pos === kept.length ? 'Always' : 'Sometimes';
    if (t.cond?.kind === '~exists') res.verdict = kept.length === 0 ? 'DEADLOCK' : pos === 0 ? 'Always' : pos === kept.length ? 'Never' : 'Sometimes';
    const gap = KNOWN_GAPS[t.name];
    if (!res.complete) res.judgement = 'unsupported';
    else if (res.verdict === expected) res.judgement = 'agree';
    else if (gap && gap.memory === memory && expectations(text)[memory] === undefined) {
      res.judgement = 'gap';
      res.gap = gap.why;
    } else res.judgement = 'disagree';
    if (!res.complete) res.unsupported = `not exhausted after ${res.executions} executions`;
  } catch (e) {
    if (!(e instanceof LitmusUnsupported)) throw e;
    res.unsupported = e.message;
    res.judgement = 'unsupported';
  }
  res.seconds = Math.round((performance.now() - t0) / 10) / 100;
  return res;
}

/** The .litmus files of the paths given (folders searched recursively), in order. */
export function litmusFiles(paths: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (p: string): void => {
    let st;
    try {
      st = statSync(p);
    } catch {
      throw new BadInput(`${p}: no such file or folder`);
    }
    if (st.isDirectory()) for (const e of readdirSync(p).sort()) walk(join(p, e));
    else if (p.endsWith('.litmus') || paths.includes(p)) out.push(p);
  };
  for (const p of paths) walk(p);
  if (out.length === 0) throw new BadInput(`no .litmus files in ${paths.join(' ')}`);
  return out;
}

/** Parses a test, a parse failure as bad input (one line: the construct and where). */
export function readLitmus(file: string): { text: string; test: LitmusTest } {
  const text = readFileSync(file, 'utf8');
  try {
    return { text, test: parseLitmus(text, file) };
  } catch (e) {
    if (e instanceof LitmusParseError) throw new BadInput(e.message);
    throw e;
  }
}

/** The results as a table (text or markdown): a row a test, a column a memory model (the
 *  verdict, the final states that satisfy the condition of those kept, and the judgement),
 *  then each test's outcomes with their counts (* where the condition holds), then a line a
 *  model. */
export function formatLitmus(results: readonly LitmusResult[], format: 'text' | 'md'): string[] {
  const models = [...new Set(results.map((r) => r.memory))];
  const names = [...new Set(results.map((r) => r.name))];
  const cell = (r: LitmusResult | undefined): string => {
    if (!r) return '';
    if (r.judgement === 'unsupported') return `unsupported: ${r.unsupported}`;
    const kept = r.outcomes.filter((o) => o.filtered);
    const pos = kept.filter((o) => o.satisfies).length;
    const judged = r.judgement === 'agree' ? 'ok' : r.judgement === 'gap' ? 'GAP' : 'DISAGREE';
    return `${r.verdict} ${pos}/${kept.length}${r.expected !== null && r.verdict !== r.expected ? ` (expects ${r.expected})` : ''} ${judged}`;
  };
  const head = ['test', 'Result:', ...models.map((m) => `--memory ${m}`)];
  const rows = names.map((n) => {
    const rs = results.filter((r) => r.name === n);
    return [n, rs[0].stated ?? '-', ...models.map((m) => cell(rs.find((r) => r.memory === m)))];
  });
  const out: string[] = [];
  if (format === 'md') {
    out.push(`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`);
    for (const r of rows) out.push(`| ${r.join(' | ')} |`);
  } else {
    const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    out.push(head.map((h, i) => h.padEnd(w[i])).join('  ').trimEnd());
    for (const r of rows) out.push(r.map((c, i) => c.padEnd(w[i])).join('  ').trimEnd());
  }
  out.push('', 'outcomes (executions ending in each final state; * the condition holds, - filtered out):');
  for (const r of results) {
    if (r.judgement === 'unsupported') continue;
    const states = r.outcomes.map((o) => `${o.filtered ? (o.satisfies ? '*' : '') : '-'}[${o.state}] ${o.count}`).join('  ');
    out.push(`${format === 'md' ? '- ' : '  '}${r.name} --memory ${r.memory}: ${states}`);
  }
  out.push('');
  for (const m of models) {
    const rs = results.filter((r) => r.memory === m);
    const count = (j: LitmusResult['judgement']): number => rs.filter((r) => r.judgement === j).length;
    const gaps = rs.filter((r) => r.judgement === 'gap');
    out.push(`--memory ${m}: ${count('agree')}/${rs.length} agree${gaps.length ? `, ${gaps.length} known gap${gaps.length === 1 ? '' : 's'} of the model (${gaps.map((g) => `${g.name}: ${g.gap}`).join('; ')})` : ''}${count('disagree') ? `, ${count('disagree')} DISAGREE` : ''}${count('unsupported') ? `, ${count('unsupported')} unsupported` : ''}; ${rs.reduce((a, r) => a + r.executions, 0)} executions in ${Math.round(rs.reduce((a, r) => a + r.seconds, 0) * 100) / 100} s`);
  }
  return out;
}

export const LITMUS_SCHEMA = 'gupstress/litmus@1';

/** What litmus --format json prints; with --shard (and merged) written as a file, with the rest. */
export interface LitmusFile {
  schema: typeof LITMUS_SCHEMA;
  startedAt: string;
  models: MemoryModel[];
  results: LitmusResult[];
  /** stopped by Ctrl-C before every test ran under every model */
  interrupted: boolean;
  /** --shard: which shard of which litmus run this is (its results are the shard's pairs) */
  shard?: ShardTag;
  /** a merge of shards (gupstress merge): which */
  merged?: MergedFrom;
}

/** `gupstress litmus FILE|DIR...`: every test under every memory model asked for; exit 0 when
 *  each agrees with what it expects (a known gap of the model counts, and is named), 1 when
 *  one disagrees or cannot be run, 2 for a file that does not parse. */
export async function runLitmusCommand(a: { paths: string[]; memory?: unknown; format?: unknown; json: boolean; maxExecutions?: unknown; out?: unknown; sharded?: ShardRun | null }, signal: AbortSignal): Promise<number> {
  const models = a.memory === undefined ? (['lkmm'] as MemoryModel[]) : listOpt(a.memory).map((m) => {
    if (!(MEMORY_MODELS as readonly string[]).includes(m)) throw new BadInput(`--memory is ${MEMORY_MODELS.join(', ')} (got '${m}')`);
    return m as MemoryModel;
  });
  const format = litmusFormat(a.json ? 'json' : a.format === undefined ? 'text' : String(a.format));
  const maxExecutions = a.maxExecutions === undefined ? 5_000_000 : Number(a.maxExecutions);
  if (!Number.isInteger(maxExecutions) || maxExecutions < 1) throw new BadInput(`--max-executions is a positive integer (got ${String(a.maxExecutions)})`);
  // parse every file first: a file that does not parse is bad input, before anything runs
  const tests = litmusFiles(a.paths).map((f) => ({ file: f, ...readLitmus(f) }));
  // item j of the whole: test j / models, under model j % models (the order the whole runs them)
  const run = a.sharded ?? null;
  const items = shardItems(tests.length * models.length, run?.shard ?? null);
  const startedAt = new Date().toISOString();
  const results: LitmusResult[] = [];
  for (const j of items) {
    if (signal.aborted) break;
    const t = tests[Math.floor(j / models.length)];
    results.push(await runLitmus(t.file, t.text, t.test, models[j % models.length], { maxExecutions, signal }));
  }
  const f: LitmusFile = { schema: LITMUS_SCHEMA, startedAt, models, results, interrupted: signal.aborted };
  if (run === null) return showLitmus(f, format, null);
  f.shard = shardTag(run.shard, run.whole, items, tests.length * models.length);
  return showLitmus(f, format, writeJsonAtomic(a.out === undefined ? 'results' : String(a.out), litmusFileName(f), f));
}

/** litmus's --format: text, md or json. */
export function litmusFormat(format: string): 'text' | 'md' | 'json' {
  if (!['text', 'md', 'json'].includes(format)) throw new BadInput(`--format is text, md or json (got '${format}')`);
  return format as 'text' | 'md' | 'json';
}

/** litmus.STAMP[.shard-i-of-N | .merged].json */
export function litmusFileName(f: LitmusFile): string {
  return resultsFileName('litmus', f);
}

/** What litmus prints (the table, outcomes and a line a model, where the results file went
 *  if one was written; or the JSON), and its exit code: 130 when interrupted, 0 when every
 *  test agrees (or is a known gap), else 1. */
export function showLitmus(f: LitmusFile, format: 'text' | 'md' | 'json', path: string | null): number {
  const { models, results } = f;
  if (format === 'json') process.stdout.write(JSON.stringify({ models, results }, null, 2) + '\n');
  else process.stdout.write([...formatLitmus(results, format), ...(path === null ? [] : [`results: ${path}`])].join('\n') + '\n');
  if (f.interrupted) return 130;
  return results.every((r) => r.judgement === 'agree' || r.judgement === 'gap') ? 0 : 1;
}

/** The shards of one litmus run as the whole would have made it: every (test, model) pair in
 *  the whole's order (those a shard never reached, cut short, left out, and the whole marked
 *  interrupted). */
export function mergeLitmus(shards: readonly ShardFile<LitmusFile>[]): LitmusFile {
  const { items: results, missing } = inOrder(shards, (s) => s.data.results);
  const interrupted = shards.some((s) => s.data.interrupted) || missing > 0;
  return { schema: LITMUS_SCHEMA, startedAt: shards.map((s) => s.data.startedAt).sort()[0], models: shards[0].data.models, results, interrupted, merged: mergedFrom(shards) };
}
