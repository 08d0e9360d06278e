import { type SpawnSyncReturns, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { bareMachine } from '../harness/run/machine.js';
import { type RawRunArgs, resolveRunConfig } from '../harness/run/config.js';
import { buildResults, type RunResults } from '../harness/run/results.js';
import { runScenario } from '../harness/run/runner.js';

// npm test compiles first (tsc -p .): the CPU workers start from dist/, 4x faster than
// through the tsx shim. A worker whose build differs from these sources refuses to start
// (its registries would not match), so a stale dist/ fails loudly, not silently.
process.env.GUPSTRESS_COMPILED_WORKERS ??= '1';

export const silent = pino({ level: 'silent' });

/** The compiled CLI (npm test builds it first). */
export const CLI = join(import.meta.dirname, '..', 'dist', 'harness', 'cli.js');

/** The environment a test runs the CLI in: warnings only, and no shard, even where the tests
 *  themselves run as one (a CI matrix's GUPSTRESS_SHARD, an Indexed Job's index), with `extra`. */
export function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, GUPSTRESS_LOG: 'warn' };
  for (const k of ['GUPSTRESS_SHARD', 'GUPSTRESS_SHARDS', 'JOB_COMPLETION_INDEX']) delete env[k];
  return { ...env, ...extra };
}

/** `gupstress ARGS...` as a user runs it. */
export const gupstress = (...args: string[]): SpawnSyncReturns<string> => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: cliEnv() });

/** What a command run in the background gave. */
export interface Ran {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** `gupstress ARGS...` in the background (beside others: a CI matrix's shards run at once). */
export function gupstressAsync(args: readonly string[], env: Record<string, string> = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [CLI, ...args], { env: cliEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    p.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    p.on('error', reject);
    p.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}
export const tmpOut = (): string => mkdtempSync(join(tmpdir(), 'gupstress-test-'));

/** One real run (workers and all), results built but not written. */
export async function run(args: RawRunArgs): Promise<RunResults> {
  const cfg = resolveRunConfig({ seed: 42, ...args });
  return buildResults(await runScenario(cfg, { log: silent }));
}

/** A machine with one CPU on this thread: for single-threaded tests of the model. */
export const machine = bareMachine;

/** What a run did, for an assertion's message: its verdict and what it was made of. */
export function describeRun(r: RunResults): string {
  const overlaps = Object.entries(r.windows).filter(([, w]) => w.overlaps !== null).map(([n, w]) => `${n} ${w.overlaps}/${w.entries}`).join(', ');
  const first = r.violations[0];
  return `verdict ${r.verdict} after ${r.durationMs} ms: reader ops ${r.reader.ops}, writer ops ${r.writer.ops}, violations ${JSON.stringify(r.violationsByKind)}` +
    `${first ? ` (first: ${first.kind} cpu${first.cpu} ${first.address}: ${first.detail})` : ''}, overlaps ${overlaps || 'none paired'}, error ${r.error ?? 'none'}, seed ${r.config.seed}`;
}

/** Executions of one exploration as `gupstress explore` makes them (the controlled executor:
 *  deterministic, seeds 1, 2, ...), on past violations: every violation kind seen and in how
 *  many executions, the roles' outcomes summed, the paired windows' overlaps by window name.
 *  Stops after `executions`, or at the first execution after which `until` holds. */
export async function exploreSummary(args: import('../harness/commands/explore.js').ExploreArgs, executions: number, until?: (s: ExploreSummary) => boolean): Promise<ExploreSummary> {
  const { exploreToFile, resolveExplore } = await import('../harness/commands/explore.js');
  const { WINDOWS } = await import('../src/check/windows.js');
  const { cfg, o } = resolveExplore({ seed: 1, ...args });
  const out: ExploreSummary = { executions: 0, kinds: {}, details: [], outcomes: { reader: {}, writer: {} }, overlaps: {} };
  await exploreToFile(cfg, o, {
    runs: executions, durationMs: null, keepGoing: true, minimizeMs: 0,
    onExecution: (ex) => {
      out.executions++;
      for (const k of new Set(ex.violations.map((v) => v.kind))) out.kinds[k] = (out.kinds[k] ?? 0) + 1;
      for (const v of ex.violations) if (out.details.length < 20) out.details.push({ kind: v.kind, detail: v.detail, trace: v.trace });
      for (const role of ['reader', 'writer'] as const) for (const [k, v] of Object.entries(ex.outcomes[role])) out.outcomes[role][k] = (out.outcomes[role][k] ?? 0) + v;
      for (const w of WINDOWS.all) if (ex.winOverlaps[w.id] > 0) out.overlaps[w.name] = (out.overlaps[w.name] ?? 0) + ex.winOverlaps[w.id];
      return until?.(out) ?? false;
    },
  }, silent);
  return out;
}

export interface ExploreSummary {
  executions: number;
  /** violation kind -> executions that had it */
  kinds: Record<string, number>;
  /** the first violations seen */
  details: { kind: string; detail: string; trace: string[] }[];
  outcomes: { reader: Record<string, number>; writer: Record<string, number> };
  overlaps: Record<string, number>;
}
