// The user documentation: a README a newcomer reads in minutes, reference in docs/, no issue
// numbers or development history in either, and every link between them resolves (file and
// heading).
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';

const ROOT = join(import.meta.dirname, '..');
const DOCS = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
const text = (f: string): string => readFileSync(join(ROOT, f), 'utf8');

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes. */
export function slug(heading: string): string {
  return heading.trim().toLowerCase().replace(/`/g, '').replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-');
}

function anchors(f: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  let fenced = false;
  for (const line of text(f).split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    const m = !fenced && /^#{1,6} (.+)$/.exec(line);
    if (!m) continue;
    const s = slug(m[1]);
    const n = seen.get(s) ?? 0;
    seen.set(s, n + 1);
    out.add(n === 0 ? s : `${s}-${n}`);
  }
  return out;
}

test('the README is a guide of about 300 lines that starts with the two commands', () => {
  const lines = text('README.md').split('\n');
  assert.ok(lines.length <= 350, `${lines.length} lines`);
  const head = lines.slice(0, 8).join('\n');
  assert.match(head, /npm ci && npm start/);
  assert.match(head, /npm test/);
});

test('user documentation has no issue numbers and no development history', () => {
  for (const f of DOCS) {
    const t = text(f);
    assert.doesNotMatch(t, /\b[Ii]ssues? #?\d+|(^|\s)#\d{1,3}\b(?![\w-])/m, `${f} names an issue`);
    assert.doesNotMatch(t, /device machine was lent|earlier builds?|before this change/i, `${f} tells history`);
  }
});

test('every relative link of the README and docs/ resolves, to its heading too', () => {
  assert.equal(slug('Reading a run'), 'reading-a-run');
  assert.equal(slug('1. Re-create a race'), '1-re-create-a-race');
  assert.equal(slug("The judge's contract"), 'the-judges-contract');
  const broken: string[] = [];
  for (const f of DOCS) {
    for (const m of text(f).matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = m[1];
      if (/^[a-z]+:/.test(target)) continue;
      const [path, anchor] = target.split('#');
      const file = path === '' ? f : join(dirname(f), path);
      if (!existsSync(join(ROOT, file))) broken.push(`${f}: ${target} (no file)`);
      else if (anchor !== undefined && file.endsWith('.md') && !anchors(file).has(anchor)) broken.push(`${f}: ${target} (no heading)`);
    }
  }
  assert.deepEqual(broken, []);
});
