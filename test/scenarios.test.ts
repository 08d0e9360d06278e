// Both sides of every race: the fixed protocol stays clean over a real run (and the race
// was really exercised: overlaps and near misses), and every bug switch is detected.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { archByName } from '../src/arch/index.js';
import { SCENARIOS } from '../src/scenarios/index.js';
import { windowPairs } from '../src/scenarios/scenario.js';
import { run } from './helpers.js';

for (const s of SCENARIOS.filter((x) => !x.selftest)) {
  for (const strategy of s.strategies) {
    test(`${s.id} under ${strategy}: the fixed protocol stays clean`, async () => {
      // until 100 paired-window overlaps (a 95% bound under 3e-2 per overlap), at most 3 s; a
      // race hit too rarely for any bound by then (thp-collapse overlaps 5-10 times a second, a
      // loaded machine less) gets 6 s more
      // (a scenario that pairs no window is judged per reader op: 20,000 of them, a bound of 1.5e-4)
      const unpaired = windowPairs(s).every((x) => x.pairedWith === null);
      let r = await run(unpaired ? { scenario: s.id, strategy, ops: '20000' } : { scenario: s.id, strategy, duration: '3s', untilBound: '3e-2' });
      const thin = (x: typeof r): boolean => Object.values(x.windows).some((w) => w.overlaps !== null) && (x.bound === null || x.bound >= 1);
      if (r.verdict === 'PASS' && thin(r)) r = await run({ scenario: s.id, strategy, duration: '6s', untilBound: '3e-2' });
      assert.equal(r.verdict, 'PASS', JSON.stringify(r.violations.slice(0, 2), null, 1));
      // real work: a thousand reader ops, or the 100 overlaps --until-bound asked for (a race
      // hit that often can get them sooner: madv-dontneed under ipi in 896 ops)
      assert.ok((r.reader.ops > 1000 || r.untilBound?.reached === true) && r.writer.ops > 10, `ops ${r.reader.ops}/${r.writer.ops}`);
      const paired = Object.values(r.windows).filter((w) => w.overlaps !== null);
      if (paired.length > 0) {
        assert.ok(paired.some((w) => w.overlaps! > 0), 'the reader and writer windows overlapped');
        assert.ok(r.bound !== null && r.bound < 1);
      } else {
        assert.ok(r.boundBasis !== null && r.boundBasis.perReaderOp! < 1e-3, 'clean over enough reader operations');
      }
      assert.ok(r.accounting && r.accounting.tablesReachable > 0);
    });
  }
  for (const arch of s.arches.slice(1)) {
    for (const levels of archByName(arch).levelChoices) {
      test(`${s.id} on ${arch} (${levels} levels): the fixed protocol stays clean`, async () => {
        const r = await run({ scenario: s.id, arch, levels: String(levels), duration: '600ms' });
        assert.equal(r.verdict, 'PASS', JSON.stringify(r.violations.slice(0, 2), null, 1));
        assert.ok(r.reader.ops > 1000, `reader ops ${r.reader.ops}`);
        assert.equal(r.config.arch, arch);
      });
    }
  }
  for (const [name, bug] of Object.entries(s.bugs)) {
    const expectKinds = bug.expectKinds.map((k) => k.name);
    for (const strategy of bug.strategies ?? s.strategies) {
      test(`${s.id} under ${strategy} with ${name}: caught as ${expectKinds.join(' / ')}`, async () => {
        const set = Object.entries(bug.knobs ?? {}).map(([k, v]) => `${k}=${v}`);
        const r = await run({ scenario: s.id, strategy, bug: name, set, duration: '20s', stopOnViolation: true });
        assert.ok(r.firstViolationMs !== null && r.firstViolationMs < 20000);
        assert.equal(r.verdict, 'FAIL');
        const kinds = Object.keys(r.violationsByKind);
        assert.ok(kinds.some((k) => expectKinds.includes(k)), `got ${kinds.join(',')}`);
        assert.ok(r.violations[0].trace.length > 0, 'a violation carries the CPU trace');
      });
    }
  }
}

for (const bug of ['free-without-rcu', 'detached-not-empty', 'lock-no-pmd-same']) {
  test(`retract-pgtable on s390 with ${bug}: caught where empty is 0x400`, async () => {
    const r = await run({ scenario: 'retract-pgtable', arch: 's390', levels: '3', bug, duration: '20s', stopOnViolation: true });
    assert.equal(r.verdict, 'FAIL');
    const expect = { 'free-without-rcu': 'pgtable-use-after-free', 'detached-not-empty': 'detached-nonempty', 'lock-no-pmd-same': 'lost-update' }[bug]!;
    assert.ok(r.violationsByKind[expect] > 0, JSON.stringify(r.violationsByKind));
  });
}

test('pfnmap-special: with pte_special both bugs are harmless', async () => {
  const r = await run({ scenario: 'pfnmap-special', param: ['pte_special=1'], bug: ['gupfast-without-pte-special', 'fault-insert-cow-pfnmap'], duration: '1.5s' });
  assert.equal(r.verdict, 'PASS', JSON.stringify(r.violations.slice(0, 2)));
  assert.ok(r.reader.outcomes['walk-no-page'].count > 0);
});

test('near misses are counted: a clean ksm-merge run hit the race and the protocol saved it', async () => {
  const r = await run({ scenario: 'ksm-merge', duration: '2s' });
  const near = r.reader.outcomes['fast-retry-pte-changed'].count + r.writer.outcomes['ksm-abort-pinned'].count;
  assert.ok(near > 0, 'INTERESTING outcomes seen');
  assert.equal(r.reader.outcomes['lost-dma-write'].count, 0);
});

test('more readers than cores still runs clean (time-shared CPUs) and stops on --ops', async () => {
  const r = await run({ scenario: 'munmap-free', readers: '3', writers: '2', ops: '30000' });
  assert.equal(r.verdict, 'PASS');
  assert.ok(r.reader.ops >= 30000 && r.reader.ops < 30100, `ops ${r.reader.ops}`);
  assert.equal(r.reader.cpus, 3);
});

test('workers also start from the TypeScript sources, through the tsx shim (stress and controlled)', async () => {
  const before = process.env.GUPSTRESS_COMPILED_WORKERS;
  process.env.GUPSTRESS_COMPILED_WORKERS = '0';
  try {
    const r = await run({ scenario: 'sync-locks', duration: '300ms' });
    assert.equal(r.verdict, 'PASS');
    assert.ok(r.reader.ops > 0 && r.writer.ops > 0);
    const { ControlledMachine, resolveExplore } = await import('../harness/explore.js');
    const { scenarioById } = await import('../src/scenarios/index.js');
    const { cfg, o } = resolveExplore({ scenario: 'sync-locks', seed: 1 });
    const cm = new ControlledMachine(cfg, scenarioById('sync-locks')!);
    await cm.start();
    try {
      const ex = await cm.execute(1, o);
      assert.equal(ex.aborted, null);
      assert.ok(ex.steps > 50);
    } finally {
      await cm.stop();
    }
  } finally {
    process.env.GUPSTRESS_COMPILED_WORKERS = before;
  }
});
