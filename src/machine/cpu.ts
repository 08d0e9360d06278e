// One emulated CPU: the Mem it runs on, its per-CPU words, and its CPU-local statistics.
// Everything here is allocated once, before the role loop starts.
import hdr from 'hdr-histogram-js';
import type { Arch } from '../arch/arch.js';
import { TRACE_EVENTS, TRACE_LEN, type TraceDef, formatTraceEvent } from '../check/trace.js';
import { VIOLATION_KINDS, type Violation, type ViolationDef } from '../check/violations.js';
import { WINDOWS, winActiveOf } from '../check/window-defs.js';
import { HISTS, S_BLOCKS, STATS } from './stats.js';
import {
  C_IPI_ACK, C_IPI_REQ, C_IRQ_OFF, C_OPS, C_QS_SEQ, C_RCU_CTR, C_STATE, C_WAITING_ON,
  C_STACK, C_WAKE, C_WANT, G_GP_CTR, G_STAMP, G_VIOLATIONS, G_STOP, type Layout, cpuAddr, CpuState, CB_RING,
} from './layout.js';
import type { KnobDef } from './knobs.js';
import { ACQUIRE, type Mem, RELEASE, SMP_MB } from './mem.js';


/** A strategy's name (sync/strategy.ts fills in the ops of each). */
export type StrategyName = 'ipi' | 'rcu' | 'rcu-sync' | 'rcu-exp';

/** The synchronization ops a CPU is built with, one record per strategy (sync/strategy.ts
 *  STRATEGIES), like rcutorture's rcu_torture_ops. */
export interface Strategy {
  readonly name: StrategyName;
  readonly doc: string;
  /** flush_tlb_mm_range(): an IPI broadcast that waits for irq-off CPUs, or a hardware
   *  broadcast invalidation (arm64 TLBI, x86 with paravirt flush) that waits for nobody. */
  flushTlb(c: Cpu): void;
  /** tlb_remove_table_sync_one(): empty where the flush already IPIs, an IPI otherwise. */
  tlbRemoveTableSyncOne(c: Cpu): void;
  /** tlb_finish_mmu()'s table free, after the flush: tables[0..n). `free` returns one frame. */
  freeTables(c: Cpu, tables: Int32Array, n: number, free: (c: Cpu, pfn: number) => void): void;
}

/** The bug switches of a run, by name (src/machine/bugs.ts builds them): c.bug['name'] */
export type BugSwitches = Readonly<Record<string, boolean>>;

export const MAX_VIOLATION_RECORDS = 20;
export const GUP_MAX = 64;

export function newHistogram(): hdr.Histogram {
  return hdr.build({ bitBucketSize: 32, numberOfSignificantValueDigits: 2, autoResize: true });
}

export interface CpuOptions {
  widenNs: Float64Array; //     per window
  winPair: Int32Array; //       reader window -> paired writer window, or -1
  jitterP: number; //           probability of a random delay at a window point
  seedStartNs: number; //       run start, for violation times
  stopOnViolation: boolean;
  knobs: Float64Array; //       per knob id (src/machine/knobs.ts)
  /** latency histograms recorded (default); a controlled execution reports none of them and
   *  leaves them out (a few dozen histograms a CPU an execution were much of its cost) */
  timing?: boolean;
}

/** A role's counter indexes, built once a counter list (a controlled executor builds its
 *  CPUs afresh for each of thousands of executions) */
const roleIndexes = new WeakMap<object, { outcomes: ReadonlyMap<string, number>; events: ReadonlyMap<string, number> }>();

/** What a CPU that keeps no latency histograms records into: nothing. */
const NO_HISTOGRAM = { recordValue(): void {} } as unknown as hdr.Histogram;

export class Cpu {
  readonly mem: Mem;
  readonly L: Layout;
  readonly id: number;
  readonly arch: Arch;
  readonly strategy: Strategy;
  /** the bug switches of this run, by name (src/machine/bugs.ts): c.bug['name'] */
  readonly bug: BugSwitches;
  readonly opts: CpuOptions;

  // this CPU's words
  readonly aState: number;
  readonly aIrqOff: number;
  readonly aRcuCtr: number;
  readonly aQs: number;
  readonly aIpiReq: number;
  readonly aIpiAck: number;
  readonly aWake: number;
  readonly aWant: number;
  readonly aOps: number;
  readonly aWaitingOn: number;
  /** this CPU's stack words: real memory a walker's frame can live in */
  readonly aStack: number;
  readonly gGpCtr: number;
  readonly gStamp: number;
  readonly gStop: number;

  // CPU-local state of the sync layer
  irqDepth = 0;
  rcuNest = 0;
  ipiSeen = 0;
  qsSeen = 0;
  readonly ipiReqs: Int32Array; // scratch: request number posted to each target

  // statistics
  readonly stats = new Float64Array(STATS.size);
  /** the role's outcome counts, by the outcome's index in its declaration */
  readonly outcomes = new Float64Array(64);
  readonly hists: hdr.Histogram[] = [];
  readonly winEntries = new Float64Array(WINDOWS.size);
  readonly winOverlaps = new Float64Array(WINDOWS.size);
  /** the open entry of each window passed its critical step (its widen point) */
  readonly winReached = new Uint8Array(WINDOWS.size);
  readonly winReachedCount = new Float64Array(WINDOWS.size);
  readonly winHists: hdr.Histogram[] = [];
  readonly winSlot = new Int32Array(WINDOWS.size);
  readonly winSeq = new Int32Array(WINDOWS.size);
  readonly winT0 = new Float64Array(WINDOWS.size);
  readonly winShift = new Int32Array(WINDOWS.size);
  readonly violationCounts = new Float64Array(VIOLATION_KINDS.size);
  readonly violations: Violation[] = [];
  firstViolationMs = -1;

  /** the windows counted on this CPU (winActiveOf): the scenario's, or all when jittering */
  winActive: Uint8Array;

  /** bench only (what the walk's cost is made of): trace, race windows and oracle can be
   *  switched off one by one (benchChecks). On in every run; nothing but `gupstress bench`
   *  turns them off. */
  traceOn = true;
  oracleOn = true;

  // trace ring: two stores an event: the event's id + 1 and its first value packed in one
  // double ((id + 1) * 2^32 + a, exact: id < 2^20), its second value beside it; 0 marks an
  // empty slot. tracePos is the next slot.
  private readonly traceEvA = new Float64Array(TRACE_LEN);
  private readonly traceB = new Int32Array(TRACE_LEN);
  private tracePos = 0;

  // GUP-fast scratch: pages got, and the table frames walked with their generations
  readonly pages = new Int32Array(GUP_MAX);
  nrPages = 0;
  readonly walkPfn = new Int32Array(8);
  readonly walkGen = new Int32Array(8);
  /** the word address of each walked table's entry 0 (the oracle's bounds check) */
  readonly walkBase = new Int32Array(8);
  nrWalk = 0;
  walkStamp = 0;
  /** page-table depth of the walk in progress (pgdOffsetLockless) */
  walkLevels = 0;
  /** why the last gup_fast stopped short (GUP_FAST_* in mm/gup.ts) */
  gupFastReason = 0;

  constructor(mem: Mem, L: Layout, id: number, arch: Arch, strategy: Strategy, bug: BugSwitches, opts: CpuOptions) {
    this.mem = mem;
    this.L = L;
    this.id = id;
    this.arch = arch;
    this.strategy = strategy;
    this.bug = bug;
    this.opts = opts;
    this.aState = cpuAddr(L, id, C_STATE);
    this.aIrqOff = cpuAddr(L, id, C_IRQ_OFF);
    this.aRcuCtr = cpuAddr(L, id, C_RCU_CTR);
    this.aQs = cpuAddr(L, id, C_QS_SEQ);
    this.aIpiReq = cpuAddr(L, id, C_IPI_REQ);
    this.aIpiAck = cpuAddr(L, id, C_IPI_ACK);
    this.aWake = cpuAddr(L, id, C_WAKE);
    this.aWant = cpuAddr(L, id, C_WANT);
    this.aOps = cpuAddr(L, id, C_OPS);
    this.aWaitingOn = cpuAddr(L, id, C_WAITING_ON);
    this.aStack = cpuAddr(L, id, C_STACK);
    this.gGpCtr = L.gBase + G_GP_CTR;
    this.gStamp = L.gBase + G_STAMP;
    this.gStop = L.gBase + G_STOP;
    this.ipiReqs = new Int32Array(L.cpus);
    this.winActive = winActiveOf(opts.winPair, opts.jitterP);
    // ipiSeen stays 0: a CPU is built before its first access on a machine that has posted
    // it no IPI yet. (Read from its mailbox instead, a CPU the worker executor builds while the
    // others already run would see whatever they posted by then, and the execution would
    // depend on the thread's timing.)
    const timing = opts.timing ?? true;
    for (let i = 0; i < HISTS.size; i++) this.hists.push(timing ? newHistogram() : NO_HISTOGRAM);
    for (const w of WINDOWS.all) {
      this.winHists.push(timing ? newHistogram() : NO_HISTOGRAM);
      this.winShift[w.id] = w.shift;
    }
  }

  /** bench only: the trace, the race windows this CPU counts, the oracle, on or off. */
  benchChecks(trace: boolean, windows: boolean, oracle: boolean): void {
    this.traceOn = trace;
    this.oracleOn = oracle;
    this.winActive = windows ? winActiveOf(this.opts.winPair, this.opts.jitterP) : new Uint8Array(WINDOWS.size);
  }

  /** Sleeps on *p == v (irqs on). While asleep this CPU is "Blocked": IPI senders treat it
   *  as idle (its interrupt would be taken at once) and it holds up no grace period unless
   *  it is inside an RCU read-side section. */
  block(p: number, v: number, timeoutMs: number): number {
    const m = this.mem;
    // (the CPU's scheduler state: what it did before is done when another CPU sees it asleep)
    m.store(this.aWaitingOn, p, RELEASE);
    m.store(this.aState, CpuState.Blocked, RELEASE);
    this.stats[S_BLOCKS.id]++;
    const r = m.wait(p, v, timeoutMs);
    m.store(this.aState, CpuState.Running, RELEASE);
    m.store(this.aWaitingOn, -1, RELEASE);
    return r;
  }

  /** A tuning knob's value in this run (--set). */
  knob(k: KnobDef): number {
    return this.opts.knobs[k.id];
  }

  /** Wakes CPUs sleeping on this CPU's C_WAKE (IPI senders, expedited grace periods). */
  wakeWaiters(): void {
    const m = this.mem;
    m.fence(SMP_MB); // (wake_up's pairing with set_current_state: the waiter's C_WANT is seen)
    if (m.load(this.aWant, ACQUIRE) !== 0) {
      m.store(this.aWant, 0, RELEASE);
      m.add(this.aWake, 1);
      m.notify(this.aWake, 64);
    }
  }

  /** controlled runs: every trace event with its logical time, [t, id, a, b] flattened */
  traceLog: number[] | null = null;

  trace(ev: TraceDef, a: number, b: number): void {
    if (!this.traceOn) return;
    if (this.traceLog !== null) this.traceLog.push(this.mem.now(), ev.id, a, b);
    const i = this.tracePos;
    this.traceEvA[i] = (ev.id + 1) * 4294967296 + (a >>> 0);
    this.traceB[i] = b;
    this.tracePos = (i + 1) & (TRACE_LEN - 1);
  }

  traceDump(): string[] {
    const out: string[] = [];
    for (let k = 0; k < TRACE_LEN; k++) {
      const i = (this.tracePos + k) & (TRACE_LEN - 1);
      const x = this.traceEvA[i];
      if (x === 0) continue;
      const ev = Math.floor(x / 4294967296);
      out.push(formatTraceEvent(TRACE_EVENTS.all[ev - 1], (x - ev * 4294967296) | 0, this.traceB[i]));
    }
    return out;
  }

  // the role this CPU runs: outcome and event name -> counter index (setRole)
  private outcomeIndex: ReadonlyMap<string, number> = new Map();
  private eventIndex: ReadonlyMap<string, number> = new Map();

  /** The role's counters, in the order of its declaration (roleCounters in scenarios/). */
  setRole(counters: readonly { name: string; event: boolean }[]): void {
    if (counters.length > this.outcomes.length) throw new Error(`cpu ${this.id}: ${counters.length} outcomes and events, at most ${this.outcomes.length}`);
    let ix = roleIndexes.get(counters);
    if (ix === undefined) {
      const index = (event: boolean): Map<string, number> => new Map(counters.flatMap((x, i): [string, number][] => (x.event === event ? [[x.name, i]] : [])));
      roleIndexes.set(counters, (ix = { outcomes: index(false), events: index(true) }));
    }
    this.outcomeIndex = ix.outcomes;
    this.eventIndex = ix.events;
  }

  /** Counts the outcome an operation returned (the op skeleton, the same for every role). */
  countOutcome(name: string): void {
    const i = this.outcomeIndex.get(name);
    if (i === undefined) throw new Error(`cpu ${this.id}: its op returned '${name}', not an outcome its role declares`);
    this.outcomes[i]++;
  }

  /** Counts an event the role declared (Role.events): a near miss on the way, a result. */
  event(name: string): void {
    const i = this.eventIndex.get(name);
    if (i === undefined) throw new Error(`cpu ${this.id}: no event '${name}' declared by its role`);
    this.outcomes[i]++;
  }

  /** Records a violation (cheap after the first MAX_VIOLATION_RECORDS of them). */
  violation(kind: ViolationDef, vpn: number, detail: string): void {
    const m = this.mem;
    const t = (m.now() - this.opts.seedStartNs) / 1e6;
    this.violationCounts[kind.id]++;
    if (this.firstViolationMs < 0) this.firstViolationMs = t;
    m.add(this.L.gBase + G_VIOLATIONS, 1);
    if (this.opts.stopOnViolation) m.store(this.gStop, 1);
    if (this.violations.length < MAX_VIOLATION_RECORDS) {
      this.violations.push({
        kind: kind.name,
        cpu: this.id,
        address: '0x' + (vpn * 4096).toString(16),
        detail,
        timeMs: Math.round(t * 1e6) / 1e6, // ns resolution: under control, time names the step
        trace: this.traceDump(),
      });
    }
  }

  /** call_rcu ring address of entry i of CPU cpu (one word: the frame to free). */
  cbAddr(cpu: number, i: number): number {
    return this.L.cbBase + cpu * CB_RING + (i & (CB_RING - 1));
  }
}

export { G_GP_CTR };
