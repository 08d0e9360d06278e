// Sharding sweep, limits, selftest and litmus (--shard i/N) and gupstress merge putting the
// shards back together: the merged table is the unsharded one, row for row, with its exit
// code; selftest's cases give the same result whichever others run with them. Runs the
// compiled CLI (npm test builds it first), as a CI matrix would. (explore and campaign, and
// merge's refusals: shard.test.ts)
import assert from 'node:assert/strict';
import type { SpawnSyncReturns } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCases, selftestResults } from '../harness/commands/selftest.js';
import { SELFTEST_CASES } from '../src/selftests/cases.js';
import { type Ran, gupstress, gupstressAsync, tmpOut } from './helpers.js';

const ROOT = join(import.meta.dirname, '..');

interface Sharded {
  dir: string;
  whole: Ran;
  shards: Ran[];
  merged: SpawnSyncReturns<string>;
}

/** The command unsharded (its --out `dir`/whole) and as shards 1/n..n/n into one folder
 *  (`dir`/shards), all at once, as a CI matrix runs them; then the shards merged
 *  (`dir`/merged; `merge`: its other options). */
async function wholeAndShards(args: string[], n: number, merge: (dir: string) => string[] = () => []): Promise<Sharded> {
  const dir = tmpOut();
  const [whole, ...shards] = await Promise.all([
    gupstressAsync([...args, '--out', join(dir, 'whole')]),
    ...Array.from({ length: n }, (_, i) => gupstressAsync([...args, '--out', join(dir, 'shards'), '--shard', `${i + 1}/${n}`])),
  ]);
  for (const s of shards) assert.ok(s.status === 0 || s.status === 1, s.stderr);
  const merged = gupstress('merge', join(dir, 'shards'), '--out', join(dir, 'merged'), ...merge(dir));
  return { dir, whole, shards, merged };
}

const files = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir).sort() : []);

/** The rows of the first text table in `out` (the lines after its rule, up to a blank line or
 *  `stop`), each cut into its cells, the first `cols` of them. */
function rows(out: string, cols: number, stop = /^$/): string[][] {
  const lines = out.split('\n');
  const rule = lines.findIndex((l) => /^-+( +-+)+$/.test(l));
  assert.ok(rule > 0, out);
  const end = lines.findIndex((l, i) => i > rule && stop.test(l));
  return lines.slice(rule + 1, end).map((l) => l.split(/\s{2,}/).slice(0, cols));
}

test('sweep --shard: the merged table is the unsharded one, cell for cell, its JSON and report written', async () => {
  const args = ['sweep', '--scenario', 'ksm-merge', '--strategy', 'rcu,ipi', '--readers', '1,2', '--duration', '300ms'];
  const r = await wholeAndShards(args, 2, (dir) => ['--html', join(dir, 'report.html')]);
  assert.equal(r.merged.status, r.whole.status, r.merged.stderr);
  assert.equal(r.whole.status, 0, r.whole.stderr);
  // strategy, readers, writers, verdict (the figures are measured, each run its own)
  const whole = rows(r.whole.stdout, 4, /^\d+ cells/);
  assert.equal(whole.length, 4);
  assert.deepEqual(rows(r.merged.stdout, 4, /^\d+ cells/), whole);
  assert.match(r.merged.stdout, /^merged 2 shards of: gupstress sweep --scenario ksm-merge --strategy rcu,ipi --readers 1,2 --duration 300ms\n/);
  // each shard its cells: 0 and 2, 1 and 3
  const shardFiles = files(join(r.dir, 'shards')).filter((f) => f.endsWith('.json'));
  assert.equal(shardFiles.length, 2);
  assert.deepEqual(shardFiles.map((f) => JSON.parse(readFileSync(join(r.dir, 'shards', f), 'utf8')).shard.items).sort(), [[0, 2], [1, 3]]);
  const merged = files(join(r.dir, 'merged'));
  assert.equal(merged.length, 1, 'the JSON; the report went to --html');
  assert.match(merged[0], /^sweep\.ksm-merge\.\d{8}T\d{6}\.merged\.json$/);
  const m = JSON.parse(readFileSync(join(r.dir, 'merged', merged[0]), 'utf8'));
  assert.equal(m.shard, undefined);
  assert.equal(m.merged.count, 2);
  const w = JSON.parse(readFileSync(join(r.dir, 'whole', files(join(r.dir, 'whole')).find((f) => f.endsWith('.json'))!), 'utf8'));
  const key = (c: { strategy: string; readers: number; writers: number; results: { verdict: string; config: { seed: number } } }) => [c.strategy, c.readers, c.writers, c.results.verdict, c.results.config.seed];
  assert.deepEqual(m.cells.map(key), w.cells.map(key));
  assert.match(readFileSync(join(r.dir, 'report.html'), 'utf8'), /<html/i, 'merge --html');
});

test('limits --shard: the merged table is the unsharded one, case for case, with its exit code; unsharded it writes nothing', async () => {
  const r = await wholeAndShards(['limits', '--scenario', 'kernel-selftests', '--duration', '100ms'], 2);
  assert.equal(r.whole.status, 0, r.whole.stderr);
  assert.equal(r.merged.status, r.whole.status, r.merged.stderr);
  assert.deepEqual(files(join(r.dir, 'whole')), [], 'no file unsharded');
  // scenario, the limit, verdict, violation kinds (the ops are measured)
  const whole = rows(r.whole.stdout, 4);
  assert.ok(whole.length >= 8, r.whole.stdout);
  assert.deepEqual(rows(r.merged.stdout, 4), whole);
  const summary = (s: string): string => s.split('\n').find((l) => l.startsWith('limits: '))!;
  assert.equal(summary(r.merged.stdout), summary(r.whole.stdout));
  assert.match(r.merged.stdout, /\nresults: .*limits\.\d{8}T\d{6}\.merged\.json\n$/);
  const json = gupstress('merge', join(r.dir, 'shards'), '--out', join(r.dir, 'merged'), '--json');
  assert.equal(json.status, 0, json.stderr);
  const j = JSON.parse(json.stdout);
  assert.deepEqual(Object.keys(j), ['schema', 'durationMs', 'results'], 'what limits --json prints');
  assert.equal(j.schema, 'gupstress/limits@1');
  assert.equal(gupstress('merge', join(r.dir, 'shards'), '--out', join(r.dir, 'merged'), '--format', 'md').status, 2);
});

test('selftest: each case gives the same result (and fails under the same model changes) whichever cases run before it', () => {
  for (const bugs of [[], ['ro-pin-no-unshare']]) {
    const whole = selftestResults(bugs);
    assert.equal(whole.length, SELFTEST_CASES.length);
    for (const count of [2, 3, 7]) {
      for (let index = 1; index <= count; index++) {
        assert.deepEqual(selftestResults(bugs, { index, count }), whole.filter((_, j) => j % count === index - 1), `--bug ${bugs.join(',') || 'none'}, shard ${index}/${count}`);
      }
    }
    // and each case alone, on its own machine
    const base = new Map(runCases(bugs).map((x) => [x.k, x.r]));
    for (const k of SELFTEST_CASES.filter((x) => x.skip === null)) assert.deepEqual(runCases(bugs, [k]).map((x) => x.r), [base.get(k)], `${k.name} alone, --bug ${bugs.join(',') || 'none'}`);
  }
});

test('selftest --shard: the merged output is the unsharded one, with its exit code; the stress runs in shard 1 only', async () => {
  // a model change that makes cases FAIL: exit 1 both ways
  const args = ['selftest', '--bug', 'ro-pin-no-unshare', '--stress', '200ms'];
  const r = await wholeAndShards(args, 3);
  assert.equal(r.whole.status, 1, r.whole.stderr);
  assert.equal(r.merged.status, r.whole.status, r.merged.stderr);
  assert.deepEqual(r.shards.map((s) => /under stress/.test(s.stdout)), [true, false, false]);
  assert.equal(files(join(r.dir, 'shards')).filter((f) => f.startsWith('kernel-selftests.')).length, 1, 'one stress run');
  // every line but the stress run's figures and where files went (the first: the command line)
  const cases = (s: string): string[] => s.split('\n').filter((l) => !/^(merged \d+ shards of: |under stress|results: |selftest results: )/.test(l));
  assert.match(r.whole.stdout, /^gupstress selftest --bug ro-pin-no-unshare --stress 200ms --out /);
  assert.deepEqual(cases(r.merged.stdout).slice(1), cases(r.whole.stdout).slice(1));
  assert.equal(cases(r.merged.stdout)[0], 'gupstress selftest --bug ro-pin-no-unshare --stress 200ms');
  assert.match(r.whole.stdout, /\d+\/\d+ PASS, [1-9]\d* FAIL, \d+ SKIP \(of 198 cases/);
  // the stress run the merge shows is shard 1's (its verdict, how many cases ran and failed:
  // a stress run's own, which load changes, so not compared with the whole's)
  const stress = (s: string): string => /under stress \(kernel-selftests, [\d,]+ cases on \d+ CPUs at once\): \w+, \d+ failed/.exec(s)![0];
  assert.equal(stress(r.merged.stdout), stress(r.shards[0].stdout));
  assert.ok(stress(r.whole.stdout));
  // --stress 0, unsharded: no file; csv: the unsharded table, byte for byte
  const dir = tmpOut();
  const whole = gupstress('selftest', '--stress', '0', '--format', 'csv', '--out', join(dir, 'whole'));
  assert.deepEqual(files(join(dir, 'whole')), []);
  for (const i of [1, 2]) assert.equal(gupstress('selftest', '--stress', '0', '--out', join(dir, 'shards'), '--shard', `${i}/2`).status, 0);
  const csv = gupstress('merge', join(dir, 'shards'), '--out', join(dir, 'merged'), '--format', 'csv');
  assert.equal(csv.status, 0, csv.stderr);
  // (the command line it heads is the whole's without its output options)
  assert.equal(csv.stdout, whole.stdout.replace(/ --format csv --out \S+/, ''));
});

test('litmus --shard: (test, model) pairs split, merged into the unsharded table with its exit code', async () => {
  const dir = tmpOut();
  for (const n of ['SB', 'MP', 'LB']) copyFileSync(join(ROOT, 'litmus', `${n}.litmus`), join(dir, `${n}.litmus`));
  // a test whose stated result the model does not give (SB claimed Never): exit 1
  writeFileSync(join(dir, 'SB-claimed-never.litmus'), readFileSync(join(ROOT, 'litmus', 'SB.litmus'), 'utf8').replace('C SB', 'C SB-claimed-never').replace(/ \* gupstress:[^\n]*\n/, '').replace('Result: Sometimes', 'Result: Never'));
  const r = await wholeAndShards(['litmus', dir, '--memory', 'sc,tso,lkmm'], 3);
  assert.equal(r.whole.status, 1, r.whole.stderr);
  assert.equal(r.merged.status, r.whole.status, r.merged.stderr);
  assert.deepEqual(files(join(r.dir, 'whole')), [], 'no file unsharded');
  // 4 tests x 3 models = 12 pairs, 4 a shard
  for (const f of files(join(r.dir, 'shards'))) assert.equal(JSON.parse(readFileSync(join(r.dir, 'shards', f), 'utf8')).results.length, 4);
  // every line but the times and where the file went
  const lines = (s: string): string[] => s.split('\n').filter((l) => !/^(merged \d+ shards of: |results: )/.test(l)).map((l) => l.replace(/ in [\d.]+ s$/, ''));
  assert.deepEqual(lines(r.merged.stdout), lines(r.whole.stdout));
  assert.match(r.whole.stdout, /--memory lkmm: 3\/4 agree, 1 DISAGREE/);
  const json = gupstress('merge', join(r.dir, 'shards'), '--out', join(r.dir, 'merged'), '--format', 'json');
  assert.equal(json.status, 1);
  assert.deepEqual(Object.keys(JSON.parse(json.stdout)), ['models', 'results'], 'what litmus --format json prints');
  assert.equal(gupstress('merge', join(r.dir, 'shards'), '--out', join(r.dir, 'merged'), '--format', 'csv').status, 2);
});
