// The report's chart axes (harness/svg.ts on d3-scale): readable ticks on log and linear axes,
// units on the ticks that match the axis title, and every interval drawn. Pure functions: no
// run, no browser (test/report.test.ts looks at the rendered charts in Chromium).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { barChart, nsTick, scatterChart, valueAxis } from '../harness/output/svg.js';

const labels = (a: { ticks: { label: string }[] }): string[] => a.ticks.map((t) => t.label);

test('a log axis over a few decades labels every decade with 2 and 5 between, with units', () => {
  const a = valueAxis([150_000, 3_700_000], { log: true, kind: 'ns', range: [270, 30] });
  assert.deepEqual(labels(a), ['100 us', '200 us', '500 us', '1 ms', '2 ms', '5 ms', '10 ms']);
  assert.ok(a.minor.length > 0, 'the other multiples are light gridlines');
  // the scale puts each tick where its label says: 1 ms halfway up two decades
  assert.equal(a.ticks[0].at, 270);
  assert.equal(a.ticks.at(-1)!.at, 30);
  assert.ok(Math.abs(a.at(1_000_000) - 150) < 1e-9);
  // ms values get time ticks too; five decades on 240 px leave room for the decades only
  assert.deepEqual(labels(valueAxis([0.05, 900], { log: true, kind: 'ms', range: [240, 0] })), ['10 us', '100 us', '1 ms', '10 ms', '100 ms', '1 s']);
});

test('a log axis over many decades labels every decade, and none too close to the next', () => {
  const a = valueAxis([5, 50_000_000], { log: true, kind: 'ns', range: [240, 0] });
  assert.deepEqual(labels(a), ['1 ns', '10 ns', '100 ns', '1 us', '10 us', '100 us', '1 ms', '10 ms', '100 ms']);
  const far = valueAxis([1, 1e15], { log: true, kind: 'count', range: [240, 0] });
  assert.ok(far.ticks.length >= 3);
  for (let i = 1; i < far.ticks.length; i++) assert.ok(far.ticks[i - 1].at - far.ticks[i].at >= 18, labels(far).join(' '));
});

test('a log axis starts below the smallest value; one of counts starts at 0 (symlog)', () => {
  const t = valueAxis([1_000, 5_000], { log: true, kind: 'ns', range: [240, 0] });
  assert.equal(t.ticks[0].label, '100 ns', 'a value at a whole decade is not the foot (its bar has a height)');
  assert.ok(t.at(1_000) < 240 - 50);
  const c = valueAxis([0, 1, 37], { log: true, kind: 'count', range: [240, 0] });
  assert.deepEqual(labels(c), ['0', '1', '2', '5', '10', '20', '50', '100']);
  assert.equal(c.at(0), 240, 'no near miss: at the foot');
  assert.ok(c.at(1) < 240 - 20, 'one near miss: a bar to see');
});

test('linear axes: nice steps from 0, whole numbers for counts, at least 3 labelled ticks', () => {
  const c = valueAxis([91_952, 142_020], { kind: 'count', range: [240, 0] });
  assert.equal(c.ticks[0].label, '0');
  assert.ok(c.ticks.length >= 3 && c.ticks.every((t) => /^\d{1,3}(,\d{3})*$/.test(t.label)), labels(c).join(' '));
  assert.ok(c.ticks.at(-1)!.value >= 142_020, 'the axis reaches the largest value');
  assert.deepEqual(labels(valueAxis([0, 0], { kind: 'count', range: [240, 0] })), ['0', '1', '2', '3', '4'], 'all zero: still an axis to read');
  assert.deepEqual(labels(valueAxis([0, 1.5], { kind: 'count', range: [240, 0] })), ['0', '1', '2', '3', '4'], 'no tick between two integers');
  const f = valueAxis([0.0043, 0.0061], { kind: 'number', range: [240, 0] });
  assert.ok(labels(f).includes('0.002') && labels(f).every((l) => !/0{5}/.test(l)), labels(f).join(' '));
  // a lying axis spaces its labels by their width
  const h = valueAxis([0, 142_020], { kind: 'count', range: [80, 580], horizontal: true });
  assert.ok(h.ticks.length >= 3);
  for (let i = 1; i < h.ticks.length; i++) assert.ok(h.ticks[i].at - h.ticks[i - 1].at > 7 * h.ticks[i].label.length + 10, labels(h).join(' '));
});

test('time ticks read like the tables, without their fixed decimals', () => {
  assert.deepEqual([0, 5, 20_000, 1_500_000, 100_000_000, 2e9].map(nsTick), ['0', '5 ns', '20 us', '1.5 ms', '100 ms', '2 s']);
});

test('bar and scatter charts: ticks and axis titles agree, every interval is an error bar', () => {
  const bars = barChart({
    id: 'b', title: 'Writer p99', series: ['ipi', 'rcu'], axis: 'writer op p99', ticks: 'ns', log: true,
    groups: [{ label: '1r/1w', values: [120_000, 1_000_000], lo: [100_000, 900_000], hi: [150_000, 1_200_000] }, { label: '2r/1w', values: [180_000, null], lo: [150_000, null], hi: [200_000, null] }],
  });
  const tick = (svg: string, v: string): number => Number(new RegExp(`y="([\\d.]+)" text-anchor="end" class="tick">${v}<`).exec(svg)![1]) - 4;
  const rect = (svg: string, v: number): number => Number(new RegExp(`<rect class="bar" x="[\\d.]+" y="([\\d.]+)"[^>]*data-value="${v}"`).exec(svg)![1]);
  assert.ok(Math.abs(tick(bars, '1 ms') - rect(bars, 1_000_000)) < 0.1, 'a 1 ms bar ends at the 1 ms tick');
  assert.equal([...bars.matchAll(/<g class="errbar"/g)].length, 3, 'an error bar on every bar with an interval');
  assert.equal([...bars.matchAll(/<line class="cap"/g)].length, 6);
  assert.match(bars, /class="axis-title"[^>]*>writer op p99</);
  assert.doesNotMatch(bars, /\(log/);
  assert.match(bars, /<g class="legend-item" data-series="rcu">/);
  const sc = scatterChart({
    id: 's', title: 'Trade-off', xLabel: 'deferred frees pending at most (frames)', yLabel: 'writer op p99', xTicks: 'count', yTicks: 'ns', logY: true,
    points: [
      { label: 'rcu a', series: 'rcu', x: 157, xlo: 108, xhi: 313, y: 294_911, ylo: 294_900, yhi: 346_100 },
      { label: 'rcu-sync a', series: 'rcu-sync', x: 0, xlo: 0, xhi: 0, y: 2_200_000, ylo: 1_330_000, yhi: 3_690_000 },
      { label: 'one run', series: 'rcu-sync', x: 3, xlo: null, xhi: null, y: 500_000, ylo: null, yhi: null },
    ],
  });
  const points = [...sc.matchAll(/<g class="point"[^>]*>.*?<\/g>/g)].map((m) => m[0]);
  assert.deepEqual(points.map((p) => [...p.matchAll(/<line class="errbar"/g)].length), [2, 2, 0], 'x and y error bars where there are intervals');
  const yTicks = [...sc.matchAll(/text-anchor="end" class="tick">([^<]*)</g)].map((m) => m[1]);
  const xTicks = [...sc.matchAll(/text-anchor="middle" class="tick">([^<]*)</g)].map((m) => m[1]);
  assert.ok(yTicks.length >= 3 && yTicks.every((t) => / (ns|us|ms|s)$/.test(t)), yTicks.join(' '));
  assert.ok(xTicks.length >= 3 && xTicks.every((t) => /^[\d,]+$/.test(t)), xTicks.join(' '));
  assert.match(sc, /class="axis-title"[^>]*>deferred frees pending at most \(frames\)</);
});
