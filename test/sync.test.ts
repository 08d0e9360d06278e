// The synchronization primitives under stress, with witnesses that fail when the guarantee
// does not hold (the bug switches that prove the witnesses can fail, and the windows that
// show the readers really overlapped the updates, are asserted under explore in
// scenarios.test.ts: deterministic on any machine).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { scenarioById } from '../src/scenarios/index.js';
import { describeRun, run } from './helpers.js';

const witness = scenarioById('sync-witness')!;

for (const strategy of witness.strategies) {
  test(`sync-witness under ${strategy}: no object is freed while a reader that found it is inside`, async () => {
    const r = await run({ scenario: 'sync-witness', strategy, ops: '20000' });
    assert.equal(r.verdict, 'PASS', describeRun(r));
    assert.ok(r.reader.ops >= 20000 && r.writer.ops > 0, describeRun(r));
    // the strategy's own machinery ran, and (rcu) every callback ran by the end
    const s = r.sync;
    if (strategy === 'ipi') assert.ok(s.ipiSent > 0 && s.ipiWaitNs.count > 0, JSON.stringify(s));
    if (strategy === 'rcu') assert.ok(s.callRcu > 0 && s.gracePeriods > 0 && s.callbacksRun === s.callRcu, JSON.stringify(s));
    if (strategy === 'rcu-sync') assert.ok(s.syncRcu > 0 && s.syncRcuNs.p50! > 0, JSON.stringify(s));
    if (strategy === 'rcu-exp') assert.ok(s.syncRcuExpedited > 0, JSON.stringify(s));
  });
}

test('sync-locks: spinlock, rwsem and seqcount hold under contention (2 writers, 2 readers)', async () => {
  const r = await run({ scenario: 'sync-locks', readers: '2', writers: '2', ops: '20000' });
  assert.equal(r.verdict, 'PASS', describeRun(r));
  assert.ok(r.writer.outcomes['locked-increment'].count > 0, describeRun(r));
  assert.ok(r.reader.outcomes['seqcount-read'].count > 0, describeRun(r));
});
