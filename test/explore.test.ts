// The controlled executor: one CPU at a time, the next chosen by a seeded scheduler at every
// shared access. Same seed, same schedule, same result; a failing schedule replays.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ControlledMachine, type ExploreOptions } from '../harness/run/executor.js';
import { resolveExplore, scheduleFromRuns, scheduleRuns } from '../harness/commands/explore.js';
import { pctBound } from '../src/machine/controlled.js';
import { SCENARIOS, scenarioById } from '../src/scenarios/index.js';
import type { Scenario } from '../src/scenarios/scenario.js';
import type { RunConfig } from '../harness/run/machine.js';
import { tmpOut, gupstress } from './helpers.js';

process.env.GUPSTRESS_COMPILED_WORKERS = '1';

async function twice(sched: 'random' | 'pct', bug: string[]): Promise<void> {
  const { cfg, o } = resolveExplore({ scenario: 'sync-locks', bug, sched, seed: 5 });
  const cm = new ControlledMachine(cfg, scenarioById('sync-locks')!);
  await cm.start();
  try {
    const runs = new Map<number, Awaited<ReturnType<typeof cm.execute>>>();
    for (const seed of [11, 12, 13]) {
      const a = await cm.execute(seed, o);
      const b = await cm.execute(seed, o);
      runs.set(seed, a);
      assert.equal(a.aborted, null);
      assert.ok(a.steps > 50, `${sched}: a real execution (${a.steps} steps)`);
      assert.deepEqual(Array.from(a.schedule), Array.from(b.schedule), `${sched} seed ${seed}: the same schedule twice`);
      assert.deepEqual(a.violations.map((v) => [v.kind, v.cpu, v.detail, v.timeMs]), b.violations.map((v) => [v.kind, v.cpu, v.detail, v.timeMs]));
      assert.deepEqual(a.trace, b.trace);
    }
    const other = await cm.execute(99, o);
    const first = await cm.execute(11, o);
    assert.notDeepEqual(Array.from(other.schedule), Array.from(first.schedule), 'another seed, another schedule');
    // every execution boots on the memory and control block of the one before (explore's
    // memory): seed 11 again, after 12, 13 and 99, is the seed-11 execution of the start
    const start = runs.get(11)!;
    assert.deepEqual(Array.from(first.schedule), Array.from(start.schedule), `${sched}: seed 11 after other executions: the same schedule`);
    assert.deepEqual(Array.from(first.jumps), Array.from(start.jumps));
    assert.deepEqual(first.trace, start.trace);
    assert.deepEqual(first.violations.map((v) => [v.kind, v.detail]), start.violations.map((v) => [v.kind, v.detail]));
  } finally {
    await cm.stop();
  }
}

test('the executor is deterministic: same seed, same schedule, same violations, twice (random and pct)', async () => {
  await twice('random', []);
  await twice('pct', ['lock-none']);
});

test('a recorded schedule replays exactly, clock jumps included; a schedule that cannot run is detected', async () => {
  const { cfg, o } = resolveExplore({ scenario: 'sync-locks', bug: 'lock-none', seed: 5 });
  const cm = new ControlledMachine(cfg, scenarioById('sync-locks')!);
  await cm.start();
  try {
    const replay: ExploreOptions = { ...o, sched: 'replay', maxPreemptions: -1 };
    let jumped = 0;
    for (const seed of [20, 21, 22, 23]) {
      // pct: a CPU preempted at a change point sleeps, and the clock jumps when nobody can run
      const rec = await cm.execute(seed, o);
      jumped += rec.jumps.length;
      const again = await cm.execute(seed, replay, { replay: { schedule: rec.schedule, jumps: rec.jumps } });
      assert.equal(again.diverged, -1, `seed ${seed}`);
      assert.deepEqual(Array.from(again.schedule), Array.from(rec.schedule));
      assert.deepEqual(Array.from(again.jumps), Array.from(rec.jumps));
      assert.deepEqual(again.violations.map((v) => v.detail), rec.violations.map((v) => v.detail));
      assert.deepEqual(scheduleFromRuns(scheduleRuns(rec.schedule)), rec.schedule, 'the run-length form round-trips');
    }
    assert.ok(jumped > 0, 'some execution made the clock jump');
    const rec = await cm.execute(21, o);
    // CPU 3 (the gp worker, asleep on its doorbell) asked to run first: a schedule from another model
    const bad = await cm.execute(21, replay, { replay: { schedule: Int8Array.from([3, 3, 3, 3, ...rec.schedule]), jumps: [] } });
    assert.ok(bad.diverged >= 0, 'the replay notices that the recorded CPU cannot run');
    // an edited schedule (minimizing) runs it at its deadline instead, and gets further
    const edited = await cm.execute(21, replay, { replay: { schedule: Int8Array.from([3, 3, 3, 3, ...rec.schedule]), jumps: [], lenient: true } });
    assert.ok(edited.diverged === -1 || edited.diverged > bad.diverged, `${edited.diverged} vs ${bad.diverged}`);
  } finally {
    await cm.stop();
  }
});

test('the preemption bound: with --max-preemptions 0 no CPU is switched away from while it can go on', async () => {
  const { cfg, o } = resolveExplore({ scenario: 'sync-locks', sched: 'random', maxPreemptions: 0, seed: 5 });
  const cm = new ControlledMachine(cfg, scenarioById('sync-locks')!);
  await cm.start();
  try {
    for (const seed of [1, 2, 3]) {
      const bounded = await cm.execute(seed, o);
      const free = await cm.execute(seed, { ...o, maxPreemptions: -1 });
      assert.equal(bounded.preemptions, 0);
      assert.ok(free.preemptions > 0, 'random switches at will without the bound');
      assert.ok(scheduleRuns(bounded.schedule).length < scheduleRuns(free.schedule).length);
    }
  } finally {
    await cm.stop();
  }
});

test('explore finds a bug switch under pct without widening, minimizes it, and replay reproduces it every time', () => {
  const out = tmpOut();
  const r = gupstress('explore', '--scenario', 'sync-locks', '--bug', 'lock-none', '--runs', '500', '--seed', '3', '--minimize', '2s', '--out', out);
  assert.equal(r.status, 1, r.stderr + r.stdout);
  assert.match(r.stdout, /FAIL at run \d+/);
  assert.match(r.stdout, /schedule minimized: \d+ -> \d+ steps/);
  const file = join(out, readdirSync(out).find((f) => f.startsWith('explore.'))!);
  const f = JSON.parse(readFileSync(file, 'utf8'));
  assert.equal(f.schema, 'gupstress/explore@1');
  assert.ok(f.failure.stepsAfter <= f.failure.stepsBefore && f.failure.switchesAfter <= f.failure.switchesBefore);
  assert.ok(f.failure.interleaving.at(-1).includes('VIOLATION'), 'the interleaving ends at the violation');
  // no cell of the diagram is ever cut: each event's text is whole in it, however wide
  const drawn = f.failure.interleaving.join('\n');
  for (const e of f.failure.events) assert.ok(drawn.includes(e.text), `${e.text} is whole in the diagram`);
  assert.doesNotMatch(drawn, /~\s/);
  for (let i = 0; i < 3; i++) {
    const p = gupstress('replay', file, '--json');
    assert.equal(p.status, 1, p.stderr);
    assert.equal(JSON.parse(p.stdout).reproduced, true);
  }
  // --width 16: a narrow column wraps a longer cell onto the next lines, still never cut
  const narrow = gupstress('replay', file, '--width', '16');
  assert.equal(narrow.status, 1, narrow.stderr);
  const rows = narrow.stdout.split('\n').filter((l) => /^ {0,5}\d+  |^ {8}\S/.test(l));
  assert.ok(rows.length > f.failure.events.length, 'longer cells wrapped');
  const cpus = (narrow.stdout.split('\n')[1].match(/cpu\d+ \(/g) ?? []).length;
  assert.ok(cpus >= 3);
  assert.ok(narrow.stdout.split('\n').slice(1).every((l) => l.length <= 8 + cpus * 17 || l.includes('left out')), narrow.stdout);
  assert.equal(gupstress('replay', file, '--width', '3').status, 2);
  // a schedule recorded by another build is refused, not replayed into something else
  writeFileSync(file, JSON.stringify({ ...f, build: '0000000000000000' }));
  const old = gupstress('replay', file);
  assert.equal(old.status, 2);
  assert.match(old.stderr, /recorded by another build/);
});

test('a fixed form explores clean; the PCT bound is printed', () => {
  const out = tmpOut();
  const r = gupstress('explore', '--scenario', 'ksm-merge', '--runs', '40', '--seed', '1', '--out', out);
  assert.equal(r.status, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /40 executions \(\d+ distinct schedules\)/);
  assert.match(r.stdout, /PCT guarantee per run .* >= 1\/\(n\*k\^\(d-1\)\) = /);
  assert.equal(pctBound(3, 100, 3), 1 / (3 * 100 * 100));
});

test('explore and replay: bad input is exit 2 with one line', () => {
  const notExplore = join(tmpOut(), 'x.json');
  writeFileSync(notExplore, '{"schema":"gupstress/run@1"}');
  for (const args of [
    ['explore', '--scenario', 'ksm-merge', '--sched', 'nope'],
    ['explore', '--scenario', 'ksm-merge', '--depth', '99'],
    ['explore', '--scenario', 'ksm-merge', '--runs', '5', '--duration', '1s'],
    ['explore', '--scenario', 'ksm-merge', '--readers', '20'],
    ['replay', notExplore],
    ['replay', '/nonexistent/file.json'],
  ]) {
    const r = gupstress(...args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.status} ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
});

test('campaign --explore: the bug under control, executions to its violation, replay verified; the report draws the interleaving', () => {
  const out = tmpOut();
  const r = gupstress('campaign', '--scenario', 'sync-locks', '--explore', '4s', '--bug-timeout', '5s', '--duration', '300ms', '--json', '--out', out);
  assert.equal(r.status, 0, r.stderr);
  const row = JSON.parse(r.stdout).rows.find((x: { bug: string | null }) => x.bug === 'lock-none');
  assert.equal(row.explore.found, true, JSON.stringify(row.explore));
  assert.equal(row.explore.replayVerified, true);
  assert.equal(row.explore.replays, 10, 'the minimized schedule replays to the same violation 10 times out of 10');
  assert.ok(row.explore.steps[1] <= row.explore.steps[0]);
  assert.ok(row.explore.executions >= 1);
  // an explore file in the HTML report: an SVG sequence chart, a row per traced step
  const ex = join(tmpOut(), 'ex');
  assert.equal(gupstress('explore', '--scenario', 'retract-pgtable', '--bug', 'free-without-rcu', '--seed', '1', '--minimize', '1s', '--out', ex).status, 1);
  const file = join(ex, readdirSync(ex).find((f) => f.startsWith('explore.'))!);
  const rep = gupstress('report', file, '--html', join(ex, 'r.html'));
  assert.equal(rep.status, 0, rep.stderr);
  const html = readFileSync(join(ex, 'r.html'), 'utf8');
  assert.match(html, /<svg id="seq-retract-pgtable" class="sequence"/);
  assert.ok((html.match(/class="event" data-step="\d+" data-cpu="\d"/g) ?? []).length >= 2, 'traced steps drawn');
  assert.match(html, /class="violation" data-step="\d+" data-cpu="0"/);
});

/** The two controlled executors on one configuration, started for `f` and stopped after it. */
async function bothExecutors(cfg: RunConfig, s: Scenario, f: (seq: ControlledMachine, wrk: ControlledMachine) => Promise<void>): Promise<void> {
  const seq = new ControlledMachine(cfg, s, 'sequential');
  const wrk = new ControlledMachine(cfg, s, 'workers');
  await seq.start();
  await wrk.start();
  try {
    await f(seq, wrk);
  } finally {
    await seq.stop();
    await wrk.stop();
  }
}

test('the two executors are one: every scenario, same seed, same schedule, same violations, same trace (sequential generators against worker threads)', async () => {
  for (const s of SCENARIOS) {
    const bug = Object.keys(s.bugs)[0];
    const { cfg, o } = resolveExplore({ scenario: s.id, seed: 1 });
    await bothExecutors(cfg, s, async (seq, wrk) => {
      for (const [seed, bugs] of [[1, []], [2, []], [3, bug ? [bug] : []], [4, bug ? [bug] : []]] as [number, string[]][]) {
        const a = await seq.execute(seed, o, { bugs });
        const b = await wrk.execute(seed, o, { bugs });
        const what = `${s.id} seed ${seed} ${bugs.join(',') || 'fixed'}`;
        assert.deepEqual(Array.from(a.schedule), Array.from(b.schedule), `${what}: the same schedule`);
        assert.deepEqual(Array.from(a.jumps), Array.from(b.jumps), what);
        assert.deepEqual(a.violations, b.violations, `${what}: the same violations`);
        assert.deepEqual(a.trace, b.trace, `${what}: the same trace`);
        assert.deepEqual(a.outcomes, b.outcomes, what);
        assert.equal(a.aborted, b.aborted, what);
      }
      // a schedule recorded on one replays on the other
      const rec = await seq.execute(5, o);
      const again = await wrk.execute(5, { ...o, sched: 'replay', maxPreemptions: -1 }, { replay: { schedule: rec.schedule, jumps: rec.jumps } });
      assert.equal(again.diverged, -1, `${s.id}: the sequential executor's schedule replays on the workers`);
      assert.deepEqual(again.trace, rec.trace);
    });
  }
});

test('the two executors agree over a long sequence of executions (retract-pgtable under ipi: IPIs posted while a worker builds its CPU)', async () => {
  const s = scenarioById('retract-pgtable')!;
  const { cfg, o } = resolveExplore({ scenario: s.id, seed: 1 });
  await bothExecutors(cfg, s, async (seq, wrk) => {
    for (const bugs of [['free-without-rcu'], [], ['gup-no-pmd-recheck']]) {
      for (let seed = 1; seed <= 30; seed++) {
        const a = await seq.execute(seed, o, { strategy: 'ipi', bugs });
        const b = await wrk.execute(seed, o, { strategy: 'ipi', bugs });
        assert.deepEqual([a.steps, a.violations], [b.steps, b.violations], `ipi ${bugs.join(',') || 'fixed'} seed ${seed}`);
      }
    }
  });
});

test('an execution does not depend on the one before it: a machine restored block by block is the booted one (thp-collapse gives back deposited tables at its end)', async () => {
  const x = resolveExplore({ scenario: 'thp-collapse', seed: 11, param: ['pmds=16'] });
  const s = scenarioById('thp-collapse')!;
  await bothExecutors(x.cfg, s, async (seq, wrk) => {
    const fresh = await wrk.execute(1, x.o);
    for (const seed of [2, 1, 3, 1]) {
      const a = await seq.execute(seed, x.o);
      const b = await wrk.execute(seed, x.o);
      assert.deepEqual([a.steps, a.violations], [b.steps, b.violations], `seed ${seed}`);
      if (seed === 1) assert.deepEqual(Array.from(a.schedule), Array.from(fresh.schedule), 'seed 1 after others: the seed-1 execution of a fresh machine');
    }
  });
});

test('a schedule file recorded by an earlier build is refused: exit 2, one line, nothing replayed into another model', () => {
  const r = gupstress('replay', join(import.meta.dirname, 'fixtures', 'explore-before-sequential-executor.json'));
  assert.equal(r.status, 2, r.stdout + r.stderr);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr.trim(), /^gupstress: .* was recorded by another build \([0-9a-f]{16}, this one is [0-9a-f]{16}\): its schedule does not apply$/);
});

test('preemptions: by default up to twice the longest latency the model declares, drawn log-uniformly (a few steps as often as a tick)', async () => {
  const { preemptDefaultNs } = await import('../harness/commands/explore.js');
  const { preemptSteps } = await import('../src/machine/controlled.js');
  assert.equal(preemptDefaultNs(resolveExplore({ scenario: 'munmap-free', seed: 1 }).cfg), 500_000, 'rcu.tick 250us: 500us');
  assert.equal(preemptDefaultNs(resolveExplore({ scenario: 'munmap-free', seed: 1, rcuTick: '2ms' }).cfg), 4_000_000, 'a coarser tick, longer preemptions');
  const { o } = resolveExplore({ scenario: 'munmap-free', seed: 1, preempt: '50us' });
  assert.equal(o.preemptNs, 50_000, '--preempt still wins');
  // the distribution: a control block's PRNG words, 20,000 draws up to 50,000 steps
  const k = new Int32Array(64);
  k.set([0x1234567, 0x89abcdef, 0x2468ace, 0x13579bd], 16);
  const draws = Array.from({ length: 20_000 }, () => preemptSteps(k, 50_000));
  const share = (lo: number, hi: number): number => draws.filter((d) => d >= lo && d < hi).length / draws.length;
  assert.ok(draws.every((d) => d >= 0 && d <= 50_000));
  assert.ok(share(1, 16) > 0.15, `short preemptions (a race between two accesses): ${share(1, 16)}`);
  assert.ok(share(25_000, 50_001) > 0.04, `preemptions across a grace-period poll: ${share(25_000, 50_001)}`);
});

test('explore --exhaustive: the fixed form exhausted within the bound (a proof for the instance), a bug found and replayed, counts in the file', () => {
  const out = tmpOut();
  const clean = gupstress('explore', '--scenario', 'sync-locks', '--exhaustive', '--max-preemptions', '1', '--seed', '1', '--json', '--out', out);
  assert.equal(clean.status, 0, clean.stderr);
  const f = JSON.parse(clean.stdout);
  assert.equal(f.exhaustive.complete, true, JSON.stringify(f.exhaustive));
  assert.equal(f.exhaustive.maxPreemptions, 1);
  assert.ok(f.exhaustive.schedules > 1 && f.exhaustive.instances[0].races > 0, JSON.stringify(f.exhaustive));
  assert.equal(f.failure, null);
  const text = gupstress('explore', '--scenario', 'sync-locks', '--exhaustive', '--max-preemptions', '1', '--seed', '1', '--out', out);
  assert.match(text.stdout, /^all \d+ schedules explored \(up to 1 preemptions\) of the instance, seed 1: no violation$/m);
  // a bug: found, minimized, and its schedule replays
  const bug = gupstress('explore', '--scenario', 'sync-locks', '--bug', 'lock-none', '--exhaustive', '--seed', '1', '--minimize', '1s', '--out', out);
  assert.equal(bug.status, 1, bug.stderr + bug.stdout);
  assert.match(bug.stdout, /FAIL at run \d+ \(seed 1\): (lost-update|sync-broken)/);
  const file = join(out, readdirSync(out).find((x) => x.includes('lock-none'))!);
  const r = gupstress('replay', file, '--json');
  assert.equal(r.status, 1, r.stderr);
  assert.equal(JSON.parse(r.stdout).reproduced, true);
  // a budget cuts it short, and it says so: no proof
  const cut = gupstress('explore', '--scenario', 'sync-locks', '--exhaustive', '--max-preemptions', '3', '--runs', '50', '--seed', '1', '--out', out);
  assert.equal(cut.status, 0, cut.stderr);
  assert.match(cut.stdout, /not exhausted at 3 preemptions \(cut by runs\): no proof/);
  // bad input
  for (const args of [['--exhaustive', '--sched', 'pct'], ['--instances', '2']]) {
    const b = gupstress('explore', '--scenario', 'sync-locks', ...args);
    assert.equal(b.status, 2, `${args.join(' ')}: ${b.stderr}`);
  }
});

test('explore --exhaustive over instances: a race the first seed does not hold is found in a later one (ksm-merge, ksm-check-before-clear)', () => {
  const out = tmpOut();
  const r = gupstress('explore', '--scenario', 'ksm-merge', '--bug', 'ksm-check-before-clear', '--exhaustive', '--instances', '50', '--seed', '1', '--minimize', '0', '--json', '--out', out);
  assert.equal(r.status, 1, r.stderr);
  const f = JSON.parse(r.stdout);
  assert.ok(['lost-dma-write', 'pin-not-mapped'].includes(f.failure.violation.kind), f.failure.violation.kind);
  // Iterative bounding: every instance was exhausted at each bound below the failing one's, and
  // the instances before it at its bound too, without a violation.
  type Inst = { seed: number; bound: number; complete: boolean };
  const insts: Inst[] = f.exhaustive.instances;
  const failing = insts.find((i) => !i.complete) ?? insts[insts.length - 1];
  assert.ok(failing.seed > 1, `the first seed holds no such race at any bound: failed at seed ${failing.seed}`);
  assert.equal(insts.length, 50);
  for (const i of insts) {
    if (i === failing) continue;
    assert.ok(i.complete, `seed ${i.seed} exhausted`);
    assert.equal(i.bound, i.seed < failing.seed ? failing.bound : failing.bound - 1, `seed ${i.seed}'s bound`);
  }
});

/** explore --exhaustive at K=2 of retract-pgtable's smallest instance with a bug (the lockless
 *  reader and khugepaged), one seed: it must find `kind`. Returns the explore file's JSON. */
function exhaustRetract(bug: string, seed: number, kind: string, out: string): { failure: { violation: { kind: string } }; exhaustive: { instances: { bound: number }[] } } {
  const r = gupstress('explore', '--scenario', 'retract-pgtable', '--bug', bug, '--readers', '1', '--writers', '1', '--exhaustive', '--seed', String(seed), '--max-preemptions', '2', '--minimize', '0', '--json', '--out', out);
  assert.equal(r.status, 1, `not found: ${r.stdout.slice(0, 400)} ${r.stderr}`);
  const f = JSON.parse(r.stdout);
  assert.equal(f.failure.violation.kind, kind);
  return f;
}

test("explore --exhaustive: the checker's reads take part in the orders explored (retract-pgtable detached-not-empty, found at K=2 where PCT finds it; the instance was reported clean when a check between two scheduling points was invisible to the reduction)", () => {
  // The reader's oracle reads PG_TABLE_DETACHED (a peek) after its window point and before its
  // pte load: the writer's retract must be tried between the point and the check, a schedule
  // that differs from its neighbour only in where a step without a memory access sits.
  const f = exhaustRetract('detached-not-empty', 2070604764, 'detached-nonempty', tmpOut());
  assert.ok(f.exhaustive.instances[0].bound <= 2);
});

test('explore --exhaustive: a bug whose race needs two writer operations declares it, and its instance has them (thp-collapse collapse-no-ipi; the fixed form keeps one)', () => {
  const out = tmpOut();
  const bug = gupstress('explore', '--scenario', 'thp-collapse', '--bug', 'collapse-no-ipi', '--exhaustive', '--seed', '1', '--minimize', '0', '--json', '--out', out);
  assert.equal(bug.status, 1, `not found: ${bug.stdout.slice(0, 400)} ${bug.stderr}`);
  const f = JSON.parse(bug.stdout);
  assert.equal(f.failure.violation.kind, 'pgtable-use-after-free');
  assert.equal(f.explore.writerOps, 2);
  // with one writer operation the race is not in the instance: every schedule is clean
  const one = gupstress('explore', '--scenario', 'thp-collapse', '--bug', 'collapse-no-ipi', '--exhaustive', '--writer-ops', '1', '--seed', '1', '--json', '--out', out);
  assert.equal(one.status, 0, one.stderr);
  assert.equal(JSON.parse(one.stdout).exhaustive.complete, true);
});

test('explore --exhaustive: time passes while a CPU is preempted (a long preemption is a choice), so a grace period can end under a reader that could run (retract-pgtable pte-unmap-early at K=2, replayed)', () => {
  // The reader leaves its RCU read-side section before its last read of the table; the table
  // is freed only after a grace period, which ends at the grace-period worker's tick. With
  // preemptions that take no time the reader, able to run, held the clock back: clean.
  const out = tmpOut();
  exhaustRetract('pte-unmap-early', 2, 'pgtable-use-after-free', out);
  const path = join(out, readdirSync(out).find((n) => n.startsWith('explore.retract-pgtable'))!);
  const rp = gupstress('replay', path);
  assert.equal(rp.status, 1, rp.stderr);
  assert.match(rp.stdout, /reproduced: pgtable-use-after-free/);
});
