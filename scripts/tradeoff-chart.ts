// docs/tradeoff-rcu-tick.svg: the sweep report's trade-off chart (writer p99 against the memory
// held by deferred frees), drawn by the report's scatterChart from docs/tuning.md's table of worked
// tuning example 2 (`gupstress sweep --scenario munmap-free --strategy rcu,rcu-sync --set
// rcu.tick=50us,250us,1ms --repeat 5 --duration 2s --seed 1 --format md`): the medians and 95%
// intervals as the table prints them, so the chart and the table beside it agree. After a new
// run of that sweep, paste its table into docs/tuning.md and run this again:
//   node --import tsx scripts/tradeoff-chart.ts [docs/tuning.md] [docs/tradeoff-rcu-tick.svg]
import { readFileSync, writeFileSync } from 'node:fs';
import { type ScatterPoint, scatterChart } from '../harness/output/svg.js';

const [readme = 'docs/tuning.md', out = 'docs/tradeoff-rcu-tick.svg'] = process.argv.slice(2);
const UNIT: Record<string, number> = { ns: 1, us: 1e3, ms: 1e6, s: 1e9 };
/** '294.9 us' -> 294900; '157' -> 157 */
const num = (s: string): number => {
  const m = /^([\d,.]+)(?: (ns|us|ms|s))?$/.exec(s.trim());
  if (!m) throw new Error(`not a number: '${s}'`);
  return Math.round(Number(m[1].replace(/,/g, '')) * (m[2] ? UNIT[m[2]] : 1) * 1000) / 1000;
};
/** 'median [lo, hi]' */
const figure = (cell: string): [number, number, number] => {
  const m = /^(.*) \[(.*), (.*)\]$/.exec(cell.trim());
  if (!m) throw new Error(`not 'median [lo, hi]': '${cell}'`);
  return [num(m[1]), num(m[2]), num(m[3])];
};

const text = readFileSync(readme, 'utf8');
const at = text.indexOf('| strategy | r | w | rcu.tick |');
if (at < 0) throw new Error(`${readme}: no rcu.tick sweep table`);
const [head, , ...rows] = text.slice(at).split('\n\n')[0].split('\n').map((l) => l.split('|').slice(1, -1).map((c) => c.trim()));
const col = (name: string): number => {
  const i = head.indexOf(name);
  if (i < 0) throw new Error(`${readme}: the table has no column '${name}'`);
  return i;
};
const points: ScatterPoint[] = rows.map((r) => {
  const [x, xlo, xhi] = figure(r[col('frees pending max')]);
  const [y, ylo, yhi] = figure(r[col('writer p99')]);
  const strategy = r[col('strategy')];
  return { label: `${strategy} ${r[col('r')]}r/${r[col('w')]}w rcu.tick=${r[col('rcu.tick')]}us`, series: strategy, x, xlo, xhi, y, ylo, yhi };
});
// as harness/report.ts's tradeOffCharts draws it
writeFileSync(out, scatterChart({
  id: 'chart-4-Trade-off-writer-p99-against-memory-held', title: 'Trade-off: writer latency p99 against memory held',
  xLabel: 'deferred frees pending at most (frames)', yLabel: 'writer op p99', points, xTicks: 'count', yTicks: 'ns', logY: true,
}) + '\n');
console.log(`${out}: ${points.length} points from ${readme}`);
