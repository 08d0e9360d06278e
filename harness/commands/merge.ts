// `gupstress merge FILES|DIRS...`: the results of a command run as N shards (--shard i/N, on
// N machines or N processes) put back together: one result, written and shown as the
// unsharded command writes and shows it, with its exit code. The shards must be one whole:
// the same command and build, each shard once, none missing (else exit 2, one line).
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BadInput } from '../run/config.js';
import { CAMPAIGN_SCHEMA, type CampaignResults, EXPLORE_SCHEMA, type ExploreFile, SWEEP_SCHEMA, type SweepResults } from '../run/files.js';
import { MATRIX_SCHEMA, type MatrixFile, finishCampaign, finishMatrix, mergeCampaign, mergeMatrix } from './campaign.js';
import { stampOf, writeJsonAtomic } from '../run/results.js';
import { type ShardFile, type ShardTag, completeSet, resultsFileName } from '../run/shard.js';
import { type Format, parseFormat } from '../output/format.js';
import { exploreFileName, formatExplore, mergeExplore } from './explore.js';
import { LITMUS_SCHEMA, type LitmusFile, litmusFileName, litmusFormat, mergeLitmus, showLitmus } from './litmus.js';
import { LIMITS_SCHEMA, type LimitsFile, limitsFileName, mergeLimits, showLimits } from './limits.js';
import { SELFTEST_SCHEMA, type SelftestFile, mergeSelftest, selftestFileName, showSelftest } from './selftest.js';
import { mergeSweep, showSweep } from './sweep.js';

export interface MergeOptions {
  paths: string[];
  out?: unknown;
  format?: unknown;
  json: boolean;
  junit?: unknown;
  html?: unknown;
}

/** What a merge is given besides the shards: where and how to show the result. */
export interface MergeTarget {
  out: string;
  format: Format;
  junit: string | null;
  html: string | null;
}

/** How each command's shards merge: into the whole's result, written, shown; the exit code
 *  the unsharded command would have given. */
const MERGERS: Record<string, (shards: ShardFile<never>[], t: MergeTarget) => number> = {
  [EXPLORE_SCHEMA]: (shards: ShardFile<ExploreFile>[], t) => {
    const f = mergeExplore(shards);
    const path = writeJsonAtomic(t.out, exploreFileName(f), f);
    process.stdout.write(mergedLine(shards, t.format) + (t.format === 'json' ? JSON.stringify(f, null, 2) : formatExplore(f, path)) + '\n');
    return f.failure ? 1 : 0;
  },
  [CAMPAIGN_SCHEMA]: (shards: ShardFile<CampaignResults>[], t) => {
    const summary = mergeCampaign(shards);
    process.stdout.write(mergedLine(shards, t.format));
    return finishCampaign(summary, { out: t.out, stamp: `${stampOf(summary.startedAt)}.merged`, junit: t.junit, html: t.html, format: t.format });
  },
  [MATRIX_SCHEMA]: (shards: ShardFile<MatrixFile>[], t) => {
    const f = mergeMatrix(shards);
    process.stdout.write(mergedLine(shards, t.format));
    return finishMatrix(f, writeJsonAtomic(t.out, resultsFileName('memory-matrix', f), f), t.format);
  },
  [SWEEP_SCHEMA]: (shards: ShardFile<SweepResults>[], t) => {
    const m = mergeSweep(shards, t.out, t.html);
    process.stdout.write(mergedLine(shards, t.format));
    return showSweep(m.sweep, t.format, m.json, m.html, m.sweep.merged!.command);
  },
  [LIMITS_SCHEMA]: (shards: ShardFile<LimitsFile>[], t) => {
    if (t.format !== 'text' && t.format !== 'json') throw new BadInput(`limits prints text or json (got --format ${t.format})`);
    const f = mergeLimits(shards);
    const path = writeJsonAtomic(t.out, limitsFileName(f), f);
    process.stdout.write(mergedLine(shards, t.format));
    return showLimits(f, t.format, path);
  },
  [SELFTEST_SCHEMA]: (shards: ShardFile<SelftestFile>[], t) => {
    const f = mergeSelftest(shards);
    const path = writeJsonAtomic(t.out, selftestFileName(f), f);
    process.stdout.write(mergedLine(shards, t.format));
    return showSelftest(f, t.format, path, f.merged!.command);
  },
  [LITMUS_SCHEMA]: (shards: ShardFile<LitmusFile>[], t) => {
    const format = litmusFormat(t.format);
    const f = mergeLitmus(shards);
    const path = writeJsonAtomic(t.out, litmusFileName(f), f);
    process.stdout.write(mergedLine(shards, t.format));
    return showLitmus(f, format, path);
  },
};

/** The line a merge's text (and markdown) output opens with: how many shards of what; none
 *  before JSON or CSV, which a program reads. */
function mergedLine(shards: readonly ShardFile[], format: Format): string {
  return format === 'json' || format === 'csv' ? '' : `merged ${shards.length} shards of: ${shards[0].tag.command}\n`;
}

/** The shards among the paths: files as given (each must be a shard's results), folders
 *  searched recursively for the shards' files in them (other files there are passed over). */
export function readShards(paths: readonly string[]): ShardFile[] {
  const out: ShardFile[] = [];
  const read = (p: string, given: boolean): void => {
    let st;
    try {
      st = statSync(p);
    } catch {
      throw new BadInput(`${p}: no such file or folder`);
    }
    if (st.isDirectory()) {
      for (const e of readdirSync(p).sort()) {
        const q = join(p, e);
        if (e.endsWith('.json') || statSync(q).isDirectory()) read(q, false);
      }
      return;
    }
    let data: { schema?: unknown; shard?: ShardTag };
    try {
      data = JSON.parse(readFileSync(p, 'utf8'));
    } catch {
      if (given) throw new BadInput(`${p} is not JSON`);
      return;
    }
    if (data?.shard === undefined || typeof data.schema !== 'string') {
      if (given) throw new BadInput(`${p} is not a shard's results (a command run with --shard i/N writes them)`);
      return;
    }
    if (!(data.schema in MERGERS)) throw new BadInput(`${p}: no merge for ${data.schema}`);
    out.push({ path: p, schema: data.schema, tag: data.shard, data });
  };
  for (const p of paths) read(p, true);
  if (out.length === 0) throw new BadInput(`no shard results in ${paths.join(' ')} (a command run with --shard i/N writes them)`);
  return out;
}

export function runMerge(o: MergeOptions): number {
  const shards = completeSet(readShards(o.paths));
  const t: MergeTarget = {
    out: o.out === undefined ? 'results' : String(o.out), format: parseFormat(o.format, o.json),
    junit: o.junit === undefined ? null : String(o.junit), html: o.html === undefined ? null : String(o.html),
  };
  if (t.junit !== null && shards[0].schema !== CAMPAIGN_SCHEMA) throw new BadInput('--junit is for a campaign\'s shards');
  if (t.html !== null && ![CAMPAIGN_SCHEMA, SWEEP_SCHEMA].includes(shards[0].schema)) throw new BadInput('--html is for the shards of a campaign or a sweep');
  return MERGERS[shards[0].schema](shards as ShardFile<never>[], t);
}
