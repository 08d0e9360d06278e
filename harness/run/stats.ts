// Statistics for repeated runs: the median with its spread and a 95% confidence interval,
// and the ratio of two sets with its interval and a verdict (criterion's and hyperfine's
// style). The method is the percentile bootstrap (Efron): BOOTSTRAP_RESAMPLES resamples
// drawn from a fixed seed, so the same samples always give the same interval.
import { Prng } from '../../src/machine/mem.js';

export const BOOTSTRAP_RESAMPLES = 2000;
export const CONFIDENCE = 0.95;
export const METHOD = `percentile bootstrap of the median, ${BOOTSTRAP_RESAMPLES} resamples, ${CONFIDENCE * 100}%`;

/** A metric over repeated runs. */
export interface Spread {
  n: number;
  median: number;
  min: number;
  max: number;
  /** 95% interval of the median; null with fewer than 2 samples */
  lo: number | null;
  hi: number | null;
}

export function median(xs: readonly number[]): number {
  const v = [...xs].sort((a, b) => a - b);
  const h = v.length >> 1;
  return v.length % 2 ? v[h] : (v[h - 1] + v[h]) / 2;
}

function quantile(sorted: Float64Array, q: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))));
  return sorted[i];
}

/** BOOTSTRAP_RESAMPLES values of `stat` over resamples (with replacement) of each sample set. */
function bootstrap(sets: readonly (readonly number[])[], stat: (resampled: number[][]) => number): Float64Array {
  const prng = new Prng(1);
  const out = new Float64Array(BOOTSTRAP_RESAMPLES);
  for (let r = 0; r < BOOTSTRAP_RESAMPLES; r++) out[r] = stat(sets.map((xs) => xs.map(() => xs[prng.next() % xs.length])));
  return out.sort();
}

/** The median of the samples, min–max, and the bootstrap interval of the median. */
export function spread(xs: readonly number[]): Spread {
  if (xs.length === 0) throw new Error('spread of no samples');
  const m = median(xs);
  const base = { n: xs.length, median: m, min: Math.min(...xs), max: Math.max(...xs) };
  if (xs.length < 2) return { ...base, lo: null, hi: null };
  const b = bootstrap([xs], ([x]) => median(x));
  return { ...base, lo: quantile(b, (1 - CONFIDENCE) / 2), hi: quantile(b, 1 - (1 - CONFIDENCE) / 2) };
}

export type Verdict = 'B higher' | 'B lower' | 'no significant difference' | 'no significance with one run per side';

/** B/A: the ratio of the medians, its bootstrap interval, and whether it excludes 1; where A's
 *  median is 0 (no ratio), B-A: the difference of the medians, its interval, and whether it
 *  excludes 0. */
export interface RatioSpread {
  /** 'ratio': ratio, lo, hi are B/A; 'difference': they are B-A */
  of: 'ratio' | 'difference';
  ratio: number | null;
  lo: number | null;
  hi: number | null;
  verdict: Verdict | null;
}

/** Fewer runs than this a side: the interval of a median is wide, the verdict thin. */
export const FEW_RUNS = 5;

export function ratioSpread(a: readonly number[], b: readonly number[]): RatioSpread {
  const ma = median(a);
  // (A's median 0: no ratio, the difference instead; equal medians of 0 are no difference)
  const of = ma === 0 ? 'difference' : 'ratio';
  const stat = of === 'ratio' ? (x: readonly number[], y: readonly number[]): number => median(y) / median(x) : (x: readonly number[], y: readonly number[]): number => median(y) - median(x);
  const same = of === 'ratio' ? 1 : 0;
  const ratio = stat(a, b);
  if (a.length < 2 || b.length < 2) return { of, ratio, lo: null, hi: null, verdict: 'no significance with one run per side' };
  const r = bootstrap([a, b], ([x, y]) => (of === 'ratio' && median(x) === 0 ? Infinity : stat(x, y)));
  const lo = quantile(r, (1 - CONFIDENCE) / 2);
  const hi = quantile(r, 1 - (1 - CONFIDENCE) / 2);
  return { of, ratio, lo, hi, verdict: lo > same ? 'B higher' : hi < same ? 'B lower' : 'no significant difference' };
}
