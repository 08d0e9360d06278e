import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { archByName } from '../src/arch/index.js';
import { WINDOWS } from '../src/check/windows.js';
import { Cpu } from '../src/machine/cpu.js';
import { bugsFrom } from '../src/machine/bugs.js';
import { G_GP_CTR, G_GP_DONE, computeLayout, type Layout } from '../src/machine/layout.js';
import { StressMem } from '../src/machine/mem.js';
import { initPageAlloc } from '../src/mm/page_alloc.js';
import { STRATEGIES, type StrategyName } from '../src/sync/strategy.js';
import { type RawRunArgs, resolveRunConfig } from '../harness/config.js';
import { buildResults, type RunResults } from '../harness/results.js';
import { runScenario } from '../harness/runner.js';

export const silent = pino({ level: 'silent' });
export const tmpOut = (): string => mkdtempSync(join(tmpdir(), 'gupstress-test-'));

/** One real run (workers and all), results built but not written. */
export async function run(args: RawRunArgs): Promise<RunResults> {
  const cfg = resolveRunConfig({ seed: 42, ...args });
  return buildResults(await runScenario(cfg, { log: silent }));
}

/** A machine with one CPU on this thread: for single-threaded tests of the model. */
export function machine(opts: { frames?: number; huge?: number; strategy?: StrategyName; bugs?: string[] } = {}): { c: Cpu; L: Layout; mem: StressMem } {
  const L = computeLayout({ frames: opts.frames ?? 1024, hugeFolios: opts.huge ?? 4, cpus: 1, mms: 1, windows: WINDOWS.length, scratchWords: 16 });
  const mem = new StressMem(new SharedArrayBuffer(L.words * 4), 7);
  mem.store(L.gBase + G_GP_CTR, 1);
  mem.store(L.gBase + G_GP_DONE, 1);
  initPageAlloc(mem, L);
  const c = new Cpu(mem, L, 0, archByName('x86-64'), STRATEGIES[opts.strategy ?? 'ipi'], bugsFrom(opts.bugs ?? []), {
    widenNs: new Float64Array(WINDOWS.length), winPair: new Int32Array(WINDOWS.length).fill(-1), jitterP: 0, seedStartNs: 0,
    stopOnViolation: false, rcuTickUs: 250,
  });
  return { c, L, mem };
}
