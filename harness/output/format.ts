// Tables a kernel developer can paste: --format text|md|csv|json. `text` is plain ASCII that
// survives a mail (a patch cover letter): the command line first, at most TEXT_WIDTH columns
// (a wider table is printed in parts, each repeating the table's key columns).
import { BadInput } from '../run/config.js';
import { table } from './table.js';

export const FORMATS = ['text', 'md', 'csv', 'json'] as const;
export type Format = (typeof FORMATS)[number];
export const TEXT_WIDTH = 100;

/** --format, with --json as its old spelling of json. */
export function parseFormat(v: unknown, json: unknown): Format {
  if (v === undefined) return json ? 'json' : 'text';
  const f = String(v);
  if (!(FORMATS as readonly string[]).includes(f)) throw new BadInput(`--format is one of ${FORMATS.join(', ')} (got '${f}')`);
  if (json && f !== 'json') throw new BadInput(`--json and --format ${f} disagree`);
  return f as Format;
}

/** The command line that produced an output, as a person would type it again. */
export function commandLine(argv: readonly string[] = process.argv.slice(2)): string {
  return ['gupstress', ...argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`))].join(' ');
}

export interface Table {
  head: string[];
  rows: string[][];
  /** right-aligned columns (numbers) */
  right?: boolean[];
  /** how many leading columns name a row (scenario, strategy, bug ...): text repeats them in
   *  every part of a table too wide for one (default 1) */
  key?: number;
}

function ascii(s: string): string {
  return s.replace(/[–—]/g, '-').replace(/[±]/g, '+-').replace(/[µ]/g, 'u').replace(/[^\x20-\x7e]/g, '?');
}

/** Plain text, each line at most `width` columns: the columns that do not fit go to a next
 *  part, which repeats the key columns. */
export function textTable(t: Table, width = TEXT_WIDTH): string {
  const head = t.head.map(ascii);
  const rows = t.rows.map((r) => r.map(ascii));
  const right = t.right ?? [];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const keys = Array.from({ length: Math.min(t.key ?? 1, head.length) }, (_, i) => i);
  const keyWidth = keys.reduce((s, i) => s + w[i] + 2, -2);
  const parts: number[][] = [];
  let cur: number[] = [...keys];
  let used = keyWidth;
  for (let i = keys.length; i < head.length; i++) {
    if (used + 2 + w[i] > width && cur.length > keys.length) {
      parts.push(cur);
      cur = [...keys];
      used = keyWidth;
    }
    cur.push(i);
    used += 2 + w[i];
  }
  parts.push(cur);
  return parts
    .map((cols) => table(cols.map((i) => head[i]), rows.map((r) => cols.map((i) => r[i] ?? '')), cols.map((i) => right[i] ?? false)))
    .map((s) => s.split('\n').map((l) => (l.length > width ? l.slice(0, width - 1) + '~' : l)).join('\n'))
    .join('\n\n');
}

function mdCell(s: string): string {
  return s.replace(/\|/g, '\\|');
}

function csvCell(s: string): string {
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** A table in text, md or csv, with the command line that produced it first (a comment line
 *  in csv); `notes` follow the table (text and md only). */
export function renderTable(t: Table, f: Exclude<Format, 'json'>, command: string, notes: string[] = []): string {
  if (f === 'csv') return [`# ${command}`, ...[t.head, ...t.rows].map((r) => r.map(csvCell).join(','))].join('\n');
  if (f === 'md') {
    const right = t.right ?? [];
    return [
      `\`${command}\``, '',
      `| ${t.head.map(mdCell).join(' | ')} |`,
      `|${t.head.map((_, i) => (right[i] ? '---:' : '---')).join('|')}|`,
      ...t.rows.map((r) => `| ${t.head.map((_, i) => mdCell(r[i] ?? '')).join(' | ')} |`),
      ...(notes.length ? ['', ...notes] : []),
    ].join('\n');
  }
  return [`$ ${ascii(command)}`, textTable(t), ...notes.map(ascii)].join('\n');
}
