// The statistics behind --repeat and compare, against values worked out by hand, and the
// tables' formats.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareSets, compareTable } from '../harness/commands/compare.js';
import { commandLine, renderTable, textTable } from '../harness/output/format.js';
import type { RunResults } from '../harness/run/results.js';
import { median, ratioSpread, spread } from '../harness/run/stats.js';

test('median, min-max and the bootstrap interval of the median (fixed samples, fixed seed)', () => {
  assert.equal(median([5, 1, 3]), 3);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  const s = spread([10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
  assert.equal(s.median, 15);
  assert.equal(s.min, 10);
  assert.equal(s.max, 20);
  // the median of 11 resampled values stays well inside the range, around the middle
  assert.ok(s.lo! >= 12 && s.lo! <= 14 && s.hi! >= 16 && s.hi! <= 18, `${s.lo} ${s.hi}`);
  assert.deepEqual(spread([10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]), s, 'the same samples give the same interval');
  const one = spread([7]);
  assert.equal(one.lo, null, 'one sample has no interval');
  assert.equal(spread([3, 3, 3, 3, 3]).lo, 3);
});

test('B/A with its interval: the same distribution is no significant difference; a 20% shift is seen', () => {
  const a = [100, 104, 98, 101, 97];
  const same = ratioSpread(a, [99, 103, 100, 96, 102]);
  assert.equal(same.verdict, 'no significant difference');
  assert.ok(same.lo! < 1 && same.hi! > 1);
  const up = ratioSpread(a, [120, 123, 118, 121, 125]);
  assert.equal(up.verdict, 'B higher');
  assert.ok(Math.abs(up.ratio! - 121 / 100) < 1e-12);
  assert.ok(up.lo! > 1.1 && up.hi! < 1.3);
  assert.equal(ratioSpread(a, [80, 79, 82, 81, 78]).verdict, 'B lower');
  assert.equal(ratioSpread([100], [120]).verdict, 'no significance with one run per side');
});

test('compare: the verdict speaks of speed where one way is better (throughput up, latency down)', () => {
  const run = (ops: number, p50: number): RunResults => ({
    reader: { opsPerSec: ops, latencyNs: { p50, p99: p50 * 3 } }, writer: { opsPerSec: 10, latencyNs: { p50: 1000, p99: 2000 } },
    config: { strategy: 'ipi' }, sync: { ipiWaitNs: {}, syncRcuNs: {}, syncRcuExpeditedNs: {}, gracePeriodNs: {}, deferredFreesPendingMax: 0 }, windows: {}, violationCount: 0,
  }) as unknown as RunResults;
  const a = [1000, 1010, 990, 1005, 995].map((x) => run(x, 500));
  const b = [1300, 1310, 1290, 1305, 1295].map((x) => run(x, 400));
  const rows = compareSets(a, b);
  assert.equal(rows.find((r) => r.metric === 'reader ops/s')!.ratio!.says, 'B faster');
  assert.equal(rows.find((r) => r.metric === 'reader op p50')!.ratio!.says, 'B faster', 'lower latency is faster');
  assert.equal(rows.find((r) => r.metric === 'writer ops/s')!.ratio!.says, 'no significant difference');
  assert.ok(!rows.some((r) => r.metric === 'IPI wait p50'), 'a metric neither side has is left out');
  // where A's median is 0 there is no ratio: the difference B-A, its interval and verdict
  const zero = (pending: number): RunResults => ({ ...run(1000, 500), sync: { ...run(1000, 500).sync, deferredFreesPendingMax: pending } }) as RunResults;
  const diff = compareSets([0, 0, 0, 0, 0].map(zero), [620, 628, 640, 610, 630].map(zero)).find((r) => r.metric === 'deferred frees pending max')!;
  assert.equal(diff.ratio!.of, 'difference');
  assert.equal(diff.ratio!.ratio, 628);
  assert.equal(diff.ratio!.says, 'B slower');
  const table = compareTable([diff]);
  assert.match(table.rows[0][3], /^\+628 \[\+\d+, \+\d+\] \(B-A\)$/);
  // fewer than 5 runs a side: the verdict says so
  assert.match(compareTable(compareSets(a.slice(0, 3), b.slice(0, 3))).rows[0][4], /B faster \(few runs\)/);
});

test('formats: text keeps to 100 columns and starts with the command; md and csv are tables', () => {
  const t = { head: ['metric', 'a'.repeat(30), 'b'.repeat(30), 'c'.repeat(30), 'd'], rows: [['x', '1', '2', '3', 'µs ± 1']], right: [false, true, true, true, false] };
  const text = renderTable(t, 'text', 'gupstress run --scenario x');
  const lines = text.split('\n');
  assert.equal(lines[0], '$ gupstress run --scenario x');
  assert.ok(lines.every((l) => l.length <= 100), 'at most 100 columns');
  assert.ok(/^[\x20-\x7e\n]*$/.test(text), 'plain ASCII');
  assert.ok(textTable(t).split('\n\n').length >= 2, 'a wide table comes in parts');
  // each part repeats the key columns, so every row of every part says which row it is
  const keyed = { head: ['scenario', 'strategy', 'bug', 'x'.repeat(60), 'y'.repeat(60)], rows: [['ksm-merge', 'rcu', 'b1', '1', '2'], ['ksm-merge', 'ipi', 'b2', '3', '4']], key: 3 };
  const parts = textTable(keyed).split('\n\n');
  assert.equal(parts.length, 2);
  for (const p of parts) assert.deepEqual(p.split('\n').slice(2).map((l) => l.split(/\s+/).slice(0, 3).join(' ')), ['ksm-merge rcu b1', 'ksm-merge ipi b2']);
  assert.match(text, /us \+- 1/);
  const md = renderTable(t, 'md', 'gupstress run').split('\n');
  assert.equal(md[0], '`gupstress run`');
  assert.match(md[3], /^\|---\|---:\|---:\|---:\|---\|$/);
  const csv = renderTable({ head: ['a', 'b'], rows: [['1,5', 'say "hi"']] }, 'csv', 'gupstress x').split('\n');
  assert.deepEqual(csv, ['# gupstress x', 'a,b', '"1,5","say ""hi"""']);
  assert.equal(commandLine(['run', '--widen', 'gup.walk=2us', 'a b']), "gupstress run --widen gup.walk=2us 'a b'");
});

test('evidence on a clean verdict: strong, WEAK under 300 overlaps, NO EVIDENCE at 3 or fewer, "no window measured" without a paired window; --until-bound stops at its target', async () => {
  const { run } = await import('./helpers.js');
  const { WEAK_OVERLAPS, evidenceOf } = await import('../harness/run/results.js');
  const { evidenceText } = await import('../harness/output/summary.js');
  const none = await run({ scenario: 'pfnmap-special', ops: '2000' });
  assert.equal(none.evidence, 'no window measured');
  assert.match(evidenceText(none), /no window measured/);
  const short = await run({ scenario: 'munmap-free', ops: '200' });
  assert.equal(short.verdict, 'PASS');
  assert.ok(short.boundBasis!.overlaps < WEAK_OVERLAPS);
  assert.equal(short.evidence, evidenceOf(short.boundBasis!.overlaps, true));
  assert.match(evidenceText(short), short.evidence === 'weak' ? /WEAK: \d+ overlaps, under 300/ : /NO EVIDENCE: \d overlaps/);
  // a bound of 1 or more per overlap (3 overlaps or fewer) is no evidence, never a clean
  assert.deepEqual([0, 3, 4, 299, 300].map((n) => evidenceOf(n, true)), ['no evidence', 'no evidence', 'weak', 'weak', 'strong']);
  assert.equal(evidenceOf(1000, false), 'no window measured');
  const thin = { ...short, evidence: evidenceOf(2, true), bound: 1.5, boundBasis: { ...short.boundBasis!, overlaps: 2 } };
  assert.match(evidenceText(thin), /NO EVIDENCE: 2 overlaps .*says nothing/);
  assert.doesNotMatch(evidenceText(thin), /WEAK/);
  // (30 overlaps: a second or two idle, longer on a busy machine; --duration only caps it)
  const until = await run({ scenario: 'munmap-free', untilBound: '1e-1', duration: '120s' });
  assert.deepEqual(until.untilBound, { target: 0.1, reached: true });
  assert.ok(until.bound! < 0.1 && until.boundBasis!.overlaps >= 30, `${until.bound} after ${until.boundBasis!.overlaps} overlaps`);
  assert.ok(until.durationMs < 120_000, 'stopped at the bound, not at --duration');
  const cut = await run({ scenario: 'munmap-free', untilBound: '1e-9', duration: '300ms' });
  assert.deepEqual(cut.untilBound, { target: 1e-9, reached: false }, 'a bound out of reach is reported as such');
});

test('window statistics time the entries that reached the critical step, apart from those that bailed out', async () => {
  const { run } = await import('./helpers.js');
  const r = await run({ scenario: 'ksm-merge', ops: '3000' });
  const pin = r.windows['gup.pin-recheck'];
  assert.ok(pin.reached > 0 && pin.reached <= pin.entries, `${pin.reached} of ${pin.entries}`);
  assert.ok(pin.durationNs.p50! >= pin.widenNs, `p50 ${pin.durationNs.p50} ns of reached entries under a ${pin.widenNs} ns widening`);
  const walk = r.windows['gup.walk'];
  assert.equal(walk.reached, walk.entries, 'a window over a whole operation has no critical step: every entry counts');
});

test('--format for each command: run, sweep, compare, campaign (text, md, csv, json)', async () => {
  const { join } = await import('node:path');
  const { readdirSync } = await import('node:fs');
  const { gupstress: g, tmpOut } = await import('./helpers.js');
  const out = tmpOut();
  const check = (args: string[], format: string): string => {
    const r = g(...args, '--format', format);
    assert.ok(r.status === 0, `${args.join(' ')} --format ${format}: ${r.status} ${r.stderr}`);
    if (format === 'json') JSON.parse(r.stdout);
    else if (format === 'md') assert.match(r.stdout, /^`gupstress .*`\n\n\| .* \|\n\|(---:?\|)+\n\| /);
    else if (format === 'csv') assert.match(r.stdout, /^# gupstress .*\n[^\n]+,[^\n]+\n/);
    else {
      assert.match(r.stdout, /^\$ gupstress /);
      // (a line naming a file of the temp folder is as long as its path)
      const long = r.stdout.split('\n').filter((l) => l.length > 100 && !l.includes(out));
      assert.deepEqual(long, [], 'text: at most 100 columns');
    }
    return r.stdout;
  };
  check(['run', '--scenario', 'sync-locks', '--ops', '300', '--repeat', '2', '--out', join(out, 'a')], 'text');
  for (const f of ['md', 'csv', 'json']) check(['run', '--scenario', 'sync-locks', '--ops', '300', '--out', join(out, 'b')], f);
  const [a] = readdirSync(join(out, 'a'));
  const b = readdirSync(join(out, 'b'));
  for (const f of ['text', 'md', 'csv', 'json']) check(['compare', join(out, 'a', a), join(out, 'b', b[0])], f);
  for (const f of ['text', 'json']) check(['sweep', '--scenario', 'sync-locks', '--duration', '200ms', '--out', join(out, 's')], f);
  const camp = check(['campaign', '--scenario', 'sync-locks', '--budget', '2s', '--out', join(out, 'c')], 'csv');
  assert.match(camp, /\nsync-locks,ipi,\(fixed\),clean,/, "one RCU flavor: no rcu column");
});

test('report charts: a log axis reaches down to the smallest value, no tick label is clipped, time axes carry their units on the ticks', async () => {
  const { barChart } = await import('../harness/output/svg.js');
  const svg = barChart({ id: 'c', title: 't', series: ['p50', 'max'], axis: 'latency', ticks: 'ns', log: true, groups: [{ label: 'op', values: [5, 50_000_000] }] });
  const ticks = [...svg.matchAll(/<text x="([\d.]+)" y="[\d.]+" text-anchor="end" class="tick">([^<]*)<\/text>/g)].map((m) => ({ x: Number(m[1]), text: m[2] }));
  assert.equal(ticks[0].text, '1 ns', 'the axis starts below the smallest value (5 ns)');
  assert.equal(ticks.at(-1)!.text, '100 ms');
  for (const t of ticks) assert.ok(t.x - 7 * t.text.length >= 0, `tick '${t.text}' fits left of the axis`);
  const bars = [...svg.matchAll(/class="bar"[^>]*height="([\d.]+)"[^>]*data-value="(\d+)"/g)].map((m) => ({ h: Number(m[1]), v: Number(m[2]) }));
  assert.ok(bars.find((b) => b.v === 5)!.h > 10, 'a small value is a visible bar on the log axis');
  assert.doesNotMatch(svg, /ns \(log\)/, 'the axis is not labelled ns when its ticks say us and ms');
});

test("a stress failure's explore hint keeps the scenario's explore instance, and the parameters the run changed", async () => {
  const { exploreCommand } = await import('../harness/output/summary.js');
  const run = (pages: number): RunResults => ({ config: { scenario: 'ksm-merge', strategy: 'rcu', bugs: ['ksm-check-before-clear'], arch: 'x86-64', levels: 4, params: { pages } } }) as unknown as RunResults;
  assert.doesNotMatch(exploreCommand(run(16)), /--param/, 'the default is left to the explore instance (pages=4)');
  assert.match(exploreCommand(run(8)), /--param pages=8/);
});
