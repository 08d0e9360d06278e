// A CPU's trace ring: the last TRACE_LEN events it passed, kept in CPU-local memory
// (not emulated memory: recording costs three plain stores), dumped with a violation.
// Each event is declared by the module that records it (defineTrace), with the names of its
// two values; the name says how a value prints, the same everywhere: addresses and
// entries in hex, pfns and counts in decimal.
import { type Registered, Registry } from '../machine/registry.js';

export const TRACE_LEN = 32; // a power of two (the ring index is masked)

/** What a traced value is; decides its format. */
export type TraceArg = 'addr' | 'pfn' | 'pte' | 'pmd' | 'pud' | 'entry' | 'nr' | 'refcount' | 'gen' | 'token' | 'value' | 'obj' | 'step' | 'pages' | 'tables' | 'on';

export interface TraceDef extends Registered {
  readonly args: readonly TraceArg[];
}

export const TRACE_EVENTS = new Registry<TraceDef>('trace event');

/** `name` is the kernel function (and step) the event marks. */
export function defineTrace(name: string, ...args: TraceArg[]): TraceDef {
  return TRACE_EVENTS.define({ name, args });
}

/** A CPU begins its role's next operation (controlled runs): what the interleaving uses to
 *  leave out the operations a violation does not overlap. */
export const EV_OP = defineTrace('begin operation', 'nr');

const HEX: ReadonlySet<TraceArg> = new Set(['pte', 'pmd', 'pud', 'entry']);

/** One traced value as a person reads it: `addr=0x4001000`, `pte=0x1567`, `pfn=21`. */
export function formatTraceArg(arg: TraceArg, v: number): string {
  if (arg === 'addr') return `addr=0x${((v >>> 0) * 4096).toString(16)}`;
  if (HEX.has(arg)) return `${arg}=0x${(v >>> 0).toString(16)}`;
  return `${arg}=${v | 0}`;
}

/** A ring entry as text: the event's name and its declared values, nothing else. */
export function formatTraceEvent(ev: TraceDef, a: number, b: number): string {
  const vals = [a, b].slice(0, ev.args.length).map((v, i) => formatTraceArg(ev.args[i], v));
  return vals.length ? `${ev.name} ${vals.join(' ')}` : ev.name;
}
