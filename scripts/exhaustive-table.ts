// The README's exhaustive table: each scenario's fixed form (K=2, one instance), each bug (K=2,
// up to INSTANCES instances, bound-major), each in a budget of executions, so the table is the
// same on any machine but for its seconds. What `gupstress explore --scenario S [--bug B
// --instances N] --exhaustive --runs RUNS --seed 1` does, one markdown row each.
//   node --import tsx scripts/exhaustive-table.ts [RUNS=10000] [INSTANCES=100] [SCENARIO,...]
import { ControlledMachine } from '../harness/run/executor.js';
import { resolveExplore } from '../harness/commands/explore.js';
import { exhaustInstances } from '../harness/run/exhaustive.js';
import { SCENARIOS } from '../src/scenarios/index.js';
const runs = Number(process.argv[2] ?? 10000);
const INSTANCES = Number(process.argv[3] ?? 100);
const n = (x: number): string => x.toLocaleString('en-US');
const only = process.argv[4]?.split(',');
for (const s of SCENARIOS) {
  if (only && !only.includes(s.id)) continue;
  for (const bug of [null, ...Object.keys(s.bugs)]) {
    const b = bug ? s.bugs[bug] : null;
    const strategy = b?.strategies?.[0] ?? s.defaultStrategy;
    const rcu = b?.knobs?.['rcu.flavor'];
    const instances = bug ? INSTANCES : 1;
    const x = resolveExplore({ scenario: s.id, seed: 1, strategy, exhaustive: true, instances: String(instances), ...(bug ? { bug } : {}), ...(rcu ? { rcu } : {}) });
    const cm = new ControlledMachine(x.cfg, s);
    await cm.start();
    const r = await exhaustInstances(cm, x.o, { seeds: Array.from({ length: instances }, (_, i) => 1 + i), maxPreemptions: x.o.maxPreemptions, runs, durationMs: null });
    await cm.stop();
    const inst = r.summary.instances;
    const bound = Math.min(...inst.map((i) => (i.complete ? i.bound : i.bound - 1)));
    const failing = inst.find((i) => !i.complete);
    const result = r.failure
      ? `found ${r.failure.violations[0].kind}: seed ${failing!.seed} at ${failing!.bound} preemption${failing!.bound === 1 ? '' : 's'}`
      : r.summary.complete ? 'explored: no violation'
      : bound < 0 ? 'budget spent within 0 preemptions'
      : `budget spent: ${inst.length === 1 ? '' : `all ${inst.length} instances `}explored to ${bound} preemption${bound === 1 ? '' : 's'}`;
    console.log(`| ${s.id} | ${strategy} | ${bug ?? '(fixed)'} | ${n(r.executions)} | ${n(r.summary.schedules)} | ${r.seconds.toFixed(1)} | ${Math.max(...inst.map((i) => i.maxSteps))} | ${result} |`);
  }
}
