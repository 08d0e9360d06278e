// Inline SVG charts for the HTML report: no library, no network. Every bar carries its
// number in data-value, so a test (or a person with devtools) can check it against the JSON.

export function esc(s: unknown): string {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];

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
  unit: string;
  log?: boolean;
  format?: (v: number) => string;
}

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/** A grouped bar chart; log scale for latencies that span decades. */
export function barChart(spec: BarChartSpec): string {
  const fmt = spec.format ?? ((v: number) => (Math.abs(v) >= 1000 ? v.toLocaleString('en-US', { maximumFractionDigits: 0 }) : String(+v.toPrecision(3))));
  const W = 760;
  const right = 10;
  const top = 40;
  const plotH = 220;
  // many groups: slanted labels, with room for the longest
  const rotate = spec.groups.length > 8;
  const longest = spec.groups.reduce((n, g) => Math.max(n, g.label.length), 0);
  const labelH = rotate ? Math.min(260, 24 + longest * 5) : 60;
  const legendH = 22 * Math.ceil(spec.series.length / 4);
  const H = top + plotH + labelH + legendH;
  // the axis reaches the error bars too
  const vals = spec.groups.flatMap((g) => [...g.values, ...(g.hi ?? []), ...(g.lo ?? [])]).filter((v): v is number => v !== null && Number.isFinite(v));
  const maxV = vals.length ? Math.max(...vals) : 1;
  const minPos = vals.filter((v) => v > 0).reduce((a, b) => Math.min(a, b), Infinity);
  const log = Boolean(spec.log) && vals.some((v) => v > 0);
  const lo = log ? 10 ** Math.floor(Math.log10(Number.isFinite(minPos) ? minPos : 1)) : 0;
  const hi = log ? 10 ** Math.ceil(Math.log10(Math.max(maxV, lo * 10))) : niceMax(maxV);
  const y = (v: number): number => {
    if (log) return top + plotH - ((Math.log10(Math.max(v, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * plotH;
    return top + plotH - (v / hi) * plotH;
  };
  // ticks first: the left margin fits the longest tick label (none is clipped)
  const ticks = log
    ? Array.from({ length: Math.round(Math.log10(hi / lo)) + 1 }, (_, i) => lo * 10 ** i)
    : Array.from({ length: 5 }, (_, i) => (hi * i) / 4);
  const left = Math.max(70, 34 + 7 * Math.max(...ticks.map((t) => fmt(t).length)));
  const plotW = W - left - right;
  const gw = plotW / Math.max(1, spec.groups.length);
  const bw = Math.max(3, Math.min(40, (gw * 0.8) / Math.max(1, spec.series.length)));
  const out: string[] = [];
  out.push(`<svg class="chart" id="${esc(spec.id)}" xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(spec.title)}">`);
  out.push(`<text x="${W / 2}" y="20" text-anchor="middle" class="title">${esc(spec.title)}</text>`);
  // axis and grid
  for (const t of ticks) {
    const ty = y(t);
    out.push(`<line x1="${left}" x2="${W - right}" y1="${ty.toFixed(1)}" y2="${ty.toFixed(1)}" class="grid"/>`);
    out.push(`<text x="${left - 6}" y="${(ty + 4).toFixed(1)}" text-anchor="end" class="tick">${esc(fmt(t))}</text>`);
  }
  out.push(`<text x="14" y="${top + plotH / 2}" transform="rotate(-90 14 ${top + plotH / 2})" text-anchor="middle" class="tick">${esc(spec.unit)}${log ? ' (log)' : ''}</text>`);
  spec.groups.forEach((g, gi) => {
    const gx = left + gi * gw + (gw - bw * spec.series.length) / 2;
    g.values.forEach((v, si) => {
      const x = gx + si * bw;
      if (v === null || !Number.isFinite(v)) {
        out.push(`<text x="${(x + bw / 2).toFixed(1)}" y="${top + plotH - 4}" text-anchor="middle" class="na">-</text>`);
        return;
      }
      const yv = y(v);
      const h = Math.max(1, top + plotH - yv);
      const lo = g.lo?.[si] ?? null;
      const hi = g.hi?.[si] ?? null;
      const interval = lo !== null && hi !== null ? ` [${fmt(lo)}, ${fmt(hi)}]` : '';
      out.push(`<rect class="bar" x="${x.toFixed(1)}" y="${(top + plotH - h).toFixed(1)}" width="${(bw - 1).toFixed(1)}" height="${h.toFixed(1)}" fill="${PALETTE[si % PALETTE.length]}" data-series="${esc(spec.series[si])}" data-group="${esc(g.label)}" data-value="${v}"${interval ? ` data-lo="${lo}" data-hi="${hi}"` : ''}><title>${esc(g.label)} / ${esc(spec.series[si])}: ${esc(fmt(v))}${esc(interval)}${spec.format ? '' : ` ${esc(spec.unit)}`}</title></rect>`);
      if (interval) {
        // the interval of the median: a whisker with caps
        const cx = (x + (bw - 1) / 2).toFixed(1);
        const [y0, y1] = [y(lo!).toFixed(1), y(hi!).toFixed(1)];
        const c0 = (x + (bw - 1) / 2 - Math.min(5, bw / 3)).toFixed(1);
        const c1 = (x + (bw - 1) / 2 + Math.min(5, bw / 3)).toFixed(1);
        out.push(`<g class="errbar" data-series="${esc(spec.series[si])}" data-group="${esc(g.label)}" data-lo="${lo}" data-hi="${hi}"><line x1="${cx}" x2="${cx}" y1="${y0}" y2="${y1}" stroke="#222"/><line x1="${c0}" x2="${c1}" y1="${y0}" y2="${y0}" stroke="#222"/><line x1="${c0}" x2="${c1}" y1="${y1}" y2="${y1}" stroke="#222"/></g>`);
      }
    });
    const lx = (left + gi * gw + gw / 2).toFixed(1);
    const ly = top + plotH + 14;
    if (rotate) out.push(`<text x="${lx}" y="${ly}" transform="rotate(-50 ${lx} ${ly})" text-anchor="end" class="label">${esc(g.label)}</text>`);
    else out.push(`<text x="${lx}" y="${ly + 2}" text-anchor="middle" class="label">${esc(g.label)}</text>`);
  });
  out.push(`<line x1="${left}" x2="${W - right}" y1="${top + plotH}" y2="${top + plotH}" class="axis"/>`);
  spec.series.forEach((s, i) => {
    const lx = left + (i % 4) * 170;
    const ly = top + plotH + labelH + Math.floor(i / 4) * 22;
    out.push(`<rect x="${lx}" y="${ly - 10}" width="12" height="12" fill="${PALETTE[i % PALETTE.length]}"/><text x="${lx + 16}" y="${ly}" class="legend">${esc(s)}</text>`);
  });
  out.push('</svg>');
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
  xLabel: string;
  yLabel: string;
  points: ScatterPoint[];
  xFormat: (v: number) => string;
  yFormat: (v: number) => string;
  logY?: boolean;
}

/** A trade-off chart: one point per sweep cell, error bars from its repeats' intervals. Each
 *  point carries data-label, data-x and data-y (the JSON's numbers). */
export function scatterChart(spec: ScatterSpec): string {
  const W = 760;
  const H = 360;
  const top = 40;
  const right = 180;
  const bottom = 50;
  const pts = spec.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  const xs = pts.flatMap((p) => [p.x, p.xlo ?? p.x, p.xhi ?? p.x]);
  const ys = pts.flatMap((p) => [p.y, p.ylo ?? p.y, p.yhi ?? p.y]);
  const xHi = niceMax(Math.max(1, ...xs));
  const logY = Boolean(spec.logY) && ys.some((v) => v > 0);
  const yPos = ys.filter((v) => v > 0);
  const yLo = logY ? 10 ** Math.floor(Math.log10(Math.min(...yPos))) : 0;
  const yHi = logY ? 10 ** Math.ceil(Math.log10(Math.max(...yPos, yLo * 10))) : niceMax(Math.max(1, ...ys));
  const yTicks = logY ? Array.from({ length: Math.round(Math.log10(yHi / yLo)) + 1 }, (_, i) => yLo * 10 ** i) : Array.from({ length: 5 }, (_, i) => (yHi * i) / 4);
  const left = Math.max(70, 34 + 7 * Math.max(...yTicks.map((t) => spec.yFormat(t).length)));
  const plotW = W - left - right;
  const plotH = H - top - bottom;
  const X = (v: number): number => left + (v / xHi) * plotW;
  const Y = (v: number): number => (logY ? top + plotH - ((Math.log10(Math.max(v, yLo)) - Math.log10(yLo)) / (Math.log10(yHi) - Math.log10(yLo))) * plotH : top + plotH - (v / yHi) * plotH);
  const series = [...new Set(pts.map((p) => p.series))];
  const out: string[] = [`<svg class="chart scatter" id="${esc(spec.id)}" xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(spec.title)}">`];
  out.push(`<text x="${(left + plotW / 2).toFixed(0)}" y="20" text-anchor="middle" class="title">${esc(spec.title)}</text>`);
  for (const t of yTicks) {
    out.push(`<line x1="${left}" x2="${left + plotW}" y1="${Y(t).toFixed(1)}" y2="${Y(t).toFixed(1)}" class="grid"/>`);
    out.push(`<text x="${left - 6}" y="${(Y(t) + 4).toFixed(1)}" text-anchor="end" class="tick">${esc(spec.yFormat(t))}</text>`);
  }
  for (let i = 0; i <= 4; i++) {
    const t = (xHi * i) / 4;
    out.push(`<text x="${X(t).toFixed(1)}" y="${top + plotH + 16}" text-anchor="middle" class="tick">${esc(spec.xFormat(t))}</text>`);
  }
  out.push(`<line x1="${left}" x2="${left + plotW}" y1="${top + plotH}" y2="${top + plotH}" class="axis"/><line x1="${left}" x2="${left}" y1="${top}" y2="${top + plotH}" class="axis"/>`);
  out.push(`<text x="${(left + plotW / 2).toFixed(0)}" y="${H - 8}" text-anchor="middle" class="tick">${esc(spec.xLabel)}</text>`);
  out.push(`<text x="14" y="${top + plotH / 2}" transform="rotate(-90 14 ${top + plotH / 2})" text-anchor="middle" class="tick">${esc(spec.yLabel)}${logY ? ' (log scale)' : ''}</text>`);
  for (const p of pts) {
    const colour = PALETTE[series.indexOf(p.series) % PALETTE.length];
    const cx = X(p.x);
    const cy = Y(p.y);
    const bars: string[] = [];
    if (p.xlo !== null && p.xhi !== null) bars.push(`<line class="errbar" x1="${X(p.xlo).toFixed(1)}" x2="${X(p.xhi).toFixed(1)}" y1="${cy.toFixed(1)}" y2="${cy.toFixed(1)}" stroke="${colour}"/>`);
    if (p.ylo !== null && p.yhi !== null) bars.push(`<line class="errbar" x1="${cx.toFixed(1)}" x2="${cx.toFixed(1)}" y1="${Y(p.ylo).toFixed(1)}" y2="${Y(p.yhi).toFixed(1)}" stroke="${colour}"/>`);
    out.push(`<g class="point" data-label="${esc(p.label)}" data-series="${esc(p.series)}" data-x="${p.x}" data-y="${p.y}">${bars.join('')}<circle cx="${cx.toFixed(1)}" cy="${cy.toFixed(1)}" r="5" fill="${colour}"><title>${esc(p.label)}: ${esc(spec.xFormat(p.x))}, ${esc(spec.yFormat(p.y))}</title></circle><text x="${(cx + 7).toFixed(1)}" y="${(cy - 6).toFixed(1)}" class="legend">${esc(p.label)}</text></g>`);
  }
  series.forEach((name, i) => {
    const ly = top + 14 + i * 20;
    out.push(`<circle cx="${left + plotW + 20}" cy="${ly - 4}" r="5" fill="${PALETTE[i % PALETTE.length]}"/><text x="${left + plotW + 30}" y="${ly}" class="legend">${esc(name)}</text>`);
  });
  out.push('</svg>');
  return out.join('');
}
