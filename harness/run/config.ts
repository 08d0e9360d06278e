// Turning command-line words into a RunConfig, with a one-line reason for anything wrong.
import { KNOBS, type KnobDef, formatKnob, knobDefaults } from '../../src/machine/knobs.js';
import type { ArchName } from '../../src/arch/arch.js';
import { ARCH_NAMES } from '../../src/arch/arch.js';
import { archByName } from '../../src/arch/index.js';
import { MAX_CPUS, MIN_FRAMES, PFN_LIMIT, maxFrames, maxHuge } from '../../src/machine/layout.js';
import { scenarioById, SCENARIOS } from '../../src/scenarios/index.js';
import { type Scenario, type Sizes, paramMax, windowPairs } from '../../src/scenarios/scenario.js';
import { WINDOWS } from '../../src/check/windows.js';
import { BootError, type RunConfig, bootMachine, maxParamToBoot, minFramesToBoot } from './machine.js';
import { type StrategyName, STRATEGY_NAMES } from '../../src/sync/strategy.js';

/** Bad input: the CLI prints the message on one line and exits 2. */
export class BadInput extends Error {}


const UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60000, min: 60000, h: 3600000 };

/** "5s", "500ms", "2m", "1.5s", "250us"; a bare number is in `bareUnit`. Returns ms. */
export function parseDuration(text: string, what: string, bareUnit: 'ms' | 's' | 'ns' = 's'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zµ]*)\s*$/i.exec(String(text));
  if (!m) throw new BadInput(`${what}: '${text}' is not a duration (try 5s, 500ms, 2us)`);
  const unit = m[2] === '' ? bareUnit : m[2].toLowerCase();
  const f = UNITS[unit];
  if (f === undefined) throw new BadInput(`${what}: unknown unit '${m[2]}' in '${text}' (ns, us, ms, s, m, h)`);
  return Number(m[1]) * f;
}

export function intOpt(v: unknown, what: string, min: number, max: number, why = ''): number {
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new BadInput(`${what} must be an integer from ${min} to ${max}${why} (got ${String(v)})`);
  return n;
}

export interface Range {
  readonly min: number;
  readonly max: number;
}

/** Every size option's range for scenario s, derived from what the layout and the
 *  scenario hold, given the run's other sizes. (--frames also needs what the scenario's
 *  boot takes: bootMachine refuses that, with the smallest that boots.) */
export function sizeRanges(s: Scenario, k: Sizes): { readers: Range; writers: Range; frames: Range; huge: Range; params: Record<string, Range> } {
  const params: Record<string, Range> = {};
  for (const [name, d] of Object.entries(s.params)) params[name] = { min: d.min, max: paramMax(d, k) };
  return {
    readers: { min: 1, max: Math.min(s.maxReaders ?? MAX_CPUS, MAX_CPUS - k.writers) },
    writers: { min: 0, max: Math.min(s.maxWriters ?? MAX_CPUS, MAX_CPUS - k.readers) },
    frames: { min: MIN_FRAMES, max: maxFrames(k.huge) },
    huge: { min: 0, max: maxHuge(k.frames) },
    params,
  };
}

/** A list option: repeatable, each value comma-separated, blanks dropped. */
export function listOpt(v: unknown): string[] {
  if (v === undefined || v === null) return [];
  const arr = Array.isArray(v) ? v : [v];
  return arr.flatMap((x) => String(x).split(',')).map((x) => x.trim()).filter((x) => x !== '');
}

export function requireScenario(id: unknown): Scenario {
  const s = scenarioById(String(id));
  if (!s) throw new BadInput(`unknown scenario '${String(id)}' (known: ${SCENARIOS.map((x) => x.id).join(', ')})`);
  return s;
}

/** Parses NAME=VALUE pairs. */
function pairs(v: unknown, what: string): [string, string][] {
  return listOpt(v).map((p) => {
    const i = p.indexOf('=');
    if (i <= 0) throw new BadInput(`${what} takes NAME=VALUE (got '${p}')`);
    return [p.slice(0, i), p.slice(i + 1)];
  });
}

export interface RawRunArgs {
  scenario?: unknown;
  bug?: unknown;
  strategy?: unknown;
  arch?: unknown;
  levels?: unknown;
  readers?: unknown;
  writers?: unknown;
  duration?: unknown;
  ops?: unknown;
  seed?: unknown;
  widen?: unknown;
  jitter?: unknown;
  stopOnViolation?: unknown;
  out?: unknown;
  frames?: unknown;
  huge?: unknown;
  stallTimeout?: unknown;
  rcuTick?: unknown;
  rcu?: unknown;
  set?: unknown;
  param?: unknown;
  untilBound?: unknown;
}

export function resolveRunConfig(a: RawRunArgs, warn: (msg: string) => void = () => {}): RunConfig {
  const s = requireScenario(a.scenario);
  const bugs = listOpt(a.bug);
  const strategy = (a.strategy === undefined ? s.defaultStrategy : String(a.strategy)) as StrategyName;
  if (!STRATEGY_NAMES.includes(strategy)) throw new BadInput(`unknown strategy '${strategy}' (known: ${STRATEGY_NAMES.join(', ')})`);
  if (!s.strategies.includes(strategy)) throw new BadInput(`scenario ${s.id} does not run under strategy ${strategy} (it has: ${s.strategies.join(', ')})`);
  for (const b of bugs) {
    const def = s.bugs[b];
    if (!def) throw new BadInput(`scenario ${s.id} has no bug '${b}' (it has: ${Object.keys(s.bugs).join(', ') || 'none'})`);
    if (def.strategies && !def.strategies.includes(strategy)) warn(`bug ${b} is not expected to show under strategy ${strategy} (it shows under ${def.strategies.join(', ')})`);
  }
  const arch = (a.arch === undefined ? s.arches[0] : String(a.arch)) as ArchName;
  if (!ARCH_NAMES.includes(arch)) throw new BadInput(`unknown arch '${arch}' (known: ${ARCH_NAMES.join(', ')})`);
  if (!s.arches.includes(arch)) throw new BadInput(`scenario ${s.id} does not run on ${arch} (it runs on: ${s.arches.join(', ')})`);
  const choices = archByName(arch).levelChoices;
  const levels = a.levels === undefined ? choices[0] : intOpt(a.levels, '--levels', 1, 5);
  if (!choices.includes(levels)) throw new BadInput(`${arch} mms have ${choices.join(' or ')} levels (got ${levels})`);
  // sizes: each against the range the layout and the scenario give it, with the others
  // each range says what the other count leaves of MAX_CPUS (given or the scenario's default)
  const other = (v: unknown, dflt: number, min: number): number => (v !== undefined && Number.isInteger(Number(v)) ? Math.max(min, Number(v)) : dflt);
  const wSeen = other(a.writers, s.defaults.writers, 0);
  const readers = a.readers === undefined ? s.defaults.readers : intOpt(a.readers, '--readers', 1, Math.max(1, MAX_CPUS - wSeen), ` with --writers ${wSeen} (at most ${MAX_CPUS} CPUs)`);
  const writers = a.writers === undefined ? s.defaults.writers : intOpt(a.writers, '--writers', 0, MAX_CPUS - readers, ` with --readers ${readers} (at most ${MAX_CPUS} CPUs)`);
  const frames = a.frames === undefined ? s.defaults.frames : intOpt(a.frames, '--frames', MIN_FRAMES, PFN_LIMIT);
  const huge = a.huge === undefined ? s.defaults.huge : intOpt(a.huge, '--huge', 0, PFN_LIMIT);
  const sizes: Sizes = { frames, huge, readers, writers, levels };
  const R = sizeRanges(s, sizes);
  intOpt(readers, '--readers', R.readers.min, R.readers.max, s.maxReaders !== undefined && s.maxReaders < MAX_CPUS - writers ? ` for ${s.id} (its roles support at most ${s.maxReaders} reader(s))` : ` with --writers ${writers} (at most ${MAX_CPUS} CPUs)`);
  intOpt(writers, '--writers', R.writers.min, R.writers.max, s.maxWriters !== undefined && s.maxWriters < MAX_CPUS - readers ? ` for ${s.id} (its roles support at most ${s.maxWriters} writer(s))` : ` with --readers ${readers} (at most ${MAX_CPUS} CPUs)`);
  // frames and huge share the pfn space: blame the one given on the command line
  const checkFrames = (): number => intOpt(frames, '--frames', R.frames.min, R.frames.max, ` with --huge ${huge} (pfns stay below 2^19)`);
  const checkHuge = (): number => intOpt(huge, '--huge', R.huge.min, R.huge.max, ` with --frames ${frames} (pfns stay below 2^19)`);
  if (a.huge !== undefined) checkHuge();
  checkFrames();
  checkHuge();
  if (a.duration !== undefined && a.ops !== undefined) throw new BadInput('give --duration or --ops, not both');
  const untilBound = a.untilBound === undefined ? null : Number(a.untilBound);
  if (untilBound !== null && !(untilBound > 0 && untilBound < 1)) throw new BadInput(`--until-bound is a rate between 0 and 1, e.g. 1e-4 (got ${String(a.untilBound)})`);
  if (untilBound !== null && a.ops !== undefined) throw new BadInput('give --until-bound or --ops, not both');
  // --until-bound runs as long as it takes, up to --duration (default UNTIL_BOUND_MAX_MS)
  const durationMs = a.ops !== undefined ? null : a.duration === undefined ? (untilBound !== null ? UNTIL_BOUND_MAX_MS : 5000) : parseDuration(String(a.duration), '--duration');
  if (durationMs !== null && !(durationMs > 0)) throw new BadInput('--duration must be more than 0');
  const ops = a.ops === undefined ? null : intOpt(a.ops, '--ops', 1, 1e12);
  const seed = a.seed === undefined ? (Math.random() * 0x7fffffff) | 0 : intOpt(a.seed, '--seed', 0, 0xffffffff);
  // --widen none: the scenario's built-in widening off (a latency window, the device's I/O
  // time, is not widening: it stays, as under explore)
  const widenArgs = listOpt(a.widen);
  const noWiden = widenArgs.includes('none');
  const widen: Record<string, number> = {};
  for (const [w, d] of Object.entries(s.defaults.widen)) if (!noWiden || WINDOWS.byName(w)?.latency) widen[w] = parseDuration(d, `widen ${w}`, 'ns') * 1e6;
  const windowNames = windowPairs(s).map((x) => x.window.name);
  for (const [w, d] of pairs(widenArgs.filter((x) => x !== 'none'), '--widen')) {
    if (!windowNames.includes(w)) throw new BadInput(`scenario ${s.id} has no window '${w}' (it has: ${windowNames.join(', ')})`);
    widen[w] = parseDuration(d, `--widen ${w}`, 'ns') * 1e6;
  }
  const jitter = a.jitter === undefined ? 0 : Number(a.jitter);
  if (!(jitter >= 0 && jitter <= 1)) throw new BadInput(`--jitter is a probability from 0 to 1 (got ${String(a.jitter)})`);
  const params: Record<string, number> = {};
  for (const [k, v] of Object.entries(s.params)) params[k] = v.value;
  for (const [k, v] of pairs(a.param, '--param')) {
    if (!(k in s.params)) throw new BadInput(`scenario ${s.id} has no parameter '${k}' (it has: ${Object.keys(s.params).join(', ') || 'none'})`);
    params[k] = intOpt(v, `--param ${k}`, R.params[k].min, R.params[k].max, ` for ${s.id}${typeof s.params[k].max === 'number' ? '' : ` with --frames ${frames}`}`);
  }
  const cfg: RunConfig = {
    scenario: s.id,
    bugs,
    strategy,
    arch,
    levels,
    readers,
    writers,
    durationMs,
    untilBound,
    ops,
    seed,
    widen,
    jitter,
    stopOnViolation: Boolean(a.stopOnViolation),
    out: a.out === undefined ? 'results' : String(a.out),
    frames,
    huge,
    stallTimeoutMs: a.stallTimeout === undefined ? 10000 : parseDuration(String(a.stallTimeout), '--stall-timeout'),
    knobs: resolveKnobs([...shorthandSets(a), ...listOpt(a.set)]),
    params,
  };
  // a CPU spins through its widening without finishing an operation: as long as the stall
  // timeout, and the run would end in a stall (ERROR) instead of measuring anything
  for (const [w, ns] of Object.entries(cfg.widen)) {
    if (ns / 1e6 >= cfg.stallTimeoutMs) throw new BadInput(`--widen ${w}=${ns / 1e6}ms is not shorter than the stall timeout (${cfg.stallTimeoutMs}ms): shorten it or raise --stall-timeout`);
  }
  for (const b of bugs) {
    for (const [name, want] of Object.entries(s.bugs[b].knobs ?? {})) {
      const k = KNOBS.byName(name)!;
      if (cfg.knobs[name] !== knobValue(k, want)) warn(`bug ${b} is not expected to show with ${name}=${formatKnob(k, cfg.knobs[name])} (it needs ${name}=${want})`);
    }
  }
  checkBoots(s, cfg);
  return cfg;
}

/** The options that are short for a --set: --rcu-tick T, --rcu FLAVOR. */
export function shorthandSets(a: { rcuTick?: unknown; rcu?: unknown }): string[] {
  return [...(a.rcuTick === undefined ? [] : [`rcu.tick=${String(a.rcuTick)}`]), ...listOpt(a.rcu).map((f) => `rcu.flavor=${f}`)];
}

/** --until-bound without --duration: at most this long */
export const UNTIL_BOUND_MAX_MS = 120_000;

/** A knob's value from text: a duration for 'us' knobs (a bare number is us), an integer for
 *  counts, a name for choices. */
export function knobValue(k: KnobDef, text: string): number {
  const what = `--set ${k.name}`;
  if (k.choices) {
    const i = k.choices.indexOf(text.trim());
    if (i < 0) throw new BadInput(`${what} is one of ${k.choices.join(', ')} (got ${text})`);
    return i;
  }
  const bare = /^\s*\d+(\.\d+)?\s*$/.test(text);
  const v = k.unit === 'count' || bare ? Number(text) : parseDuration(text, what) * 1000;
  const range = k.unit === 'us' ? `${k.min}us to ${k.max}us` : `an integer from ${k.min} to ${k.max}`;
  if (!Number.isFinite(v) || (k.unit === 'count' && !Number.isInteger(v)) || v < k.min || v > k.max) throw new BadInput(`${what} must be ${range} (got ${text})`);
  return v;
}

/** --set NAME=V (repeatable, or comma-separated): every knob's value, defaults for the rest. */
export function resolveKnobs(sets: readonly string[]): Record<string, number> {
  const out = knobDefaults();
  for (const kv of sets) {
    const i = kv.indexOf('=');
    const k = i > 0 ? KNOBS.byName(kv.slice(0, i).trim()) : undefined;
    if (!k) throw new BadInput(`--set takes KNOB=VALUE with a knob of: ${KNOBS.names().join(', ')} (got '${kv}')`);
    out[k.name] = knobValue(k, kv.slice(i + 1).trim());
  }
  return out;
}

/** Boots a throwaway copy of the run's machine: sizes the scenario cannot boot with are bad
 *  input, refused here with the smallest --frames that boots, never run. */
export function checkBoots(s: Scenario, cfg: RunConfig): void {
  try {
    bootMachine(s, cfg);
  } catch (e) {
    if (!(e instanceof BootError)) throw e;
    const need = minFramesToBoot(s, cfg, maxFrames(cfg.huge));
    let hint = need === null ? 'no --frames boots it' : `--frames must be at least ${need} for these parameters`;
    // and the range of each parameter that was raised from its default, at these sizes
    for (const [name, d] of Object.entries(s.params)) {
      if (cfg.params[name] <= d.value) continue;
      const max = maxParamToBoot(s, cfg, name, d.min, cfg.params[name]);
      if (max !== null) hint += `, or --param ${name} from ${d.min} to ${max} with --frames ${cfg.frames}`;
    }
    throw new BadInput(`${s.id} cannot boot with --frames ${cfg.frames} --huge ${cfg.huge}${Object.keys(cfg.params).length ? ` ${Object.entries(cfg.params).map(([k, v]) => `${k}=${v}`).join(' ')}` : ''}: ${e.message}; ${hint}`);
  }
}
