// One run: build the machine, boot the scenario, start one worker per CPU plus the gp
// worker, stop them (duration, ops, Ctrl-C, --stop-on-violation), collect their counters,
// run the end-of-run checks. The main thread never blocks: it coordinates with messages
// and timers, and reads the shared words only to watch progress and stalls.
import { knobArray } from '../../src/machine/knobs.js';
import { Worker } from 'node:worker_threads';
import { endOfRunAccounting, type AccountingSummary } from '../../src/check/accounting.js';
import { WINDOWS, WIN_UNLISTED } from '../../src/check/windows.js';
import type { Cpu } from '../../src/machine/cpu.js';
import { C_OPS, C_OVERLAPS, G_DRAIN, G_GP_DOORBELL, G_RCU_PENDING_MAX, G_START, G_STOP, G_VIOLATIONS, type Layout, cpuAddr, gpCpu } from '../../src/machine/layout.js';
import { scenarioById } from '../../src/scenarios/index.js';
import { type Scenario, roleCounters, windowPairs } from '../../src/scenarios/scenario.js';
import type { ResultRole, WorkerInit, WorkerMessage, WorkerResult, WorkerRole } from './protocol.js';
import { BadInput } from './config.js';
import type { RunConfig } from './machine.js';
import { BootError, bootMachine, registryNames } from './machine.js';
import type { Logger } from './log.js';
import { type CpuSnapshot, snapshotCpus } from './stall.js';

export interface Progress {
  elapsedMs: number;
  totalMs: number | null;
  readerOps: number;
  opsTarget: number | null;
  violations: number;
}

export interface RunHooks {
  log: Logger;
  onProgress?(p: Progress): void;
  /** aborting stops the run early; the results are still collected and written */
  signal?: AbortSignal;
}

export interface RawRun {
  cfg: RunConfig;
  scenario: Scenario;
  layout: Layout;
  startedAt: string;
  durationMs: number;
  results: WorkerResult[];
  boot: WorkerResult;
  accounting: AccountingSummary | null;
  rcuPendingMax: number;
  interrupted: boolean;
  /** --until-bound: whether the bound was reached before --duration ran out */
  boundReached: boolean;
  error: string | null;
  stall: CpuSnapshot[] | null;
}

/** Where a CPU worker starts: the compiled entry beside this file, or from the TypeScript
 *  sources through the tsx shim. GUPSTRESS_COMPILED_WORKERS=1 makes a run from the sources
 *  start compiled workers (dist/, 4x faster to start: the tests' many-CPU runs use it). */
function workerUrl(): URL {
  if (!import.meta.url.endsWith('.ts')) return new URL('../../workers/cpu.js', import.meta.url);
  if (process.env.GUPSTRESS_COMPILED_WORKERS === '1') return new URL('../../dist/workers/cpu.js', import.meta.url);
  return new URL('../../workers/shim.mjs', import.meta.url);
}

function cpuResult(c: Cpu, role: ResultRole, outcomes: number): WorkerResult {
  return {
    type: 'result', cpu: c.id, role, stats: Array.from(c.stats), outcomes: Array.from(c.outcomes.subarray(0, outcomes)),
    hists: [], winEntries: [], winOverlaps: [], winReached: [], winHists: [], violationCounts: Array.from(c.violationCounts),
    violations: c.violations, firstViolationMs: c.firstViolationMs,
  };
}

/** Window widening and pairing as per-window arrays (indexed by window id). winPair: the
 *  paired writer window, -1 for a window the scenario lists (or pairs a reader with)
 *  unpaired, WIN_UNLISTED for the rest (not counted: their points cost nothing). */
export function windowArrays(s: Scenario, cfg: Pick<RunConfig, 'widen'>): { widenNs: number[]; winPair: number[] } {
  const widenNs = WINDOWS.all.map((w) => cfg.widen[w.name] ?? 0);
  const winPair = WINDOWS.all.map(() => WIN_UNLISTED);
  for (const { window, pairedWith } of windowPairs(s)) {
    if (pairedWith) {
      winPair[window.id] = pairedWith.id;
      if (winPair[pairedWith.id] === WIN_UNLISTED) winPair[pairedWith.id] = -1;
    } else if (winPair[window.id] === WIN_UNLISTED) {
      winPair[window.id] = -1;
    }
  }
  return { widenNs, winPair };
}


export async function runScenario(cfg: RunConfig, hooks: RunHooks): Promise<RawRun> {
  const s = scenarioById(cfg.scenario);
  if (!s) throw new BadInput(`unknown scenario ${cfg.scenario}`);
  const log = hooks.log;
  const cpus = cfg.readers + cfg.writers;
  let machine;
  try {
    machine = bootMachine(s, cfg);
  } catch (e) {
    if (e instanceof BootError) throw new BadInput(`${s.id} cannot boot with --frames ${cfg.frames} --huge ${cfg.huge}: ${e.message}`);
    throw e;
  }
  const { L, sab, boot, params } = machine;
  const i32 = new Int32Array(sab);
  const mem = machine.mem;
  const { widenNs, winPair } = windowArrays(s, cfg);
  const registries = registryNames();

  const roles: WorkerRole[] = [];
  for (let i = 0; i < cfg.readers; i++) roles.push('reader');
  for (let i = 0; i < cfg.writers; i++) roles.push('writer');
  roles.push('gp');
  const quota = cfg.ops === null ? 0 : Math.ceil(cfg.ops / cfg.readers);
  const workers: Worker[] = [];
  const results = new Map<number, WorkerResult>();
  let readersDone = 0;
  let ready = 0;
  let error: string | null = null;
  let stall: CpuSnapshot[] | null = null;
  let interrupted = false;

  let wake: () => void = () => {};
  const changed = (): void => wake();
  const until = (pred: () => boolean, timeoutMs: number): Promise<boolean> =>
    new Promise((resolve) => {
      if (pred()) return resolve(true);
      const t = setTimeout(() => {
        wake = () => {};
        resolve(false);
      }, timeoutMs);
      wake = () => {
        if (pred() || error !== null) {
          clearTimeout(t);
          wake = () => {};
          resolve(pred());
        }
      };
    });

  roles.forEach((role, idx) => {
    const cpu = role === 'gp' ? gpCpu(L) : idx;
    const init: WorkerInit = {
      sab, layout: L, cpu, role, roleIndex: role === 'writer' ? idx - cfg.readers : idx, scenario: s.id, arch: cfg.arch,
      strategy: cfg.strategy, bugs: cfg.bugs, widenNs, winPair, jitter: cfg.jitter, seed: cfg.seed, opsQuota: quota,
      stopOnViolation: cfg.stopOnViolation, knobs: Array.from(knobArray(cfg.knobs)), readers: cfg.readers, writers: cfg.writers,
      mmLevels: cfg.levels, params: cfg.params, registries,
    };
    const w = new Worker(workerUrl(), { workerData: init, stdout: false, stderr: false });
    w.on('message', (msg: WorkerMessage) => {
      if (msg.type === 'ready') ready++;
      else if (msg.type === 'quota-done') readersDone++;
      else results.set(msg.cpu, msg);
      changed();
    });
    w.on('error', (e) => {
      error ??= `cpu ${cpu} (${role}) crashed: ${e.message}`;
      log.error({ cpu, role, err: e }, 'worker crashed');
      changed();
    });
    w.on('exit', (code) => {
      if (code !== 0 && !results.has(cpu)) error ??= `cpu ${cpu} (${role}) exited with code ${code} before reporting`;
      changed();
    });
    workers.push(w);
  });

  const terminateAll = async (): Promise<void> => {
    await Promise.all(workers.map((w) => w.terminate()));
  };

  // Ctrl-C at any instant from here on stops the run and still writes its results: during
  // start-up the CPUs start and stop at once (a run of a few operations, "interrupted")
  const onAbort = (): void => {
    interrupted = true;
    changed();
  };
  if (hooks.signal?.aborted) interrupted = true;
  hooks.signal?.addEventListener('abort', onAbort);
  if (!(await until(() => ready === roles.length, 60000)) || error !== null) {
    hooks.signal?.removeEventListener('abort', onAbort);
    await terminateAll();
    throw new Error(error ?? 'workers did not start within 60 s');
  }
  const startedAt = new Date().toISOString();
  const t0 = performance.now();
  if (interrupted) mem.store(L.gBase + G_STOP, 1);
  mem.store(L.gBase + G_START, 1);
  mem.notify(L.gBase + G_START, 1 << 30);
  log.debug({ scenario: s.id, strategy: cfg.strategy, bugs: cfg.bugs, cpus }, 'started');

  // run: until the duration passes, the readers' quotas are done, a violation stops it
  // (--stop-on-violation), the user interrupts, or a CPU stops making progress
  const lastOps = new Array<number>(cpus).fill(-1);
  let boundReached = false;
  const lastChange = new Array<number>(cpus).fill(t0);
  const tick = setInterval(() => {
    const now = performance.now();
    let readerOps = 0;
    for (let cpu = 0; cpu < cpus; cpu++) {
      const ops = Atomics.load(i32, cpuAddr(L, cpu, C_OPS));
      if (roles[cpu] === 'reader') readerOps += ops;
      if (ops !== lastOps[cpu] || results.has(cpu)) {
        lastOps[cpu] = ops;
        lastChange[cpu] = now;
      } else if (now - lastChange[cpu] > cfg.stallTimeoutMs && stall === null && !(roles[cpu] === 'reader' && quota > 0 && ops >= quota - 16)) {
        stall = snapshotCpus(i32, L, roles.map((r, i) => (i === cpus ? 'gp' : r)));
        error ??= `stall: cpu ${cpu} (${roles[cpu]}) made no progress for ${(cfg.stallTimeoutMs / 1000).toFixed(1)} s`;
      }
    }
    if (cfg.untilBound !== null) {
      let overlaps = 0;
      for (let cpu = 0; cpu < cpus; cpu++) if (roles[cpu] === 'reader') overlaps += Atomics.load(i32, cpuAddr(L, cpu, C_OVERLAPS));
      if (overlaps > 0 && 3 / overlaps < cfg.untilBound) boundReached = true;
    }
    hooks.onProgress?.({ elapsedMs: now - t0, totalMs: cfg.durationMs, readerOps, opsTarget: cfg.ops, violations: Atomics.load(i32, L.gBase + G_VIOLATIONS) });
    changed();
  }, 100);
  const stopWhen = (): boolean =>
    error !== null || interrupted || boundReached ||
    (cfg.durationMs !== null && performance.now() - t0 >= cfg.durationMs) ||
    (quota > 0 && readersDone === cfg.readers) ||
    (cfg.stopOnViolation && Atomics.load(i32, L.gBase + G_STOP) !== 0);
  await until(stopWhen, cfg.durationMs === null ? 1e9 : cfg.durationMs + 1000);
  Atomics.store(i32, L.gBase + G_STOP, 1);
  const durationMs = performance.now() - t0;

  // collect: every CPU reports, then the gp worker drains the call_rcu queues
  const cpuSlots = roles.map((r, i) => (r === 'gp' ? gpCpu(L) : i));
  const allCpusIn = (): boolean => cpuSlots.every((c, i) => roles[i] === 'gp' || results.has(c));
  if (error === null && !(await until(allCpusIn, cfg.stallTimeoutMs))) {
    stall ??= snapshotCpus(i32, L, [...roles.slice(0, cpus), 'gp']);
    error = `stall: CPUs did not stop within ${(cfg.stallTimeoutMs / 1000).toFixed(1)} s of the stop flag`;
  }
  Atomics.store(i32, L.gBase + G_DRAIN, 1);
  Atomics.add(i32, L.gBase + G_GP_DOORBELL, 1);
  Atomics.notify(i32, L.gBase + G_GP_DOORBELL);
  if (error === null && !(await until(() => results.has(gpCpu(L)), cfg.stallTimeoutMs))) {
    stall ??= snapshotCpus(i32, L, [...roles.slice(0, cpus), 'gp']);
    error = 'stall: the gp worker did not drain its callbacks';
  }
  clearInterval(tick);
  hooks.signal?.removeEventListener('abort', onAbort);
  if (error !== null) await terminateAll();

  // end-of-run checks on the boot CPU (every worker is gone or done)
  let accounting: AccountingSummary | null = null;
  const byName = (role: 'reader' | 'writer'): Record<string, number> => {
    const counters = roleCounters(s[role]);
    const sums: Record<string, number> = Object.fromEntries(counters.map((x) => [x.name, 0]));
    for (const r of results.values()) if (r.role === role) counters.forEach((x, i) => (sums[x.name] += r.outcomes[i] ?? 0));
    return sums;
  };
  if (error === null) {
    // the gp worker ran every callback before it exited (rcu_barrier semantics)
    s.teardown?.(boot, params);
    accounting = endOfRunAccounting(boot, s.mms ?? 1);
    s.check?.(boot, params, { reader: byName('reader'), writer: byName('writer') });
  }
  return {
    cfg, scenario: s, layout: L, startedAt, durationMs, results: [...results.values()].sort((a, b) => a.cpu - b.cpu),
    boot: cpuResult(boot, 'boot', 0), accounting, rcuPendingMax: Atomics.load(i32, L.gBase + G_RCU_PENDING_MAX), interrupted, boundReached, error, stall,
  };
}
