// The ways to run gupstress sharded (docs/sharding.md), checked as far as a machine without a
// container engine or a cluster allows: the GitHub Actions workflow and the Kubernetes manifests
// parse and carry the fields their engines require, and their commands run (the workflow's
// steps and the containers' arguments, each shard, then the merge) with a short campaign in place
// of the long one; the GNU parallel lines of the docs run where parallel is
// installed; the Dockerfile's build is replayed from its build context (.dockerignore applied)
// and its entry point run.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, test } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import { cliEnv } from './helpers.js';
import { contextFiles, copySpec, execForm, ignoreRules, ignored, parseDockerfile, replayBuild, runImage, stagesOf } from '../scripts/check-dockerfile.js';

const ROOT = join(import.meta.dirname, '..');
const CLI = join(ROOT, 'dist/harness/cli.js');
const WORKFLOW = 'deploy/github-actions/gupstress-shards.yml';
const JOB = 'deploy/kubernetes/gupstress-job.yaml';
const MERGE_JOB = 'deploy/kubernetes/gupstress-merge.yaml';
const PVC = 'deploy/kubernetes/results-pvc.yaml';

/** The long campaign of the examples, and the short one the tests run in its place (one
 *  scenario of 4 rows, about a second a row); the docs' 16 processes on one machine are 4 here. */
const HEAVY = /campaign --repeat 5/g;
const LIGHT = 'campaign --scenario sync-locks --duration 200ms --bug-timeout 10s';
const light = (cmd: string): string => cmd.replace(HEAVY, LIGHT).replace(/^N=16$/m, 'N=4');
const lightArgs = (args: readonly string[]): string[] => light(args.join(' ')).split(' ');

const text = (f: string): string => readFileSync(join(ROOT, f), 'utf8');
const yaml = (f: string): Record<string, any> => parse(text(f)) as Record<string, any>;
const pkg = JSON.parse(text('package.json')) as { engines: { node: string }; bin: Record<string, string>; scripts: Record<string, string> };

const tmp = mkdtempSync(join(tmpdir(), 'gupstress-deploy-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
let dirs = 0;
const freshDir = (name: string): string => {
  const d = join(tmp, `${++dirs}-${name}`);
  mkdirSync(d, { recursive: true });
  return d;
};

/** A folder of commands standing in for the installed tool: `gupstress ...` and `npx gupstress
 *  ...` run this checkout's build. */
const SHIMS = (() => {
  const d = join(tmp, 'bin');
  mkdirSync(d);
  writeFileSync(join(d, 'gupstress'), `#!/bin/sh\nexec node ${JSON.stringify(CLI)} "$@"\n`);
  writeFileSync(join(d, 'npx'), `#!/bin/sh\nif [ "$1" = gupstress ]; then shift; exec node ${JSON.stringify(CLI)} "$@"; fi\necho "npx $1: not in this test" >&2; exit 127\n`);
  for (const f of ['gupstress', 'npx']) chmodSync(join(d, f), 0o755);
  return d;
})();
const shimEnv = (env: Record<string, string> = {}): NodeJS.ProcessEnv => cliEnv({ PATH: `${SHIMS}:${process.env.PATH}`, ...env });

/** Whether node's major version `major` satisfies an engines range of the forms package.json
 *  uses (`^X.Y.Z || >=X.Y.Z`), taking the newest release of that major. */
function majorSatisfies(range: string, major: number): boolean {
  return range.split('||').some((c) => {
    const m = /^\s*(\^|~|>=)?\s*(\d+)/.exec(c);
    return m !== null && (m[1] === '>=' ? major >= Number(m[2]) : major === Number(m[2]));
  });
}

const files = (d: string): string[] => readdirSync(d, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => relative(d, join(e.parentPath, e.name))).sort();

// ---- GitHub Actions

test('the workflow has what GitHub Actions requires: triggers, jobs with runs-on and steps, the merge needing the shards', () => {
  const w = yaml(WORKFLOW);
  assert.ok(w.on && typeof w.on === 'object', 'on: its triggers');
  assert.deepEqual(Object.keys(w.jobs).sort(), ['merge', 'shard']);
  for (const [name, job] of Object.entries<any>(w.jobs)) {
    assert.equal(job['runs-on'], 'ubuntu-latest', `${name}: runs-on`);
    assert.ok(Array.isArray(job.steps) && job.steps.length > 0, `${name}: steps`);
    for (const s of job.steps) {
      assert.ok(('uses' in s) !== ('run' in s), `${name}: a step is a uses or a run: ${JSON.stringify(s)}`);
      if (s.uses) assert.match(s.uses, /^actions\/(checkout|setup-node|upload-artifact|download-artifact)@v4$/, `${name}: ${s.uses}`);
      if (s.uses === 'actions/setup-node@v4') assert.ok(majorSatisfies(pkg.engines.node, Number(s.with['node-version'])), `node ${s.with['node-version']} satisfies ${pkg.engines.node}`);
    }
  }
  const { shard, merge } = w.jobs;
  assert.equal(merge.needs, 'shard');
  assert.equal(merge.if, '${{ !cancelled() }}', 'the merge runs when a shard failed, to give the verdict');
  assert.equal(shard.strategy['fail-fast'], false, 'a shard that finds a violation does not cancel the others');
  const list: unknown[] = shard.strategy.matrix.shard;
  const runs = shard.steps.filter((s: any) => s.run).map((s: any) => s.run as string);
  const n = runs.map((r: string) => /--shard \$\{\{ matrix\.shard \}\}\/(\d+)/.exec(r)?.[1]).find(Boolean);
  assert.ok(n, 'a step runs shard ${{ matrix.shard }}/N');
  assert.deepEqual(list, Array.from({ length: Number(n) }, (_, k) => k + 1), `the matrix lists shards 1..${n}`);
  const up = shard.steps.find((s: any) => s.uses === 'actions/upload-artifact@v4');
  assert.equal(up.if, '${{ !cancelled() }}', 'a shard that found a violation still uploads its results');
  const down = merge.steps.find((s: any) => s.uses === 'actions/download-artifact@v4');
  assert.equal(down.with['merge-multiple'], true);
  assert.ok(new RegExp(`^${down.with.pattern.replace(/\*/g, '.*')}$`).test(up.with.name.replace('${{ matrix.shard }}', '1')), 'the download pattern takes the shards\' artifacts');
});

/** A GitHub-hosted runner stood in for: a fresh folder a job, `run` steps in bash (as Actions
 *  runs them: -e, pipefail), the artifact actions as copies to and from a folder of artifacts;
 *  checkout, setup-node and `npm ci` stand for this checkout and its build. */
function runJob(job: any, matrix: Record<string, unknown>, artifacts: string): { dir: string; codes: number[] } {
  const dir = freshDir('runner');
  const codes: number[] = [];
  const expr = (s: string): string => s.replace(/\$\{\{\s*matrix\.(\w+)\s*\}\}/g, (_, k: string) => String(matrix[k])).replace(/\$\{\{[^}]*\}\}/g, (e) => assert.fail(`not replayed: ${e}`));
  for (const s of job.steps) {
    if (s.if !== undefined && s.if !== '${{ !cancelled() }}') assert.fail(`step condition not replayed: ${s.if}`);
    if (codes.some((c) => c !== 0) && s.if === undefined) continue;
    if (s.run !== undefined) {
      if (s.run.trim() === 'npm ci') continue;
      const r = spawnSync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', light(expr(s.run))], { cwd: dir, env: shimEnv(), encoding: 'utf8' });
      assert.ok(r.status !== null && r.status !== 2, `${expr(s.run)}: exit ${r.status}\n${r.stdout}${r.stderr}`);
      codes.push(r.status);
    } else if (s.uses === 'actions/upload-artifact@v4') {
      const name = expr(s.with.name);
      const src = join(dir, s.with.path);
      assert.ok(existsSync(src) && files(src).length > 0, `${name}: ${s.with.path} holds files`);
      assert.ok(!existsSync(join(artifacts, name)), `artifact ${name} uploaded twice`);
      cpSync(src, join(artifacts, name), { recursive: true });
    } else if (s.uses === 'actions/download-artifact@v4') {
      const re = new RegExp(`^${s.with.pattern.replace(/\*/g, '.*')}$`);
      const to = join(dir, s.with.path);
      const from = new Map<string, string>();
      for (const a of readdirSync(artifacts).filter((x) => re.test(x))) {
        for (const f of files(join(artifacts, a))) {
          // merge-multiple puts every artifact's files into one folder: a name two artifacts
          // share would be overwritten
          assert.ok(!from.has(f), `${f} is in both ${from.get(f)} and ${a}`);
          from.set(f, a);
        }
        cpSync(join(artifacts, a), s.with['merge-multiple'] ? to : join(to, a), { recursive: true });
      }
      assert.ok(from.size > 0, `no artifact matches ${s.with.pattern}`);
    }
  }
  return { dir, codes };
}

test('the workflow runs: each shard of the matrix, then the merge job on their artifacts', () => {
  const w = yaml(WORKFLOW);
  const artifacts = freshDir('artifacts');
  for (const shard of w.jobs.shard.strategy.matrix.shard) assert.deepEqual(runJob(w.jobs.shard, { shard }, artifacts).codes, [0]);
  const m = runJob(w.jobs.merge, {}, artifacts);
  assert.deepEqual(m.codes, [0], 'the merge: exit 0, every row as expected');
  const merged = files(join(artifacts, 'gupstress-merged'));
  for (const re of [/^campaign\.\d+T\d+\.merged\.json$/, /^campaign\.\d+T\d+\.merged\.html$/, /^junit\.xml$/]) assert.ok(merged.some((f) => re.test(f)), `${re} uploaded: ${merged.join(' ')}`);
});

// ---- Kubernetes

const KUBECTL = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status === 0;

/** The manifest as kubectl decodes it into the API's types (offline: `set env --local` reads a
 *  Job into batch/v1's Go structs, failing on a field of the wrong type and dropping one it does
 *  not know). */
function kubectlDecoded(f: string): any {
  const r = spawnSync('kubectl', ['set', 'env', '--local', '-f', join(ROOT, f), 'GUPSTRESS_TEST=1', '-o', 'json'], { encoding: 'utf8' });
  assert.equal(r.status, 0, `kubectl could not decode ${f}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** The paths of `a`'s leaves that `b` lacks or holds another value at. */
function notIn(a: unknown, b: unknown, at = ''): string[] {
  if (a !== null && typeof a === 'object') {
    if (b === null || typeof b !== 'object') return [at || '/'];
    return Object.entries(a).flatMap(([k, v]) => notIn(v, (b as Record<string, unknown>)[k], `${at}/${k}`));
  }
  return a === b ? [] : [`${at} (${JSON.stringify(a)} -> ${JSON.stringify(b)})`];
}

const container = (job: any): any => job.spec.template.spec.containers[0];
const envOf = (c: any): Record<string, string> => Object.fromEntries((c.env ?? []).map((e: any) => [e.name, e.value]));
const outOf = (args: string[]): string => args[args.indexOf('--out') + 1];

test('the Kubernetes manifests have the fields their kinds require, and agree with each other', () => {
  for (const f of [JOB, MERGE_JOB, PVC]) assert.equal(parseAllDocuments(text(f)).length, 1, `${f}: one document`);
  const pvc = yaml(PVC);
  assert.equal(pvc.apiVersion, 'v1');
  assert.equal(pvc.kind, 'PersistentVolumeClaim');
  assert.match(pvc.metadata.name, /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
  assert.deepEqual(pvc.spec.accessModes, ['ReadWriteMany'], 'every shard\'s pod writes to it, from its own node');
  assert.match(pvc.spec.resources.requests.storage, /^\d+(\.\d+)?(Ki|Mi|Gi|Ti|k|M|G|T)?$/);
  const dockerfile = stagesOf(parseDockerfile(text('Dockerfile')));
  const volumes = dockerfile.at(-1)!.instructions.filter((i) => i.op === 'VOLUME').flatMap((i) => execForm(i.args) ?? i.args.split(/\s+/));
  for (const f of [JOB, MERGE_JOB]) {
    const j = yaml(f);
    assert.equal(j.apiVersion, 'batch/v1', f);
    assert.equal(j.kind, 'Job', f);
    assert.match(j.metadata.name, /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, f);
    const t = j.spec.template.spec;
    assert.ok(['Never', 'OnFailure'].includes(t.restartPolicy), `${f}: restartPolicy`);
    assert.equal(t.containers.length, 1, f);
    const c = container(j);
    assert.ok(c.name && c.image && Array.isArray(c.args) && c.args.every((a: unknown) => typeof a === 'string'), `${f}: a container with a name, an image and args`);
    const mount = c.volumeMounts[0];
    const vol = t.volumes.find((v: any) => v.name === mount.name);
    assert.equal(vol?.persistentVolumeClaim?.claimName, pvc.metadata.name, `${f}: the results volume is the claim's`);
    assert.ok(volumes.includes(mount.mountPath), `${f}: mounted at the image's volume ${volumes.join(', ')}`);
    assert.ok(outOf(c.args).startsWith(mount.mountPath), `${f}: --out ${outOf(c.args)} is on the volume ${mount.mountPath}`);
    if (KUBECTL) assert.deepEqual(notIn(j, kubectlDecoded(f)), [], `${f}: a field kubectl's batch/v1 types do not know, or another value`);
  }
  const j = yaml(JOB);
  assert.equal(j.spec.completionMode, 'Indexed');
  assert.ok(Number.isInteger(j.spec.completions) && j.spec.completions > 1);
  assert.equal(envOf(container(j)).GUPSTRESS_SHARDS, String(j.spec.completions), 'GUPSTRESS_SHARDS is the Job\'s completions');
  assert.ok(j.spec.parallelism >= 1 && j.spec.parallelism <= j.spec.completions);
  assert.ok(Number.isInteger(j.spec.backoffLimit));
  assert.equal(yaml(MERGE_JOB).spec.backoffLimit, 0, 'the merge\'s exit code is the verdict: it is not run again');
});

test('kubectl decodes the Jobs offline', { skip: KUBECTL ? false : 'kubectl is not installed' }, () => {
  // a field kubectl does not know is dropped: the comparison above sees it
  const bad = join(tmp, 'typo.yaml');
  writeFileSync(bad, text(JOB).replace('completionMode:', 'completionMod:'));
  const r = spawnSync('kubectl', ['set', 'env', '--local', '-f', bad, 'X=1', '-o', 'json'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(notIn(parse(readFileSync(bad, 'utf8')), JSON.parse(r.stdout)), ['/spec/completionMod ("Indexed" -> undefined)']);
  writeFileSync(bad, text(JOB).replace(/completions: \d+/, 'completions: four'));
  assert.match(spawnSync('kubectl', ['set', 'env', '--local', '-f', bad, 'X=1', '-o', 'json'], { encoding: 'utf8' }).stderr, /cannot unmarshal string into Go struct field JobSpec\.spec\.completions/);
});

/** The image's working folder stood in for: this checkout's build, package.json and modules. */
const APP = (() => {
  const d = join(tmp, 'app');
  mkdirSync(d);
  for (const f of ['dist', 'node_modules', 'package.json']) symlinkSync(join(ROOT, f), join(d, f));
  return d;
})();
const ENTRYPOINT = execForm(stagesOf(parseDockerfile(text('Dockerfile'))).at(-1)!.instructions.filter((i) => i.op === 'ENTRYPOINT').at(-1)!.args)!;

/** Run a Job's container as Kubernetes would on this image: command (else the image's
 *  ENTRYPOINT) and args, the container's env and `extra`, the volume's path in args mapped to
 *  `volume`. */
function runContainer(c: any, volume: string, mountPath: string, extra: Record<string, string>, args: string[] = c.args) {
  const argv = [...(c.command ?? ENTRYPOINT), ...args].map((a: string) => (a === mountPath || a.startsWith(mountPath + '/') ? volume + a.slice(mountPath.length) : a));
  return spawnSync(argv[0], argv.slice(1), { cwd: APP, env: shimEnv({ ...envOf(c), ...extra }), encoding: 'utf8' });
}

test('the Indexed Job runs: a pod per completion index writes its shard to the volume, then the merge Job merges them', () => {
  const j = yaml(JOB);
  const c = container(j);
  const mountPath = c.volumeMounts[0].mountPath;
  const volume = freshDir('volume');
  for (let k = 0; k < j.spec.completions; k++) {
    const r = runContainer(c, volume, mountPath, { JOB_COMPLETION_INDEX: String(k) }, lightArgs(c.args));
    assert.equal(r.status, 0, `pod ${k}: ${r.stdout}${r.stderr}`);
  }
  const shards = readdirSync(volume).filter((f) => /\.shard-\d+-of-\d+\.json$/.test(f));
  assert.deepEqual(shards.map((f) => /shard-(\d+)-of-(\d+)/.exec(f)!.slice(1).join('/')).sort(), Array.from({ length: j.spec.completions }, (_, k) => `${k + 1}/${j.spec.completions}`));
  const m = container(yaml(MERGE_JOB));
  const r = runContainer(m, volume, m.volumeMounts[0].mountPath, {}, lightArgs(m.args));
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, new RegExp(`merged ${j.spec.completions} shards of: gupstress ${LIGHT}`));
  const merged = join(volume, outOf(m.args).slice(mountPath.length));
  assert.ok(readdirSync(merged).some((f) => /^campaign\..*\.merged\.json$/.test(f)), `the merged result in ${merged}`);
  const junit = m.args[m.args.indexOf('--junit') + 1];
  assert.match(readFileSync(volume + junit.slice(mountPath.length), 'utf8'), /<testsuite[^>]* name="sync-locks"/);
});

test('a shard\'s pod succeeds when its shard ran to a verdict, clean or not, and fails otherwise', () => {
  const c = container(yaml(JOB));
  const mountPath = c.volumeMounts[0].mountPath;
  const volume = freshDir('volume');
  const env = { JOB_COMPLETION_INDEX: '0' };
  const found = runContainer(c, volume, mountPath, env, ['explore', '--scenario', 'ksm-merge', '--bug', 'ksm-check-before-clear', '--runs', '400', '--seed', '2', '--minimize', '1s', '--out', mountPath]);
  assert.match(found.stdout, /^FAIL at run \d+ \(seed \d+\): pin-not-mapped/m, 'the shard found the bug');
  assert.equal(found.status, 0, `exit 1, a verdict: the pod succeeds\n${found.stderr}`);
  const bad = runContainer(c, volume, mountPath, env, ['explore', '--scenario', 'no-such-scenario', '--seed', '1', '--out', mountPath]);
  assert.equal(bad.status, 2, `bad input: the pod fails\n${bad.stderr}`);
});

// ---- GNU parallel

/** The shell lines of a fenced `sh` block under a heading of docs/sharding.md. */
function docBlock(heading: string): string {
  const t = text('docs/sharding.md');
  const at = t.indexOf(`\n## ${heading}\n`);
  assert.ok(at >= 0, heading);
  const m = /\n```sh\n([\s\S]*?)\n```/.exec(t.slice(at));
  assert.ok(m, `a sh block under ${heading}`);
  return m[1];
}

const PARALLEL = spawnSync('parallel', ['--version'], { encoding: 'utf8' }).status === 0;

test('the GNU parallel lines of the docs run: the shards as processes, then the merge', { skip: PARALLEL ? false : 'GNU parallel is not installed (apt-get install parallel)' }, () => {
  const lines = docBlock('GNU parallel on one machine');
  assert.match(lines, HEAVY);
  const dir = freshDir('parallel');
  const r = spawnSync('bash', ['-eo', 'pipefail', '-c', light(lines)], { cwd: dir, env: shimEnv(), encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const n = Number(/^N=(\d+)$/m.exec(light(lines))![1]);
  assert.equal(readdirSync(join(dir, 'results')).filter((f) => /\.shard-\d+-of-\d+\.json$/.test(f)).length, n);
  assert.match(r.stdout, new RegExp(`merged ${n} shards of`));
  assert.ok(readdirSync(join(dir, 'results')).some((f) => /^campaign\..*\.merged\.json$/.test(f)));
  assert.ok(existsSync(join(dir, 'junit.xml')));
});

// ---- the Dockerfile

test('the Dockerfile: a node base that satisfies engines, every COPY source in the build context, the CLI as its entry point', () => {
  const stages = stagesOf(parseDockerfile(text('Dockerfile')));
  assert.ok(stages.length >= 1);
  const ctx = new Set(contextFiles());
  for (const s of stages) {
    const m = /^node:(\d+)(-[\w.-]+)?$/.exec(s.base);
    assert.ok(m, `FROM ${s.base}: a node image`);
    assert.ok(majorSatisfies(pkg.engines.node, Number(m[1])), `node ${m[1]} satisfies engines ${pkg.engines.node}`);
    for (const i of s.instructions.filter((x) => x.op === 'COPY')) {
      const c = copySpec(i.args);
      if (c.from !== null) continue;
      for (const src of c.sources) assert.ok(ctx.has(src) || [...ctx].some((f) => f.startsWith(src.replace(/\/?$/, '/'))), `line ${i.line}: ${src} is in the build context`);
    }
  }
  for (const f of ['node_modules/yaml/package.json', 'dist/harness/cli.js', 'test/deploy.test.ts', 'results/README.md', '.git/HEAD']) assert.ok(!ctx.has(f), `${f} is not sent to the engine`);
  const last = stages.at(-1)!.instructions;
  const json = (op: string): string[] => execForm(last.filter((i) => i.op === op).at(-1)!.args)!;
  assert.deepEqual(json('ENTRYPOINT'), ['node', pkg.bin.gupstress]);
  assert.deepEqual([...json('ENTRYPOINT'), ...json('CMD')].slice(0, 3), pkg.scripts.start.split(' '), 'the default command is npm start\'s');
  assert.ok(last.some((i) => i.op === 'VOLUME' && i.args === outOf(json('CMD'))), 'the campaign\'s --out is the image\'s volume');
});

test('.dockerignore rules as the engines read them: the last rule matching a path or a folder above it decides', () => {
  const rules = ignoreRules('*\n!src/\n**/*.md\n!docs/keep.md\n/build\n');
  assert.equal(ignored(rules, 'package.json'), true);
  assert.equal(ignored(rules, 'src/a/b.ts'), false);
  assert.equal(ignored(rules, 'src/a/README.md'), true);
  assert.equal(ignored(rules, 'docs/keep.md'), false);
  assert.equal(ignored(rules, 'build/x.ts'), true);
});

test('the Dockerfile\'s build replayed from its build context, then its entry point runs a shard', () => {
  const dir = freshDir('image');
  const im = replayBuild(dir);
  assert.ok(existsSync(join(im.root, im.workdir, 'dist/harness/cli.js')), 'the build is in the image');
  assert.ok(!existsSync(join(im.root, im.workdir, 'node_modules/typescript')), 'the devDependencies are pruned');
  const help = runImage(im, [...im.cmd, '--help']);
  assert.equal(help.status, 0, help.stderr);
  const r = runImage(im, ['explore', '--scenario', 'ksm-merge', '--runs', '20', '--seed', '1', '--out', '/results'], { GUPSTRESS_SHARD: '1/2' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.ok(readdirSync(join(im.root, 'results')).some((f) => f.endsWith('.shard-1-of-2.json')));
});
