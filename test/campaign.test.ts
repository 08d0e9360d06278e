// campaign for CI: --budget (its split), --junit (the XML), --fail-fast (where it stops).
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { MIN_RUN_MS, nextRunMs, stopsCampaign } from '../harness/commands/campaign.js';
import type { CampaignRow } from '../harness/run/files.js';
import { durationArg, junitXml, rerunCommand, xmlText } from '../harness/output/junit.js';
import { parseDuration } from '../harness/run/config.js';
import { tmpOut, gupstress } from './helpers.js';

const count = (xml: string, re: RegExp): number => (xml.match(re) ?? []).length;

function row(over: Partial<CampaignRow>): CampaignRow {
  return {
    scenario: 'ksm-merge', strategy: 'rcu', bug: null, status: 'clean', expected: true, kinds: [], expectKinds: [],
    firstViolationMs: null, firstViolationRuns: [null], readerOps: 1000, durationMs: 1000, runId: 'x', results: null,
    bound: null, overlaps: 0, nearMisses: 0, seeds: [1000], runMs: [3000], wallMs: 1200, failure: null, ...over,
  };
}

test('junit: one testcase per row and skipped job, failures escaped, the exact re-run command', () => {
  const rows = [
    row({}),
    row({
      bug: 'ksm-check-before-clear', status: 'MISSED', expected: false, kinds: ['stale-page'], expectKinds: ['lost-dma-write', 'pin-not-mapped'],
      seeds: [1064, 1065], runMs: [20000, 1500], firstViolationRuns: [3, null], failure: { run: 1, detail: 'pfn 0x12 <&"> \'q\'\x01 end' },
    }),
    row({ scenario: 'sync-locks', strategy: 'ipi', status: 'ERROR', expected: false, failure: { run: 0, detail: 'stall: cpu 1' } }),
  ];
  const xml = junitXml(rows, [{ scenario: 'sync-locks', strategy: 'ipi', bug: 'lock-none' }], '--fail-fast');
  assert.match(xml, /^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites /);
  assert.equal(count(xml, /<testsuite /g), 2);
  assert.equal(count(xml, /<testcase /g), 4);
  assert.equal(count(xml, /<failure /g), 1);
  assert.equal(count(xml, /<error /g), 1);
  assert.equal(count(xml, /<skipped\/>/g), 1);
  assert.match(xml, /<testsuites name="gupstress campaign" tests="4" failures="1" errors="1" skipped="1"/);
  assert.match(xml, /<testsuite name="ksm-merge" tests="2" failures="1" errors="0" skipped="0" time="2.400">/);
  assert.match(xml, /<testcase name="ksm-merge rcu ksm-check-before-clear" classname="gupstress.ksm-merge" time="1.200">/);
  assert.match(xml, /message="bug MISSED \(run 2 of 2\): expected lost-dma-write or pin-not-mapped, saw stale-page"/);
  // the detail: markup characters as entities, the control character spelled out, nothing raw left
  assert.ok(xml.includes('pfn 0x12 &lt;&amp;&quot;&gt; &apos;q&apos;\\x01 end'), xml);
  assert.ok(!xml.includes('\x01') && !xml.includes('<&'));
  // the command repeats the run that missed: its seed and its time
  assert.ok(xml.includes('re-run: gupstress run --scenario ksm-merge --strategy rcu --bug ksm-check-before-clear --seed 1065 --duration 1500ms --stop-on-violation'));
  assert.equal(rerunCommand(rows[0]), 'gupstress run --scenario ksm-merge --strategy rcu --seed 1000 --duration 3s');
  // every element that opens closes (a rough well-formedness check: no stray < or &)
  const stripped = xml.replace(/<\?xml[^>]*\?>/, '').replace(/<\/?[a-z-]+(\s+[a-z]+="[^"<]*")*\s*\/?>/g, '');
  assert.doesNotMatch(stripped, /[<>]|&(?!(amp|lt|gt|quot|apos|#\d+);)/);
  for (const tag of ['testsuites', 'testsuite', 'testcase', 'failure', 'error', 'system-out']) {
    assert.equal(count(xml, new RegExp(`<${tag}[ >]`, 'g')), count(xml, new RegExp(`</${tag}>`, 'g')), tag);
  }
});

test('junit escaping: attributes keep newlines as references, lone surrogates are replaced', () => {
  assert.equal(xmlText('a\tb\nc'), 'a\tb\nc');
  assert.equal(xmlText('x\ud800y'), 'x\ufffdy');
  assert.equal(xmlText('😀'), '😀');
  const xml = junitXml([row({ status: 'DIRTY', expected: false, kinds: ['a\nb'], failure: { run: 0, detail: null } })], [], '');
  assert.match(xml, /message="fixed form not clean: a&#10;b"/);
});

test('--duration in a re-run command reads back to the same time', () => {
  for (const ms of [1, 200, 1499, 1500, 3000, 20000, 60000]) assert.equal(parseDuration(durationArg(ms), 'x'), ms);
  assert.equal(durationArg(20000), '20s');
});

test('budget: the rest shared over the runs left, under the explicit limits, never below the floor', () => {
  assert.equal(nextRunMs(10000, 4), 2500);
  // a bug run stopped early: the time it saved goes to the runs after it
  assert.equal(nextRunMs(10000 - 2500 - 40, 2), 3730);
  assert.equal(nextRunMs(10000, 4, 1000), 1000, '--duration 1s stays the limit');
  assert.equal(nextRunMs(100, 3), MIN_RUN_MS, 'start-up ate the budget: still a meaningful run');
  assert.equal(nextRunMs(-500, 3), MIN_RUN_MS);
  assert.equal(nextRunMs(-500, 3, 50), 50, 'an explicit limit below the floor wins');
  assert.equal(nextRunMs(999, 1), 999);
});

test('fail-fast stops at a row that is not as expected, and only with --fail-fast', () => {
  for (const status of ['DIRTY', 'MISSED', 'ERROR'] as const) assert.equal(stopsCampaign(row({ status, expected: false }), true), true, status);
  for (const status of ['clean', 'caught'] as const) assert.equal(stopsCampaign(row({ status, expected: true }), true), false, status);
  assert.equal(stopsCampaign(row({ status: 'MISSED', expected: false }), false), false);
});

test('campaign --budget --junit: exit 0, one testcase per row, budget recorded; too small a budget is exit 2', () => {
  const out = tmpOut();
  const junit = join(out, 'j.xml');
  const r = gupstress('campaign', '--scenario', 'sync-locks', '--budget', '3s', '--junit', junit, '--out', out);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /budget 3s: 2 runs, each given \d+-\d+ ms/);
  const camp = JSON.parse(readFileSync(join(out, readdirSync(out).find((f) => f.startsWith('campaign.') && f.endsWith('.json'))!), 'utf8'));
  assert.equal(camp.budgetMs, 3000);
  assert.deepEqual(camp.skipped, []);
  // the stress rows' seeds; the barrier bugs' rows are explorations under lkmm (seed 1)
  assert.deepEqual(camp.rows.map((x: CampaignRow) => x.seeds), [[1000], [1064], [1], [1]]);
  assert.ok(camp.rows.slice(2).every((x: CampaignRow) => x.status === 'caught' && x.explore?.replayVerified), 'the barrier bugs caught under lkmm, replayed');
  assert.ok(camp.rows[0].runMs[0] <= 1500 && camp.rows[0].runMs[0] >= 1000, String(camp.rows[0].runMs));
  const xml = readFileSync(junit, 'utf8');
  assert.equal(count(xml, /<testcase /g), camp.rows.length);
  assert.equal(count(xml, /<failure |<error |<skipped/g), 0);
  assert.ok(xml.includes(`--seed 1064 --duration ${durationArg(camp.rows[1].runMs[0])} --stop-on-violation`));
  assert.ok(!readdirSync(out).some((f) => f.endsWith('.tmp')), 'no temp file left');

  const small = gupstress('campaign', '--scenario', 'sync-locks', '--budget', '1ms', '--out', out);
  assert.equal(small.status, 2);
  assert.equal(small.stderr.trim().split('\n').length, 1, small.stderr);
  assert.match(small.stderr, /^gupstress: --budget 1ms is too small: .*smallest budget that works is 400ms/);
});

test('campaign --fail-fast: stops at the first unexpected row, the rest are skipped, exit 1', () => {
  // A run lasts at least one runner tick (~100 ms), so the bug needs a slow one: fork-cow's
  // no-write-protect-seq shows after ~180 ms (median). Three repeats of 1 ms: one at least
  // misses; sync-locks (always caught) comes after, and is never run.
  const out = tmpOut();
  const junit = join(out, 'j.xml');
  const r = gupstress('campaign', '--scenario', 'fork-cow', '--scenario', 'sync-locks', '--duration', '1ms', '--bug-timeout', '1ms', '--repeat', '3', '--fail-fast', '--junit', junit, '--out', out);
  assert.equal(r.status, 1, r.stdout + r.stderr);
  const camp = JSON.parse(readFileSync(join(out, readdirSync(out).find((f) => f.startsWith('campaign.') && f.endsWith('.json'))!), 'utf8'));
  const rows = camp.rows as CampaignRow[];
  assert.equal(rows.at(-1)!.expected, false);
  assert.ok(rows.slice(0, -1).every((x) => x.expected), 'stopped at the first unexpected row');
  // fork-cow: 2 fixed + 2 bug rows; sync-locks: 1 fixed + 1 bug + 2 barrier-bug rows
  assert.equal(rows.length + camp.skipped.length, 8);
  assert.ok(camp.skipped.some((j: { scenario: string }) => j.scenario === 'sync-locks'));
  assert.equal(camp.ok, false);
  const xml = readFileSync(junit, 'utf8');
  assert.equal(count(xml, /<testcase /g), 8);
  assert.equal(count(xml, /<skipped\/>/g), camp.skipped.length);
  assert.equal(count(xml, /<failure |<error /g), 1);
  assert.match(r.stdout, /not run: \d \(--fail-fast\)/);
});
