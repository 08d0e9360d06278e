// The CLI contract (architecture.md): exit codes, one-line reasons, the results JSON.
// Runs the compiled CLI (npm test builds it first), as a user's script would.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { CLI, cliEnv, tmpOut, gupstress } from './helpers.js';


/** Several CLI calls, two at a time (each is mostly Node's start-up): their exit codes and stderr. */
async function gupstressAll(calls: string[][]): Promise<{ status: number | null; stderr: string }[]> {
  const one = (args: string[]) => new Promise<{ status: number | null; stderr: string }>((resolve) => {
    const p = spawn(process.execPath, [CLI, ...args], { env: cliEnv(), stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    p.on('close', (status) => resolve({ status, stderr }));
  });
  const out: { status: number | null; stderr: string }[] = [];
  for (let i = 0; i < calls.length; i += 2) out.push(...(await Promise.all(calls.slice(i, i + 2).map(one))));
  return out;
}

test('list --json describes every scenario, its bugs and strategies', () => {
  const r = gupstress('list', '--json');
  assert.equal(r.status, 0, r.stderr);
  const data = JSON.parse(r.stdout);
  const ids = data.scenarios.map((s: { id: string }) => s.id);
  assert.ok(ids.includes('munmap-free') && ids.includes('ksm-merge'));
  const ksm = data.scenarios.find((s: { id: string }) => s.id === 'ksm-merge');
  assert.deepEqual(ksm.bugs.map((b: { name: string }) => b.name), ['ksm-check-before-clear', 'ksm-flush-after-check', 'gup-no-recheck']);
  assert.deepEqual(ksm.bugs.find((b: { name: string }) => b.name === 'ksm-flush-after-check').memory, ['lkmm']);
  assert.ok(data.strategies.length === 4);
  const text = gupstress('list');
  assert.match(text.stdout, /--bug free-before-sync/);
});

test('bad input: exit 2, one line on stderr, no stack trace', async () => {
  const cases = [
    ['run', '--scenario', 'nope'],
    ['run', '--scenario', 'ksm-merge', '--bug', 'nope'],
    ['run', '--scenario', 'ksm-merge', '--readers', '0'],
    ['run', '--scenario', 'ksm-merge', '--duration', 'banana'],
    ['run', '--scenario', 'ksm-merge', '--frames', '10'],
    ['run', '--scenario', 'munmap-free', '--frames', '100'],
    ['run', '--scenario', 'ksm-merge', '--frames', '900000'],
    ['run'],
    ['frobnicate'],
    [],
    ['run', '--scenario', 'ksm-merge', '--no-such-option'],
    ['run', '--scenario', 'thp-collapse', '--param', 'pmds=20', '--duration', '2s'],
    ['run', '--scenario', 'thp-collapse', '--writers', '2'],
    ['run', '--scenario', 'munmap-free', '--param', 'pmds=64'],
    ['limits', '--scenario', 'nope'],
    ['run', '--scenario', 'ksm-merge', '--widen', 'gup.walk=20s'],
    ['run', '--scenario', 'ksm-merge', '--format', 'xml'],
  ];
  for (const [i, r] of (await gupstressAll(cases)).entries()) {
    const args = cases[i];
    assert.equal(r.status, 2, `${args.join(' ')}: exit ${r.status}\n${r.stderr}`);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.match(lines[0], /^gupstress: /);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  }
});

test('what a newcomer tripped over (issue 12): option hints, arch help, readable stderr, the flush named for the arch, RCU table frees counted', () => {
  const typo = gupstress('run', '--scenario', 'ksm-merge', '--durtion', '1s');
  assert.equal(typo.status, 2);
  assert.equal(typo.stderr.trim(), 'gupstress: unknown option --durtion (did you mean --duration?)');
  const help = gupstress('run', '--help');
  for (const a of ['x86-64', 'arm64', 's390']) assert.ok(help.stdout.includes(a), `--arch help lists ${a}`);
  // each command's help lists its own options only
  const exploreHelp = gupstress('explore', '--help').stdout;
  for (const runOnly of ['--widen', '--jitter', '--stop-on-violation', '--until-bound', '--stall-timeout', '--ops ']) assert.ok(!exploreHelp.includes(runOnly), `explore --help lists ${runOnly}`);
  assert.match(exploreHelp, /--duration +explore for this long instead of --runs/);
  assert.match(exploreHelp, /--width/);
  for (const own of ['--widen', '--jitter', '--until-bound']) assert.ok(help.stdout.includes(own), `run --help lists ${own}`);
  const long = gupstress('run', '--scenario', 'ksm-merge', '--widen', 'gup.walk=20s');
  assert.match(long.stderr, /not shorter than the stall timeout/);
  const out = tmpOut();
  const env = cliEnv({ GUPSTRESS_LOG: 'info' });
  const r = spawnSync(process.execPath, [CLI, 'run', '--scenario', 'munmap-free', '--strategy', 'rcu', '--ops', '20000', '--out', out, '--json'], { encoding: 'utf8', env });
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /^\{"level"/m, 'stderr is readable lines when it is not a terminal');
  const res = JSON.parse(r.stdout);
  assert.ok(res.sync.callRcu > 0);
  assert.ok(res.sync.tablesFreed > 0 && res.sync.tablesFreed <= res.sync.callRcu, `tables freed by RCU callbacks are counted: ${res.sync.tablesFreed} of ${res.sync.callRcu}`);
  const j = spawnSync(process.execPath, [CLI, 'sweep', '--scenario', 'munmap-free', '--duration', '200ms', '--out', out, '--log-json'], { encoding: 'utf8', env });
  assert.match(j.stderr, /^\{"level":\d+.*"msg":"sweep cell 1\/1"/m, '--log-json: JSON lines');
  const plain = spawnSync(process.execPath, [CLI, 'sweep', '--scenario', 'munmap-free', '--duration', '200ms', '--out', out], { encoding: 'utf8', env });
  assert.match(plain.stderr, /sweep cell 1\/1  strategy=\S+  readers=1/, 'progress lines are plain text, name=value');
  assert.doesNotMatch(plain.stderr, /[{}"]/, 'no JSON payload without --log-json');
  const arm = gupstress('run', '--scenario', 'munmap-free', '--arch', 'arm64', '--strategy', 'rcu', '--duration', '200ms', '--out', out);
  assert.match(arm.stdout, /\d+ TLBI broadcasts \(wait for no CPU\)/);
  const x86 = gupstress('run', '--scenario', 'munmap-free', '--strategy', 'rcu', '--duration', '200ms', '--out', out);
  assert.match(x86.stdout, /\d+ paravirt\/INVLPGB flushes \(wait for no CPU\)/);
  assert.doesNotMatch(x86.stdout, /TLBI/);
});

test('issue 9: a size the layout cannot hold exits 2 with the allowed range, before anything runs', () => {
  const out = tmpOut();
  const r = gupstress('run', '--scenario', 'thp-collapse', '--param', 'pmds=20', '--duration', '2s', '--out', out);
  assert.equal(r.status, 2);
  assert.equal(r.stderr.trim(), 'gupstress: --param pmds must be an integer from 1 to 16 for thp-collapse (got 20)');
  assert.equal(readdirSync(out).length, 0, 'nothing ran: no results written');
  const list = JSON.parse(gupstress('list', '--json').stdout);
  const thp = list.scenarios.find((s: { id: string }) => s.id === 'thp-collapse');
  assert.deepEqual([thp.params.pmds.min, thp.params.pmds.max], [1, 16], 'list prints the same range');
  assert.deepEqual(thp.ranges.writers, { min: 0, max: 1 });
});

test('run --json: exit 0, the results JSON on stdout and written atomically to --out', () => {
  const out = tmpOut();
  const r = gupstress('run', '--scenario', 'munmap-free', '--ops', '20000', '--seed', '5', '--json', '--out', out);
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  for (const k of ['schema', 'runId', 'startedAt', 'host', 'config', 'durationMs', 'reader', 'writer', 'windows', 'sync', 'violations', 'violationCount', 'firstViolationMs', 'verdict', 'bound']) assert.ok(k in j, `missing ${k}`);
  assert.equal(j.schema, 'gupstress/run@1');
  assert.equal(j.config.seed, 5);
  assert.equal(j.verdict, 'PASS');
  assert.ok(j.reader.ops >= 20000 && j.reader.opsPerSec > 0);
  assert.equal(j.reader.outcomes['fast-ok'].expect, 'ACCEPTABLE');
  assert.equal(j.windows['gup.walk'].pairedWith, 'munmap.unlink-free');
  assert.ok(typeof j.sync.ipiWaitNs.p50 === 'number');
  const files = readdirSync(out);
  assert.deepEqual(files, [`${j.runId}.json`], 'one results file, no temp file left');
  assert.deepEqual(JSON.parse(readFileSync(join(out, files[0]), 'utf8')).runId, j.runId);
});

test('a bug switch: exit 1, verdict FAIL, the violation in the results', () => {
  const out = tmpOut();
  const r = gupstress('run', '--scenario', 'munmap-free', '--bug', 'free-before-sync', '--ops', '3000000', '--stop-on-violation', '--out', out);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stdout, /verdict FAIL/);
  assert.match(r.stdout, /pgtable-use-after-free/);
  const j = JSON.parse(readFileSync(join(out, readdirSync(out)[0]), 'utf8'));
  assert.equal(j.verdict, 'FAIL');
  assert.ok(j.violations[0].kind === 'pgtable-use-after-free' && j.firstViolationMs >= 0);
});

test('results that cannot be written: exit 3', () => {
  const r = gupstress('run', '--scenario', 'sync-locks', '--ops', '1000', '--out', '/dev/null/nowhere');
  assert.equal(r.status, 3);
  assert.match(r.stderr, /could not write the results/);
});

test('a wait longer than --stall-timeout is a stall: exit 3 with every CPU\'s state', () => {
  // normal grace periods polled every second (the longest tick): synchronize_rcu outlasts a
  // 400 ms stall timeout
  const out = tmpOut();
  const r = gupstress('run', '--scenario', 'munmap-free', '--strategy', 'rcu-sync', '--rcu-tick', '1s', '--stall-timeout', '400ms', '--duration', '5s', '--out', out);
  assert.equal(r.status, 3, r.stdout + r.stderr);
  assert.match(r.stdout, /stall report:/);
  assert.match(r.stdout, /verdict ERROR/);
  const j = JSON.parse(readFileSync(join(out, readdirSync(out)[0]), 'utf8'));
  assert.equal(j.verdict, 'ERROR');
  assert.ok(j.stall.length >= 3 && j.stall.some((s: { role: string }) => s.role === 'gp'));
});

/** A run sent Ctrl-C: at `atMs` after spawning, or (atMs null) once its CPUs have started
 *  (the runner's 'started' debug line; the `started`th, for a command of many runs), a second
 *  one `againMs` after the first. */
async function interrupt(atMs: number | null, args: string[], againMs: number | null = null, command = 'run', started = 1): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string; files: string[]; out: string; ms: number }> {
  const out = tmpOut();
  const child = spawn(process.execPath, [CLI, command, ...args, '--out', out], { env: cliEnv({ GUPSTRESS_LOG: atMs === null ? 'debug' : 'warn', GUPSTRESS_LOG_JSON: '1' }) });
  let stdout = '';
  let stderr = '';
  let sent = 0;
  const t0 = Date.now();
  const send = (): void => {
    if (sent++ === 0) {
      child.kill('SIGINT');
      if (againMs !== null) setTimeout(() => child.kill('SIGINT'), againMs);
    }
  };
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => {
    stderr += d;
    if (atMs === null && (stderr.match(/"msg":"started"/g)?.length ?? 0) >= started) send();
  });
  if (atMs !== null) setTimeout(send, atMs);
  const [code, signal] = await new Promise<[number | null, string | null]>((r) => child.on('exit', (c, sg) => r([c, sg])));
  return { code, signal, stdout, stderr, files: readdirSync(out), out, ms: Date.now() - t0 };
}

test('Ctrl-C at any instant: exit 130 before anything ran, or the CPUs stop and the results are written (interrupted)', async () => {
  const args = ['--scenario', 'ksm-merge', '--duration', '60s'];
  const outcomes: string[] = [];
  // start-up included: module loading, argument parsing, boot, worker start-up, the run
  for (const atMs of [0, 150, 400, 700, 1000, 1500, null]) {
    const r = await interrupt(atMs, args);
    const what = `Ctrl-C at ${atMs ?? 'the start of the run'} ms: exit ${r.code} (signal ${r.signal}), files ${r.files.join(',') || 'none'}`;
    assert.ok(r.ms < 30000, `${what}: stopped promptly`);
    if (r.code === 130 || r.signal === 'SIGINT') {
      // before anything ran: nothing to write
      assert.deepEqual(r.files, [], what);
      assert.notEqual(atMs, null, `${what}: once the CPUs ran, Ctrl-C writes the results`);
      outcomes.push('130');
      continue;
    }
    assert.equal(r.code, 0, `${what}: the verdict's exit code (PASS); stderr ${r.stderr.slice(-400)}`);
    assert.equal(r.files.length, 1, what);
    assert.match(r.stdout, /\[interrupted\]/, what);
    const j = JSON.parse(readFileSync(join(r.out, r.files[0]), 'utf8'));
    assert.equal(j.interrupted, true, what);
    assert.equal(j.verdict, 'PASS', what);
    assert.ok(j.durationMs < 30000, what);
    assert.ok(!existsSync(join(r.out, r.files[0] + '.tmp')));
    outcomes.push('written');
  }
  assert.equal(outcomes.at(-1), 'written', 'Ctrl-C once the CPUs run writes the results');
});

test('Ctrl-C in the middle of a campaign row: a run cut short before its verdict is no verdict (the row is not run, never clean or MISSED on what it did not run)', async () => {
  // fork-cow: two fixed rows (10 ms each here), then its first bug row, interrupted as its
  // run starts (it takes hundreds of ms to catch the bug): caught if it got that far, else not run
  const r = await interrupt(null, ['--scenario', 'fork-cow', '--duration', '10ms'], null, 'campaign', 3);
  assert.equal(r.code, 0, `exit ${r.code}: ${r.stderr.slice(-400)}`);
  const f = JSON.parse(readFileSync(join(r.out, r.files.find((n) => /^campaign\..*\.json$/.test(n))!), 'utf8'));
  assert.equal(f.interrupted, true);
  type Row = { bug: string | null; status: string };
  assert.deepEqual(f.rows.filter((x: Row) => x.bug === null).map((x: Row) => x.status), ['clean', 'clean'], 'the fixed rows ran to their end');
  for (const x of f.rows.filter((x: Row) => x.bug !== null)) assert.equal(x.status, 'caught', `an interrupted bug row: ${JSON.stringify(x).slice(0, 300)}`);
  assert.equal(f.rows.length + f.skipped.length, 4, 'every row is a row or not run');
  assert.ok(f.skipped.length >= 1);
});

test('a Ctrl-C that arrives while start-up code runs is not lost: dispatched after the command became interruptible, it interrupts it', () => {
  // Under load the CLI's start-up (module evaluation, argument parsing) runs long enough for a
  // Ctrl-C to arrive in it; Node dispatches the signal once that code is done. Here the
  // signal is sent to the process in the middle of its synchronous code, deterministically.
  const mod = pathToFileURL(join(import.meta.dirname, '..', 'dist', 'harness', 'run', 'interrupt.js')).href;
  const script = `import { interruptible } from ${JSON.stringify(mod)};
process.kill(process.pid, 'SIGINT');
const ac = interruptible(() => process.stdout.write('first Ctrl-C: '));
setTimeout(() => process.stdout.write(ac.signal.aborted ? 'interrupted' : 'lost'), 500);`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, `exit ${r.status} signal ${r.signal}: ${r.stderr}`);
  assert.equal(r.stdout, 'first Ctrl-C: interrupted');
});

test('a second Ctrl-C quits at once, without waiting for the CPUs to stop', async () => {
  // grace periods polled once a second: after the first Ctrl-C the writers still wait in
  // synchronize_rcu, so stopping takes up to a second; the second Ctrl-C does not wait for it
  const r = await interrupt(null, ['--scenario', 'munmap-free', '--strategy', 'rcu-sync', '--rcu-tick', '1s', '--duration', '60s'], 50);
  assert.equal(r.code, 130, `exit ${r.code} signal ${r.signal} after ${r.ms} ms`);
  assert.deepEqual(r.files, []);
});

test('ensure-chromium waits for another apt that holds its lock, instead of failing with exit 100', { skip: process.getuid?.() !== 0 ? 'installs only as root' : false }, () => {
  // a PATH with no chromium and an apt-get that finds the lock held twice, then works
  const bin = tmpOut();
  const count = join(bin, 'count');
  for (const tool of ['bash', 'mktemp', 'grep', 'cat', 'rm', 'sleep', 'id']) {
    const which = spawnSync('bash', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
    symlinkSync(which, join(bin, tool));
  }
  writeFileSync(join(bin, 'apt-get'), `#!/bin/bash\nn=$(cat ${count} 2>/dev/null || echo 0); echo $((n+1)) > ${count}\nif [ $n -lt 2 ]; then echo "E: Could not get lock /var/lib/apt/lists/lock. It is held by process 123 (apt-get)" >&2; exit 100; fi\nexit 0\n`, { mode: 0o755 });
  const r = spawnSync('bash', [join(import.meta.dirname, '..', 'scripts', 'ensure-chromium.sh')], { encoding: 'utf8', env: { PATH: bin, APT_LOCK_RETRY_S: '0.05' } });
  assert.equal(r.status, 0, r.stderr);
  assert.equal((r.stderr.match(/another apt holds its lock; waiting/g) ?? []).length, 2, r.stderr);
  assert.equal(readFileSync(count, 'utf8').trim(), '4', 'update failed twice on the lock, then update and install ran');
});
