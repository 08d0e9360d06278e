// Sharding: one long command split over N machines (a CI matrix, a Kubernetes Indexed Job,
// GNU parallel), each running shard i of N, and `gupstress merge` putting the shards' results
// back together. A shard takes the items (executions, rows, cells, cases, files) whose index
// is i-1 modulo N, so the union of the shards is exactly the unsharded command's items and
// each shard gets a fair mix of them. A shard's results carry a ShardTag: which shard of which
// whole (the command without its output options, hashed) and of which build, so shards of
// another command or build are never merged.
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BadInput } from './config.js';
import { stampOf } from './results.js';

/** Shard `index` (1-based, as Playwright and Jest count) of `count`. */
export interface Shard {
  index: number;
  count: number;
}

/** What a shard's results file says of it. */
export interface ShardTag extends Shard {
  /** the command as given, without --shard and the options that only name outputs */
  command: string;
  /** a hash of the command's settings (those options, parsed): shards of one whole share it */
  whole: string;
  /** a hash of the build's compiled files: shards of one build share it */
  build: string;
  /** the items this shard was given, by their index in the whole (in the order it ran them) */
  items: number[];
  /** the items of the whole */
  total: number;
}

/** The most shards a command splits into */
export const MAX_SHARDS = 10_000;

/** Options that say where results go or how they are shown, never what is run: shards of one
 *  whole may differ in them (each its own --out, say). */
const OUTPUT_OPTIONS = new Set(['out', 'junit', 'html', 'format', 'json', 'logJson', 'shard', 'width', 'help', 'version']);

/** `i/N`, 1 <= i <= N. */
export function parseShard(v: string, what = '--shard'): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(v);
  const usage = `${what} is i/N, shard i of N counted from 1 (got '${v}')`;
  if (!m) throw new BadInput(usage);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || count > MAX_SHARDS) throw new BadInput(`${what}: N is from 1 to ${MAX_SHARDS} (got '${v}')`);
  if (index < 1 || index > count) throw new BadInput(`${what}: i is from 1 to N (got '${v}')`);
  return { index, count };
}

/**
 * The shard this process runs, or null: --shard i/N; else GUPSTRESS_SHARD=i/N; else a
 * Kubernetes Indexed Job's JOB_COMPLETION_INDEX (counted from 0) with GUPSTRESS_SHARDS=N
 * (the Job's completions), so a pod needs no wrapper script.
 */
export function resolveShard(flag: unknown, env: NodeJS.ProcessEnv = process.env): Shard | null {
  if (flag !== undefined) return parseShard(String(flag));
  if (env.GUPSTRESS_SHARD !== undefined && env.GUPSTRESS_SHARD !== '') return parseShard(env.GUPSTRESS_SHARD, 'GUPSTRESS_SHARD');
  const k8s = env.JOB_COMPLETION_INDEX;
  if (k8s === undefined || k8s === '') return null;
  const count = env.GUPSTRESS_SHARDS;
  if (count === undefined || count === '') throw new BadInput('JOB_COMPLETION_INDEX is set but not how many shards there are: set GUPSTRESS_SHARDS to the Job\'s completions (or give --shard i/N)');
  if (!/^\d+$/.test(k8s.trim())) throw new BadInput(`JOB_COMPLETION_INDEX is a number from 0 (got '${k8s}')`);
  return parseShard(`${Number(k8s) + 1}/${count}`, 'JOB_COMPLETION_INDEX+1/GUPSTRESS_SHARDS');
}

/** The indices of `total` items that shard `s` takes: i-1, i-1+N, i-1+2N, ... */
export function shardItems(total: number, s: Shard | null): number[] {
  const out: number[] = [];
  for (let j = s === null ? 0 : s.index - 1; j < total; j += s === null ? 1 : s.count) out.push(j);
  return out;
}

/** Whether item `j` is shard `s`'s (every item is, unsharded). */
export function ownsItem(s: Shard | null, j: number): boolean {
  return s === null || j % s.count === s.index - 1;
}

/** A shard's part of a file name: `.shard-2-of-3` (empty unsharded), so shards writing to one
 *  shared folder never overwrite each other. */
export function shardSuffix(s: Shard | null): string {
  return s === null ? '' : `.shard-${s.index}-of-${s.count}`;
}

/** The command's settings, parsed, without the output options: what the shards of one whole
 *  must agree on. `args` is what yargs parsed (camelCase keys are the options' values). */
export function wholeOf(args: Record<string, unknown>): { command: string; whole: string } {
  const settings: Record<string, unknown> = { command: (args._ as unknown[] | undefined)?.map(String) ?? [] };
  for (const k of Object.keys(args).sort()) {
    if (k === '_' || k === '$0' || k.includes('-') || OUTPUT_OPTIONS.has(k) || args[k] === undefined) continue;
    settings[k] = args[k];
  }
  const argv = process.argv.slice(2);
  const shown: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const name = /^--([^=]+)/.exec(argv[i])?.[1];
    const key = name?.replace(/-(.)/g, (_, c: string) => c.toUpperCase());
    if (key !== undefined && OUTPUT_OPTIONS.has(key)) {
      // (its value too, where it is the next word)
      if (!argv[i].includes('=') && i + 1 < argv.length && !argv[i + 1].startsWith('--') && key !== 'json' && key !== 'logJson') i++;
      continue;
    }
    shown.push(/^[\w./=:,@+-]+$/.test(argv[i]) ? argv[i] : `'${argv[i].replace(/'/g, "'\\''")}'`);
  }
  return { command: ['gupstress', ...shown].join(' '), whole: createHash('sha256').update(JSON.stringify(settings)).digest('hex').slice(0, 16) };
}

let buildHash: string | null = null;

/** A hash of the build's compiled files (dist/: the harness, the model, the workers, the
 *  resumable form): two processes with the same one run the same code. (An explore file's
 *  `build`, explore.ts buildFingerprint, is narrower: what a replay of one scenario needs.) */
export function distFingerprint(): string {
  if (buildHash !== null) return buildHash;
  const here = fileURLToPath(import.meta.url);
  // from dist/harness/run/shard.js: dist/; from the sources (tests): the build next to them
  const dist = join(here, here.endsWith('.ts') ? '../../../dist' : '../../..');
  const h = createHash('sha256');
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir).sort()) {
      const p = join(dir, e);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.(js|json)$|MODEL$/.test(e)) h.update(relative(dist, p)).update('\0').update(readFileSync(p)).update('\0');
    }
  };
  try {
    walk(dist);
  } catch {
    throw new Error(`the build is missing (${dist}): run npm run build`);
  }
  buildHash = h.digest('hex').slice(0, 16);
  return buildHash;
}

/** The tag a shard's results carry. */
export function shardTag(s: Shard, whole: { command: string; whole: string }, items: number[], total: number): ShardTag {
  return { index: s.index, count: s.count, command: whole.command, whole: whole.whole, build: distFingerprint(), items, total };
}

/** A sharded command: its shard and the whole it is a shard of. */
export interface ShardRun {
  shard: Shard;
  whole: { command: string; whole: string };
}

/** The shard a command's parsed arguments (and the environment) ask for, or null. */
export function shardRunOf(args: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): ShardRun | null {
  const shard = resolveShard(args.shard, env);
  return shard === null ? null : { shard, whole: wholeOf(args) };
}

/** A sharded command whose items come from a seed needs the seed given: a random one would
 *  differ from shard to shard. */
export function needSeed(run: ShardRun | null, seed: unknown, what: string): void {
  if (run !== null && seed === undefined) throw new BadInput(`--shard: give --seed, so that every shard ${what} of the same whole`);
}

/** A results file that is a shard: where it was read from, and what it holds. */
export interface ShardFile<T = unknown> {
  path: string;
  schema: string;
  tag: ShardTag;
  data: T;
}

/** The shards of one whole, each once, all there; anything else is bad input, in one line:
 *  shards of two commands or two builds, a duplicated or a missing shard. Returns them in
 *  shard order. */
export function completeSet<T>(files: readonly ShardFile<T>[]): ShardFile<T>[] {
  if (files.length === 0) throw new BadInput('no shard results to merge (a shard\'s results file is written by a command run with --shard i/N)');
  const [a] = files;
  const what = (f: ShardFile<unknown>): string => `${f.path} (shard ${f.tag.index}/${f.tag.count} of '${f.tag.command}')`;
  for (const f of files) {
    if (f.schema !== a.schema) throw new BadInput(`${a.path} and ${f.path} are shards of different commands (${a.schema}, ${f.schema})`);
    if (f.tag.whole !== a.tag.whole) throw new BadInput(`${what(a)} and ${what(f)} are shards of different commands: their settings differ`);
    if (f.tag.build !== a.tag.build) throw new BadInput(`${a.path} and ${f.path} come from different builds (${a.tag.build}, ${f.tag.build}): shards of one build only`);
    if (f.tag.count !== a.tag.count) throw new BadInput(`${a.path} is a shard of ${a.tag.count}, ${f.path} of ${f.tag.count}`);
  }
  const byIndex = new Map<number, ShardFile<T>>();
  for (const f of files) {
    const dup = byIndex.get(f.tag.index);
    if (dup) throw new BadInput(`shard ${f.tag.index}/${f.tag.count} is given twice: ${dup.path} and ${f.path}`);
    byIndex.set(f.tag.index, f);
  }
  const missing = Array.from({ length: a.tag.count }, (_, k) => k + 1).filter((i) => !byIndex.has(i));
  if (missing.length) throw new BadInput(`shard${missing.length > 1 ? 's' : ''} ${missing.slice(0, 8).map((i) => `${i}/${a.tag.count}`).join(', ')}${missing.length > 8 ? ` and ${missing.length - 8} more` : ''} of '${a.tag.command}' missing (have ${files.length} of ${a.tag.count})`);
  return [...byIndex.keys()].sort((x, y) => x - y).map((i) => byIndex.get(i)!);
}

/** Items of the whole put back in order: what each shard made of its items (ShardTag.items,
 *  in the order it ran them), and how many items of the whole no shard made (cut short:
 *  Ctrl-C, --fail-fast, a time box). */
export function inOrder<T, R>(shards: readonly ShardFile<T>[], made: (s: ShardFile<T>) => readonly R[]): { items: R[]; missing: number } {
  const out: (R | undefined)[] = new Array<R | undefined>(shards[0].tag.total).fill(undefined);
  for (const s of shards) {
    const rs = made(s);
    for (const [k, j] of s.tag.items.entries()) if (k < rs.length) out[j] = rs[k];
  }
  const items = out.filter((r): r is R => r !== undefined);
  return { items, missing: out.length - items.length };
}

/** What a merged result says of its shards. */
export interface MergedFrom {
  command: string;
  build: string;
  count: number;
  shards: { index: number; path: string; startedAt?: string }[];
}

export function mergedFrom(shards: readonly ShardFile<{ startedAt?: string }>[]): MergedFrom {
  const t = shards[0].tag;
  return { command: t.command, build: t.build, count: t.count, shards: shards.map((s) => ({ index: s.tag.index, path: s.path, startedAt: s.data.startedAt })) };
}

/** A results file's name: PREFIX.STAMP.json, with `.shard-i-of-N` for a shard's and `.merged`
 *  for a merge's. */
export function resultsFileName(prefix: string, f: { startedAt: string; shard?: Shard; merged?: unknown }): string {
  return `${prefix}.${stampOf(f.startedAt)}${f.merged ? '.merged' : shardSuffix(f.shard ?? null)}.json`;
}
