// Reading results files back (report, compare): a bad file is bad input, with one line.
import { readFileSync } from 'node:fs';
import { BadInput } from './config.js';
import type { RunResults } from './results.js';
import { RUN_SCHEMA } from './results.js';

export const SWEEP_SCHEMA = 'gupstress/sweep@1';
export const CAMPAIGN_SCHEMA = 'gupstress/campaign@1';

export interface SweepCell {
  strategy: string;
  readers: number;
  writers: number;
  widen: Record<string, number>;
  /** the knobs this cell set (--set), by name */
  knobs?: Record<string, number>;
  /** the cell's first run */
  results: RunResults;
  /** every repeat of the cell (--repeat N), the first one included */
  runs?: RunResults[];
  /** every metric over the cell's runs, by name: median, spread and 95% interval (figures():
   *  what the terminal's table and the HTML report show) */
  figures?: Record<string, import('./compare.js').Figure>;
}

export interface SweepResults {
  schema: typeof SWEEP_SCHEMA;
  startedAt: string;
  scenario: string;
  host: RunResults['host'];
  axes: { strategies: string[]; readers: number[]; writers: number[]; widen: Record<string, number[]>; knobs?: Record<string, number[]> };
  durationMs: number;
  /** runs per cell (--repeat) */
  repeat?: number;
  cells: SweepCell[];
}

export type Loaded =
  | { kind: 'run'; path: string; data: RunResults }
  | { kind: 'sweep'; path: string; data: SweepResults }
  | { kind: 'campaign'; path: string; data: import('./campaign.js').CampaignResults }
  | { kind: 'explore'; path: string; data: import('./explore.js').ExploreFile };

export function loadResultsFile(path: string): Loaded {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new BadInput(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let data: { schema?: unknown };
  try {
    data = JSON.parse(text);
  } catch {
    throw new BadInput(`${path} is not JSON`);
  }
  const schema = data && typeof data === 'object' ? data.schema : undefined;
  if (schema === RUN_SCHEMA) return { kind: 'run', path, data: data as RunResults };
  if (schema === SWEEP_SCHEMA) return { kind: 'sweep', path, data: data as SweepResults };
  if (schema === CAMPAIGN_SCHEMA) return { kind: 'campaign', path, data: data as Loaded['data'] as never };
  if (schema === 'gupstress/explore@1') return { kind: 'explore', path, data: data as Loaded['data'] as never };
  throw new BadInput(`${path} is not a gupstress results file (schema ${JSON.stringify(schema ?? null)})`);
}
