// No value the CLI accepts makes a fixed form fail: every scenario's fixed form at each end
// of each range it declares or its boot decides (every --param, the fewest --frames that
// boot, --huge 0, --writers at both ends where the scenario caps them, every --levels), short
// runs two at a time. The layout's own limits (the most frames, huge folios and CPUs: 167 MB
// of shared memory, or 49 workers to start) are the same for every scenario; they run here
// for two scenarios whose per-CPU state depends on them (sync-witness sizes its object pool
// from --writers; ksm-merge's O_DIRECT readers index their token slot by CPU id), and for
// all of them under `gupstress limits` (README: 109 runs, all clean).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type LimitCase, limitCases, runLimitCase } from '../harness/limits.js';
import { SCENARIOS } from '../src/scenarios/index.js';
import { silent } from './helpers.js';

process.env.GUPSTRESS_COMPILED_WORKERS = '1'; // npm test compiles first; workers start 4x faster
const LAYOUT_LIMITS: Record<string, RegExp> = { 'sync-witness': /^--writers|^--frames \d+ \(max|^--huge \d+ \(max/, 'ksm-merge': /^--readers/ };

async function runAll(cases: LimitCase[], width: number): Promise<string[]> {
  const failed: string[] = [];
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < cases.length) {
      const c = cases[next++];
      const r = await runLimitCase(c, 100, silent);
      if (r.verdict !== 'PASS' || r.readerOps === 0) failed.push(`${c.scenario} ${c.what}: ${r.verdict} ${r.kinds.join(',')} ${r.error ?? ''} reader ops ${r.readerOps}`);
    }
  };
  await Promise.all(Array.from({ length: width }, lane));
  return failed;
}

for (const s of SCENARIOS) {
  test(`${s.id}: the fixed form passes at every range limit`, async () => {
    const cases = limitCases(s).filter((c) => !c.layout || LAYOUT_LIMITS[s.id]?.test(c.what));
    assert.ok(cases.some((c) => /^--frames/.test(c.what)) && cases.some((c) => /^--writers/.test(c.what)) && cases.some((c) => /^--levels/.test(c.what)));
    assert.equal(cases.filter((c) => /^--param/.test(c.what)).length, 2 * Object.keys(s.params).length, 'every --param at both ends');
    assert.deepEqual(await runAll(cases, 2), []);
  });
}
