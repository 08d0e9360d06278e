// CPU-local statistics (summed over CPUs at print time, like rcutorture's), each declared by
// the module that counts it (defineStat / defineHist); this module imports nothing of the
// model, so any module can declare its counters at load time.
import { type Registered, Registry } from './registry.js';

export interface StatDef extends Registered {
  readonly doc: string;
}
export const STATS = new Registry<StatDef>('statistic');
export function defineStat(name: string, doc: string): StatDef {
  return STATS.define({ name, doc });
}
export const HISTS = new Registry<StatDef>('histogram');
export function defineHist(name: string, doc: string): StatDef {
  return HISTS.define({ name, doc });
}

export const S_OPS = defineStat('ops', 'role operations done');
export const S_BLOCKS = defineStat('blocks', 'times this CPU slept in Atomics.wait');
/** one reader operation in READER_TIMED is timed (a power of two) */
export const READER_TIMED = 16;
export const H_READER_OP = defineHist('readerOp', `one reader operation in ${READER_TIMED}, ns`);
export const H_WRITER_OP = defineHist('writerOp', 'one writer operation, ns');
