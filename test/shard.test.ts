// Sharding: --shard i/N (and the environment's shard) splits a command's items so that the
// shards together are exactly the whole; gupstress merge gives the whole's result (explore:
// executions, distinct schedules, verdict, the first failure; campaign: the rows and a JUnit
// file), and refuses anything but one complete set of shards with exit 2 and one line.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, mkdirSync, copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { BadInput } from '../harness/run/config.js';
import type { CampaignResults, ExploreFile } from '../harness/run/files.js';
import { completeSet, ownsItem, parseShard, resolveShard, shardItems } from '../harness/run/shard.js';
import { CLI, cliEnv, gupstressAsync, tmpOut } from './helpers.js';

const gupstress = (args: string[], env: Record<string, string> = {}) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: cliEnv(env) });
const jsonIn = <T>(dir: string, prefix: string): T => JSON.parse(readFileSync(join(dir, readdirSync(dir).find((f) => f.startsWith(prefix) && f.endsWith('.json'))!), 'utf8')) as T;

test('shards partition the items: every item in exactly one shard, round-robin', () => {
  for (let total = 0; total <= 23; total++) {
    for (let n = 1; n <= 7; n++) {
      const seen = Array.from({ length: n }, (_, k) => shardItems(total, { index: k + 1, count: n })).flat().sort((a, b) => a - b);
      assert.deepEqual(seen, Array.from({ length: total }, (_, j) => j), `total ${total}, ${n} shards`);
      for (let j = 0; j < total; j++) assert.equal([...Array(n).keys()].filter((k) => ownsItem({ index: k + 1, count: n }, j)).length, 1);
    }
  }
  assert.deepEqual(shardItems(10, { index: 2, count: 3 }), [1, 4, 7]);
  assert.deepEqual(shardItems(4, null), [0, 1, 2, 3]);
});

test('the shard: --shard, else GUPSTRESS_SHARD, else JOB_COMPLETION_INDEX (from 0) with GUPSTRESS_SHARDS; bad ones are bad input', () => {
  assert.deepEqual(parseShard('2/3'), { index: 2, count: 3 });
  assert.deepEqual(resolveShard(undefined, {}), null);
  assert.deepEqual(resolveShard(undefined, { GUPSTRESS_SHARD: '3/4' }), { index: 3, count: 4 });
  assert.deepEqual(resolveShard('1/2', { GUPSTRESS_SHARD: '3/4' }), { index: 1, count: 2 });
  assert.deepEqual(resolveShard(undefined, { JOB_COMPLETION_INDEX: '0', GUPSTRESS_SHARDS: '5' }), { index: 1, count: 5 });
  assert.deepEqual(resolveShard(undefined, { JOB_COMPLETION_INDEX: '4', GUPSTRESS_SHARDS: '5' }), { index: 5, count: 5 });
  for (const bad of ['0/3', '4/3', '3', 'a/b', '1/0', '-1/2', '1/100001']) assert.throws(() => parseShard(bad), BadInput, bad);
  assert.throws(() => resolveShard(undefined, { JOB_COMPLETION_INDEX: '5', GUPSTRESS_SHARDS: '5' }), BadInput);
  assert.throws(() => resolveShard(undefined, { JOB_COMPLETION_INDEX: '1' }), /GUPSTRESS_SHARDS/);
});

test('completeSet: shards of one whole, each once, none missing', () => {
  const f = (index: number, over: object = {}) => ({ path: `s${index}.json`, schema: 'x', data: {}, tag: { index, count: 3, command: 'gupstress explore', whole: 'w', build: 'b', items: [], total: 0, ...over } });
  assert.deepEqual(completeSet([f(3), f(1), f(2)]).map((s) => s.tag.index), [1, 2, 3]);
  assert.throws(() => completeSet([f(1), f(2)]), /shard 3\/3 of 'gupstress explore' missing \(have 2 of 3\)/);
  assert.throws(() => completeSet([f(1), f(2), f(2), f(3)]), /shard 2\/3 is given twice/);
  assert.throws(() => completeSet([f(1), f(2), f(3, { whole: 'v' })]), /different commands/);
  assert.throws(() => completeSet([f(1), f(2), f(3, { build: 'c' })]), /different builds/);
  assert.throws(() => completeSet([f(1), f(2), f(3, { count: 4 })]), /a shard of 3/);
  assert.throws(() => completeSet([]), BadInput);
});

/** explore whole (exiting `code`) and as N shards into one folder, all at once, as a CI
 *  matrix runs them; then the shards' merge (exiting `code` too). */
async function exploreWholeAndShards(args: string[], n: number, code: number): Promise<{ whole: ExploreFile; merged: ExploreFile; stdout: string }> {
  const out = tmpOut();
  const [whole, ...shards] = await Promise.all([
    gupstressAsync(['explore', ...args, '--out', join(out, 'whole')]),
    ...Array.from({ length: n }, (_, k) => gupstressAsync(['explore', ...args, '--shard', `${k + 1}/${n}`, '--out', join(out, 'shards')])),
  ]);
  assert.equal(whole.status, code, whole.stdout + whole.stderr);
  for (const [k, r] of shards.entries()) assert.ok(r.status === 0 || r.status === 1, `shard ${k + 1}: exit ${r.status} ${r.stderr}`);
  const m = gupstress(['merge', join(out, 'shards'), '--out', join(out, 'merged')]);
  assert.equal(m.status, code, m.stdout + m.stderr);
  return { whole: jsonIn<ExploreFile>(join(out, 'whole'), 'explore.'), merged: jsonIn<ExploreFile>(join(out, 'merged'), 'explore.'), stdout: m.stdout };
}

test('explore --shard x3 merged = the unsharded exploration: a fixed form\'s executions, distinct schedules, clean verdict', async () => {
  const args = ['--scenario', 'ksm-merge', '--runs', '3000', '--seed', '11'];
  const { whole, merged, stdout } = await exploreWholeAndShards(args, 3, 0);
  assert.equal(merged.explore.runs, 3000);
  assert.equal(merged.explore.runs, whole.explore.runs);
  assert.equal(merged.explore.distinctSchedules, whole.explore.distinctSchedules);
  assert.equal(merged.failure, null);
  assert.equal(merged.explore.pctBound, whole.explore.pctBound);
  assert.equal(merged.merged?.count, 3);
  assert.match(stdout, /merged 3 shards of: gupstress explore --scenario ksm-merge --runs 3000 --seed 11\n/);
  assert.match(stdout, /3000 executions \(\d+ distinct schedules\).*\nclean; PCT guarantee/);
});

test('explore --shard x3 merged, a bug switched on: the failure the unsharded exploration meets first, its executions', async () => {
  // (gup-no-recheck: found at execution 1,425 from seed 7; each shard stops at its own first)
  const args = ['--scenario', 'ksm-merge', '--bug', 'gup-no-recheck', '--runs', '3000', '--seed', '7', '--minimize', '0'];
  const { whole, merged, stdout } = await exploreWholeAndShards(args, 3, 1);
  assert.ok(whole.failure && merged.failure);
  assert.equal(merged.failure.seed, whole.failure.seed);
  assert.equal(merged.failure.runIndex, whole.failure.runIndex);
  assert.deepEqual(merged.failure.violation, whole.failure.violation);
  assert.deepEqual(merged.failure.schedule, whole.failure.schedule);
  assert.equal(merged.explore.runs, whole.explore.runs);
  assert.equal(merged.explore.distinctSchedules, whole.explore.distinctSchedules);
  assert.match(stdout, new RegExp(`FAIL at run ${whole.failure.runIndex + 1} \\(seed ${whole.failure.seed}\\)`));
  // the merged file replays like the whole's
  const dir = join(tmpOut(), 'm');
  mkdirSync(dir);
  writeFileSync(join(dir, 'f.json'), JSON.stringify(merged));
  assert.equal(gupstress(['replay', join(dir, 'f.json')]).status, 1);
});

test('explore --exhaustive --shard: the instances split; merged, every schedule of every instance, as the whole', async () => {
  const args = ['--scenario', 'sync-locks', '--exhaustive', '--max-preemptions', '1', '--instances', '3', '--seed', '1'];
  const { whole, merged } = await exploreWholeAndShards(args, 2, 0);
  assert.equal(whole.exhaustive?.complete, true);
  assert.equal(merged.exhaustive?.complete, true);
  assert.equal(merged.exhaustive?.schedules, whole.exhaustive?.schedules);
  assert.deepEqual(merged.exhaustive?.instances.map((i) => [i.seed, i.schedules]), whole.exhaustive?.instances.map((i) => [i.seed, i.schedules]));
  const few = gupstress(['explore', ...args, '--shard', '1/4']);
  assert.equal(few.status, 2);
  assert.match(few.stderr, /^gupstress: --shard 1\/4 with --exhaustive splits the instances: give --instances 4 or more\n$/);
});

test('merge refuses shards of two commands, a shard twice, a shard missing, a file that is not a shard: exit 2, one line', () => {
  const out = tmpOut();
  const run = (dir: string, shard: string, seed = '3') => gupstress(['explore', '--scenario', 'ksm-merge', '--runs', '40', '--seed', seed, '--shard', shard, '--out', join(out, dir)]);
  for (const s of ['1/2', '2/2']) assert.equal(run('a', s).status, 0);
  assert.equal(run('b', '2/2', '4').status, 0);
  assert.equal(gupstress(['litmus', join(import.meta.dirname, '..', 'litmus', 'SB.litmus'), '--out', join(out, 'litmus'), '--shard', '1/2']).status, 0);
  const [litmus] = readdirSync(join(out, 'litmus')).map((f) => join(out, 'litmus', f));
  const [a1, a2] = readdirSync(join(out, 'a')).sort().map((f) => join(out, 'a', f));
  const [b2] = readdirSync(join(out, 'b')).map((f) => join(out, 'b', f));
  mkdirSync(join(out, 'dup'));
  copyFileSync(a2, join(out, 'dup', 'again.json'));
  const cases: [string[], RegExp][] = [
    [[a1, b2], /are shards of different commands: their settings differ/],
    [[a1, litmus], /are shards of different commands \(gupstress\/explore@1, gupstress\/litmus@1\)/],
    [[a1, a2, join(out, 'dup')], /shard 2\/2 is given twice/],
    [[a1], /shard 2\/2 of 'gupstress explore --scenario ksm-merge --runs 40 --seed 3' missing \(have 1 of 2\)/],
    [[CLI], /is not JSON/],
    [[join(out, 'none')], /no such file or folder/],
  ];
  for (const [paths, why] of cases) {
    const r = gupstress(['merge', ...paths, '--out', join(out, 'm')]);
    assert.equal(r.status, 2, `${paths.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, why);
  }
  assert.equal(gupstress(['merge', a1, a2, '--out', join(out, 'm')]).status, 0);
  // explore --shard needs the seed: a random one would differ from shard to shard
  const noSeed = gupstress(['explore', '--scenario', 'ksm-merge', '--runs', '10', '--shard', '1/2']);
  assert.equal(noSeed.status, 2);
  assert.match(noSeed.stderr, /--shard: give --seed/);
});

test('the environment names the shard: GUPSTRESS_SHARD, or an Indexed Job\'s JOB_COMPLETION_INDEX with GUPSTRESS_SHARDS', () => {
  const out = tmpOut();
  const args = ['explore', '--scenario', 'ksm-merge', '--runs', '30', '--seed', '5', '--out', out];
  assert.equal(gupstress(args, { JOB_COMPLETION_INDEX: '0', GUPSTRESS_SHARDS: '2' }).status, 0);
  assert.equal(gupstress(args, { GUPSTRESS_SHARD: '2/2' }).status, 0);
  const names = readdirSync(out).sort();
  assert.deepEqual(names.map((f) => f.replace(/^.*\.(shard-\d-of-\d)\.json$/, '$1')), ['shard-1-of-2', 'shard-2-of-2']);
  assert.equal(gupstress(['merge', out, '--out', join(out, 'm')]).status, 0);
  const bad = gupstress(args, { JOB_COMPLETION_INDEX: '0' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /GUPSTRESS_SHARDS/);
});

test('campaign --shard x3 merged: the unsharded campaign\'s rows (scenario, strategy, bug, caught/clean) and a valid JUnit file', () => {
  const out = tmpOut();
  const args = ['campaign', '--scenario', 'sync-locks', '--scenario', 'madv-dontneed', '--duration', '300ms'];
  const whole = gupstress([...args, '--out', join(out, 'whole')]);
  assert.equal(whole.status, 0, whole.stdout + whole.stderr);
  for (let i = 1; i <= 3; i++) {
    const r = gupstress([...args, '--shard', `${i}/3`, '--out', join(out, 'shards')]);
    assert.equal(r.status, 0, r.stdout + r.stderr);
  }
  const junit = join(out, 'junit.xml');
  const m = gupstress(['merge', join(out, 'shards'), '--out', join(out, 'merged'), '--junit', junit]);
  assert.equal(m.status, 0, m.stdout + m.stderr);
  const key = (c: CampaignResults) => c.rows.map((r) => [r.scenario, r.strategy, r.bug, r.status === 'clean' || r.status === 'caught' || (r.expected && r.status === 'MISSED') ? (r.bug ? 'caught' : 'clean') : r.status]);
  const w = jsonIn<CampaignResults>(join(out, 'whole'), 'campaign.');
  const merged = jsonIn<CampaignResults>(join(out, 'merged'), 'campaign.');
  assert.equal(w.rows.length, 7);
  assert.deepEqual(key(merged), key(w));
  assert.deepEqual(merged.rows.map((r) => r.seeds), w.rows.map((r) => r.seeds), 'each row keeps its seeds');
  assert.equal(merged.ok, true);
  assert.deepEqual(merged.skipped, []);
  assert.match(m.stdout, /fixed forms clean: 3\/3 {3}bugs caught: 4\/4/);
  const xml = readFileSync(junit, 'utf8');
  assert.equal(XMLValidator.validate(xml), true);
  const doc = new XMLParser({ ignoreAttributes: false, isArray: (name) => name === 'testcase' || name === 'testsuite' }).parse(xml);
  const cases = doc.testsuites.testsuite.flatMap((s: { testcase: unknown[] }) => s.testcase) as Record<string, string>[];
  assert.equal(cases.length, 7);
  assert.ok(cases.every((c) => c['@_name'] && c['@_classname'] && !('failure' in c) && !('error' in c)));
});

test('campaign --memory --shard x2 merged: the barrier matrix\'s cells, needed or not, as the whole gives them', async () => {
  const out = tmpOut();
  const args = ['campaign', '--memory', 'lkmm', '--scenario', 'sync-locks'];
  const [whole, ...shards] = await Promise.all([
    gupstressAsync([...args, '--out', join(out, 'whole')]),
    ...[1, 2].map((i) => gupstressAsync([...args, '--shard', `${i}/2`, '--out', join(out, 'shards')])),
  ]);
  assert.equal(whole.status, 0, whole.stdout + whole.stderr);
  for (const s of shards) assert.equal(s.status, 0, s.stdout + s.stderr);
  const m = gupstress(['merge', join(out, 'shards'), '--out', join(out, 'merged')]);
  assert.equal(m.status, 0, m.stdout + m.stderr);
  type Matrix = { cells: { scenario: string; strategy: string; bug: string | null; memory: string; needed: boolean; cell: { executions: number } }[]; ok: boolean };
  const key = (f: Matrix) => f.cells.map((c) => [c.scenario, c.strategy, c.bug, c.memory, c.needed, c.cell.executions]);
  const w = jsonIn<Matrix>(join(out, 'whole'), 'memory-matrix.');
  const merged = jsonIn<Matrix>(join(out, 'merged'), 'memory-matrix.');
  assert.equal(w.cells.length, 3, 'the fixed form and two barrier bugs');
  assert.deepEqual(key(merged), key(w));
  assert.equal(merged.ok, true);
  assert.match(m.stdout, /^merged 2 shards of: gupstress campaign --memory lkmm --scenario sync-locks\n/);
  assert.match(m.stdout, /3\/3 cells as declared/);
});
