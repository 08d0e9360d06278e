import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LayoutError, MD_GEN, MD_TYPE, PageType, computeLayout, mdAddr, G_FREE_COUNT } from '../src/machine/layout.js';
import { Prng } from '../src/machine/mem.js';
import { allocAnonPage, allocHugeFolio, allocTable, freeFolio, freeTable } from '../src/mm/page_alloc.js';
import { machine } from './helpers.js';

test('impossible machine sizes are refused with a reason', () => {
  const base = { frames: 1024, hugeFolios: 0, cpus: 2, mms: 1, windows: 4, scratchWords: 0 };
  assert.throws(() => computeLayout({ ...base, frames: 10 }), LayoutError);
  assert.throws(() => computeLayout({ ...base, frames: 600000 }), /below 524288/);
  assert.throws(() => computeLayout({ ...base, cpus: 0 }), LayoutError);
  assert.throws(() => computeLayout({ ...base, cpus: 49 }), LayoutError);
  assert.throws(() => computeLayout({ ...base, hugeFolios: -1 }), LayoutError);
  assert.ok(computeLayout(base).words > 1024 * 64);
});

test('the allocator hands out each frame once and bumps generations at alloc and free', () => {
  const { c, L, mem } = machine({ frames: 128, huge: 2 });
  const got = new Set<number>();
  for (;;) {
    const p = allocAnonPage(c, 0, PageType.Anon);
    if (p < 0) break;
    assert.ok(!got.has(p), `frame ${p} handed out twice`);
    assert.ok(p > 0, 'pfn 0 is reserved');
    got.add(p);
  }
  assert.equal(got.size, 127);
  assert.equal(mem.load(L.gBase + G_FREE_COUNT), 0);
  const p = [...got][0];
  const gen = mem.load(mdAddr(L, p, MD_GEN));
  mem.store(mdAddr(L, p, 2), 0);
  freeFolio(c, p);
  assert.equal(mem.load(mdAddr(L, p, MD_GEN)), gen + 1);
  assert.equal(mem.load(mdAddr(L, p, MD_TYPE)), PageType.Free);
  const t = allocTable(c, 0, 1, 0, 4);
  assert.equal(t, p, 'LIFO reuse: a freed frame comes back first (use-after-free shows quickly)');
  assert.equal(mem.load(mdAddr(L, t, MD_GEN)), gen + 2);
  freeTable(c, t);
  const h1 = allocHugeFolio(c, 0);
  const h2 = allocHugeFolio(c, 0);
  assert.ok(h1 >= L.hugeBase && h2 >= L.hugeBase && h1 !== h2 && (h1 - L.hugeBase) % 64 === 0);
  assert.equal(allocHugeFolio(c, 0), -1, 'two huge folios only');
  assert.equal(mem.load(mdAddr(L, h1 + 5, MD_TYPE)), PageType.Tail);
});

test('the seeded PRNG replays', () => {
  const a = new Prng(99);
  const b = new Prng(99);
  const c = new Prng(100);
  const xs = Array.from({ length: 8 }, () => a.next());
  assert.deepEqual(Array.from({ length: 8 }, () => b.next()), xs);
  assert.notDeepEqual(Array.from({ length: 8 }, () => c.next()), xs);
  assert.ok(xs.every((x) => x >= 0 && x < 2 ** 32));
});
