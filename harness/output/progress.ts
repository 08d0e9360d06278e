// A progress bar on a terminal (cli-progress), periodic log lines otherwise.
import cliProgress from 'cli-progress';
import type { Logger } from '../run/log.js';
import type { Progress } from '../run/runner.js';

export interface ProgressSink {
  update(p: Progress): void;
  stop(): void;
}

export function makeProgress(log: Logger, label: string, quiet: boolean): ProgressSink {
  if (quiet) return { update() {}, stop() {} };
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      { format: `${label} [{bar}] {percentage}% | {ops} reader ops | {violations} violations`, stream: process.stderr, hideCursor: true, clearOnComplete: true },
      cliProgress.Presets.shades_classic,
    );
    bar.start(100, 0, { ops: 0, violations: 0 });
    return {
      update(p) {
        const frac = p.totalMs ? p.elapsedMs / p.totalMs : p.opsTarget ? p.readerOps / p.opsTarget : 0;
        bar.update(Math.min(100, Math.round(frac * 100)), { ops: p.readerOps.toLocaleString('en-US'), violations: p.violations });
      },
      stop: () => bar.stop(),
    };
  }
  let last = 0;
  return {
    update(p) {
      if (p.elapsedMs - last < 2000) return;
      last = p.elapsedMs;
      log.info({ elapsedMs: Math.round(p.elapsedMs), readerOps: p.readerOps, violations: p.violations }, `${label} progress`);
    },
    stop() {},
  };
}
