// `gupstress bench`: micro-benchmarks of the primitives and the walk, in one process and
// one run, so every ratio compares numbers taken side by side on the same machine.
import { availableParallelism } from 'node:os';
import { performance as clock } from 'node:perf_hooks';
import { Bench } from 'tinybench';
import { Cpu } from '../../src/machine/cpu.js';
import { bareMachine } from '../run/machine.js';
import { type ControlledBench, type Rate, type SideBySide, controlledBench } from './bench-explore.js';
import { type Baseline, type BenchFigures, beforeAfterRows, benchFigures, runBaseline } from './bench-baseline.js';
import { scenarioById } from '../../src/scenarios/index.js';
import { FRAME_WORDS, MAX_CPUS, MD_FLAGS, MD_GEN, MD_REFCOUNT, MD_TYPE, MD_VPN, MD_WORDS, MM_PGD, PG_TABLE_DETACHED, PageType, WIN_SLOTS, mmAddr } from '../../src/machine/layout.js';
import { TRACE_LEN } from '../../src/check/trace.js';
import { HIST_NOT_MAPPED, mappedDuring } from '../../src/check/oracle.js';
import { W_MUNMAP_UNLINK_FREE } from '../../src/mm/memory.js';
import { FOLL_GET } from '../../src/mm/folio.js';
import { gupFast, putUserPages } from '../../src/mm/gup.js';
import { mmapPopulate } from '../../src/mm/memory.js';
import { mmAlloc } from '../../src/mm/mm.js';
import { VM_READ, VM_WRITE, vmaDefine } from '../../src/mm/vma.js';
import type { StrategyName } from '../../src/sync/strategy.js';
import { parseDuration, resolveRunConfig } from '../run/config.js';
import type { Logger } from '../run/log.js';
import { buildResults, hostInfo, type HistSummary } from '../run/results.js';
import { runScenario, windowArrays } from '../run/runner.js';
import { fmtInt, fmtNs, table } from '../output/table.js';

export const BENCH_SCHEMA = 'gupstress/bench@1';
const INNER = 1000; // operations per benchmark iteration
const BASE = 1 << 12; // vpn of the walked VMA
const PAGES = 128;

interface WalkMachine {
  i32: Int32Array;
  c: Cpu;
  pgd: number;
  framesBase: number;
  mdBase: number;
  /** the munmap window's counters (gup.walk's pair in munmap-free) and its object shift */
  winBase: number;
  winShift: number;
}

/** One mm, 4-level, 128 pte-mapped pages: the table shape both walks run over. The race
 *  windows are counted as in a munmap-free run (gup.walk paired with the munmap's window,
 *  gup.pin-recheck listed; no widening): what the walk pays for them in a run. */
function walkMachine(): WalkMachine {
  const { c, L, mem } = bareMachine({ frames: 1024, huge: 0, scratchWords: 0 });
  c.opts.winPair.set(windowArrays(scenarioById('munmap-free')!, { widen: {} }).winPair);
  c.benchChecks(true, true, true);
  mmAlloc(c, 0, 4);
  vmaDefine(mem, L, 0, 0, BASE, BASE + PAGES, VM_READ | VM_WRITE, false);
  if (mmapPopulate(c, 0, 0) !== 0) throw new Error('bench: populate failed');
  const pair = W_MUNMAP_UNLINK_FREE;
  return { i32: mem.m, c, pgd: mem.load(mmAddr(L, 0, MM_PGD)), framesBase: L.framesBase, mdBase: L.mdBase, winBase: L.winBase + pair.id * WIN_SLOTS, winShift: pair.shift };
}

/** The baseline: the same 4-level walk written by hand on raw Atomics (no interface, no
 *  irq-off word, no oracle): read each level once, try-get the page, re-check pmd and pte,
 *  put the page. What the same steps cost with nothing of the harness around them. */
function rawWalk(w: WalkMachine, vpn: number): number {
  const m = w.i32;
  const fb = w.framesBase;
  const pgd = Atomics.load(m, fb + w.pgd * FRAME_WORDS + ((vpn >>> 18) & 63));
  if ((pgd & 1) === 0) return 0;
  const pud = Atomics.load(m, fb + (pgd >>> 12) * FRAME_WORDS + ((vpn >>> 12) & 63));
  if ((pud & 1) === 0) return 0;
  const pmdp = fb + (pud >>> 12) * FRAME_WORDS + ((vpn >>> 6) & 63);
  const pmd = Atomics.load(m, pmdp);
  if ((pmd & 1) === 0) return 0;
  const ptep = fb + (pmd >>> 12) * FRAME_WORDS + (vpn & 63);
  const pte = Atomics.load(m, ptep);
  if ((pte & 1) === 0) return 0;
  const page = pte >>> 12;
  const refp = w.mdBase + page * MD_WORDS + MD_REFCOUNT;
  for (;;) {
    const r = Atomics.load(m, refp);
    if (r <= 0) return 0;
    if (Atomics.compareExchange(m, refp, r, r + 1) === r) break;
  }
  if (Atomics.load(m, pmdp) !== pmd || Atomics.load(m, ptep) !== pte) {
    Atomics.sub(m, refp, 1);
    return 0;
  }
  Atomics.sub(m, refp, 1);
  return page;
}

/** local_irq_restore by hand: clear the irq-off word, take a pending IPI, drop a waiter's ask. */
function rawIrqRestore(m: Int32Array, c: Cpu): void {
  Atomics.store(m, c.aIrqOff, 0);
  const req = Atomics.load(m, c.aIpiReq);
  if (req !== c.ipiSeen) {
    c.ipiSeen = req;
    Atomics.store(m, c.aIpiAck, req);
  }
  if (Atomics.load(m, c.aWant) !== 0) Atomics.store(m, c.aWant, 0);
}

/** The raw walk inside the emulated irq-off section: what the walk's irq/IPI/RCU words add
 *  (local_irq_save stores the grace-period counter it read; local_irq_restore clears it, takes
 *  a pending IPI, and wakes a waiter that asked). */
function rawWalkIrq(w: WalkMachine, vpn: number): number {
  const m = w.i32;
  const c = w.c;
  Atomics.store(m, c.aIrqOff, Atomics.load(m, c.gGpCtr));
  const page = rawWalk(w, vpn);
  rawIrqRestore(m, c);
  return page;
}

// the hand-written checked walk's trace ring and check counters (bench's own, not a CPU's)
const hcRingA = new Float64Array(TRACE_LEN);
const hcRingB = new Int32Array(TRACE_LEN);
let hcPos = 0;
const hcPfn = new Int32Array(4);
const hcGen = new Int32Array(4);
const hcWin = new Float64Array(4); // gup.walk entries, gup.pin-recheck entries, reached, overlaps
let hcT0 = 0; // a sampled window's start (one entry in 64 timed, as the harness's)
let hcTimed = 0;
let hcViolations = 0;

function hcTrace(id: number, a: number, b: number): void {
  const i = hcPos;
  hcRingA[i] = id * 4294967296 + (a >>> 0);
  hcRingB[i] = b;
  hcPos = (i + 1) & (TRACE_LEN - 1);
}

/** The raw walk with every check the harness walk makes, written by hand into one function:
 *  the trace ring (two stores an event, the harness walk's seven events), the two race windows
 *  as a munmap-free run counts them (gup.walk paired: the writer's counter read at open and
 *  close; gup.pin-recheck counted and reached; one entry in 64 timed), the oracle (each table's
 *  type and generation at entry, its generation at every read from it and at the end, the
 *  retracted flag, the stale-page check). The checks at the cost of a flat hot loop, not of the
 *  kernel's structure: what a walk flattened for speed would cost (issue 10). */
function rawWalkChecked(w: WalkMachine, vpn: number): number {
  const m = w.i32;
  const fb = w.framesBase;
  const md = w.mdBase;
  const c = w.c;
  hcTrace(1, vpn, 1);
  Atomics.store(m, c.aIrqOff, Atomics.load(m, c.gGpCtr));
  hcTrace(2, 0, 0);
  const stamp = m[c.gStamp];
  if ((hcWin[0]++ & 63) === 0) hcT0 = clock.now();
  const slot = w.winBase + ((vpn >>> w.winShift) & (WIN_SLOTS - 1));
  const seq = m[slot];
  let nw = 0;
  let page = 0;
  const pgd = Atomics.load(m, fb + w.pgd * FRAME_WORDS + ((vpn >>> 18) & 63));
  if ((pgd & 1) !== 0) {
    const t1 = pgd >>> 12;
    if (m[md + t1 * MD_WORDS + MD_TYPE] !== PageType.PageTable) hcViolations++;
    hcPfn[nw] = t1;
    hcGen[nw++] = m[md + t1 * MD_WORDS + MD_GEN];
    const pud = Atomics.load(m, fb + t1 * FRAME_WORDS + ((vpn >>> 12) & 63));
    hcTrace(3, vpn, pud);
    if (m[md + t1 * MD_WORDS + MD_GEN] === hcGen[0] && (pud & 1) !== 0) {
      const t2 = pud >>> 12;
      if (m[md + t2 * MD_WORDS + MD_TYPE] !== PageType.PageTable) hcViolations++;
      hcPfn[nw] = t2;
      hcGen[nw++] = m[md + t2 * MD_WORDS + MD_GEN];
      const pmdp = fb + t2 * FRAME_WORDS + ((vpn >>> 6) & 63);
      const pmd = Atomics.load(m, pmdp);
      hcTrace(4, vpn, pmd);
      if (m[md + t2 * MD_WORDS + MD_GEN] === hcGen[1] && (pmd & 1) !== 0 && (pmd & 128) === 0) {
        const t3 = pmd >>> 12;
        if (m[md + t3 * MD_WORDS + MD_TYPE] !== PageType.PageTable) hcViolations++;
        hcPfn[nw] = t3;
        hcGen[nw++] = m[md + t3 * MD_WORDS + MD_GEN];
        const ptep = fb + t3 * FRAME_WORDS + (vpn & 63);
        if ((hcWin[1]++ & 63) === 0) hcT0 = clock.now();
        const pte = Atomics.load(m, ptep);
        hcTrace(5, vpn, pte);
        if (m[md + t3 * MD_WORDS + MD_GEN] === hcGen[2] && (pte & 5) === 5 && (pte & 512) === 0) {
          const pg = pte >>> 12;
          hcWin[2]++;
          const refp = md + pg * MD_WORDS + MD_REFCOUNT;
          let got = false;
          for (;;) {
            const r = Atomics.load(m, refp);
            if (r <= 0) break;
            if (Atomics.compareExchange(m, refp, r, r + 1) === r) {
              got = true;
              break;
            }
          }
          if (got) {
            hcTrace(6, pg, 0);
            const detached = (m[md + t3 * MD_WORDS + MD_FLAGS] & PG_TABLE_DETACHED) !== 0;
            if (Atomics.load(m, pmdp) !== pmd || Atomics.load(m, ptep) !== pte) {
              Atomics.sub(m, refp, 1);
            } else {
              if (detached) hcViolations++;
              const type = m[md + pg * MD_WORDS + MD_TYPE];
              const mapped = (type === PageType.Anon || type === PageType.Ksm) && m[md + pg * MD_WORDS + MD_VPN] === vpn;
              if (!mapped && mappedDuring(c, pg, vpn, stamp) === HIST_NOT_MAPPED) hcViolations++; // (out of line: the history, rare)
              page = pg;
            }
          }
        }
      }
    }
  }
  for (let i = 0; i < nw; i++) if (m[md + hcPfn[i] * MD_WORDS + MD_GEN] !== hcGen[i]) hcViolations++;
  if ((seq & 1) !== 0 || m[slot] !== seq) hcWin[3]++;
  if (hcT0 !== 0) {
    hcTimed += clock.now() - hcT0;
    hcT0 = 0;
  }
  hcTrace(7, page !== 0 ? 1 : 0, 0);
  rawIrqRestore(m, c);
  if (page !== 0) Atomics.sub(m, md + page * MD_WORDS + MD_REFCOUNT, 1);
  return page;
}

/** The walk's cost by component: each variant switches on one more part, in one process. */
const WALK_VARIANTS = [
  { key: 'raw', name: 'raw 4-level walk (hand-written Atomics)', label: 'raw 4-level walk + try-get + re-check + put' },
  { key: 'rawIrq', name: 'raw walk + emulated irq/IPI/RCU words', label: '+ emulated irq-off / IPI / RCU words (hand-written)' },
  { key: 'handChecked', name: 'raw walk + every check, by hand', label: '+ every check of the harness walk, written into it by hand (one function)' },
  { key: 'protocol', name: 'harness walk: trace, windows, oracle off', label: 'harness gup_fast + put: the protocol only' },
  { key: 'trace', name: 'harness walk + trace', label: '  + trace ring' },
  { key: 'windows', name: 'harness walk + trace + windows', label: '  + race windows' },
  { key: 'oracle', name: 'harness gup_fast walk (irq-off, oracle, windows)', label: '  + oracle: the full checked walk' },
] as const;
type WalkComponent = (typeof WALK_VARIANTS)[number]['key'];

export interface BenchResults {
  schema: typeof BENCH_SCHEMA;
  startedAt: string;
  host: ReturnType<typeof hostInfo>;
  atomicsLoadNs: number;
  plainLoadNs: number;
  walk: { harnessNs: number; rawNs: number; ratio: number; components: Record<WalkComponent, number> };
  /** reader operations per second of munmap-free's GUP-fast readers with no writer and no
   *  widening, on 1, 2, 4, ... reader CPUs up to all cores but one (scalingReaders) */
  scaling: { readers: number; opsPerSec: number }[];
  ipi: { p50Ns: number | null; p99Ns: number | null; broadcasts: number };
  rcu: { syncP50Ns: number | null; syncP99Ns: number | null; expeditedP50Ns: number | null; expeditedP99Ns: number | null; gracePeriodP50Ns: number | null; callRcuBatchP50: number | null };
  /** the stress executor's walk rate on one CPU (1 / walk.harnessNs) */
  stressWalksPerSec: number;
  /** the controlled executors side by side: sequential (generators, one thread) and workers */
  controlled: ControlledBench;
  /** with --baseline DIR: that build's bench, run just before this one, and the figures
   *  compared (`before` its, `now` this build's) */
  baseline?: Baseline & { now: BenchFigures };
}

/** The reader counts bench's scaling runs: 1, 2, then doubling, and the most that leaves a
 *  core for the main thread (1, 2 on 2 cores; 1, 2, 4, 8, 15 on 16), at most MAX_CPUS. */
export function scalingReaders(cores: number): number[] {
  const most = Math.min(MAX_CPUS, Math.max(2, cores - 1));
  const out = [1, 2];
  for (let n = 4; n < most; n *= 2) out.push(n);
  if (most > 2) out.push(most);
  return out;
}

async function syncRun(strategy: StrategyName, log: Logger, ms: number): Promise<ReturnType<typeof buildResults>['sync']> {
  // the target CPU runs short read-side sections back to back (no widening): an IPI or a
  // grace period waits for at most one of them, and for the CPU to reach its next
  // interrupt point
  const cfg = resolveRunConfig({ scenario: 'sync-witness', strategy, duration: `${ms}ms`, widen: ['sync.reader=0'], seed: 1 });
  const r = buildResults(await runScenario(cfg, { log }));
  if (r.verdict !== 'PASS') throw new Error(`bench: sync-witness under ${strategy} did not pass: ${r.verdict}`);
  return r.sync;
}

export async function runBench(o: { json: boolean; time?: unknown; baseline?: unknown }, log: Logger): Promise<number> {
  const timeMs = o.time === undefined ? 1000 : parseDuration(String(o.time), '--time');
  const time = o.time === undefined ? undefined : String(o.time);
  let baseline: Baseline | null = null;
  if (o.baseline !== undefined) {
    const dir = String(o.baseline);
    log.info({ dir }, 'bench: the baseline build first (its own bench, in a child process)');
    baseline = await runBaseline(dir, time);
  }
  const w = walkMachine();
  const plain = new Int32Array(w.i32.length);
  let sink = 0;
  const bench = new Bench({ time: timeMs, warmup: true });
  bench
    .add('Atomics.load', () => {
      const m = w.i32;
      for (let i = 0; i < INNER; i++) sink += Atomics.load(m, i & 1023);
    })
    .add('plain typed-array load', () => {
      for (let i = 0; i < INNER; i++) sink += plain[i & 1023];
    })
    .add(WALK_VARIANTS[0].name, () => {
      for (let i = 0; i < INNER; i++) sink += rawWalk(w, BASE + (i & (PAGES - 1)));
    })
    .add(WALK_VARIANTS[1].name, () => {
      for (let i = 0; i < INNER; i++) sink += rawWalkIrq(w, BASE + (i & (PAGES - 1)));
    })
    .add(WALK_VARIANTS[2].name, () => {
      for (let i = 0; i < INNER; i++) sink += rawWalkChecked(w, BASE + (i & (PAGES - 1)));
    });
  const harnessWalk = (k: number): void => {
    const c = w.c;
    c.benchChecks(k >= 1, k >= 2, k >= 3);
    for (let i = 0; i < INNER; i++) {
      const vpn = BASE + (i & (PAGES - 1));
      const n = gupFast(c, 0, vpn, 1, FOLL_GET);
      putUserPages(c, n, FOLL_GET, vpn);
      sink += n;
    }
  };
  const HARNESS = 3; // WALK_VARIANTS[HARNESS..]: the harness walk, checks switched on one by one
  for (const [k, v] of WALK_VARIANTS.slice(HARNESS).entries()) bench.add(v.name, () => harnessWalk(k));
  // every variant in turn before any is timed: V8 then optimizes the walk once, with every
  // check's path seen, and each variant runs that same code (timed one after the other
  // from cold, each would run code optimized for its own switches, and the parts would not add)
  for (let round = 0; round < 50; round++) for (let k = 0; k < WALK_VARIANTS.length - HARNESS; k++) harnessWalk(k);
  log.info({ timeMs }, 'bench: micro-benchmarks');
  await bench.run();
  w.c.benchChecks(true, true, true);
  const perOp = (name: string): number => {
    const t = bench.tasks.find((x) => x.name === name)!;
    const res = t.result;
    if (res.state !== 'completed') throw new Error(`bench task ${name}: ${res.state}`);
    return (res.latency.p50 * 1e6) / INNER;
  };
  if (w.c.violations.length > 0) throw new Error(`bench walk saw violations: ${w.c.violations[0].detail}`);
  if (hcViolations > 0 || hcTimed < 0) throw new Error(`bench: the hand-written checked walk judged ${hcViolations} violations on a quiet machine`);
  log.info('bench: IPI and grace-period latency (sync-witness, 1 reader + 1 writer)');
  const ms = Math.max(1000, timeMs * 2);
  const ipi = await syncRun('ipi', log, ms);
  const rsync = await syncRun('rcu-sync', log, ms);
  const rexp = await syncRun('rcu-exp', log, ms);
  const rcb = await syncRun('rcu', log, ms);
  log.info('bench: the controlled executors, sequential and workers, on every scenario\'s explore instance');
  const controlled = await controlledBench(ms, Math.max(1000, timeMs));
  const scaling: BenchResults['scaling'] = [];
  for (const readers of scalingReaders(availableParallelism())) {
    // unwidened: the walk's own rate (munmap-free widens gup.pin-recheck by 1 us by default)
    const cfg = resolveRunConfig({ scenario: 'munmap-free', readers: String(readers), writers: '0', duration: `${ms}ms`, seed: 1, widen: ['none'] });
    const r = buildResults(await runScenario(cfg, { log }));
    scaling.push({ readers, opsPerSec: Math.round(r.reader.opsPerSec) });
  }
  const harnessNs = perOp('harness gup_fast walk (irq-off, oracle, windows)');
  const rawNs = perOp('raw 4-level walk (hand-written Atomics)');
  const p = (h: HistSummary, k: 'p50' | 'p99'): number | null => h[k];
  const res: BenchResults = {
    schema: BENCH_SCHEMA,
    startedAt: new Date().toISOString(),
    host: hostInfo(),
    atomicsLoadNs: perOp('Atomics.load'),
    plainLoadNs: perOp('plain typed-array load'),
    walk: { harnessNs, rawNs, ratio: harnessNs / rawNs, components: Object.fromEntries(WALK_VARIANTS.map((v) => [v.key, perOp(v.name)])) as Record<WalkComponent, number> },
    scaling,
    ipi: { p50Ns: p(ipi.ipiWaitNs, 'p50'), p99Ns: p(ipi.ipiWaitNs, 'p99'), broadcasts: ipi.ipiSent },
    rcu: {
      syncP50Ns: p(rsync.syncRcuNs, 'p50'), syncP99Ns: p(rsync.syncRcuNs, 'p99'),
      expeditedP50Ns: p(rexp.syncRcuExpeditedNs, 'p50'), expeditedP99Ns: p(rexp.syncRcuExpeditedNs, 'p99'),
      gracePeriodP50Ns: p(rcb.gracePeriodNs, 'p50'), callRcuBatchP50: rcb.callbackBatch.p50,
    },
    stressWalksPerSec: Math.round(1e9 / harnessNs),
    controlled,
  };
  if (baseline) res.baseline = { ...baseline, now: benchFigures(res) };
  if (o.json) {
    process.stdout.write(JSON.stringify(res, null, 2) + '\n');
    return 0;
  }
  const h = res.host;
  process.stdout.write(`gupstress bench on ${h.cpus} x ${h.cpuModel}, Node ${h.node}\n\n`);
  process.stdout.write(table(['measure', 'value'], [
    ['Atomics.load', fmtNs(res.atomicsLoadNs)],
    ['plain typed-array load', fmtNs(res.plainLoadNs)],
    ...WALK_VARIANTS.map((v) => [v.label, fmtNs(res.walk.components[v.key])]),
    ['  ratio harness / raw', res.walk.ratio.toFixed(2)],
    ...res.scaling.map((x) => [`GUP-fast reader ops/s, ${x.readers} reader CPU${x.readers > 1 ? 's' : ''} (munmap-free, no writer)`, fmtInt(x.opsPerSec)]),
    ['IPI broadcast round trip p50 / p99 (1 running target)', `${fmtNs(res.ipi.p50Ns)} / ${fmtNs(res.ipi.p99Ns)}`],
    ['synchronize_rcu p50 / p99', `${fmtNs(res.rcu.syncP50Ns)} / ${fmtNs(res.rcu.syncP99Ns)}`],
    ['synchronize_rcu_expedited p50 / p99', `${fmtNs(res.rcu.expeditedP50Ns)} / ${fmtNs(res.rcu.expeditedP99Ns)}`],
    ['call_rcu: grace period p50, batch p50', `${fmtNs(res.rcu.gracePeriodP50Ns)}, ${res.rcu.callRcuBatchP50 ?? '-'} callbacks`],
    ['stress: harness walks per second, one CPU', fmtInt(res.stressWalksPerSec)],
  ], [false, true]) + '\n\n');
  const rate = (r: Rate): string => `${fmtInt(r.runsPerSec)} / ${fmtInt(r.stepsPerSec)}`;
  const row = (label: string, x: SideBySide): string[] => [label, rate(x.sequential), rate(x.workers), `${x.speedup.toFixed(1)}x`];
  process.stdout.write(table(['controlled executions (explore instance)', 'sequential: exec/s / steps/s', 'workers: exec/s / steps/s', 'sequential / workers'], [
    row('ksm-merge, pct (the headline)', controlled.pct),
    row('ksm-merge, random (a switch nearly every step)', controlled.random),
    ...controlled.scenarios.map((x) => row(`${x.scenario}, pct`, x)),
  ], [false, true, true, true]) + '\n');
  process.stdout.write(`explore --memory (ksm-merge, random, sequential): ${controlled.memory.map((x) => `${x.memory} ${fmtInt(x.runsPerSec)} executions/s, ${fmtInt(x.stepsPerSec)} steps/s`).join('; ')}\n`);
  process.stdout.write(`explore --exhaustive (${controlled.exhaustive.scenario}, at most 2 preemptions): ${fmtInt(controlled.exhaustive.schedulesPerSec)} schedules/s (${fmtInt(controlled.exhaustive.pathsPerSec)} paths/s with those sleep sets cut)\n`);
  if (res.baseline) {
    const b = res.baseline;
    process.stdout.write(`\nbefore (--baseline ${b.dir}${b.commit ? `, ${b.commit}` : ''}, run just before) and now, explore's default executor in each:\n`);
    process.stdout.write(table(['measure', 'before', 'now', 'change'], beforeAfterRows(b.before, b.now), [false, true, true, true]) + '\n');
  }
  return 0;
}
