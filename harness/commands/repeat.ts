// `run --repeat N`: the same configuration N times (seeds seed, seed+1, ...), each run's file in
// one folder, and every metric as a median with its spread and 95% interval. `compare` takes
// such folders as its two sides.
import { join } from 'node:path';
import { repeatTable } from './compare.js';
import { figures } from '../run/figures.js';
import type { RunConfig } from '../run/machine.js';
import { type Format, commandLine, renderTable } from '../output/format.js';
import type { Logger } from '../run/log.js';
import { type RunResults, buildResults, exitCodeOf, writeResults, stampOf } from '../run/results.js';
import { runScenario } from '../run/runner.js';
import { METHOD } from '../run/stats.js';

export async function runRepeated(cfg: RunConfig, n: number, format: Format, log: Logger, signal: AbortSignal): Promise<number> {
  const stamp = stampOf(new Date().toISOString());
  const dir = join(cfg.out, `${cfg.scenario}.${cfg.strategy}.${cfg.bugs.join('+') || 'fixed'}.x${n}.${stamp}`);
  const runs: RunResults[] = [];
  for (let i = 0; i < n && !signal.aborted; i++) {
    const r = buildResults(await runScenario({ ...cfg, seed: (cfg.seed + i) >>> 0 }, { log, signal }));
    writeResults(r, dir);
    runs.push(r);
    log.info({ run: i + 1, of: n, verdict: r.verdict, readerOpsPerSec: r.reader.opsPerSec }, `repeat ${i + 1}/${n}`);
  }
  const verdicts = runs.map((r) => r.verdict);
  const code = Math.max(0, ...runs.map(exitCodeOf));
  if (format === 'json') {
    const rows = Object.values(figures(runs)).map((f) => ({ metric: f.metric, unit: f.unit, ...(f.spread ?? {}) }));
    process.stdout.write(JSON.stringify({ command: commandLine(), method: METHOD, folder: dir, verdicts, rows }, null, 2) + '\n');
    return code;
  }
  const count = (v: string): number => verdicts.filter((x) => x === v).length;
  const notes = [
    `${runs.length} runs${signal.aborted ? ' (interrupted)' : ''}: ${count('PASS')} PASS, ${count('FAIL')} FAIL, ${count('ERROR')} ERROR; interval: ${METHOD}`,
    `runs: ${dir}`,
  ];
  process.stdout.write(renderTable(repeatTable(runs), format, commandLine(), format === 'csv' ? [] : notes) + '\n');
  return code;
}
