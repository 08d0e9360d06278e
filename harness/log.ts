// pino to stderr: readable lines (colored on a terminal), JSON lines with --log-json or
// GUPSTRESS_LOG_JSON=1 (for a program that reads them).
import pino from 'pino';
import pretty from 'pino-pretty';

export type Logger = pino.Logger;

export function logJson(argv: readonly string[] = process.argv): boolean {
  return argv.includes('--log-json') || process.env.GUPSTRESS_LOG_JSON === '1';
}

export function makeLogger(level = process.env.GUPSTRESS_LOG ?? 'info'): Logger {
  if (logJson()) return pino({ level, base: undefined }, pino.destination({ dest: 2, sync: true }));
  return pino({ level }, pretty({ destination: 2, sync: true, colorize: Boolean(process.stderr.isTTY), ignore: 'pid,hostname', singleLine: true }));
}
