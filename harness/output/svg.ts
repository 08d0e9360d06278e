// Inline SVG charts for the HTML report. Scales, tick values and number formats come from
// d3-scale and d3-format; the SVG is written here as text, so the report stays one file with no
// script and nothing loaded from the network. Each chart carries its own styles (presentation
// attributes), so one cut out of the HTML renders the same on its own (docs/tradeoff-rcu-tick.svg).
// Every bar carries its number in data-value (its interval in data-lo/data-hi), every point its
// coordinates in data-x/data-y, so a test (or a person with devtools) can check them against
// the JSON.
import { format } from 'd3-format';
import { scaleBand, scaleLinear, scaleLog, scaleSymlog } from 'd3-scale';
import { fmtNs } from './table.js';

export function esc(s: unknown): string {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];
const FONT = 'system-ui,-apple-system,Segoe UI,Roboto,sans-serif';
/** px per character of an 11px label, a little over DejaVu Sans's digits: margins are sized
 *  from it, so no label is clipped */
const CHAR_W = 7;
const textW = (s: string): number => s.length * CHAR_W;
const px = (v: number): string => v.toFixed(1);

/** How an axis's tick labels read. Where the values have a unit the ticks carry it (20 us,
 *  1.5 ms), so the axis title only names what is measured and never contradicts them.
 *  - ns: times in nanoseconds; ms: times in milliseconds (both labelled ns, us, ms or s)
 *  - count: whole numbers with thousands separators (no tick between two integers)
 *  - number: plain numbers (frequencies), as many decimals as the tick step needs */
export type TickKind = 'ns' | 'ms' | 'count' | 'number';

const sig = format('.6~r');
/** A time tick: 20 us, 1.5 ms, 100 ms (the tables' units, without their fixed decimals). */
export function nsTick(ns: number): string {
  if (ns === 0) return '0';
  const a = Math.abs(ns);
  const [d, u] = a >= 1e9 ? [1e9, 's'] : a >= 1e6 ? [1e6, 'ms'] : a >= 1e3 ? [1e3, 'us'] : [1, 'ns'];
  return `${sig(ns / d)} ${u}`;
}

const comma = format(',d');
/** A value as a tooltip shows it, for an axis of this kind. */
function valueText(kind: TickKind, v: number): string {
  if (kind === 'ns') return fmtNs(v);
  if (kind === 'ms') return fmtNs(v * 1e6);
  if (kind === 'count') return Math.abs(v) >= 1000 || Number.isInteger(v) ? comma(Math.round(v)) : String(+v.toPrecision(3));
  return String(+v.toPrecision(3));
}

export interface Tick {
  value: number;
  /** its position in px along the axis */
  at: number;
  label: string;
}

export interface ValueAxis {
  /** value to px, clamped to the axis */
  at: (v: number) => number;
  /** log (or, for counts, symlog from 0) */
  log: boolean;
  /** the labelled ticks */
  ticks: Tick[];
  /** positions of unlabelled gridlines (a log axis's 3, 4, 6, 7, 8, 9 of each decade) */
  minor: number[];
}

/** The smallest distance in px between two neighbouring positions. */
function minSpacing(ats: number[]): number {
  const s = [...ats].sort((a, b) => a - b);
  let m = Infinity;
  for (let i = 1; i < s.length; i++) m = Math.min(m, s[i] - s[i - 1]);
  return m;
}

/** A value axis over `values` (the bars' or points' numbers and their intervals) from `range[0]`
 *  (the origin, px) to `range[1]`. Log: whole decades, every decade labelled with 2 and 5
 *  between where there is room (1 ns, 10 ns, ... where there is not), counts from 0 (symlog);
 *  linear: from 0, d3's nice steps. Labels never come closer than their own size (`horizontal`: their width). */
export function valueAxis(values: number[], opts: { log?: boolean; kind: TickKind; range: [number, number]; horizontal?: boolean }): ValueAxis {
  const { kind, range, horizontal = false } = opts;
  const len = Math.abs(range[1] - range[0]);
  const label = (v: number): string => (kind === 'ns' ? nsTick(v) : kind === 'ms' ? nsTick(v * 1e6) : kind === 'count' ? comma(v) : format('~g')(v));
  const gap = (labels: string[]): number => (horizontal ? Math.max(50, Math.max(0, ...labels.map(textW)) + 14) : 18);
  const finite = values.filter((v) => Number.isFinite(v));
  const pos = finite.filter((v) => v > 0);
  if (opts.log && pos.length) {
    // times: log from the decade below the smallest value (a bar of it has a height, even at a
    // whole decade); counts: symlog from 0, so a count of 0 is drawn as 0 and 1 is not the foot
    const sym = kind === 'count';
    const lo = sym ? 1 : 10 ** (Math.ceil(Math.log10(Math.min(...pos))) - 1);
    const hi = Math.max(lo * 10, 10 ** Math.ceil(Math.log10(Math.max(...pos))));
    const s: (v: number) => number = sym ? scaleSymlog().domain([0, hi]).range(range).clamp(true) : scaleLog().domain([lo, hi]).range(range).clamp(true);
    const all = [...(sym ? [0] : []), ...scaleLog().domain([lo, hi]).ticks()];
    const mantissa = (t: number): number => Math.round(t / 10 ** Math.floor(Math.log10(t) + 1e-9));
    const decade = (t: number): number => Math.round(Math.log10(t / lo));
    const decades = decade(hi);
    // 1-2-5, then every decade, then every k-th: the first that leaves room between labels
    const choices: ((t: number) => boolean)[] = [(t) => t === 0 || [1, 2, 5].includes(mantissa(t)), (t) => t === 0 || mantissa(t) === 1];
    for (let k = 2; k <= decades; k++) choices.push((t) => t === 0 || (mantissa(t) === 1 && decade(t) % k === 0 && !(sym && t === 1)));
    let chosen = choices[choices.length - 1];
    for (const c of choices) {
      const ts = all.filter(c);
      if (minSpacing(ts.map(s)) >= gap(ts.map(label))) {
        chosen = c;
        break;
      }
    }
    const ticks = all.filter(chosen).map((v) => ({ value: v, at: s(v), label: label(v) }));
    const minor = len / decades >= 40 ? all.filter((t) => !chosen(t)).map(s) : [];
    return { at: s, log: true, ticks, minor };
  }
  const lo = Math.min(0, ...finite);
  let hi = Math.max(0, ...finite);
  if (kind === 'count') hi = Math.max(hi, lo + 4);
  else if (hi <= lo) hi = lo + 1;
  let best: ValueAxis | null = null;
  for (let count = Math.max(2, Math.floor(len / 40)); count >= 2 && !best; count--) {
    const s = scaleLinear().domain([lo, hi]).nice(count).range(range).clamp(true);
    const fmt = kind === 'number' ? s.tickFormat(count) : label;
    const ts = s.ticks(count).filter((t) => kind !== 'count' || Number.isInteger(t));
    const ticks = ts.map((v) => ({ value: v, at: s(v), label: fmt(v) }));
    if (count === 2 || minSpacing(ticks.map((t) => t.at)) >= gap(ticks.map((t) => t.label))) best = { at: s, log: false, ticks, minor: [] };
  }
  return best!;
}

/** A value axis drawn upright at x = `x` (gridlines to `x2`), with its title. */
function yAxisSvg(a: ValueAxis, x: number, x2: number, title: string, top: number, bottom: number): string {
  const out: string[] = [`<g class="y-axis" data-scale="${a.log ? 'log' : 'linear'}">`];
  for (const m of a.minor) out.push(`<line class="minor" x1="${x}" x2="${x2}" y1="${px(m)}" y2="${px(m)}" stroke="#f4f4f4"/>`);
  for (const t of a.ticks) {
    out.push(`<line class="grid" x1="${x}" x2="${x2}" y1="${px(t.at)}" y2="${px(t.at)}" stroke="#e4e4e4"/><line x1="${x - 4}" x2="${x}" y1="${px(t.at)}" y2="${px(t.at)}" stroke="#888"/>`);
    out.push(`<text x="${x - 6}" y="${px(t.at + 4)}" text-anchor="end" class="tick">${esc(t.label)}</text>`);
  }
  out.push(`<line class="axis" x1="${x}" x2="${x}" y1="${top}" y2="${bottom}" stroke="#888"/>`);
  const mid = (top + bottom) / 2;
  out.push(`<text class="axis-title" x="14" y="${mid}" transform="rotate(-90 14 ${mid})" text-anchor="middle" font-size="12" fill="#222">${esc(title)}</text></g>`);
  return out.join('');
}

/** A value axis drawn across at y = `y` (gridlines up to `y2`), with its title at `titleY`. */
function xAxisSvg(a: ValueAxis, y: number, y2: number, title: string, left: number, right: number, titleY: number): string {
  const out: string[] = [`<g class="x-axis" data-scale="${a.log ? 'log' : 'linear'}">`];
  for (const m of a.minor) out.push(`<line class="minor" x1="${px(m)}" x2="${px(m)}" y1="${y2}" y2="${y}" stroke="#f4f4f4"/>`);
  for (const t of a.ticks) {
    out.push(`<line class="grid" x1="${px(t.at)}" x2="${px(t.at)}" y1="${y2}" y2="${y}" stroke="#e4e4e4"/><line x1="${px(t.at)}" x2="${px(t.at)}" y1="${y}" y2="${y + 4}" stroke="#888"/>`);
    out.push(`<text x="${px(t.at)}" y="${y + 16}" text-anchor="middle" class="tick">${esc(t.label)}</text>`);
  }
  out.push(`<line class="axis" x1="${left}" x2="${right}" y1="${y}" y2="${y}" stroke="#888"/>`);
  out.push(`<text class="axis-title" x="${px((left + right) / 2)}" y="${titleY}" text-anchor="middle" font-size="12" fill="#222">${esc(title)}</text></g>`);
  return out.join('');
}

/** Legend entries in rows from x0 to x1: a swatch and a name each; returns the SVG and its height. */
function legendSvg(names: string[], x0: number, x1: number, y0: number, swatch: (i: number, x: number, y: number) => string): { svg: string; height: number } {
  const out: string[] = ['<g class="legend">'];
  let x = x0;
  let y = y0;
  names.forEach((n, i) => {
    const w = 18 + textW(n) + 14;
    if (x > x0 && x + w > x1) {
      x = x0;
      y += 20;
    }
    out.push(`<g class="legend-item" data-series="${esc(n)}">${swatch(i, x, y)}<text x="${x + 17}" y="${y + 4}" class="legend">${esc(n)}</text></g>`);
    x += w;
  });
  out.push('</g>');
  return { svg: out.join(''), height: names.length ? y - y0 + 20 : 0 };
}

/** An interval from `a` to `b` (px) across position `c`, upright or lying: its line (class
 *  `cls`) and two caps. */
function interval(upright: boolean, c: number, a: number, b: number, cap: number, colour: string, cls: string): string {
  const line = (k: string, u1: number, u2: number, v1: number, v2: number): string =>
    upright ? `<line class="${k}" x1="${px(u1)}" x2="${px(u2)}" y1="${px(v1)}" y2="${px(v2)}" stroke="${colour}"/>` : `<line class="${k}" x1="${px(v1)}" x2="${px(v2)}" y1="${px(u1)}" y2="${px(u2)}" stroke="${colour}"/>`;
  return `${line(cls, c, c, a, b)}${line('cap', c - cap, c + cap, a, a)}${line('cap', c - cap, c + cap, b, b)}`;
}

function svgOpen(classes: string, id: string, W: number, H: number, title: string): string {
  return `<svg class="${classes}" id="${esc(id)}" xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(title)}" font-family="${FONT}" font-size="11" fill="#444">`
    + `<rect width="${W}" height="${H}" fill="#fff"/><text x="${W / 2}" y="20" text-anchor="middle" class="title" font-size="14" font-weight="600" fill="#222">${esc(title)}</text>`;
}

export interface BarGroup {
  label: string;
  values: (number | null)[];
  /** each value's 95% interval (a median over repeats), drawn as an error bar; null: none */
  lo?: (number | null)[];
  hi?: (number | null)[];
}

export interface BarChartSpec {
  id: string;
  title: string;
  /** one name per series (one bar of each group) */
  series: string[];
  groups: BarGroup[];
  /** the value axis's title: what is measured (and its unit, where the ticks do not carry one) */
  axis: string;
  /** how the value axis's ticks read */
  ticks: TickKind;
  /** log scale, for values that span decades */
  log?: boolean;
  /** a value in a tooltip; default: by `ticks` */
  format?: (v: number) => string;
}

/** A grouped bar chart: a colour per series, a legend, an error bar on every bar with an interval. */
export function barChart(spec: BarChartSpec): string {
  const W = 760;
  const right = 12;
  const top = 34;
  const plotH = 240;
  const bottom = top + plotH;
  const fmt = spec.format ?? ((v: number) => valueText(spec.ticks, v));
  const unitInTip = spec.format === undefined && (spec.ticks === 'count' || spec.ticks === 'number') ? ` ${spec.axis}` : '';
  // the axis reaches the error bars too
  const vals = spec.groups.flatMap((g) => [...g.values, ...(g.hi ?? []), ...(g.lo ?? [])]).filter((v): v is number => v !== null && Number.isFinite(v));
  const y = valueAxis(vals, { log: spec.log, kind: spec.ticks, range: [bottom, top] });
  // the left margin fits the longest tick label (none is clipped), and a slanted first group label
  const rotate = spec.groups.length > 8 || spec.groups.some((g) => textW(g.label) > (W - 120) / Math.max(1, spec.groups.length) - 8);
  const longest = Math.max(0, ...spec.groups.map((g) => textW(g.label)));
  const left = Math.max(70, 30 + Math.max(...y.ticks.map((t) => textW(t.label))), rotate ? textW(spec.groups[0]?.label ?? '') * 0.71 - 10 : 0);
  const labelH = rotate ? Math.min(260, 24 + longest * 0.71) : 34;
  const outer = scaleBand<number>().domain(spec.groups.map((_, i) => i)).range([left, W - right]).paddingInner(0.2).paddingOuter(0.1);
  const iw = Math.min(outer.bandwidth(), 44 * spec.series.length);
  const inner = scaleBand<number>().domain(spec.series.map((_, i) => i)).range([(outer.bandwidth() - iw) / 2, (outer.bandwidth() + iw) / 2]).paddingInner(0.08);
  const bw = inner.bandwidth();
  const legend = legendSvg(spec.series, left, W - right, bottom + labelH + 6, (i, lx, ly) => `<rect x="${lx}" y="${ly - 6}" width="12" height="12" fill="${PALETTE[i % PALETTE.length]}"/>`);
  const H = bottom + labelH + 6 + legend.height;
  const out: string[] = [svgOpen('chart', spec.id, W, H, spec.title)];
  out.push(yAxisSvg(y, left, W - right, spec.axis, top, bottom));
  const base = y.at(0); // (a log axis clamps it to its foot)
  const xAxis: string[] = ['<g class="x-axis" data-scale="band">'];
  spec.groups.forEach((g, gi) => {
    const gx = outer(gi)!;
    g.values.forEach((v, si) => {
      const x = gx + inner(si)!;
      const name = spec.series[si];
      if (v === null || !Number.isFinite(v)) {
        out.push(`<text x="${px(x + bw / 2)}" y="${bottom - 4}" text-anchor="middle" class="na">-</text>`);
        return;
      }
      const yv = Math.min(y.at(v), base - 1); // a value at or under the axis's foot is a 1 px bar
      const lo = g.lo?.[si] ?? null;
      const hi = g.hi?.[si] ?? null;
      const range = lo !== null && hi !== null ? ` [${fmt(lo)}, ${fmt(hi)}]` : '';
      out.push(`<rect class="bar" x="${px(x)}" y="${px(yv)}" width="${px(bw)}" height="${px(base - yv)}" fill="${PALETTE[si % PALETTE.length]}" data-series="${esc(name)}" data-group="${esc(g.label)}" data-value="${v}"${range ? ` data-lo="${lo}" data-hi="${hi}"` : ''}><title>${esc(g.label)} / ${esc(name)}: ${esc(fmt(v))}${esc(range)}${esc(unitInTip)}</title></rect>`);
      // the interval of the median: a whisker with caps
      if (range) out.push(`<g class="errbar" data-series="${esc(name)}" data-group="${esc(g.label)}" data-lo="${lo}" data-hi="${hi}" stroke-width="1.5">${interval(true, x + bw / 2, y.at(lo!), y.at(hi!), Math.min(5, bw / 3), '#222', 'whisker')}</g>`);
    });
    const lx = px(gx + outer.bandwidth() / 2);
    const ly = bottom + 16;
    if (rotate) xAxis.push(`<text x="${lx}" y="${ly}" transform="rotate(-45 ${lx} ${ly})" text-anchor="end" class="label">${esc(g.label)}</text>`);
    else xAxis.push(`<text x="${lx}" y="${ly}" text-anchor="middle" class="label">${esc(g.label)}</text>`);
  });
  xAxis.push(`<line class="axis" x1="${left}" x2="${W - right}" y1="${px(base)}" y2="${px(base)}" stroke="#888"/></g>`);
  out.push(xAxis.join(''), legend.svg, '</svg>');
  return out.join('');
}
/** A sequence chart of an interleaving: a lifeline per CPU, a row per traced step (the
 *  kernel function and its values) in the column of the CPU that made it, the violation last
 *  in red. Each row carries data-step and data-cpu. */
export function sequenceChart(id: string, cpus: string[], rows: { step: number; cpu: number; text: string }[], violation: { step: number; cpu: number; text: string } | null): string {
  const col = 300;
  const left = 60;
  const top = 40;
  const rowH = 16;
  const n = rows.length + (violation ? 1 : 0);
  const W = left + col * cpus.length + 10;
  const H = top + rowH * n + 20;
  const out: string[] = [`<svg id="${esc(id)}" class="sequence" xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="monospace" font-size="11">`];
  cpus.forEach((name, i) => {
    const x = left + col * i + 6;
    out.push(`<text x="${x}" y="20" font-weight="bold" fill="${PALETTE[i % PALETTE.length]}">${esc(name)}</text>`);
    out.push(`<line x1="${x}" y1="26" x2="${x}" y2="${H - 10}" stroke="#ccc"/>`);
  });
  rows.forEach((r, k) => {
    const y = top + rowH * k;
    out.push(`<g class="event" data-step="${r.step}" data-cpu="${r.cpu}"><text x="4" y="${y}" fill="#888">${r.step}</text><text x="${left + col * r.cpu + 10}" y="${y}" fill="${PALETTE[r.cpu % PALETTE.length]}">${esc(r.text.length > 48 ? r.text.slice(0, 47) + '~' : r.text)}<title>${esc(r.text)}</title></text></g>`);
  });
  if (violation) {
    const y = top + rowH * rows.length;
    out.push(`<g class="violation" data-step="${violation.step}" data-cpu="${violation.cpu}"><text x="4" y="${y}" fill="#888">${violation.step}</text><text x="${left + col * violation.cpu + 10}" y="${y}" fill="#d00" font-weight="bold">${esc(violation.text)}</text></g>`);
  }
  out.push('</svg>');
  return out.join('');
}

export interface ScatterPoint {
  label: string;
  /** the series (colour): a strategy */
  series: string;
  x: number;
  y: number;
  /** the repeats' 95% interval, drawn as error bars; null without repeats */
  xlo: number | null;
  xhi: number | null;
  ylo: number | null;
  yhi: number | null;
}

export interface ScatterSpec {
  id: string;
  title: string;
  /** the axes' titles: what is measured (and its unit, where the ticks do not carry one) */
  xLabel: string;
  yLabel: string;
  points: ScatterPoint[];
  /** how each axis's ticks read */
  xTicks: TickKind;
  yTicks: TickKind;
  logX?: boolean;
  logY?: boolean;
  /** a value in a tooltip; default: by the axis's ticks */
  xFormat?: (v: number) => string;
  yFormat?: (v: number) => string;
}

interface Box {
  x0: number;
  x1: number;
  y0: number;
  y1: number;
}
const overlaps = (a: Box, b: Box): boolean => a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1;

/** A trade-off chart: one point per sweep cell, error bars (with caps) from its repeats'
 *  intervals, its label beside it where it does not cover another's. Each point carries
 *  data-label, data-x and data-y (the JSON's numbers). */
export function scatterChart(spec: ScatterSpec): string {
  const W = 760;
  const H = 400;
  const top = 34;
  const bottom = H - 52;
  const pts = spec.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  const series = [...new Set(pts.map((p) => p.series))];
  const right = W - Math.max(110, 40 + Math.max(0, ...series.map(textW)));
  const xs = pts.flatMap((p) => [p.x, p.xlo ?? p.x, p.xhi ?? p.x]);
  const ys = pts.flatMap((p) => [p.y, p.ylo ?? p.y, p.yhi ?? p.y]);
  const y = valueAxis(ys, { log: spec.logY, kind: spec.yTicks, range: [bottom, top] });
  const left = Math.max(70, 30 + Math.max(...y.ticks.map((t) => textW(t.label))));
  const x = valueAxis(xs, { log: spec.logX, kind: spec.xTicks, range: [left, right], horizontal: true });
  const xFmt = spec.xFormat ?? ((v: number) => valueText(spec.xTicks, v));
  const yFmt = spec.yFormat ?? ((v: number) => valueText(spec.yTicks, v));
  const out: string[] = [svgOpen('chart scatter', spec.id, W, H, spec.title)];
  out.push(yAxisSvg(y, left, right, spec.yLabel, top, bottom));
  out.push(xAxisSvg(x, bottom, top, spec.xLabel, left, right, H - 12));
  const legend = legendSvg(series, right + 16, W - 4, top + 10, (i, lx, ly) => `<circle cx="${lx + 6}" cy="${ly}" r="5" fill="${PALETTE[i % PALETTE.length]}"/>`);
  // legend entries wrap one a row in the right margin
  const legendBox: Box = { x0: right + 10, x1: W, y0: top, y1: top + 10 + legend.height };
  // labels: beside the point, else above or below it (with a leader), where they cover no other label
  // (nor a point, nor an error bar)
  const placed: Box[] = [legendBox];
  for (const p of pts) {
    const [cx, cy] = [x.at(p.x), y.at(p.y)];
    placed.push({ x0: cx - 5, x1: cx + 5, y0: cy - 5, y1: cy + 5 });
    if (p.xlo !== null && p.xhi !== null) placed.push({ x0: x.at(p.xlo), x1: x.at(p.xhi), y0: cy - 4, y1: cy + 4 });
    if (p.ylo !== null && p.yhi !== null) placed.push({ x0: cx - 4, x1: cx + 4, y0: y.at(p.yhi), y1: y.at(p.ylo) });
  }
  for (const p of pts) {
    const colour = PALETTE[series.indexOf(p.series) % PALETTE.length];
    const cx = x.at(p.x);
    const cy = y.at(p.y);
    const bars: string[] = [];
    if (p.xlo !== null && p.xhi !== null) bars.push(interval(false, cy, x.at(p.xlo), x.at(p.xhi), 4, colour, 'errbar'));
    if (p.ylo !== null && p.yhi !== null) bars.push(interval(true, cx, y.at(p.ylo), y.at(p.yhi), 4, colour, 'errbar'));
    const w = textW(p.label);
    let at: { x: number; y: number; anchor: string; box: Box } | null = null;
    for (const dy of [0, -14, 14, -28, 28, -42, 42, -56, 56]) {
      for (const side of [1, -1]) {
        const tx = cx + side * 8;
        const box: Box = side > 0 ? { x0: tx, x1: tx + w, y0: cy + dy - 9, y1: cy + dy + 3 } : { x0: tx - w, x1: tx, y0: cy + dy - 9, y1: cy + dy + 3 };
        if (box.x0 < left || box.x1 > W - 4 || box.y0 < top - 4 || box.y1 > bottom) continue;
        if (placed.some((b) => overlaps(b, box))) continue;
        at = { x: tx, y: cy + dy, anchor: side > 0 ? 'start' : 'end', box };
        break;
      }
      if (at) break;
    }
    at ??= { x: cx + 8, y: cy, anchor: 'start', box: { x0: cx + 8, x1: cx + 8 + w, y0: cy - 9, y1: cy + 3 } };
    placed.push(at.box);
    const leader = at.y !== cy ? `<line class="leader" x1="${px(cx)}" x2="${px(at.x)}" y1="${px(cy)}" y2="${px(at.y - 3)}" stroke="#bbb"/>` : '';
    out.push(`<g class="point" data-label="${esc(p.label)}" data-series="${esc(p.series)}" data-x="${p.x}" data-y="${p.y}" stroke-width="1.5">${bars.join('')}${leader}<circle cx="${px(cx)}" cy="${px(cy)}" r="5" fill="${colour}" stroke="#fff" stroke-width="1"><title>${esc(p.label)}: ${esc(xFmt(p.x))}${p.xlo !== null && p.xhi !== null ? esc(` [${xFmt(p.xlo)}, ${xFmt(p.xhi)}]`) : ''}, ${esc(yFmt(p.y))}${p.ylo !== null && p.yhi !== null ? esc(` [${yFmt(p.ylo)}, ${yFmt(p.yhi)}]`) : ''}</title></circle><text x="${px(at.x)}" y="${px(at.y + 1)}" text-anchor="${at.anchor}" class="label" stroke="#fff" stroke-width="3" paint-order="stroke">${esc(p.label)}</text></g>`);
  }
  out.push(legend.svg, '</svg>');
  return out.join('');
}
