// Building and booting the emulated machine of a run: the layout (sized from the scenario's
// declaration), the shared memory, the boot CPU, RCU's counters and the scenario's mm and
// mappings. The runner boots every run here; the CLI boots a throwaway copy to refuse sizes
// the scenario cannot boot with before anything runs.
import { KNOBS, knobArray } from '../../src/machine/knobs.js';
import { archByName } from '../../src/arch/index.js';
import { TRACE_EVENTS } from '../../src/check/trace.js';
import { VIOLATION_KINDS } from '../../src/check/violations.js';
import { WINDOWS } from '../../src/check/windows.js';
import { HISTS, STATS } from '../../src/machine/stats.js';
import { bugSwitches } from '../../src/machine/bugs.js';
import { Cpu, type CpuOptions } from '../../src/machine/cpu.js';
import {
  C_WAITING_ON, G_GP_CTR, G_GP_DONE, G_GP_REQ, type Layout, LayoutError, MIN_FRAMES, bootCpu, computeLayout, cpuAddr,
} from '../../src/machine/layout.js';
import { type Mem, StressMem } from '../../src/machine/mem.js';
import { initPageAlloc } from '../../src/mm/page_alloc.js';
import { ALL_BUGS } from '../../src/scenarios/index.js';
import { type RunParams, type Scenario, scratchFields } from '../../src/scenarios/scenario.js';
import { STRATEGIES, type StrategyName } from '../../src/sync/strategy.js';
import type { ArchName } from '../../src/arch/arch.js';

/** What a run is: the command line resolved (config.ts resolveRunConfig), the one input a
 *  run's machine is built and booted from. */
export interface RunConfig {
  scenario: string;
  bugs: string[];
  strategy: StrategyName;
  arch: ArchName;
  levels: number;
  readers: number;
  writers: number;
  durationMs: number | null;
  /** --until-bound: stop once the 95% bound per paired-window overlap is below this */
  untilBound: number | null;
  ops: number | null;
  seed: number;
  /** widening per window name, in ns (scenario defaults merged with --widen) */
  widen: Record<string, number>;
  jitter: number;
  stopOnViolation: boolean;
  out: string;
  frames: number;
  huge: number;
  stallTimeoutMs: number;
  /** every tuning knob's value (defaults, and what --set gave), by name */
  knobs: Record<string, number>;
  params: Record<string, number>;
}

/** What a machine is built from: the part of a run's configuration that boot reads. */
export type MachineConfig = Pick<RunConfig, 'frames' | 'huge' | 'readers' | 'writers' | 'levels' | 'arch' | 'strategy' | 'seed' | 'knobs' | 'params'>;

export interface Machine {
  L: Layout;
  sab: SharedArrayBuffer;
  mem: StressMem;
  boot: Cpu;
  params: RunParams;
}

/** The scenario could not boot with these sizes (bad input, not a harness failure). */
export class BootError extends Error {}

/** The run's parameters: sizes, --param values and the scratch fields laid out from the
 *  layout's scratch region. `scratchBase` is where that region starts (0 to size it). */
export function runParams(s: Scenario, cfg: Pick<MachineConfig, 'readers' | 'writers' | 'levels' | 'params'>, scratchBase: number): { params: RunParams; scratchWords: number } {
  const base = { readers: cfg.readers, writers: cfg.writers, mmLevels: cfg.levels, params: cfg.params };
  const { addr, words } = scratchFields(s.scratch ? s.scratch(base) : {}, scratchBase);
  return { params: { ...base, scratch: addr }, scratchWords: words };
}

/** A CPU of scenario s's run: the arch variant the scenario models, the run's strategy and
 *  bug switches. The boot CPU, the stress workers and the controlled workers are all built here. */
export function scenarioCpu(s: Scenario, mem: Mem, L: Layout, id: number, cfg: { arch: ArchName; strategy: StrategyName }, params: RunParams, bugs: readonly string[], opts: CpuOptions): Cpu {
  const arch = s.archVariant ? s.archVariant(archByName(cfg.arch), params) : archByName(cfg.arch);
  return new Cpu(mem, L, id, arch, STRATEGIES[cfg.strategy], bugSwitches(ALL_BUGS, bugs), opts);
}

/** Lays out and boots a machine for scenario s; throws BootError for sizes it cannot hold.
 *  `reuse`: the memory of a machine that is done with, of the same size (the controlled
 *  executor boots one a execution: see newControl on why not a new one each time); it is
 *  cleared first. */
export function bootMachine(s: Scenario, cfg: MachineConfig, reuse?: SharedArrayBuffer): Machine {
  const cpus = cfg.readers + cfg.writers;
  let L: Layout;
  try {
    const { scratchWords } = runParams(s, cfg, 0);
    L = computeLayout({ frames: cfg.frames, hugeFolios: cfg.huge, cpus, mms: s.mms ?? 1, windows: WINDOWS.size, scratchWords });
  } catch (e) {
    if (e instanceof LayoutError) throw new BootError(e.message);
    throw e;
  }
  const { params, scratchWords } = runParams(s, cfg, L.scratchBase);
  // the fields are laid out one after the other inside the region: overlap is impossible by
  // construction; this checks the construction
  if (scratchWords !== L.scratchWords) throw new Error(`${s.id}: scratch fields take ${scratchWords} words, the layout holds ${L.scratchWords}`);
  const sab = reuse?.byteLength === L.words * 4 ? reuse : new SharedArrayBuffer(L.words * 4);
  if (sab === reuse) new Int32Array(sab).fill(0);
  const mem = new StressMem(sab, cfg.seed);
  const boot = bootCpuOf(s, mem, L, cfg, params);
  for (let cpu = 0; cpu < L.cpuSlots; cpu++) mem.store(cpuAddr(L, cpu, C_WAITING_ON), -1);
  mem.store(L.gBase + G_GP_CTR, 1);
  mem.store(L.gBase + G_GP_DONE, 1);
  mem.store(L.gBase + G_GP_REQ, 1);
  initPageAlloc(mem, L);
  try {
    s.boot(boot, params);
  } catch (e) {
    throw new BootError((e as Error).message);
  }
  return { L, sab, mem, boot, params };
}

/** The boot CPU of a machine: the main thread's, for setup and the end-of-run checks. */
function bootCpuOf(s: Scenario, mem: StressMem, L: Layout, cfg: MachineConfig, params: RunParams): Cpu {
  return scenarioCpu(s, mem, L, bootCpu(L), cfg, params, [], {
    widenNs: new Float64Array(WINDOWS.size), winPair: new Int32Array(WINDOWS.size).fill(-1), jitterP: 0,
    seedStartNs: mem.now(), stopOnViolation: false, knobs: knobArray(cfg.knobs), timing: false,
  });
}

/** A booted machine's memory, kept to boot the next one by copying it (the controlled
 *  executors boot one an execution, thousands a second). Booting reads the configuration,
 *  never the seed (no scenario's boot draws from it: a test holds that), so one image serves
 *  every seed of a configuration; `key` names the configuration. */
export interface MachineImage {
  key: string;
  words: Int32Array;
  L: Layout;
  params: RunParams;
}

/** What an image depends on: every part of the configuration but the seed. */
export function imageKey(cfg: MachineConfig): string {
  const { seed: _seed, ...rest } = cfg;
  return JSON.stringify(rest);
}

export function machineImage(m: Machine, cfg: MachineConfig): MachineImage {
  return { key: imageKey(cfg), words: new Int32Array(m.sab).slice(), L: m.L, params: m.params };
}

/** The machine of `image` again, on `sab` (of its size), with a fresh boot CPU. `dirty`:
 *  the blocks of DIRTY_BLOCK words written since the image was last copied (DirtyMem): only
 *  those are copied back, and the boot CPU's writes are tracked there too; without it, all. */
export function restoreMachine(s: Scenario, cfg: MachineConfig, image: MachineImage, sab: SharedArrayBuffer, dirty?: Uint8Array): Machine {
  const m = new Int32Array(sab);
  if (dirty === undefined) m.set(image.words);
  else {
    for (let b = 0; b < dirty.length; b++) {
      if (dirty[b] === 0) continue;
      dirty[b] = 0;
      const at = b << DIRTY_SHIFT;
      m.set(image.words.subarray(at, at + (1 << DIRTY_SHIFT)), at);
    }
  }
  const mem = dirty === undefined ? new StressMem(sab, cfg.seed) : new DirtyStressMem(sab, cfg.seed, dirty);
  return { L: image.L, sab, mem, boot: bootCpuOf(s, mem, image.L, cfg, image.params), params: image.params };
}

/** The blocks a machine's dirty map tracks: 64 words (a frame) each */
export const DIRTY_SHIFT = 6;

/** The words of `words` in blocks of a dirty map. */
export function dirtyMap(words: number): Uint8Array {
  return new Uint8Array((words >> DIRTY_SHIFT) + 1);
}

/** The boot CPU's memory when the machine is restored block by block: its writes (the
 *  end-of-run teardown) mark their blocks as the CPUs' do. */
class DirtyStressMem extends StressMem {
  constructor(sab: SharedArrayBuffer, seed: number, private readonly dirty: Uint8Array) {
    super(sab, seed);
  }
  override store(p: number, v: number): void {
    this.dirty[p >> DIRTY_SHIFT] = 1;
    super.store(p, v);
  }
  override cas(p: number, expect: number, repl: number): number {
    this.dirty[p >> DIRTY_SHIFT] = 1;
    return super.cas(p, expect, repl);
  }
  override add(p: number, d: number): number {
    this.dirty[p >> DIRTY_SHIFT] = 1;
    return super.add(p, d);
  }
  override xchg(p: number, v: number): number {
    this.dirty[p >> DIRTY_SHIFT] = 1;
    return super.xchg(p, v);
  }
}

function boots(s: Scenario, cfg: MachineConfig): boolean {
  try {
    bootMachine(s, cfg);
    return true;
  } catch (e) {
    if (e instanceof BootError) return false;
    throw e;
  }
}

/** The smallest --frames (from MIN_FRAMES up to `upTo`) the scenario boots with, all else
 *  equal, or null if none does. Booting needs more frames, never fewer, as frames shrink. */
export function minFramesToBoot(s: Scenario, cfg: MachineConfig, upTo: number): number | null {
  // gallop up from the run's own --frames (the answer is usually near it), then bisect
  let lo = MIN_FRAMES;
  let hi = Math.max(MIN_FRAMES, Math.min(cfg.frames, upTo));
  while (!boots(s, { ...cfg, frames: hi })) {
    if (hi >= upTo) return null;
    lo = hi;
    hi = Math.min(upTo, hi * 2);
  }
  if (lo === MIN_FRAMES && boots(s, { ...cfg, frames: lo })) return lo;
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1;
    if (boots(s, { ...cfg, frames: mid })) hi = mid;
    else lo = mid;
  }
  return hi;
}

/** The largest value of parameter `name` (from its min up to `upTo`) the scenario boots
 *  with at the run's sizes, or null if not even the min does (a larger value never needs
 *  less memory). */
export function maxParamToBoot(s: Scenario, cfg: MachineConfig, name: string, min: number, upTo: number): number | null {
  const at = (v: number): MachineConfig => ({ ...cfg, params: { ...cfg.params, [name]: v } });
  if (!boots(s, at(min))) return null;
  let lo = min;
  let hi = upTo;
  if (boots(s, at(hi))) return hi;
  while (hi - lo > 1) {
    const mid = lo + Math.floor((hi - lo) / 2);
    if (boots(s, at(mid))) lo = mid;
    else hi = mid;
  }
  return lo;
}

/** The registries' names in id order: each worker checks its own agree before it counts. */
export function registryNames(): string[][] {
  return [WINDOWS, VIOLATION_KINDS, STATS, HISTS, TRACE_EVENTS, KNOBS].map((r) => r.names());
}

/** A machine with one CPU (id 0) on this thread and no scenario booted: for single-threaded
 *  tests of the model and the bench's walk. `cpus` > 1 gives more CPUs on the same memory
 *  (cs[1], ...), to step by hand what two CPUs do to each other. */
export function bareMachine(o: { frames?: number; huge?: number; strategy?: StrategyName; bugs?: string[]; arch?: ArchName; scratchWords?: number; cpus?: number; mms?: number; knobs?: Record<string, number> } = {}): { c: Cpu; cs: Cpu[]; L: Layout; mem: StressMem } {
  const cpus = o.cpus ?? 1;
  const L = computeLayout({ frames: o.frames ?? 1024, hugeFolios: o.huge ?? 4, cpus, mms: o.mms ?? 1, windows: WINDOWS.size, scratchWords: o.scratchWords ?? 16 });
  const mem = new StressMem(new SharedArrayBuffer(L.words * 4), 7);
  mem.store(L.gBase + G_GP_CTR, 1);
  mem.store(L.gBase + G_GP_DONE, 1);
  initPageAlloc(mem, L);
  const cs = Array.from({ length: cpus }, (_, id) => new Cpu(mem, L, id, archByName(o.arch ?? 'x86-64'), STRATEGIES[o.strategy ?? 'ipi'], bugSwitches(ALL_BUGS, o.bugs ?? []), {
    widenNs: new Float64Array(WINDOWS.size), winPair: new Int32Array(WINDOWS.size).fill(-1), jitterP: 0, seedStartNs: 0,
    stopOnViolation: false, knobs: knobArray(o.knobs ?? {}),
  }));
  return { c: cs[0], cs, L, mem };
}
