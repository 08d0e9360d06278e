// The tuning knobs: declared with ranges, set per run and swept; a fixed form stays clean at
// each end of every range, and a value outside one is refused.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { KNOBS, formatKnob } from '../src/machine/knobs.js';
import { describeRun, exploreSummary, run, tmpOut, gupstress } from './helpers.js';


test('every knob at its min and its max: munmap-free stays clean (under ipi for the IPI knob, rcu for the others), explored and under stress', async () => {
  assert.ok(KNOBS.size >= 4);
  for (const k of KNOBS.all) {
    for (const v of [k.min, k.max]) {
      const strategy = k.name.startsWith('ipi.') ? 'ipi' : 'rcu';
      const set = [`${k.name}=${formatKnob(k, v)}`];
      // 30 controlled executions (deterministic, every interleaving the scheduler draws)
      const x = await exploreSummary({ scenario: 'munmap-free', strategy, set }, 30);
      assert.deepEqual(x.kinds, {}, `${k.name}=${v} under ${strategy}, explored: ${JSON.stringify(x.details.slice(0, 2))}`);
      // and the stress executor over reader operations
      const r = await run({ scenario: 'munmap-free', strategy, ops: '1000', set });
      assert.equal(r.verdict, 'PASS', `${k.name}=${v} under ${strategy}: ${describeRun(r)}`);
      assert.equal(r.config.knobs[k.name], v);
    }
  }
});

test('a knob changes what it declares: a coarser RCU tick holds grace periods (and call_rcu frees) longer', async () => {
  const fast = await run({ scenario: 'munmap-free', strategy: 'rcu', ops: '20000', set: ['rcu.tick=50us'] });
  const slow = await run({ scenario: 'munmap-free', strategy: 'rcu', ops: '20000', set: ['rcu.tick=20ms'] });
  // (a loaded machine stretches the short tick's grace periods, never below the long tick)
  assert.ok(slow.sync.gracePeriodNs.p50! >= 10e6 && slow.sync.gracePeriodNs.p50! > 3 * fast.sync.gracePeriodNs.p50!, `${fast.sync.gracePeriodNs.p50} -> ${slow.sync.gracePeriodNs.p50}`);
});

test('--set out of range or unknown is exit 2 with the range; sweep takes a knob axis and prints its table', () => {
  for (const args of [['--set', 'tlb.batch=0'], ['--set', 'tlb.batch=257'], ['--set', 'rcu.tick=1us'], ['--set', 'nope=3'], ['--set', 'ipi.spin=1.5']]) {
    const r = gupstress('run', '--scenario', 'munmap-free', '--ops', '100', ...args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.match(r.stderr, /--set/);
  }
  const list = gupstress('list', '--json');
  const knobs = JSON.parse(list.stdout).knobs as { name: string; min: number; max: number }[];
  assert.deepEqual(knobs.map((k) => k.name), KNOBS.names());
  const out = tmpOut();
  const sw = gupstress('sweep', '--scenario', 'munmap-free', '--strategy', 'rcu', '--set', 'tlb.batch=1,256', '--duration', '300ms', '--out', out, '--format', 'csv');
  assert.equal(sw.status, 0, sw.stderr);
  const lines = sw.stdout.trim().split('\n');
  assert.match(lines[0], /^# gupstress sweep .*--set tlb\.batch=1,256/);
  assert.match(lines[1], /^strategy,r,w,tlb\.batch,verdict,reader ops\/s/);
  assert.deepEqual(lines.slice(2).map((l) => l.split(',').slice(0, 5).join(',')), ['rcu,1,1,1,PASS', 'rcu,1,1,256,PASS']);
  const json = JSON.parse(readFileSync(join(out, readdirSync(out).find((f) => f.endsWith('.json'))!), 'utf8'));
  assert.deepEqual(json.cells.map((c: { knobs: Record<string, number> }) => c.knobs['tlb.batch']), [1, 256]);
});
