// Both sides of every race, each asserted in a way a busy machine cannot break:
// - under stress (real worker threads, the OS's timing), by operation counts, never by time:
//   a fixed form stays clean over its reader operations; a bug's run to its first violation
//   reports it (text and JSON) with one of the kinds it declares;
// - under explore (the controlled executor: deterministic, the same on any machine): a fixed
//   form explores clean and its paired windows really overlap; every bug is found.
// How often stress hits a race within a wall-clock depends on the OS giving the CPUs real
// parallelism: that is measured (the campaign, the README's detection table), not asserted.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { exploreToFile, resolveExplore } from '../harness/commands/explore.js';
import { buildResults, type RunResults } from '../harness/run/results.js';
import { formatSummary } from '../harness/output/summary.js';
import { resolveRunConfig } from '../harness/run/config.js';
import { runScenario } from '../harness/run/runner.js';
import { archByName } from '../src/arch/index.js';
import { SCENARIOS } from '../src/scenarios/index.js';
import { windowPairs } from '../src/scenarios/scenario.js';
import { WINDOWS } from '../src/check/windows.js';
import { describeRun, run, silent } from './helpers.js';

/** Reader operations of a fixed form's stress run: a bound of 3e-4 per op when clean (the
 *  campaign and --until-bound give tighter ones). */
const FIXED_OPS = '10000';
/** A bug's stress run stops at its first violation, or after this many reader operations
 *  (the slowest bug takes a few thousand, idle or loaded: the README's detection table). */
const BUG_OPS_CEILING = 3_000_000;
/** Executions of each fixed form's exploration, at least; and on (to MAX_FIXED_EXECUTIONS)
 *  until its paired windows have overlapped (thp-collapse's first overlap: execution 282). */
const FIXED_EXECUTIONS = 40;
const MAX_FIXED_EXECUTIONS = 1000;

for (const s of SCENARIOS.filter((x) => !x.selftest)) {
  for (const strategy of s.strategies) {
    test(`${s.id} under ${strategy}: the fixed protocol stays clean over ${FIXED_OPS} reader ops`, async () => {
      const r = await run({ scenario: s.id, strategy, ops: FIXED_OPS });
      assert.equal(r.verdict, 'PASS', describeRun(r));
      assert.ok(r.reader.ops >= Number(FIXED_OPS) && r.writer.ops > 0, describeRun(r));
      assert.ok(r.accounting && r.accounting.tablesReachable > 0, describeRun(r));
    });
  }
  for (const arch of s.arches.slice(1)) {
    for (const levels of archByName(arch).levelChoices) {
      test(`${s.id} on ${arch} (${levels} levels): the fixed protocol stays clean`, async () => {
        const r = await run({ scenario: s.id, arch, levels: String(levels), ops: '5000' });
        assert.equal(r.verdict, 'PASS', describeRun(r));
        assert.ok(r.reader.ops >= 5000, describeRun(r));
        assert.equal(r.config.arch, arch);
      });
    }
  }
}

// the fixed forms under control: clean, and (where the scenario pairs windows) the race was
// really run: a reader window overlapped its writer window in some execution
for (const s of SCENARIOS) {
  test(`${s.id}: every fixed form explores clean${windowPairs(s).some((w) => w.pairedWith) ? ', its paired windows overlapping' : ''} (controlled, deterministic)`, async () => {
    const { cfg, o } = resolveExplore({ scenario: s.id, seed: 1 });
    const { ControlledMachine } = await import('../harness/run/executor.js');
    const cm = new ControlledMachine(cfg, s);
    await cm.start();
    try {
      for (const strategy of s.strategies) {
        let steps = 0;
        const overlaps = new Array<number>(WINDOWS.size).fill(0);
        const paired = windowPairs(s).filter((w) => w.pairedWith);
        const overlapped = (): boolean => paired.length === 0 || paired.some((w) => overlaps[w.window.id] > 0);
        let seed = 1;
        for (; seed <= FIXED_EXECUTIONS || (!overlapped() && seed <= MAX_FIXED_EXECUTIONS); seed++) {
          const ex = await cm.execute(seed, o, { strategy });
          assert.deepEqual(ex.violations.map((v) => `${v.kind}: ${v.detail}`), [], `${s.id} ${strategy} seed ${seed}`);
          assert.equal(ex.aborted, null, `${s.id} ${strategy} seed ${seed}: ran to its end`);
          steps += ex.steps;
          ex.winOverlaps.forEach((n, i) => (overlaps[i] += n));
        }
        assert.ok(steps / (seed - 1) > 50, `${s.id} ${strategy}: real executions (${steps / (seed - 1)} steps each)`);
        const seen = paired.map((w) => `${w.window.name} x ${w.pairedWith!.name}: ${overlaps[w.window.id]}`);
        assert.ok(overlapped(), `${s.id} ${strategy}: no paired window overlapped in ${seed - 1} executions (${seen.join('; ')})`);
      }
    } finally {
      await cm.stop();
    }
  });
}

/** every (scenario, bug, strategy) the scenarios declare */
const BUG_CASES = SCENARIOS.flatMap((s) => Object.entries(s.bugs).flatMap(([name, bug]) => (bug.strategies ?? s.strategies).map((strategy) => ({ s, name, bug, strategy, expectKinds: bug.expectKinds.map((k) => k.name) }))));

for (const { s, name, bug, strategy, expectKinds } of BUG_CASES) {
  const rcu = bug.knobs?.['rcu.flavor'];
  test(`${s.id} under ${strategy} with ${name}: explore finds it with its defaults${bug.memory ? ` under --memory ${bug.memory[0]} --sched random` : ''} (${expectKinds.join(' / ')})`, async () => {
    // explore's defaults (10,000 executions at most), seed 1; no minimizing
    // (a missing barrier: under the first memory model that shows it)
    const { cfg, o, ...lim } = resolveExplore({ scenario: s.id, strategy, bug: name, rcu, seed: 1, memory: bug.memory?.[0], sched: bug.memory ? 'random' : undefined });
    const f = await exploreToFile(cfg, o, { ...lim, minimizeMs: 0 }, silent);
    assert.ok(f.failure, `not found in ${f.explore.runs} executions (${f.explore.seconds} s)`);
    assert.ok(expectKinds.includes(f.failure.violation.kind), `found ${f.failure.violation.kind}: ${f.failure.violation.detail}`);
    assert.ok(f.failure.interleaving.at(-1)!.includes(`VIOLATION ${f.failure.violation.kind}`));
  });
}

// through run (the stress executor): two at a time, most of a run is its workers starting
describe('every bug through run to its first violation', { concurrency: 2 }, () => {
  // (a missing barrier cannot show under stress: real Atomics are sequentially consistent)
  for (const { s, name, bug, strategy, expectKinds } of BUG_CASES.filter((c) => c.bug.memory === undefined)) {
    test(`${s.id} under ${strategy} with ${name}: run stops at its first violation and reports it, text and JSON`, async (t) => {
      const set = Object.entries(bug.knobs ?? {}).map(([k, v]) => `${k}=${v}`);
      const cfg = resolveRunConfig({ scenario: s.id, strategy, bug: name, set, ops: String(BUG_OPS_CEILING), stopOnViolation: true, seed: 42 });
      const r: RunResults = buildResults(await runScenario(cfg, { log: silent }));
      if (r.verdict === 'PASS' && bug.needsParallelism) {
        // declared: stress finds it only where two CPUs really run at once (the explore
        // test above finds it on any machine)
        t.diagnostic(`not caught in ${r.reader.ops} reader ops on this machine (${bug.needsParallelism}): ${describeRun(r)}`);
        return;
      }
      assert.equal(r.verdict, 'FAIL', describeRun(r));
      const kinds = Object.keys(r.violationsByKind);
      assert.ok(kinds.some((k) => expectKinds.includes(k)), `expected ${expectKinds.join(' or ')}: ${describeRun(r)}`);
      // the report: every violation's trace formatted from its events' declarations
      for (const v of r.violations) {
        for (const line of v.trace) assert.match(line, /^[A-Za-z_][^\n]*?( [a-z]+=(0x[0-9a-f]+|-?\d+))*$/, `${v.kind}: trace line '${line}'`);
        assert.doesNotMatch(v.trace.join('\n'), /undefined|NaN/);
      }
      const text = formatSummary(r, 'results/x.json');
      assert.match(text, /verdict FAIL/);
      assert.ok(text.includes(`${r.violations[0].kind} cpu${r.violations[0].cpu}`), text);
      if (r.violations[0].trace.length > 0) assert.ok(text.includes(r.violations[0].trace.at(-1)!), 'the trace is printed');
      const back = JSON.parse(JSON.stringify(r)) as RunResults;
      assert.deepEqual(back.violations, r.violations);
      assert.equal(back.verdict, 'FAIL');
    });
  }
});

for (const bug of ['free-without-rcu', 'detached-not-empty', 'lock-no-pmd-same']) {
  test(`retract-pgtable on s390 with ${bug}: caught where empty is 0x400`, async () => {
    const r = await run({ scenario: 'retract-pgtable', arch: 's390', levels: '3', bug, ops: String(BUG_OPS_CEILING), stopOnViolation: true });
    const expect = { 'free-without-rcu': 'pgtable-use-after-free', 'detached-not-empty': 'detached-nonempty', 'lock-no-pmd-same': 'lost-update' }[bug]!;
    assert.ok(r.violationsByKind[expect] > 0, describeRun(r));
  });
}

test('pfnmap-special: with pte_special both bugs are harmless', async () => {
  const r = await run({ scenario: 'pfnmap-special', param: ['pte_special=1'], bug: ['gupfast-without-pte-special', 'fault-insert-cow-pfnmap'], ops: '30000' });
  assert.equal(r.verdict, 'PASS', describeRun(r));
  assert.ok(r.reader.outcomes['walk-no-page'].count > 0, describeRun(r));
});

test('near misses are counted: the protocol saving a race is an outcome of its own (ksm-merge under control)', async () => {
  // under explore, deterministic: a reader whose re-check saw the pte change, or a merge that
  // found the page pinned, in some execution
  const { cfg, o } = resolveExplore({ scenario: 'ksm-merge', seed: 1 });
  const f = await exploreToFile(cfg, o, { runs: 300, durationMs: null, keepGoing: false, minimizeMs: 0 }, silent);
  assert.equal(f.failure, null);
  const { reader, writer } = f.explore.outcomes;
  const near = reader['fast-retry-pte-changed'] + writer['ksm-abort-pinned'];
  assert.ok(near > 0, `INTERESTING outcomes in 300 executions: ${JSON.stringify(f.explore.outcomes)}`);
});

test('more readers than cores still runs clean (time-shared CPUs) and stops on --ops', async () => {
  const r = await run({ scenario: 'munmap-free', readers: '3', writers: '2', ops: '30000' });
  assert.equal(r.verdict, 'PASS', describeRun(r));
  assert.ok(r.reader.ops >= 30000 && r.reader.ops < 30100, describeRun(r));
  assert.equal(r.reader.cpus, 3);
});

test('workers also start from the TypeScript sources, through the tsx shim (stress and controlled)', async () => {
  const before = process.env.GUPSTRESS_COMPILED_WORKERS;
  process.env.GUPSTRESS_COMPILED_WORKERS = '0';
  try {
    const r = await run({ scenario: 'sync-locks', ops: '2000' });
    assert.equal(r.verdict, 'PASS', describeRun(r));
    assert.ok(r.reader.ops > 0 && r.writer.ops > 0, describeRun(r));
    const { ControlledMachine } = await import('../harness/run/executor.js');
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
