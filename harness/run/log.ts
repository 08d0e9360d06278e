// pino to stderr: plain-text lines a person reads (colored on a terminal), a record's fields
// written as `name=value` after its message; JSON lines with --log-json or
// GUPSTRESS_LOG_JSON=1 (for a program that reads them).
import pino from 'pino';
import pretty from 'pino-pretty';

export type Logger = pino.Logger;

export function logJson(argv: readonly string[] = process.argv): boolean {
  return argv.includes('--log-json') || process.env.GUPSTRESS_LOG_JSON === '1';
}

const NOT_FIELDS = new Set(['level', 'time', 'pid', 'hostname', 'msg']);

function plain(v: unknown): string {
  if (v === null || v === undefined) return '-';
  if (Array.isArray(v)) return v.length ? v.map(plain).join(',') : '-';
  if (v instanceof Error) return v.message;
  if (typeof v === 'object') return Object.entries(v).map(([k, x]) => `${k}:${plain(x)}`).join(',') || '-';
  return String(v);
}

/** A record's message, then its fields as `name=value` (lists joined by commas). */
export function plainLine(record: Record<string, unknown>): string {
  const fields = Object.entries(record).filter(([k]) => !NOT_FIELDS.has(k)).map(([k, v]) => `${k}=${plain(v)}`);
  return [String(record.msg ?? ''), ...fields].join('  ');
}

export function makeLogger(level = process.env.GUPSTRESS_LOG ?? 'info'): Logger {
  if (logJson()) return pino({ level, base: undefined }, pino.destination({ dest: 2, sync: true }));
  return pino({ level }, pretty({ destination: 2, sync: true, colorize: Boolean(process.stderr.isTTY), ignore: 'pid,hostname', hideObject: true, messageFormat: (r) => plainLine(r) }));
}
