// Plain-text tables and number formats for the terminal.
import type { Unit } from '../run/files.js';
import type { Spread } from '../run/stats.js';

export function table(head: string[], rows: (string | number)[][], right: boolean[] = []): string {
  const cells = [head, ...rows.map((r) => r.map(String))];
  const widths = head.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]): string =>
    r.map((c, i) => (right[i] ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(cells[0]), line(widths.map((w) => '-'.repeat(w))), ...cells.slice(1).map(line)].join('\n');
}

export function fmtInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

export function fmtNs(ns: number | null): string {
  if (ns === null) return '-';
  if (ns < 1000) return `${Math.round(ns)} ns`;
  if (ns < 1e6) return `${(ns / 1000).toFixed(ns < 1e4 ? 2 : 1)} us`;
  if (ns < 1e9) return `${(ns / 1e6).toFixed(ns < 1e7 ? 2 : 1)} ms`;
  return `${(ns / 1e9).toFixed(2)} s`;
}

export function fmtFreq(f: number | null): string {
  if (f === null) return '-';
  if (f === 0) return '0';
  if (f >= 0.001) return f.toFixed(4);
  return f.toExponential(2);
}

/** A number in its unit's format. */
export function fmtUnit(v: number, unit: Unit): string {
  return unit === 'ns' ? fmtNs(v) : unit === 'freq' ? fmtFreq(v) : fmtInt(v);
}

export function spreadCell(s: Spread | null, unit: Unit): string {
  if (s === null) return '-';
  return s.lo === null ? fmtUnit(s.median, unit) : `${fmtUnit(s.median, unit)} [${fmtUnit(s.lo, unit)}, ${fmtUnit(s.hi!, unit)}]`;
}
