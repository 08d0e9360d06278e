// mremap-pmd under control (deterministic, the same on any machine): the fixed move_normal_pmd
// explores clean with its race run (walkers inside the table as it moves, the pmd re-check
// saving them), and the table kept under the old pmd is found.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { exploreToFile, resolveExplore } from '../harness/commands/explore.js';
import { exploreSummary, silent } from './helpers.js';

const EXECUTIONS = 400;

for (const strategy of ['rcu', 'ipi']) {
  test(`mremap-pmd under ${strategy}: the fixed move explores clean, walkers racing the move and the pmd re-check saving them`, async () => {
    const s = await exploreSummary({ scenario: 'mremap-pmd', strategy }, EXECUTIONS);
    assert.deepEqual(s.kinds, {}, JSON.stringify(s.details.slice(0, 2)));
    assert.equal(s.executions, EXECUTIONS);
    assert.ok(s.outcomes.writer.moved > 0 && (s.outcomes.writer['not-moved'] ?? 0) === 0, JSON.stringify(s.outcomes.writer));
    assert.ok(s.overlaps['gup.walk'] > 0, `a walk overlapped a move: ${JSON.stringify(s.overlaps)}`);
    assert.ok(s.outcomes.reader['fast-retry-pte-changed'] > 0, `a re-check saw the pmd change: ${JSON.stringify(s.outcomes.reader)}`);
    assert.ok(s.outcomes.reader['fast-ok'] > 0 && s.outcomes.reader['slow-efault'] > 0, JSON.stringify(s.outcomes.reader));
  });

  test(`mremap-pmd under ${strategy} with move-pmd-keep-old: explore finds the table under two pmds`, async () => {
    const { cfg, o, ...lim } = resolveExplore({ scenario: 'mremap-pmd', strategy, bug: 'move-pmd-keep-old', seed: 1 });
    const f = await exploreToFile(cfg, o, { ...lim, runs: 200, durationMs: null, minimizeMs: 0 }, silent);
    assert.ok(f.failure, `not found in ${f.explore.runs} executions`);
    assert.ok(['stale-page', 'pgtable-use-after-free'].includes(f.failure.violation.kind), `${f.failure.violation.kind}: ${f.failure.violation.detail}`);
  });
}

test('mremap-pmd with move-pmd-keep-old: both consequences show, GUP at the old address returning the moved pages (stale-page) and the walk into the table freed under the new pmd', async () => {
  const s = await exploreSummary({ scenario: 'mremap-pmd', bug: 'move-pmd-keep-old' }, 200);
  assert.ok(s.kinds['stale-page'] > 0 && s.kinds['pgtable-use-after-free'] > 0, JSON.stringify(s.kinds));
  const stale = s.details.find((d) => d.kind === 'stale-page')!;
  assert.match(stale.detail, /GUP returned pfn \d+, (mapped at 0x[0-9a-f]+|mapped nowhere), not here at any time during the walk/);
});
