// No value the CLI accepts makes a fixed form fail: every scenario's fixed form at each end
// of each range it declares or its boot decides (every --param, the fewest --frames that
// boot, --huge 0, --writers at both ends where the scenario caps them, every --levels), each
// explored (deterministic executions of its interleavings). The layout's own limits (the most frames, huge folios and CPUs: 167 MB
// of shared memory, or 49 workers to start) are the same for every scenario and take seconds
// each to start: they run under `gupstress limits` (README: all clean), which runs every case
// under stress. What depends on the
// CPU count is checked here without starting 49 workers: the O_DIRECT readers' token slot,
// indexed by CPU id, and sync-witness's object pool, sized from --writers.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BadInput } from '../harness/run/config.js';
import { ControlledMachine } from '../harness/run/executor.js';
import { resolveExplore } from '../harness/commands/explore.js';
import { type LimitCase, limitCases, runLimitCase } from '../harness/commands/limits.js';
import { SCENARIOS, scenarioById } from '../src/scenarios/index.js';
import { silent } from './helpers.js';

process.env.GUPSTRESS_COMPILED_WORKERS = '1'; // npm test compiles first; workers start 4x faster
const LAYOUT_LIMITS: Record<string, RegExp> = {};

/** Executions of each limit case under explore (the controlled executor: deterministic and
 *  quick, no workers to start); a case explore cannot hold (more than 15 CPUs) runs 1,000
 *  reader operations under stress instead. */
const EXECUTIONS = 30;

async function runAll(cases: LimitCase[]): Promise<string[]> {
  const failed: string[] = [];
  for (const c of cases) {
    let x: ReturnType<typeof resolveExplore>;
    try {
      x = resolveExplore({ scenario: c.scenario, seed: 11, ...c.args });
    } catch (e) {
      if (!(e instanceof BadInput)) throw e;
      const r = await runLimitCase(c, { ops: '1000' }, silent);
      if (r.verdict !== 'PASS' || r.readerOps === 0) failed.push(`${c.scenario} ${c.what} (stress): ${r.verdict} ${r.kinds.join(',')} ${r.error ?? ''} reader ops ${r.readerOps}`);
      continue;
    }
    const cm = new ControlledMachine(x.cfg, scenarioById(c.scenario)!);
    await cm.start();
    try {
      for (let seed = 1; seed <= EXECUTIONS; seed++) {
        const ex = await cm.execute(seed, x.o);
        if (ex.aborted !== null || ex.violations.length > 0) {
          failed.push(`${c.scenario} ${c.what} (explore seed ${seed}): ${ex.aborted ?? ex.violations.map((v) => `${v.kind}: ${v.detail}`).join('; ')}`);
          break;
        }
      }
    } finally {
      await cm.stop();
    }
  }
  return failed;
}

for (const s of SCENARIOS) {
  test(`${s.id}: the fixed form passes at every range limit`, async () => {
    const cases = limitCases(s).filter((c) => !c.layout || LAYOUT_LIMITS[s.id]?.test(c.what));
    assert.ok(cases.some((c) => /^--frames/.test(c.what)) && cases.some((c) => /^--writers/.test(c.what)) && cases.some((c) => /^--levels/.test(c.what)));
    assert.equal(cases.filter((c) => /^--param/.test(c.what)).length, 2 * Object.keys(s.params).length, 'every --param at both ends');
    assert.deepEqual(await runAll(cases), []);
  });
}

test('the O_DIRECT readers index a token slot in the page by CPU id: every CPU has one', async () => {
  const { FRAME_WORDS, MAX_CPUS } = await import('../src/machine/layout.js');
  const { odirectInit } = await import('../src/scenarios/odirect.js');
  const slot = odirectInit({ id: MAX_CPUS - 1 } as Parameters<typeof odirectInit>[0]).slot;
  assert.ok(slot > 0 && slot < FRAME_WORDS, `CPU ${MAX_CPUS - 1} writes word ${slot} of a ${FRAME_WORDS}-word page`);
});

test('sync-witness sizes its object pool from --writers: 47 writers boot, each with its own objects', async () => {
  const { resolveRunConfig } = await import('../harness/run/config.js');
  const { bootMachine } = await import('../harness/run/machine.js');
  const { scenarioById } = await import('../src/scenarios/index.js');
  const cfg = resolveRunConfig({ scenario: 'sync-witness', readers: '1', writers: '47', seed: 1 });
  const m = bootMachine(scenarioById('sync-witness')!, cfg);
  const gen = m.params.scratch.gen;
  assert.equal(m.L.scratchWords, 1 + 256 * 47 + 1, 'the published word, 256 objects per writer, the boot object');
  assert.equal(m.mem.load(gen + 256 * 47), 1, 'the boot object is live, after every writer\'s pool');
  assert.equal(m.mem.load(m.params.scratch.pub), 256 * 47);
});
