import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BadInput, parseDuration, resolveRunConfig } from '../harness/run/config.js';

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

test('sizes the layout cannot hold are refused with the allowed range, never run', () => {
  const refused: [object, RegExp][] = [
    // the report of issue 9: 20 VMAs in an mm of 16 slots ran and reported FAIL
    [{ scenario: 'thp-collapse', param: ['pmds=20'] }, /--param pmds must be an integer from 1 to 16 for thp-collapse \(got 20\)/],
    [{ scenario: 'thp-collapse', param: ['pmds=0'] }, /from 1 to 16/],
    [{ scenario: 'ksm-merge', param: ['pages=3000'] }, /--param pages must be an integer from 1 to 2048 for ksm-merge with --frames 4096/],
    [{ scenario: 'munmap-free', param: ['nr=65'] }, /from 1 to 64/],
    [{ scenario: 'pfnmap-special', param: ['pte_special=2'] }, /from 0 to 1/],
    [{ scenario: 'munmap-free', param: ['pmds=64'] }, /cannot boot .*--frames must be at least \d+ .*or --param pmds from 1 to \d+ with --frames 8192/],
    [{ scenario: 'munmap-free', frames: '100' }, /cannot boot with --frames 100.*--frames must be at least \d+/],
    [{ scenario: 'thp-collapse', writers: '2' }, /--writers must be an integer from 0 to 1 for thp-collapse/],
    [{ scenario: 'split-migration', writers: '2' }, /from 0 to 1/],
    [{ scenario: 's390-folding', writers: '2' }, /from 0 to 1/],
    [{ scenario: 'ksm-merge', readers: '40', writers: '9' }, /--readers must be an integer from 1 to 39 with --writers 9/],
    [{ scenario: 'ksm-merge', readers: '1', writers: '48' }, /--writers must be an integer from 0 to 47 with --readers 1 \(at most 48 CPUs/],
    // the range is the same whichever end is asked: it accounts for the writers from the start
    [{ scenario: 'ksm-merge', readers: '0' }, /--readers must be an integer from 1 to 47 with --writers 1/],
    [{ scenario: 'ksm-merge', readers: '48' }, /--readers must be an integer from 1 to 47 with --writers 1/],
    [{ scenario: 'ksm-merge', frames: '524288' }, /--frames must be an integer from 64 to/],
    [{ scenario: 'ksm-merge', huge: '9000' }, /--huge must be an integer from 0 to \d+ with --frames 4096/],
  ];
  for (const [args, re] of refused) assert.throws(() => resolveRunConfig({ seed: 1, ...args }), (e: Error) => e instanceof BadInput && re.test(e.message), `${JSON.stringify(args)}`);
  // and the ends of a range are accepted
  assert.equal(resolveRunConfig({ scenario: 'thp-collapse', param: ['pmds=16'], seed: 1 }).params.pmds, 16);
  assert.equal(resolveRunConfig({ scenario: 'sync-witness', writers: '40', seed: 1 }).writers, 40, 'the object pool is sized from --writers');
});
