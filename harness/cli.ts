#!/usr/bin/env node
// gupstress: the command line (architecture.md, "CLI contract").
import './run/interrupt.js'; // first: Ctrl-C from the first instant exits 130 (nothing ran)
import './run/v8flags.js'; // before any of the model's code is compiled
import { interruptible as onCtrlC } from './run/interrupt.js';
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { runBench } from './commands/bench.js';
import { runCampaign } from './commands/campaign.js';
import { runCompare } from './commands/compare.js';
import { parseFormat } from './output/format.js';
import { allArches } from '../src/arch/index.js';
import { runRepeated } from './commands/repeat.js';
import { loadResultsFile } from './run/files.js';
import { writeReport } from './output/report.js';
import { runSelftest } from './commands/selftest.js';
import { runSweep } from './commands/sweep.js';
import { dirname, basename } from 'node:path';
import { BadInput, type RawRunArgs, intOpt, resolveRunConfig } from './run/config.js';
import { runExplore, runReplay } from './commands/explore.js';
import { runLitmusCommand } from './commands/litmus.js';
import { runLimits } from './commands/limits.js';
import { runMerge } from './commands/merge.js';
import { shardRunOf } from './run/shard.js';
import { listScenarios } from './commands/list.js';
import { makeLogger } from './run/log.js';
import { makeProgress } from './output/progress.js';
import { buildResults, exitCodeOf, writeResults } from './run/results.js';
import { runScenario } from './run/runner.js';
import { formatSummary } from './output/summary.js';

const log = makeLogger();

/** Bad input: one line on stderr, exit 2, never a stack trace. */
function bad(msg: string): never {
  process.stderr.write(`gupstress: ${msg}\n`);
  process.exit(2);
}

/** Runs a command; anything it throws becomes exit 2 (bad input) or 3 (harness failure). */
async function guarded(fn: () => Promise<number>): Promise<void> {
  try {
    process.exitCode = await fn();
  } catch (e) {
    if (e instanceof BadInput) bad(e.message);
    log.debug({ err: e }, 'harness failure');
    process.stderr.write(`gupstress: harness failure: ${(e as Error).message}\n`);
    process.exitCode = 3;
  }
}

/** Ctrl-C stops the run; the results are still collected and written. A second one exits. */
function interruptible(): AbortController {
  return onCtrlC(() => log.warn('interrupted: stopping the CPUs and writing the results (Ctrl-C again to quit at once)'));
}

/** The machine a run or an exploration builds: scenario instance, CPUs, strategy, bugs, knobs. */
function machineOptions<T>(y: Argv<T>) {
  return y
    .option('bug', { type: 'string', array: true, describe: 'historical bug switch (repeatable)' })
    .option('strategy', { type: 'string', describe: 'ipi | rcu | rcu-sync | rcu-exp (default: the scenario\'s)' })
    .option('arch', { type: 'string', describe: `${allArches().map((x) => x.name).join(' | ')} (default x86-64; a scenario runs on the arches gupstress list gives it)` })
    .option('levels', { type: 'string', describe: `page-table levels of the mm: ${allArches().map((x) => `${x.name} ${x.levelChoices.join(' or ')}`).join(', ')}` })
    .option('readers', { type: 'string', describe: 'reader CPUs' })
    .option('writers', { type: 'string', describe: 'writer CPUs' })
    .option('seed', { type: 'string', describe: 'PRNG seed (default: random; it is in the results)' })
    .option('frames', { type: 'string', describe: 'small physical frames' })
    .option('huge', { type: 'string', describe: 'PMD-sized folios' })
    .option('param', { type: 'string', array: true, describe: 'NAME=N scenario parameter (see list)' })
    .option('set', { type: 'string', array: true, describe: 'KNOB=VALUE: a tuning knob (repeatable; gupstress list prints them with their ranges)' })
    .option('rcu-tick', { type: 'string', describe: 'the same as --set rcu.tick=VALUE (default 250us)' })
    .option('rcu', { type: 'string', describe: 'RCU flavor: preempt (default: CONFIG_PREEMPT_RCU, as distro kernels build) | nonpreempt; the same as --set rcu.flavor=' })
    .option('out', { type: 'string', describe: 'results folder (default results/)' });;
}

/** --shard i/N: this process runs shard i of N (GUPSTRESS_SHARD=i/N, or a Kubernetes Indexed
 *  Job's JOB_COMPLETION_INDEX with GUPSTRESS_SHARDS=N, say the same); gupstress merge joins them. */
function shardOption<T>(y: Argv<T>, items: string) {
  return y.option('shard', { type: 'string', describe: `i/N: run shard i of N (${items}), for gupstress merge; or GUPSTRESS_SHARD=i/N, or JOB_COMPLETION_INDEX with GUPSTRESS_SHARDS=N` });
}

/** A stress run's own: how long, widening and jitter, when to stop, the stall watchdog. */
function stressOptions<T>(y: Argv<T>) {
  return y
    .option('duration', { type: 'string', describe: 'run time, e.g. 5s, 500ms (default 5s)' })
    .option('ops', { type: 'string', describe: 'reader operations in all, instead of --duration' })
    .option('widen', { type: 'string', array: true, describe: 'WINDOW=DURATION: spin inside a race window (repeatable); none: the scenario\'s built-in widening off' })
    .option('jitter', { type: 'string', describe: 'probability of a random delay (< 2 us) at every window point' })
    .option('stop-on-violation', { type: 'boolean', describe: 'stop at the first violation' })
    .option('until-bound', { type: 'string', describe: 'run until the 95% bound per paired-window overlap is below this (e.g. 1e-4), or --duration (default 2m) runs out' })
    .option('stall-timeout', { type: 'string', describe: 'a CPU without progress this long is a stall (default 10s)' });
}

function rawArgs(a: Record<string, unknown>): RawRunArgs {
  return {
    scenario: a.scenario, bug: a.bug, strategy: a.strategy, arch: a.arch, levels: a.levels, readers: a.readers, writers: a.writers,
    duration: a.duration, ops: a.ops, seed: a.seed, widen: a.widen, jitter: a.jitter, stopOnViolation: a.stopOnViolation,
    out: a.out, frames: a.frames, huge: a.huge, stallTimeout: a.stallTimeout, rcuTick: a.rcuTick, rcu: a.rcu, set: a.set, param: a.param, untilBound: a.untilBound,
  };
}

/** Levenshtein distance, for the nearest option to a mistyped one. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}

/** yargs' "Unknown argument: durtion" with the option the user most likely meant. */
function didYouMean(msg: string, known: readonly string[]): string {
  const m = /^Unknown arguments?: (.+)$/.exec(msg);
  if (!m) return msg;
  const hints = m[1].split(', ').map((u) => {
    const best = known.map((k) => [k, distance(u, k)] as const).sort((x, y) => x[1] - y[1])[0];
    return best && best[1] <= Math.max(2, u.length / 3) ? `--${u} (did you mean --${best[0]}?)` : `--${u}`;
  });
  return `unknown option ${hints.join(', ')}`;
}

const cli = yargs(hideBin(process.argv));
await cli
  .scriptName('gupstress')
  .usage('$0 <command> [options]\n\nLockless page-table walkers (GUP-fast) racing against page-table writers, on worker_threads.')
  .command('list', 'scenarios, their bugs, windows, parameters, strategies, knobs and violation kinds', (y) => y.option('json', { type: 'boolean' })
    .option('format', { type: 'string', describe: 'text (default) | json | md (the tables of docs/reference.md)' }), (a) =>
    guarded(async () => {
      const format = parseFormat(a.format, a.json);
      if (format === 'csv') throw new BadInput('list --format is text, json or md');
      process.stdout.write(listScenarios(format) + '\n');
      return 0;
    }))
  .command('run', 'one run: summary table (or JSON) on stdout, results JSON in results/', (y) =>
    stressOptions(machineOptions(y)).option('scenario', { type: 'string', demandOption: true, describe: 'scenario id (see list)' }).option('json', { type: 'boolean', describe: 'print the results JSON' })
      .option('repeat', { type: 'string', describe: 'runs of the configuration (seeds seed, seed+1, ...): medians with 95% intervals, the runs in one folder (default 1)' })
      .option('format', { type: 'string', describe: 'text (default) | md | csv | json' }),
    (a) => guarded(async () => {
      const cfg = resolveRunConfig(rawArgs(a), (m) => log.warn(m));
      const repeat = a.repeat === undefined ? 1 : intOpt(a.repeat, '--repeat', 1, 100);
      const format = parseFormat(a.format, a.json);
      const ac = interruptible();
      if (repeat > 1 || format === 'md' || format === 'csv') return runRepeated(cfg, repeat, format, log, ac.signal);
      const progress = makeProgress(log, cfg.scenario, Boolean(a.json) && !process.stderr.isTTY);
      const raw = await runScenario(cfg, { log, signal: ac.signal, onProgress: (p) => progress.update(p) });
      progress.stop();
      const r = buildResults(raw);
      let path: string | null = null;
      try {
        path = writeResults(r, cfg.out);
      } catch (e) {
        process.stderr.write(`gupstress: could not write the results: ${(e as Error).message}\n`);
        process.stdout.write(format === 'json' ? JSON.stringify(r, null, 2) + '\n' : formatSummary(r, null) + '\n');
        return 3;
      }
      process.stdout.write(format === 'json' ? JSON.stringify(r, null, 2) + '\n' : formatSummary(r, path) + '\n');
      return exitCodeOf(r);
    }))
  .command('campaign', 'every scenario, fixed and each bug: the detection table (what npm start runs)', (y) =>
    shardOption(y, 'rows i, i+N, ... of the table; with --memory, cells of the matrix').option('duration', { type: 'string', describe: 'each fixed run (default 3s)' })
      .option('bug-timeout', { type: 'string', describe: 'longest wait for a bug to show (default 20s)' })
      .option('scenario', { type: 'string', array: true, describe: 'only these scenarios' })
      .option('selftests', { type: 'boolean', default: true, describe: 'include the sync selftests' })
      .option('out', { type: 'string', describe: 'results folder (default results/)' })
      .option('repeat', { type: 'string', describe: 'runs of every row: a fixed form must be clean in each (its evidence over all of them), a bug caught in each (the table gives the median time to first violation) (default 1)' })
      .option('budget', { type: 'string', describe: 'time box for the whole campaign, e.g. 5m: shared over the runs, what a bug run saves goes to the next; --duration and --bug-timeout stay upper limits' })
      .option('junit', { type: 'string', describe: 'also write a JUnit XML report to FILE (one testcase per row, with the command that re-runs it)' })
      .option('fail-fast', { type: 'boolean', describe: 'stop at the first unexpected row (DIRTY, MISSED, ERROR); the rest are reported skipped' })
      .option('explore', { type: 'string', describe: 'also explore each bug under the controlled executor for this long (e.g. 10s): schedules to the first violation, replay verified' })
      .option('format', { type: 'string', describe: 'the table on stdout: text (default) | md | csv | json' })
      .option('rcu', { type: 'string', describe: 'RCU flavors, comma-separated: preempt (default) | nonpreempt; every row under each' })
      .option('unwidened', { type: 'boolean', describe: 'also run every row once with the scenario\'s widening off (--widen none): overlaps per second widened -> not, and whether each bug is caught without widening' })
      .option('memory', { type: 'string', describe: 'memory models, e.g. sc,tso,lkmm: instead of the campaign, the barrier matrix: every ordering the model can take away (a barrier bug) explored under each, needed (found) or not needed (clean in 10,000 executions)' })
      .option('json', { type: 'boolean' }),
    (a) => guarded(() => runCampaign({ rcu: a.rcu, unwidened: Boolean(a.unwidened),
      duration: a.duration, bugTimeout: a.bugTimeout, scenarios: a.scenario, selftests: a.selftests, out: a.out, repeat: a.repeat,
      budget: a.budget, junit: a.junit, failFast: Boolean(a.failFast), explore: a.explore, format: a.format, json: Boolean(a.json), memory: a.memory, sharded: shardRunOf(a),
    }, log, interruptible().signal)))
  .command('sweep', 'one scenario over strategies x readers x writers x widen: one JSON + one HTML report', (y) =>
    shardOption(y, 'cells i, i+N, ... in the order of the table').option('scenario', { type: 'string', demandOption: true })
      .option('strategy', { type: 'string', describe: 'comma-separated strategies' })
      .option('readers', { type: 'string', describe: 'comma-separated reader counts' })
      .option('writers', { type: 'string', describe: 'comma-separated writer counts' })
      .option('widen', { type: 'string', array: true, describe: 'WINDOW=D1,D2,... (repeatable; every combination)' })
      .option('duration', { type: 'string', describe: 'each cell (default 3s)' })
      .option('seed', { type: 'string' })
      .option('out', { type: 'string', describe: 'results folder (default results/)' })
      .option('set', { type: 'string', array: true, describe: 'KNOB=V1,V2,... (repeatable; every combination with the other axes)' })
      .option('rcu', { type: 'string', describe: 'RCU flavors as an axis, e.g. preempt,nonpreempt: the same as --set rcu.flavor=...' })
      .option('repeat', { type: 'string', describe: 'runs per cell (seeds seed, seed+1, ...): each cell a median with its 95% interval (default 1)' })
      .option('format', { type: 'string', describe: 'the table on stdout: text (default) | md | csv | json' })
      .option('json', { type: 'boolean' }),
    (a) => guarded(() => runSweep({ scenario: a.scenario, strategy: a.strategy, readers: a.readers, writers: a.writers, widen: a.widen, duration: a.duration, seed: a.seed, out: a.out, repeat: a.repeat, format: a.format, set: [...(a.set ?? []), ...(a.rcu === undefined ? [] : [`rcu.flavor=${a.rcu}`])], json: Boolean(a.json), sharded: shardRunOf(a) }, log, interruptible().signal)))
  .command('report <files..>', 'render results files (runs, sweeps, campaigns) to one self-contained HTML file', (y) =>
    y.positional('files', { type: 'string', array: true, demandOption: true }).option('html', { type: 'string', describe: 'output file (default: next to the first input)' }),
    (a) => guarded(async () => {
      const files = (a.files as string[]).map(loadResultsFile);
      const target = a.html ?? files[0].path.replace(/\.json$/, '') + '.html';
      const path = writeReport(dirname(target), basename(target), files);
      process.stdout.write(`report: ${path}\n`);
      return 0;
    }))
  .command('compare <a> <b>', 'two sets of runs side by side: medians with 95% intervals, B/A with its interval, and a verdict. A side is a run file, a folder (run --repeat), a glob, or SWEEP.json@strategy=S,readers=N,...', (y) =>
    y.positional('a', { type: 'string', demandOption: true }).positional('b', { type: 'string', demandOption: true }).option('json', { type: 'boolean' })
      .option('format', { type: 'string', describe: 'text (default) | md | csv | json' }),
    (a) => guarded(async () => runCompare(String(a.a), String(a.b), parseFormat(a.format, a.json))))
  .command('explore', 'controlled executions (one CPU at a time, a seeded scheduler), no widening: the failing schedule is written and replays', (y) =>
    shardOption(machineOptions(y), 'executions seed+i-1, seed+i-1+N, ...; --exhaustive: instances').option('scenario', { type: 'string', demandOption: true, describe: 'scenario id (see list)' })
      .option('duration', { type: 'string', describe: 'explore for this long instead of --runs (e.g. 60s)' })
      .option('width', { type: 'string', describe: 'columns of a CPU in the interleaving drawn (default: the longest cell, within the terminal\'s width; a longer cell wraps, never cut)' })
      .option('sched', { type: 'string', describe: 'pct (default) | random' })
      .option('depth', { type: 'string', describe: 'PCT depth d: d-1 priority change points (default 3)' })
      .option('runs', { type: 'string', describe: 'executions (default 10000; it stops at the first violation), or --duration' })
      .option('max-preemptions', { type: 'string', describe: 'preemption bound (default: none)' })
      .option('preempt', { type: 'string', describe: 'PCT: at a change point the CPU is off for a time drawn log-uniformly up to this (default: twice the longest latency the model declares, 500us at rcu.tick=250us; 0: priorities only)' })
      .option('reader-ops', { type: 'string', describe: 'operations per reader CPU in each execution (default 3)' })
      .option('writer-ops', { type: 'string', describe: 'operations per writer CPU in each execution (default 2)' })
      .option('minimize', { type: 'string', describe: 'time to spend shrinking the failing schedule (default 10s)' })
      .option('keep-going', { type: 'boolean', describe: 'run on after the first violation' })
      .option('exhaustive', { type: 'boolean', describe: 'every schedule of the instance up to --max-preemptions (default 2), depth-first with partial-order reduction; one operation a CPU unless --reader-ops/--writer-ops; --duration 60s unless --runs or --duration' })
      .option('instances', { type: 'string', describe: 'with --exhaustive: exhaust seeds seed, seed+1, ... this many instances (default 1)' })
      .option('executor', { type: 'string', describe: 'sequential (default: every CPU on one thread, generators) | workers (a worker thread a CPU: the reference)' })
      .option('memory', { type: 'string', describe: 'memory model: sc (default: sequentially consistent) | tso (x86: store buffers) | lkmm (as weak as arm64 within the kernel\'s memory model); weak models on the sequential executor' })
      .option('json', { type: 'boolean' }),
    (a) => guarded(() => runExplore({ ...rawArgs(a), sched: a.sched, depth: a.depth, runs: a.runs, maxPreemptions: a.maxPreemptions, preempt: a.preempt, readerOps: a.readerOps, writerOps: a.writerOps, minimize: a.minimize, keepGoing: a.keepGoing, exhaustive: a.exhaustive, instances: a.instances, executor: a.executor, memory: a.memory, width: a.width, out: a.out, json: Boolean(a.json), sharded: shardRunOf(a) }, log, interruptible().signal)))
  .command('replay <file>', 'the recorded schedule of an explore result again: the same violation (exit 1), or exit 2 if it no longer applies', (y) =>
    y.positional('file', { type: 'string', demandOption: true }).option('json', { type: 'boolean' })
      .option('width', { type: 'string', describe: 'columns of a CPU in the interleaving drawn (default: the longest cell, within the terminal\'s width; a longer cell wraps, never cut)' }),
    (a) => guarded(() => runReplay(String(a.file), Boolean(a.json), a.width)))
  .command('litmus <paths..>', 'C litmus tests (the kernel\'s tools/memory-model format) run exhaustively on the emulated primitives under each memory model: outcomes, verdict, agreement with the stated result', (y) =>
    shardOption(y, '(test, model) pairs i, i+N, ... in the order of the tests, each under every model in turn').positional('paths', { type: 'string', array: true, demandOption: true, describe: '.litmus files or folders (searched recursively)' })
      .option('out', { type: 'string', describe: 'with --shard: the folder for the shard\'s results, for gupstress merge (default results/)' })
      .option('memory', { type: 'string', describe: 'memory models, comma-separated: sc | tso | lkmm (default lkmm)' })
      .option('format', { type: 'string', describe: 'text (default) | md | json' })
      .option('max-executions', { type: 'string', describe: 'give up on a test after this many executions (reported unsupported; default 5000000)' })
      .option('json', { type: 'boolean' }),
    (a) => guarded(() => runLitmusCommand({ paths: (a.paths as string[]).map(String), memory: a.memory, format: a.format, json: Boolean(a.json), maxExecutions: a.maxExecutions, out: a.out, sharded: shardRunOf(a) }, interruptible().signal)))
  .command('selftest', 'the kernel\'s cow.c and gup_longterm.c cases on the model: each once (PASS / FAIL / SKIP, and the model changes each fails under), then all of them under stress', (y) =>
    shardOption(y, 'cases i, i+N, ... of cow.c and gup_longterm.c; the --stress run in shard 1').option('bug', { type: 'string', array: true, describe: 'run them under a model change (a kernel-selftests bug switch): the cases it breaks FAIL' })
      .option('stress', { type: 'string', describe: 'then the kernel-selftests scenario this long, every reader CPU running the cases at once (default 3s; 0: none)' })
      .option('out', { type: 'string', describe: 'results folder (default results/)' })
      .option('format', { type: 'string', describe: 'text (default) | md | csv | json' })
      .option('json', { type: 'boolean' }),
    (a) => guarded(() => runSelftest({ bug: a.bug, stress: a.stress, format: a.format, json: Boolean(a.json), out: a.out, sharded: shardRunOf(a) }, log, interruptible().signal)))
  .command('limits', 'every fixed form at each end of every range the CLI accepts (a false verdict check)', (y) =>
    shardOption(y, 'cases i, i+N, ... in the order of the table').option('scenario', { type: 'string', array: true, describe: 'only these scenarios' })
      .option('duration', { type: 'string', describe: 'each run (default 300ms)' })
      .option('out', { type: 'string', describe: 'with --shard: the folder for the shard\'s results, for gupstress merge (default results/)' })
      .option('json', { type: 'boolean' }),
    (a) => guarded(() => runLimits({ scenarios: a.scenario, duration: a.duration, json: Boolean(a.json), out: a.out, sharded: shardRunOf(a) }, log, interruptible().signal)))
  .command('merge <paths..>', 'the results of a command run as shards (--shard i/N) joined into the one result the unsharded command gives, with its exit code', (y) =>
    y.positional('paths', { type: 'string', array: true, demandOption: true, describe: 'shard results files, or folders holding them (searched recursively)' })
      .option('out', { type: 'string', describe: 'results folder for the merged result (default results/)' })
      .option('format', { type: 'string', describe: 'text (default) | md | csv | json' })
      .option('junit', { type: 'string', describe: 'a campaign\'s shards: also write a JUnit XML report to FILE' })
      .option('html', { type: 'string', describe: 'the HTML report\'s file (default: next to the merged result)' })
      .option('json', { type: 'boolean' }),
    (a) => guarded(async () => runMerge({ paths: (a.paths as string[]).map(String), out: a.out, format: a.format, json: Boolean(a.json), junit: a.junit, html: a.html })))
  .command('bench', 'micro-benchmarks: Atomics, the walk (raw vs harness), IPI and grace-period latency', (y) =>
    y.option('json', { type: 'boolean' }).option('time', { type: 'string', describe: 'time per micro-benchmark (default 1s)' })
      .option('baseline', { type: 'string', describe: 'DIR: a checkout of another build (dist/ built) whose bench runs first, for before and after in one run' }),
    (a) => guarded(() => runBench({ json: Boolean(a.json), time: a.time, baseline: a.baseline }, log)))
  .option('log-json', { type: 'boolean', global: true, describe: 'log to stderr as JSON lines (default: readable lines)' })
  .demandCommand(1, 'give a command: list, run, explore, replay, litmus, sweep, report, compare, campaign, selftest, limits, merge, bench')
  .strict()
  .fail((msg, err) => {
    if (err && !(err instanceof BadInput)) {
      process.stderr.write(`gupstress: harness failure: ${err.message}\n`);
      process.exit(3);
    }
    // the options of the command being parsed (yargs has added them to its instance by now)
    let known: string[] = [];
    try {
      known = Object.keys((cli as unknown as { getOptions(): { key: Record<string, unknown> } }).getOptions().key).filter((k) => k.length > 1 && !/[A-Z]/.test(k));
    } catch {
      // no hint, still one line
    }
    bad(didYouMean((msg ?? err?.message ?? 'bad usage').split('\n')[0], known));
  })
  .help()
  .parseAsync();
