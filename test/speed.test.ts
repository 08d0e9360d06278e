// Issue 10's reporting: --widen none turns a scenario's built-in widening off (a device's
// latency stays), every paired window reports its overlaps per second, and campaign
// --unwidened runs each row again without widening. (Speed itself is measured by `gupstress
// bench`, never asserted here.)
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { type CampaignRow, campaignTable } from '../harness/campaign.js';
import { resolveRunConfig } from '../harness/config.js';
import { run, tmpOut } from './helpers.js';

const CLI = join(import.meta.dirname, '..', 'dist', 'harness', 'cli.js');
const gupstress = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, GUPSTRESS_LOG: 'warn' } });

test('--widen none: the scenario\'s widening off, its device latency kept, a window widened on top', () => {
  const d = resolveRunConfig({ scenario: 'ksm-merge', seed: 1 });
  assert.ok(d.widen['gup.pin-recheck'] > 0 && d.widen['dio.dma'] > 0, JSON.stringify(d.widen));
  const none = resolveRunConfig({ scenario: 'ksm-merge', seed: 1, widen: ['none'] });
  assert.deepEqual(Object.keys(none.widen), ['dio.dma'], 'the O_DIRECT latency is the device\'s, not widening');
  assert.equal(none.widen['dio.dma'], d.widen['dio.dma']);
  const one = resolveRunConfig({ scenario: 'ksm-merge', seed: 1, widen: ['none', 'ksm.clear-check=1us'] });
  assert.equal(one.widen['ksm.clear-check'], 1000);
  assert.equal(one.widen['gup.pin-recheck'], undefined);
});

test('overlaps per second: every paired reader window reports it, and it is overlaps over the run\'s time', async () => {
  const r = await run({ scenario: 'munmap-free', duration: '600ms', widen: ['none'] });
  const paired = Object.values(r.windows).filter((w) => w.overlaps !== null);
  assert.ok(paired.length > 0);
  for (const w of paired) assert.ok(Math.abs(w.overlapsPerSec! - w.overlaps! / (r.durationMs / 1000)) <= 0.01 * Math.max(1, w.overlapsPerSec!), `${w.overlapsPerSec} vs ${w.overlaps} in ${r.durationMs} ms`);
  for (const w of Object.values(r.windows).filter((x) => x.overlaps === null)) assert.equal(w.overlapsPerSec, null);
  assert.equal(r.config.widen['gup.pin-recheck'], undefined);
});

test('campaign --unwidened: each row again without widening, its overlaps per second and whether the bug is caught', () => {
  const out = tmpOut();
  const c = gupstress('campaign', '--scenario', 'madv-dontneed', '--unwidened', '--duration', '300ms', '--bug-timeout', '3s', '--out', out, '--format', 'json');
  assert.equal(c.status, 0, c.stderr);
  const rows = JSON.parse(c.stdout).rows as CampaignRow[];
  assert.equal(rows.length, 3); // the fixed form under rcu and ipi, the bug under rcu
  for (const r of rows) {
    const u = r.unwidened!;
    assert.ok(u, JSON.stringify(r));
    if (r.bug === null) {
      assert.equal(u.caught, null);
      assert.ok(u.perSec !== null && u.widenedPerSec !== null);
    } else {
      assert.equal(typeof u.caught, 'boolean');
      assert.equal(u.firstViolationMs !== null, u.caught);
    }
  }
  const t = campaignTable(rows);
  const col = t.head.indexOf('without widening (overlaps/s; caught)');
  assert.ok(col > 0);
  for (const [i, r] of rows.entries()) {
    const cell = t.rows[i][col];
    if (r.bug === null) assert.match(cell, /^[\d,]+ -> [\d,]+ \/s$/);
    else assert.match(cell, r.unwidened!.caught ? /^[\d.]+ ms$/ : /^not in \d+ s$/);
  }
});
