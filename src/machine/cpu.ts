// One emulated CPU: the Mem it runs on, its per-CPU words, and its CPU-local statistics.
// Everything here is allocated once, before the role loop starts.
import hdr from 'hdr-histogram-js';
import type { Arch } from '../arch/arch.js';
import { TRACE_LEN, EV_NAMES } from '../check/trace.js';
import type { Violation, ViolationKind } from '../check/violations.js';
import { VIOLATION_KINDS } from '../check/violations.js';
import { WINDOWS } from '../check/windows.js';
import type { Strategy } from '../sync/strategy.js';
import type { Bugs } from './bugs.js';
import {
  C_IPI_ACK, C_IPI_REQ, C_IRQ_OFF, C_OPS, C_QS_SEQ, C_RCU_CTR, C_STATE, C_WAITING_ON,
  C_STACK, C_WAKE, C_WANT, G_GP_CTR, G_STAMP, G_VIOLATIONS, G_STOP, type Layout, cpuAddr, CpuState, CB_RING,
} from './layout.js';
import type { Mem } from './mem.js';

// CPU-local counters (summed over CPUs at print time, like rcutorture's)
export const S_OPS = 0;
export const S_IPI_SENT = 1; //        broadcasts sent
export const S_IPI_TARGETS = 2; //     per-CPU requests posted
export const S_IPI_HANDLED = 3; //     requests this CPU acknowledged itself
export const S_TLBI = 4; //            broadcast TLB invalidations that do not wait (rcu strategies)
export const S_GP_SYNC = 5; //         synchronize_rcu calls
export const S_GP_EXP = 6; //          synchronize_rcu_expedited calls
export const S_CALL_RCU = 7;
export const S_GPS = 8; //             grace periods completed by the gp worker
export const S_CB_RUN = 9; //          callbacks invoked
export const S_TABLES_FREED = 10;
export const S_PAGES_FREED = 11;
export const S_OOM = 12; //            allocations that found no free frame
export const S_SLOW = 13; //           slow-path GUP calls
export const S_FAULTS = 14;
export const S_PAGES_GOT = 15; //      pages returned by GUP (fast + slow)
export const S_FAST_PAGES = 16; //     pages returned by GUP-fast
export const S_BLOCKS = 17; //         times this CPU slept in Atomics.wait
export const N_STATS = 18;
export const STAT_NAMES = [
  'ops', 'ipiSent', 'ipiTargets', 'ipiHandled', 'tlbiBroadcasts', 'syncRcu', 'syncRcuExpedited', 'callRcu',
  'gracePeriods', 'callbacksRun', 'tablesFreed', 'pagesFreed', 'oom', 'slowGup', 'faults', 'pagesGot',
  'fastPages', 'blocks',
];

export const H_IPI_WAIT = 0;
export const H_GP_SYNC = 1;
export const H_GP_EXP = 2;
export const H_GP_WORKER = 3; //  gp worker: from gp start to all CPUs quiescent
export const H_CB_BATCH = 4; //   callbacks invoked per grace period
export const H_WRITER_OP = 5;
export const H_READER_OP = 6;
export const N_HISTS = 7;

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
  rcuTickUs: number; //         gp worker's poll interval for normal grace periods
}

export class Cpu {
  readonly mem: Mem;
  readonly L: Layout;
  readonly id: number;
  readonly arch: Arch;
  readonly strategy: Strategy;
  readonly bugs: Bugs;
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
  readonly stats = new Float64Array(N_STATS);
  readonly outcomes = new Float64Array(64);
  readonly hists: hdr.Histogram[] = [];
  readonly winEntries = new Float64Array(WINDOWS.length);
  readonly winOverlaps = new Float64Array(WINDOWS.length);
  readonly winHists: hdr.Histogram[] = [];
  readonly winSlot = new Int32Array(WINDOWS.length);
  readonly winSeq = new Int32Array(WINDOWS.length);
  readonly winT0 = new Float64Array(WINDOWS.length);
  readonly winShift = new Int32Array(WINDOWS.length);
  readonly violationCounts = new Float64Array(VIOLATION_KINDS.length);
  readonly violations: Violation[] = [];
  firstViolationMs = -1;

  // trace ring: event, a, b; tracePos is the next slot's word index
  private readonly traceBuf = new Int32Array(TRACE_LEN * 3);
  private tracePos = 0;

  // GUP-fast scratch: pages got, and the table frames walked with their generations
  readonly pages = new Int32Array(GUP_MAX);
  nrPages = 0;
  readonly walkPfn = new Int32Array(8);
  readonly walkGen = new Int32Array(8);
  nrWalk = 0;
  walkStamp = 0;
  /** page-table depth of the walk in progress (pgdOffsetLockless) */
  walkLevels = 0;
  /** why the last gup_fast stopped short (GUP_FAST_* in mm/gup.ts) */
  gupFastReason = 0;

  constructor(mem: Mem, L: Layout, id: number, arch: Arch, strategy: Strategy, bugs: Bugs, opts: CpuOptions) {
    this.mem = mem;
    this.L = L;
    this.id = id;
    this.arch = arch;
    this.strategy = strategy;
    this.bugs = bugs;
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
    this.ipiSeen = mem.load(this.aIpiReq);
    for (let i = 0; i < N_HISTS; i++) this.hists.push(newHistogram());
    for (const w of WINDOWS) {
      this.winHists.push(newHistogram());
      this.winShift[w.id] = w.shift;
    }
  }

  /** Sleeps on *p == v (irqs on). While asleep this CPU is "Blocked": IPI senders treat it
   *  as idle (its interrupt would be taken at once) and it holds up no grace period unless
   *  it is inside an RCU read-side section. */
  block(p: number, v: number, timeoutMs: number): number {
    const m = this.mem;
    m.store(this.aWaitingOn, p);
    m.store(this.aState, CpuState.Blocked);
    this.stats[S_BLOCKS]++;
    const r = m.wait(p, v, timeoutMs);
    m.store(this.aState, CpuState.Running);
    m.store(this.aWaitingOn, -1);
    return r;
  }

  /** Wakes CPUs sleeping on this CPU's C_WAKE (IPI senders, expedited grace periods). */
  wakeWaiters(): void {
    const m = this.mem;
    if (m.load(this.aWant) !== 0) {
      m.store(this.aWant, 0);
      m.add(this.aWake, 1);
      m.notify(this.aWake, 64);
    }
  }

  trace(ev: number, a: number, b: number): void {
    const i = this.tracePos;
    const t = this.traceBuf;
    t[i] = ev;
    t[i + 1] = a;
    t[i + 2] = b;
    this.tracePos = i === (TRACE_LEN - 1) * 3 ? 0 : i + 3;
  }

  traceDump(): string[] {
    const out: string[] = [];
    for (let k = 0; k < TRACE_LEN; k++) {
      const i = (this.tracePos + k * 3) % (TRACE_LEN * 3);
      const ev = this.traceBuf[i];
      if (ev === 0) continue;
      const a = this.traceBuf[i + 1] >>> 0;
      const b = this.traceBuf[i + 2] >>> 0;
      out.push(`${EV_NAMES[ev]} 0x${a.toString(16)} 0x${b.toString(16)}`);
    }
    return out;
  }

  /** Records a violation (cheap after the first MAX_VIOLATION_RECORDS of them). */
  violation(kind: number, vpn: number, detail: string): void {
    const m = this.mem;
    const t = (m.now() - this.opts.seedStartNs) / 1e6;
    this.violationCounts[kind]++;
    if (this.firstViolationMs < 0) this.firstViolationMs = t;
    m.add(this.L.gBase + G_VIOLATIONS, 1);
    if (this.opts.stopOnViolation) m.store(this.gStop, 1);
    if (this.violations.length < MAX_VIOLATION_RECORDS) {
      this.violations.push({
        kind: VIOLATION_KINDS[kind] as ViolationKind,
        cpu: this.id,
        address: '0x' + (vpn * 4096).toString(16),
        detail,
        timeMs: Math.round(t * 1000) / 1000,
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
