import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BadInput, parseDuration, resolveRunConfig } from '../harness/config.js';

test('durations', () => {
  assert.equal(parseDuration('5s', 'x'), 5000);
  assert.equal(parseDuration('500ms', 'x'), 500);
  assert.equal(parseDuration('2m', 'x'), 120000);
  assert.equal(parseDuration('1.5', 'x'), 1500);
  assert.equal(parseDuration('2us', 'x', 'ns') * 1e6, 2000);
  assert.throws(() => parseDuration('banana', 'x'), BadInput);
  assert.throws(() => parseDuration('5 parsecs', 'x'), /unknown unit/);
});

test('run configuration: defaults from the scenario, and every kind of bad input', () => {
  const cfg = resolveRunConfig({ scenario: 'ksm-merge', seed: 1 });
  assert.equal(cfg.strategy, 'rcu');
  assert.equal(cfg.durationMs, 5000);
  assert.equal(cfg.widen['gup.pin-recheck'], 2000);
  assert.equal(cfg.params.pages, 16);
  const w = resolveRunConfig({ scenario: 'ksm-merge', widen: ['ksm.clear-check=10us'], param: ['pages=4'], ops: '100' });
  assert.equal(w.widen['ksm.clear-check'], 10000);
  assert.equal(w.params.pages, 4);
  assert.equal(w.durationMs, null);
  const bad: [object, RegExp][] = [
    [{ scenario: 'nope' }, /unknown scenario 'nope'/],
    [{ scenario: 'ksm-merge', bug: 'nope' }, /has no bug 'nope'/],
    [{ scenario: 'ksm-merge', readers: '0' }, /--readers/],
    [{ scenario: 'ksm-merge', duration: 'banana' }, /not a duration/],
    [{ scenario: 'ksm-merge', strategy: 'magic' }, /unknown strategy/],
    [{ scenario: 'sync-locks', strategy: 'rcu' }, /does not run under strategy rcu/],
    [{ scenario: 'ksm-merge', arch: 'vax' }, /unknown arch/],
    [{ scenario: 'ksm-merge', levels: '3' }, /4 or 5 levels/],
    [{ scenario: 'ksm-merge', widen: ['nowhere=1us'] }, /no window 'nowhere'/],
    [{ scenario: 'ksm-merge', jitter: '2' }, /probability/],
    [{ scenario: 'ksm-merge', duration: '1s', ops: '5' }, /not both/],
    [{ scenario: 'ksm-merge', param: ['pages'] }, /NAME=VALUE/],
    [{ scenario: 'fork-cow', writers: '2' }, /at most 1 writer/],
    [{ scenario: 'split-migration', arch: 'x86-64' }, /does not run on x86-64/],
  ];
  for (const [args, re] of bad) assert.throws(() => resolveRunConfig(args), (e: Error) => e instanceof BadInput && re.test(e.message), JSON.stringify(args));
  const warnings: string[] = [];
  resolveRunConfig({ scenario: 'ksm-merge', strategy: 'ipi', bug: 'gup-no-recheck' }, (m) => warnings.push(m));
  assert.match(warnings[0], /not expected to show under strategy ipi/);
});
