// The oracle's mapping history (mm/rmap.ts writes it, check/oracle.ts mappedDuring reads it):
// "was this page mapped at vpn at some time during the walk" for any sequence of maps, unmaps
// and moves, and never a false stale-page when the ring cannot tell.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HIST_MAPPED, HIST_NOT_MAPPED, HIST_UNKNOWN, S_HIST_UNKNOWN, checkGotPage, mappedDuring } from '../src/check/oracle.js';
import type { Cpu } from '../src/machine/cpu.js';
import { HIST_ENTRIES, MD_HIST, MD_HIST_SEQ, PageType, mdAddr } from '../src/machine/layout.js';
import { allocAnonPage, freeFolio } from '../src/mm/page_alloc.js';
import { folioAddNewAnonRmap, folioMoveRmap, folioRemoveRmap } from '../src/mm/rmap.js';
import { machine } from './helpers.js';

const A = 0x1000;
const B = 0x1040;
const C = 0x1080;

function setup() {
  const m = machine({ frames: 256, huge: 0 });
  const page = allocAnonPage(m.c, 0, PageType.Anon);
  assert.ok(page > 0);
  return { ...m, page };
}

/** A reader's walk starts now: what gup_fast reads at local_irq_save. */
const walkStart = (c: Cpu): number => (c.walkStamp = c.mem.peek(c.gStamp));

/** checkGotPage for a small page at vpn: the stale-page violations it reported. */
function judge(c: Cpu, page: number, vpn: number): string[] {
  const before = c.violations.length;
  checkGotPage(c, page, page, vpn);
  return c.violations.slice(before).map((v) => `${v.kind}: ${v.detail}`);
}

test('A -> B -> A under a preempted reader: mapped at A and at B during the walk, never at C', () => {
  const { c, page } = setup();
  folioAddNewAnonRmap(c, page, A);
  const since = walkStart(c); // the reader reads the pmd of A, and is preempted
  folioMoveRmap(c, page, A, B); // move_normal_pmd A -> B
  folioMoveRmap(c, page, B, A); // and back
  assert.equal(mappedDuring(c, page, A, since), HIST_MAPPED);
  assert.equal(mappedDuring(c, page, B, since), HIST_MAPPED);
  assert.equal(mappedDuring(c, page, C, since), HIST_NOT_MAPPED);
  assert.deepEqual(judge(c, page, A), []);
  assert.deepEqual(judge(c, page, B), [], 'at B between the two moves: not stale');
  assert.match(judge(c, page, C).join(), /^stale-page: GUP returned pfn \d+, mapped at 0x1000000, not here/);
  // a walk that starts after the page left B: B is stale for it
  const later = walkStart(c);
  assert.equal(mappedDuring(c, page, B, later), HIST_NOT_MAPPED);
  assert.equal(judge(c, page, B).length, 1);
  assert.equal(c.stats[S_HIST_UNKNOWN.id], 0);
});

test('more than one step deep: A -> B -> C, and moves through unmapped states (A -> none -> B -> none -> A)', () => {
  const { c, page } = setup();
  folioAddNewAnonRmap(c, page, A);
  const since = walkStart(c);
  folioMoveRmap(c, page, A, B);
  folioMoveRmap(c, page, B, C);
  assert.equal(mappedDuring(c, page, A, since), HIST_MAPPED, 'two moves after the walk started');
  assert.deepEqual(judge(c, page, A), []);

  const p2 = setup();
  folioAddNewAnonRmap(p2.c, p2.page, A);
  const s2 = walkStart(p2.c);
  folioRemoveRmap(p2.c, p2.page); // unmapped (the pmd cleared) ...
  folioAddNewAnonRmap(p2.c, p2.page, B); // ... mapped at B ...
  folioRemoveRmap(p2.c, p2.page);
  folioAddNewAnonRmap(p2.c, p2.page, A); // ... and back at A
  for (const vpn of [A, B]) assert.equal(mappedDuring(p2.c, p2.page, vpn, s2), HIST_MAPPED, `0x${vpn.toString(16)}`);
  assert.equal(mappedDuring(p2.c, p2.page, C, s2), HIST_NOT_MAPPED);
  assert.deepEqual(judge(p2.c, p2.page, B), []);
});

test('a mapping that ended before the walk started, or began after now, is not "during the walk"', () => {
  const { c, page } = setup();
  folioAddNewAnonRmap(c, page, A);
  folioMoveRmap(c, page, A, B); // A ended before the walk
  const since = walkStart(c);
  assert.equal(mappedDuring(c, page, A, since), HIST_NOT_MAPPED);
  assert.equal(mappedDuring(c, page, B, since), HIST_MAPPED);
  // a move whose record does not match is no move (a large folio moved by another of its ptes)
  folioMoveRmap(c, page, A, C);
  assert.equal(mappedDuring(c, page, C, since), HIST_NOT_MAPPED);
});

test('a page freed and allocated again is another page: its history starts afresh', () => {
  const { c, page } = setup();
  folioAddNewAnonRmap(c, page, A);
  const since = walkStart(c);
  folioRemoveRmap(c, page);
  freeFolio(c, page);
  const again = allocAnonPage(c, 0, PageType.Anon);
  assert.equal(again, page, 'the free list hands the same frame back');
  folioAddNewAnonRmap(c, again, C);
  assert.equal(mappedDuring(c, again, A, since), HIST_NOT_MAPPED, 'the earlier incarnation at A does not count');
  assert.equal(judge(c, again, A).length, 1);
});

test('ring overflow during a walk: unknown, accepted and counted, never a false stale-page', () => {
  const { c, page } = setup();
  folioAddNewAnonRmap(c, page, A);
  const since = walkStart(c);
  // HIST_ENTRIES changes while the reader is preempted: the record of A in force at the walk's
  // start is overwritten
  const elsewhere = [B, C];
  let at = A;
  for (let i = 0; i < HIST_ENTRIES; i++) {
    const to = elsewhere[i & 1];
    folioMoveRmap(c, page, at, to);
    at = to;
  }
  assert.equal(mappedDuring(c, page, A, since), HIST_UNKNOWN);
  assert.deepEqual(judge(c, page, A), [], 'accepted');
  assert.equal(c.stats[S_HIST_UNKNOWN.id], 1, 'and counted');
  // what the ring still holds is answered exactly
  assert.equal(mappedDuring(c, page, B, since), HIST_MAPPED);
  assert.deepEqual(judge(c, page, B), []);
  assert.equal(c.stats[S_HIST_UNKNOWN.id], 1);
  // a walk that starts now is within the ring again: a page never at A since is stale there
  const now = walkStart(c);
  assert.equal(mappedDuring(c, page, A, now), HIST_NOT_MAPPED);
  assert.equal(judge(c, page, A).length, 1);
});

test('a record being written (the slot after the newest) is never read; the count publishes it', () => {
  const { c, page } = setup();
  folioAddNewAnonRmap(c, page, A); // record 0
  folioMoveRmap(c, page, A, B); // record 1: in force at the walk's start
  const since = walkStart(c);
  for (let i = 2; i < HIST_ENTRIES; i++) folioMoveRmap(c, page, i % 2 ? A : B, i % 2 ? B : A);
  const n = c.mem.peek(mdAddr(c.L, page, MD_HIST_SEQ));
  assert.equal(n, HIST_ENTRIES);
  // a writer has written half of record n (vpn C, its stamp not yet) into the slot of record
  // n - HIST_ENTRIES, and not published the count
  c.mem.store(mdAddr(c.L, page, MD_HIST + 2 * (n & (HIST_ENTRIES - 1))), C);
  assert.equal(mappedDuring(c, page, C, since), HIST_NOT_MAPPED, 'the slot being written is skipped');
  assert.equal(mappedDuring(c, page, A, since), HIST_MAPPED);
});
