// `gupstress bench --baseline DIR`: another build's bench (a checkout with its dist/ built: the
// commit before a change, say) run by the same command just before this build's, and the
// figures a change is judged by, before and after, side by side.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { BadInput } from '../run/config.js';
import { fmtInt, fmtNs } from '../output/table.js';

/** The figures compared: the stress walk, the sync primitives, and explore's executor (the
 *  default one of each build) on bench's controlled workload. */
export interface BenchFigures {
  walkNs: number;
  rawWalkNs: number;
  ipiP50Ns: number | null;
  syncRcuP50Ns: number | null;
  explorePct: { runsPerSec: number; stepsPerSec: number };
  exploreRandom: { runsPerSec: number; stepsPerSec: number };
}

type Rate = BenchFigures['explorePct'];
const isRate = (x: unknown): x is Rate => typeof x === 'object' && x !== null && typeof (x as Rate).runsPerSec === 'number' && typeof (x as Rate).stepsPerSec === 'number';

/** explore's executor in a bench's `controlled` entry: a build with one controlled executor
 *  reports its rate there ({runsPerSec, stepsPerSec}); one with two, each by name, the first
 *  (sequential) being explore's default. */
function exploreRate(x: unknown, what: string): Rate {
  if (isRate(x)) return x;
  const seq = (x as { sequential?: unknown } | null)?.sequential;
  if (isRate(seq)) return seq;
  throw new Error(`the baseline's bench JSON has no controlled.${what} rate`);
}

/** The compared figures of a `bench --json` output, of this build or an earlier one. */
export function benchFigures(r: unknown): BenchFigures {
  const b = r as { schema?: unknown; walk?: { harnessNs?: unknown; rawNs?: unknown }; ipi?: { p50Ns?: number | null }; rcu?: { syncP50Ns?: number | null }; controlled?: { pct?: unknown; random?: unknown } };
  if (b?.schema !== 'gupstress/bench@1' || typeof b.walk?.harnessNs !== 'number' || typeof b.walk.rawNs !== 'number') throw new Error('the baseline did not print a gupstress/bench@1 JSON');
  return {
    walkNs: b.walk.harnessNs,
    rawWalkNs: b.walk.rawNs,
    ipiP50Ns: b.ipi?.p50Ns ?? null,
    syncRcuP50Ns: b.rcu?.syncP50Ns ?? null,
    explorePct: exploreRate(b.controlled?.pct, 'pct'),
    exploreRandom: exploreRate(b.controlled?.random, 'random'),
  };
}

export interface Baseline {
  dir: string;
  /** the checkout's commit, where it is a git checkout */
  commit: string | null;
  before: BenchFigures;
}

/** The CLI of the build in `dir`; bad input when there is none. */
export function baselineCli(dir: string): string {
  const cli = join(resolve(dir), 'dist', 'harness', 'cli.js');
  if (!existsSync(cli)) throw new BadInput(`--baseline ${dir}: no built gupstress there (${cli} is missing: run npm ci in that checkout)`);
  return cli;
}

/** Runs the baseline build's `bench --json` (the same --time) as a child process and waits for it. */
export async function runBaseline(dir: string, time: string | undefined): Promise<Baseline> {
  const cli = baselineCli(dir);
  let commit: string | null = null;
  try {
    commit = execFileSync('git', ['-C', dir, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    // not a git checkout: the directory names it
  }
  const args = [cli, 'bench', '--json', ...(time === undefined ? [] : ['--time', time])];
  const out = await new Promise<string>((ok, fail) => {
    const p = spawn(process.execPath, args, { cwd: dir, stdio: ['ignore', 'pipe', 'ignore'] });
    let s = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => (s += d));
    p.on('error', fail);
    p.on('close', (code) => (code === 0 ? ok(s) : fail(new Error(`the baseline's bench (${dir}) exited ${code}`))));
  });
  let json: unknown;
  try {
    json = JSON.parse(out);
  } catch {
    throw new Error(`the baseline's bench (${dir}) printed no JSON`);
  }
  return { dir, commit, before: benchFigures(json) };
}

/** Before and after, a row a figure: the two values and how many times faster (or slower) now. */
export function beforeAfterRows(before: BenchFigures, now: BenchFigures): string[][] {
  const change = (b: number | null, n: number | null, higherIsBetter: boolean): string => {
    if (b === null || n === null || b <= 0 || n <= 0) return '-';
    const f = higherIsBetter ? n / b : b / n;
    return f >= 1 ? `${f.toFixed(2)}x faster` : `${(1 / f).toFixed(2)}x slower`;
  };
  const ns = (label: string, k: 'walkNs' | 'rawWalkNs' | 'ipiP50Ns' | 'syncRcuP50Ns'): string[] => [label, fmtNs(before[k]), fmtNs(now[k]), change(before[k], now[k], false)];
  const rate = (label: string, k: 'explorePct' | 'exploreRandom', r: keyof Rate): string[] => [label, fmtInt(before[k][r]), fmtInt(now[k][r]), change(before[k][r], now[k][r], true)];
  return [
    ns('harness gup_fast + put (stress)', 'walkNs'),
    ns('raw walk (the machine\'s own noise)', 'rawWalkNs'),
    ns('IPI round trip p50', 'ipiP50Ns'),
    ns('synchronize_rcu p50', 'syncRcuP50Ns'),
    rate('explore, ksm-merge pct: executions/s', 'explorePct', 'runsPerSec'),
    rate('explore, ksm-merge pct: steps/s', 'explorePct', 'stepsPerSec'),
    rate('explore, ksm-merge random: executions/s', 'exploreRandom', 'runsPerSec'),
    rate('explore, ksm-merge random: steps/s', 'exploreRandom', 'stepsPerSec'),
  ];
}
