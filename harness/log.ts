// pino to stderr: pretty on a terminal, JSON lines otherwise.
import pino from 'pino';
import pretty from 'pino-pretty';

export type Logger = pino.Logger;

export function makeLogger(level = process.env.GUPSTRESS_LOG ?? 'info'): Logger {
  if (process.stderr.isTTY) {
    return pino({ level }, pretty({ destination: 2, sync: true, colorize: true, ignore: 'pid,hostname' }));
  }
  return pino({ level, base: undefined }, pino.destination({ dest: 2, sync: true }));
}
