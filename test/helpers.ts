import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { bareMachine } from '../harness/machine.js';
import { type RawRunArgs, resolveRunConfig } from '../harness/config.js';
import { buildResults, type RunResults } from '../harness/results.js';
import { runScenario } from '../harness/runner.js';

// npm test compiles first (tsc -p .): the CPU workers start from dist/, 4x faster than
// through the tsx shim. A worker whose build differs from these sources refuses to start
// (its registries would not match), so a stale dist/ fails loudly, not silently.
process.env.GUPSTRESS_COMPILED_WORKERS ??= '1';

export const silent = pino({ level: 'silent' });
export const tmpOut = (): string => mkdtempSync(join(tmpdir(), 'gupstress-test-'));

/** One real run (workers and all), results built but not written. */
export async function run(args: RawRunArgs): Promise<RunResults> {
  const cfg = resolveRunConfig({ seed: 42, ...args });
  return buildResults(await runScenario(cfg, { log: silent }));
}

/** A machine with one CPU on this thread: for single-threaded tests of the model. */
export const machine = bareMachine;
