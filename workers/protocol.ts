// What the main thread hands a CPU worker, and what the worker sends back.
import type { Layout } from '../src/machine/layout.js';

export type WorkerRole = 'reader' | 'writer' | 'gp';
export type ResultRole = WorkerRole | 'boot';

export interface WorkerInit {
  sab: SharedArrayBuffer;
  layout: Layout;
  cpu: number;
  role: WorkerRole;
  roleIndex: number;
  scenario: string;
  arch: string;
  strategy: string;
  bugs: string[];
  widenNs: number[];
  winPair: number[];
  jitter: number;
  seed: number;
  /** reader ops to do before stopping (0: until told to stop) */
  opsQuota: number;
  stopOnViolation: boolean;
  rcuTickUs: number;
  readers: number;
  writers: number;
  mmLevels: number;
  params: Record<string, number>;
  /** the main thread's registries (windows, violation kinds, stats, histograms, trace
   *  events) by name in id order: the worker's must agree */
  registries: string[][];
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
  winHists: string[];
  violationCounts: number[];
  violations: import('../src/check/violations.js').Violation[];
  firstViolationMs: number;
}

export type WorkerMessage = { type: 'ready'; cpu: number } | { type: 'quota-done'; cpu: number } | WorkerResult;
