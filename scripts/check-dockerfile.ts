// The Dockerfile checked where no container engine runs: its instructions parsed, the build
// context it is sent (the checkout less what .dockerignore excludes), and its build replayed in
// a temporary folder, a folder per stage standing in for the stage's root: COPY from the
// context or an earlier stage, RUN with this machine's node and npm standing in for the base
// image's, then the image's ENTRYPOINT and CMD run with the volume's path mapped into the
// runtime stage's folder. What it cannot check is the base image itself (its node is this
// machine's) and the engine's own behaviour (users, layers).
//   node --import tsx scripts/check-dockerfile.ts [--keep]
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, posix } from 'node:path';

const ROOT = join(import.meta.dirname, '..');

/** One instruction: its keyword (upper case), the rest of its line(s), its first line. */
export interface Instruction {
  op: string;
  args: string;
  line: number;
}

/** The instructions, continuation lines joined, comments and blank lines dropped. */
export function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let cur: { text: string; line: number } | null = null;
  text.split('\n').forEach((raw, k) => {
    const line = raw.replace(/\r$/, '');
    if (/^\s*#/.test(line) || (cur === null && line.trim() === '')) return;
    const cont = /\\\s*$/.test(line);
    const body = cont ? line.replace(/\\\s*$/, '') : line;
    if (cur === null) cur = { text: body, line: k + 1 };
    else cur.text += ' ' + body.trim();
    if (!cont) {
      const m = /^\s*(\w+)\s*(.*)$/.exec(cur.text);
      if (!m) throw new Error(`Dockerfile line ${cur.line}: not an instruction: ${cur.text}`);
      out.push({ op: m[1].toUpperCase(), args: m[2].trim(), line: cur.line });
      cur = null;
    }
  });
  return out;
}

/** A build stage: its base image (ARGs substituted), its name, its instructions after FROM. */
export interface Stage {
  base: string;
  name: string | null;
  instructions: Instruction[];
}

/** The stages, with the ARGs declared before the first FROM (their defaults) substituted. */
export function stagesOf(ins: readonly Instruction[]): Stage[] {
  const args: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const i of ins) {
    if (i.op === 'ARG' && stages.length === 0) {
      const [k, v = ''] = i.args.split('=');
      args[k.trim()] = v.trim();
    } else if (i.op === 'FROM') {
      const m = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(i.args);
      if (!m) throw new Error(`Dockerfile line ${i.line}: FROM ${i.args}`);
      const base = m[1].replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a: string | undefined, b: string | undefined) => args[(a ?? b)!] ?? '');
      stages.push({ base, name: m[2] ?? null, instructions: [] });
    } else if (stages.length === 0) throw new Error(`Dockerfile line ${i.line}: ${i.op} before FROM`);
    else stages[stages.length - 1].instructions.push(i);
  }
  return stages;
}

/** An exec-form argument list (`["node", "x"]`), or null for the shell form. */
export function execForm(args: string): string[] | null {
  if (!args.startsWith('[')) return null;
  const v: unknown = JSON.parse(args);
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new Error(`not a list of strings: ${args}`);
  return v as string[];
}

/** A COPY's options, sources and destination. */
export interface CopySpec {
  from: string | null;
  chown: string | null;
  sources: string[];
  dest: string;
}

export function copySpec(args: string): CopySpec {
  const words = execForm(args) ?? args.split(/\s+/);
  let from: string | null = null;
  let chown: string | null = null;
  while (words[0]?.startsWith('--')) {
    const [k, v] = words.shift()!.slice(2).split('=');
    if (k === 'from') from = v;
    else if (k === 'chown') chown = v;
    else throw new Error(`COPY --${k} is not replayed`);
  }
  if (words.length < 2) throw new Error(`COPY ${args}: a source and a destination`);
  return { from, chown, sources: words.slice(0, -1), dest: words[words.length - 1] };
}

/** A .dockerignore rule: a path pattern (Go's filepath.Match, `**` for any folders) and whether
 *  it excludes (or, after `!`, includes again). */
export interface IgnoreRule {
  re: RegExp;
  exclude: boolean;
  pattern: string;
}

export function ignoreRules(text: string): IgnoreRule[] {
  const out: IgnoreRule[] = [];
  for (const raw of text.split('\n')) {
    let p = raw.trim();
    if (p === '' || p.startsWith('#')) continue;
    const exclude = !p.startsWith('!');
    if (!exclude) p = p.slice(1).trim();
    p = posix.normalize(p.replace(/^\/+/, '')).replace(/\/+$/, '');
    let re = '';
    for (let k = 0; k < p.length; k++) {
      const c = p[k];
      if (c === '*' && p[k + 1] === '*') {
        re += '.*';
        k++;
        if (p[k + 1] === '/') k++;
      } else if (c === '*') re += '[^/]*';
      else if (c === '?') re += '[^/]';
      else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
    out.push({ re: new RegExp(`^${re}$`), exclude, pattern: raw.trim() });
  }
  return out;
}

/** Whether the context leaves `path` out: the last rule matching it, or a folder above it, decides
 *  (the engines' rule: excluding a folder excludes what is in it). */
export function ignored(rules: readonly IgnoreRule[], path: string): boolean {
  const parts = path.split('/');
  const prefixes = parts.map((_, k) => parts.slice(0, k + 1).join('/'));
  let out = false;
  for (const r of rules) if (prefixes.some((p) => r.re.test(p))) out = r.exclude;
  return out;
}

/** The files of the build context: every file under `root` that .dockerignore does not exclude,
 *  as paths relative to it. */
export function contextFiles(root = ROOT): string[] {
  const rules = existsSync(join(root, '.dockerignore')) ? ignoreRules(readFileSync(join(root, '.dockerignore'), 'utf8')) : [];
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const e of readdirSync(join(root, rel), { withFileTypes: true })) {
      const p = rel === '' ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) walk(p);
      else if (!ignored(rules, p)) out.push(p);
    }
  };
  walk('');
  return out.sort();
}

/** What the replayed image is: its root folder, its working folder, how it starts. */
export interface Image {
  root: string;
  workdir: string;
  entrypoint: string[];
  cmd: string[];
  volumes: string[];
  env: Record<string, string>;
  user: string | null;
  /** the replayed steps, each with its time */
  steps: { what: string; ms: number }[];
}

/** Build the Dockerfile's stages in `dir`, from a copy of the build context. Throws, naming the
 *  instruction, at the first step that fails. */
export function replayBuild(dir: string, root = ROOT): Image {
  const stages = stagesOf(parseDockerfile(readFileSync(join(root, 'Dockerfile'), 'utf8')));
  const steps: Image['steps'] = [];
  const timed = <T>(what: string, f: () => T): T => {
    const t0 = performance.now();
    const r = f();
    steps.push({ what, ms: Math.round(performance.now() - t0) });
    return r;
  };
  const context = join(dir, 'context');
  timed('the build context', () => {
    for (const f of contextFiles(root)) {
      mkdirSync(join(context, posix.dirname(f)), { recursive: true });
      cpSync(join(root, f), join(context, f));
    }
  });
  const roots: string[] = [];
  let image: Image | null = null;
  stages.forEach((s, k) => {
    const sroot = join(dir, `stage-${k}`);
    mkdirSync(sroot, { recursive: true });
    roots.push(sroot);
    const im: Image = { root: sroot, workdir: '/', entrypoint: [], cmd: [], volumes: [], env: {}, user: null, steps };
    for (const i of s.instructions) {
      const where = `Dockerfile line ${i.line}: ${i.op} ${i.args}`;
      if (i.op === 'WORKDIR') {
        im.workdir = posix.resolve(im.workdir, i.args);
        mkdirSync(join(sroot, im.workdir), { recursive: true });
      } else if (i.op === 'COPY') {
        const c = copySpec(i.args);
        let from = context;
        if (c.from !== null) {
          const n = stages.findIndex((t) => t.name === c.from);
          const idx = n >= 0 ? n : Number(c.from);
          if (!(idx >= 0 && idx < k)) throw new Error(`${where}: no earlier stage ${c.from}`);
          from = roots[idx];
        }
        const dest = join(sroot, posix.resolve(im.workdir, c.dest));
        const toDir = c.dest.endsWith('/') || c.sources.length > 1;
        timed(`COPY ${i.args}`, () => {
          for (const src of c.sources) {
            const p = join(from, c.from === null ? posix.normalize(src).replace(/^\/+/, '') : posix.resolve('/', src));
            if (!existsSync(p)) throw new Error(`${where}: ${src} is not in ${c.from === null ? 'the build context (absent, or excluded by .dockerignore)' : `stage ${c.from}`}`);
            if (statSync(p).isDirectory()) cpSync(p, dest, { recursive: true });
            else {
              mkdirSync(toDir ? dest : posix.dirname(dest), { recursive: true });
              cpSync(p, toDir ? join(dest, basename(p)) : dest);
            }
          }
        });
      } else if (i.op === 'RUN') {
        const argv = execForm(i.args);
        if (argv === null && /(^|[\s=;&|])\/(?!dev\/null)\w/.test(i.args)) throw new Error(`${where}: names an absolute path, which this replay would take on this machine's root`);
        const r = timed(`RUN ${i.args}`, () => spawnSync(argv?.[0] ?? 'sh', argv?.slice(1) ?? ['-c', i.args], {
          cwd: join(sroot, im.workdir), env: { ...process.env, ...im.env }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'],
        }));
        if (r.status !== 0) throw new Error(`${where}: exit ${r.status ?? r.signal}\n${r.stdout}\n${r.stderr}`);
      } else if (i.op === 'ENV') {
        for (const m of i.args.matchAll(/(\w+)=("[^"]*"|\S+)/g)) im.env[m[1]] = m[2].replace(/^"|"$/g, '');
      } else if (i.op === 'ENTRYPOINT' || i.op === 'CMD') {
        const argv = execForm(i.args);
        if (argv === null) throw new Error(`${where}: the exec form (a JSON list) is what passes the container's arguments on`);
        if (i.op === 'ENTRYPOINT') im.entrypoint = argv;
        else im.cmd = argv;
      } else if (i.op === 'VOLUME') im.volumes.push(...(execForm(i.args) ?? i.args.split(/\s+/)));
      else if (i.op === 'USER') im.user = i.args;
      else if (!['ARG', 'LABEL', 'EXPOSE'].includes(i.op)) throw new Error(`${where}: not replayed`);
    }
    image = im;
  });
  if (image === null) throw new Error('the Dockerfile has no stage');
  return image;
}

/** Run the image as `docker run IMAGE ...args` would (no args: its CMD), in its working folder;
 *  an argument naming a path in one of its volumes is mapped into the image's folder. */
export function runImage(im: Image, args: readonly string[] | null = null, env: NodeJS.ProcessEnv = {}) {
  const inVolume = (a: string): boolean => im.volumes.some((v) => a === v || a.startsWith(v + '/'));
  const argv = [...im.entrypoint, ...(args ?? im.cmd)].map((a) => (inVolume(a) ? join(im.root, a) : a));
  return spawnSync(argv[0], argv.slice(1), {
    cwd: join(im.root, im.workdir), env: { ...process.env, ...im.env, ...env }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20,
  });
}

/** The short campaign the check runs: the image's CMD with limits added, so it takes seconds. */
export const SHORT = ['--scenario', 'ksm-merge', '--duration', '300ms', '--bug-timeout', '5s'];

if (import.meta.filename === process.argv[1]) {
  const dir = mkdtempSync(join(tmpdir(), 'gupstress-dockerfile-'));
  let code = 0;
  try {
    const im = replayBuild(dir);
    const t0 = performance.now();
    const r = runImage(im, [...im.cmd, ...SHORT]);
    im.steps.push({ what: `ENTRYPOINT + CMD: ${[...im.entrypoint, ...im.cmd, ...SHORT].join(' ')}`, ms: Math.round(performance.now() - t0) });
    for (const s of im.steps) console.log(`${String(s.ms).padStart(7)} ms  ${s.what.slice(0, 150)}`);
    const written = readdirSync(join(im.root, im.volumes[0] ?? '/results')).filter((f) => /^campaign\..*\.json$/.test(f));
    console.log(`exit ${r.status}; ${im.volumes[0]}: ${written.join(', ') || 'no campaign results'}`);
    if (r.status !== 0 || written.length === 0) {
      process.stderr.write(r.stdout + r.stderr);
      code = 1;
    }
  } catch (e) {
    console.error(e instanceof Error ? e.message : e);
    code = 1;
  } finally {
    if (process.argv.includes('--keep')) console.log(`kept: ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
  process.exitCode = code;
}
