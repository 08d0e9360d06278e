// The synchronization primitives under stress, with witnesses that fail when the guarantee
// does not hold, and the bug switches that prove the witnesses can fail.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { scenarioById } from '../src/scenarios/index.js';
import { run } from './helpers.js';

const witness = scenarioById('sync-witness')!;

for (const strategy of witness.strategies) {
  test(`sync-witness under ${strategy}: no object is freed while a reader that found it is inside`, async () => {
    const r = await run({ scenario: 'sync-witness', strategy, duration: '1.5s' });
    assert.equal(r.verdict, 'PASS', JSON.stringify(r.violations.slice(0, 2)));
    assert.ok(r.reader.ops > 10000, `reader ops ${r.reader.ops}`);
    assert.ok(r.windows['sync.reader'].overlaps! > 1000, 'readers really overlapped updates');
    if (strategy === 'ipi') assert.ok(r.sync.ipiSent > 1000 && r.sync.ipiWaitNs.count > 0);
    if (strategy === 'rcu') assert.ok(r.sync.callRcu > 1000 && r.sync.gracePeriods > 10 && r.sync.callbacksRun === r.sync.callRcu, 'every callback ran by the end');
    if (strategy === 'rcu-sync') assert.ok(r.sync.syncRcu > 100 && r.sync.syncRcuNs.p50! > 0);
    if (strategy === 'rcu-exp') assert.ok(r.sync.syncRcuExpedited > 1000);
  });
}

// every bug of the witness, under each strategy it declares (from the scenario, not a list here)
for (const [strategy, bug] of Object.entries(witness.bugs).flatMap(([name, b]) => (b.strategies ?? witness.strategies).map((st) => [st, name] as const))) {
  test(`sync-witness under ${strategy} with ${bug}: the witness fails`, async () => {
    const r = await run({ scenario: 'sync-witness', strategy, bug, duration: '10s', stopOnViolation: true });
    assert.equal(r.verdict, 'FAIL');
    assert.ok(r.violationsByKind['sync-broken'] > 0);
  });
}

test('sync-locks: spinlock, rwsem and seqcount hold under contention (2 writers, 2 readers)', async () => {
  const r = await run({ scenario: 'sync-locks', readers: '2', writers: '2', duration: '1.5s' });
  assert.equal(r.verdict, 'PASS', JSON.stringify(r.violations.slice(0, 2)));
  assert.ok(r.writer.outcomes['locked-increment'].count > 1000);
  assert.ok(r.reader.outcomes['seqcount-read'].count > 1000);
});

test('sync-locks with lock-none: torn pairs and lost increments are caught', async () => {
  const r = await run({ scenario: 'sync-locks', writers: '2', bug: 'lock-none', duration: '1s' });
  assert.equal(r.verdict, 'FAIL');
  assert.ok(r.violationsByKind['lost-update'] > 0, JSON.stringify(r.violationsByKind));
  assert.ok(r.violationsByKind['sync-broken'] > 0);
});
