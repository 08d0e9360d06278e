// What the main thread hands a CPU worker, and what the worker sends back.
import type { Layout } from '../../src/machine/layout.js';

export type WorkerRole = 'reader' | 'writer' | 'gp';
export type ResultRole = WorkerRole | 'boot';

/** Who a CPU worker is, for stress and controlled runs alike. */
export interface CpuIdentity {
  cpu: number;
  role: WorkerRole;
  roleIndex: number;
  scenario: string;
  arch: string;
  strategy: string;
  /** every knob by id (src/machine/knobs.ts) */
  knobs: number[];
  readers: number;
  writers: number;
  mmLevels: number;
  params: Record<string, number>;
  /** the main thread's registries (windows, violation kinds, stats, histograms, trace
   *  events) by name in id order: the worker's must agree */
  registries: string[][];
}

export interface WorkerInit extends CpuIdentity {
  sab: SharedArrayBuffer;
  layout: Layout;
  bugs: string[];
  widenNs: number[];
  winPair: number[];
  jitter: number;
  seed: number;
  /** reader ops to do before stopping (0: until told to stop) */
  opsQuota: number;
  stopOnViolation: boolean;
}

export interface WorkerResult {
  type: 'result';
  cpu: number;
  role: ResultRole;
  stats: number[];
  outcomes: number[];
  hists: string[];
  winEntries: number[];
  winOverlaps: number[];
  /** entries that reached the window's critical step (the rest bailed out before it) */
  winReached: number[];
  winHists: string[];
  violationCounts: number[];
  violations: import('../../src/check/violations.js').Violation[];
  firstViolationMs: number;
}

export type WorkerMessage = { type: 'ready'; cpu: number } | { type: 'quota-done'; cpu: number } | WorkerResult;

/** A CPU worker of the controlled executor: fixed for the whole exploration. */
export interface ControlledInit extends CpuIdentity {
  controlled: true;
}

/** One controlled execution: its machine, its control block, its seed. */
export interface ControlledExec {
  sab: SharedArrayBuffer;
  ctl: SharedArrayBuffer;
  layout: Layout;
  seed: number;
  bugs: string[];
  /** per window id: the latency windows' widening (a logical sleep), 0 elsewhere */
  widenNs: number[];
  winPair: number[];
  /** operations of this CPU's role (the gp worker runs until drained) */
  ops: number;
  /** the strategy of this execution (the CPUs are built afresh for each one) */
  strategy: string;
}

export interface ControlledResult {
  type: 'exec-result';
  cpu: number;
  /** why the execution was cut short, or null */
  aborted: string | null;
  outcomes: number[];
  violations: import('../../src/check/violations.js').Violation[];
  violationCounts: number[];
  /** every trace event of the execution: [time ns, event id, a, b] flattened */
  trace: number[];
  /** per window id: entries and paired overlaps on this CPU */
  winEntries: number[];
  winOverlaps: number[];
}
