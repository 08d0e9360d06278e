// The results JSON (schema gupstress/run@1, architecture.md): built from the workers'
// CPU-local counters, written atomically (temp file + rename).
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { cpus as osCpus, totalmem } from 'node:os';
import { join } from 'node:path';
import hdr from 'hdr-histogram-js';
import { VIOLATION_KINDS, type Violation } from '../../src/check/violations.js';
import { newHistogram } from '../../src/machine/cpu.js';
import { H_READER_OP, H_WRITER_OP, STATS, S_OPS, type StatDef } from '../../src/machine/stats.js';
import { type Expect, roleCounters, windowPairs } from '../../src/scenarios/scenario.js';
import { H_IPI_WAIT, S_IPI_SENT, S_IPI_TARGETS } from '../../src/sync/irq.js';
import { H_CB_BATCH, H_GP_EXP, H_GP_SYNC, H_GP_WORKER, S_CALL_RCU, S_CB_RUN, S_GPS, S_GP_EXP, S_GP_SYNC } from '../../src/sync/rcu.js';
import { S_TABLES_FREED, S_TLBI } from '../../src/sync/strategy.js';
import type { WorkerResult } from './protocol.js';
import type { RunConfig } from './machine.js';
import type { RawRun } from './runner.js';
import type { AccountingSummary } from '../../src/check/accounting.js';
import type { CpuSnapshot } from './stall.js';

export const RUN_SCHEMA = 'gupstress/run@1';

export interface HistSummary {
  count: number;
  p50: number | null;
  p99: number | null;
  max: number | null;
  mean: number | null;
}

export interface OutcomeResult {
  count: number;
  frequency: number;
  expect: Expect;
  doc: string;
}

export interface RoleResults {
  cpus: number;
  ops: number;
  opsPerSec: number;
  outcomes: Record<string, OutcomeResult>;
  latencyNs: HistSummary;
}

export interface WindowResult {
  role: 'reader' | 'writer';
  pairedWith: string | null;
  entries: number;
  /** entries that reached the critical step (the widen point); the others bailed out
   *  before it (a walk that found nothing to pin) */
  reached: number;
  overlaps: number | null;
  /** paired reader windows: overlaps per second of the run (with the run's widening) */
  overlapsPerSec: number | null;
  frequency: number | null;
  widenNs: number;
  /** how long the reached entries were open (sampled) */
  durationNs: HistSummary;
  doc: string;
}

export interface RunResults {
  schema: typeof RUN_SCHEMA;
  runId: string;
  startedAt: string;
  host: { cpus: number; cpuModel: string; node: string; platform: string; arch: string; memoryGiB: number };
  config: RunConfig;
  scenario: { id: string; title: string; seed: string; selftest: boolean };
  durationMs: number;
  interrupted: boolean;
  reader: RoleResults;
  writer: RoleResults;
  windows: Record<string, WindowResult>;
  sync: {
    ipiSent: number;
    ipiTargets: number;
    ipiWaitNs: HistSummary;
    tlbiBroadcasts: number;
    syncRcu: number;
    syncRcuNs: HistSummary;
    syncRcuExpedited: number;
    syncRcuExpeditedNs: HistSummary;
    gracePeriods: number;
    gracePeriodNs: HistSummary;
    callRcu: number;
    callbacksRun: number;
    callbackBatch: HistSummary;
    deferredFreesPendingMax: number;
    tablesFreed: number;
  };
  counters: Record<string, number>;
  accounting: AccountingSummary | null;
  violations: Violation[];
  violationCount: number;
  violationsByKind: Record<string, number>;
  firstViolationMs: number | null;
  verdict: 'PASS' | 'FAIL' | 'ERROR';
  /** where no violation was seen: 95% upper bound on violations per window overlap (3/N) */
  bound: number | null;
  boundBasis: { overlaps: number; readerOps: number; perReaderOp: number | null } | null;
  /** how much a PASS says (evidenceOf); null when not PASS */
  evidence: Evidence | null;
  /** --until-bound: the target, and whether the run reached it before --duration ran out */
  untilBound: { target: number; reached: boolean } | null;
  error: string | null;
  stall: CpuSnapshot[] | null;
}

/** How much a clean verdict says: 'strong' (WEAK_OVERLAPS or more paired-window overlaps),
 *  'weak' (fewer: the 95% bound is above 3/WEAK_OVERLAPS), 'no evidence' (3 or fewer: a
 *  bound of 1 or more per overlap, or none at all, says nothing), 'no window measured' (the
 *  scenario pairs no window: only a bound per reader op). */
export type Evidence = 'strong' | 'weak' | 'no evidence' | 'no window measured';

export function evidenceOf(overlaps: number, pairedWindows: boolean): Evidence {
  if (!pairedWindows) return 'no window measured';
  return overlaps <= 3 ? 'no evidence' : overlaps < WEAK_OVERLAPS ? 'weak' : 'strong';
}

/** A clean verdict with fewer paired-window overlaps than this is weak evidence: its 95% bound
 *  (3/N) stays above 1e-2 per overlap, one violation in a hundred races unseen. */
export const WEAK_OVERLAPS = 300;

export function summarize(h: hdr.Histogram): HistSummary {
  if (h.totalCount === 0) return { count: 0, p50: null, p99: null, max: null, mean: null };
  return {
    count: h.totalCount,
    p50: h.getValueAtPercentile(50),
    p99: h.getValueAtPercentile(99),
    max: h.maxValue,
    mean: Math.round(h.mean),
  };
}

function merged(encoded: string[]): hdr.Histogram {
  const total = newHistogram();
  for (const e of encoded) if (e) total.add(hdr.decodeFromCompressedBase64(e, 32, false));
  return total;
}

function sumStat(rs: WorkerResult[], st: StatDef): number {
  return rs.reduce((a, r) => a + (r.stats[st.id] ?? 0), 0);
}

function runId(cfg: RunConfig, startedAt: string): string {
  const t = stampOf(startedAt);
  const rand = Math.floor(Math.random() * 0x10000).toString(16).padStart(4, '0');
  return `${cfg.scenario}.${cfg.strategy}.${cfg.bugs.length ? cfg.bugs.join('+') : 'fixed'}.${t}.${rand}`;
}

export function hostInfo(): RunResults['host'] {
  const c = osCpus();
  return { cpus: c.length, cpuModel: c[0]?.model ?? 'unknown', node: process.version, platform: process.platform, arch: process.arch, memoryGiB: Math.round(totalmem() / 2 ** 30) };
}

export function buildResults(run: RawRun): RunResults {
  const { cfg, scenario: s } = run;
  const all = [...run.results, run.boot];
  const secs = run.durationMs / 1000;
  const role = (name: 'reader' | 'writer'): RoleResults => {
    const rs = run.results.filter((r) => r.role === name);
    const ops = sumStat(rs, S_OPS);
    const outcomes: Record<string, OutcomeResult> = {};
    roleCounters(s[name]).forEach((o, i) => {
      const count = rs.reduce((a, r) => a + (r.outcomes[i] ?? 0), 0);
      outcomes[o.name] = { count, frequency: ops > 0 ? count / ops : 0, expect: o.def.expect, doc: o.def.doc };
    });
    for (const kind of s.detects) {
      const count = rs.reduce((a, r) => a + (r.violationCounts[kind.id] ?? 0), 0);
      if (count > 0 || name === 'reader') outcomes[kind.name] = { count, frequency: ops > 0 ? count / ops : 0, expect: 'FORBIDDEN', doc: `violation: ${kind.name}` };
    }
    return { cpus: rs.length, ops, opsPerSec: secs > 0 ? Math.round(ops / secs) : 0, outcomes, latencyNs: summarize(merged(rs.map((r) => r.hists[name === 'reader' ? H_READER_OP.id : H_WRITER_OP.id]))) };
  };
  const reader = role('reader');
  const writer = role('writer');

  const windows: Record<string, WindowResult> = {};
  let overlapsPaired = 0;
  let pairedWindows = 0;
  for (const { window: w, pairedWith } of windowPairs(s)) {
    const name = w.name;
    const pair = pairedWith?.name ?? null;
    const entries = run.results.reduce((a, r) => a + (r.winEntries[w.id] ?? 0), 0);
    const overlaps = w.role === 'reader' && pair ? run.results.reduce((a, r) => a + (r.winOverlaps[w.id] ?? 0), 0) : null;
    if (overlaps !== null) {
      overlapsPaired += overlaps;
      pairedWindows++;
    }
    windows[name] = {
      role: w.role, pairedWith: pair, entries, reached: run.results.reduce((a, r) => a + (r.winReached?.[w.id] ?? 0), 0), overlaps, overlapsPerSec: overlaps === null ? null : run.durationMs > 0 ? overlaps / (run.durationMs / 1000) : 0, frequency: overlaps === null ? null : entries > 0 ? overlaps / entries : 0,
      widenNs: cfg.widen[name] ?? 0, durationNs: summarize(merged(run.results.map((r) => r.winHists[w.id] ?? ''))), doc: w.doc,
    };
  }

  const hist = (h: StatDef): HistSummary => summarize(merged(run.results.map((r) => r.hists[h.id] ?? '')));
  const counters: Record<string, number> = {};
  for (const st of STATS.all) counters[st.name] = sumStat(all, st);
  const violations = all.flatMap((r) => r.violations).sort((a, b) => a.timeMs - b.timeMs);
  const byKind: Record<string, number> = {};
  for (const k of VIOLATION_KINDS.all) {
    const n = all.reduce((a, r) => a + (r.violationCounts[k.id] ?? 0), 0);
    if (n > 0) byKind[k.name] = n;
  }
  const violationCount = Object.values(byKind).reduce((a, b) => a + b, 0);
  const firsts = all.map((r) => r.firstViolationMs).filter((t) => t >= 0);
  const verdict = run.error !== null ? 'ERROR' : violationCount > 0 ? 'FAIL' : 'PASS';
  return {
    schema: RUN_SCHEMA,
    runId: runId(cfg, run.startedAt),
    startedAt: run.startedAt,
    host: hostInfo(),
    config: cfg,
    scenario: { id: s.id, title: s.title, seed: s.seed, selftest: s.selftest },
    durationMs: Math.round(run.durationMs),
    interrupted: run.interrupted,
    reader,
    writer,
    windows,
    sync: {
      ipiSent: sumStat(all, S_IPI_SENT),
      ipiTargets: sumStat(all, S_IPI_TARGETS),
      ipiWaitNs: hist(H_IPI_WAIT),
      tlbiBroadcasts: sumStat(all, S_TLBI),
      syncRcu: sumStat(all, S_GP_SYNC),
      syncRcuNs: hist(H_GP_SYNC),
      syncRcuExpedited: sumStat(all, S_GP_EXP),
      syncRcuExpeditedNs: hist(H_GP_EXP),
      gracePeriods: sumStat(all, S_GPS),
      gracePeriodNs: hist(H_GP_WORKER),
      callRcu: sumStat(all, S_CALL_RCU),
      callbacksRun: sumStat(all, S_CB_RUN),
      callbackBatch: hist(H_CB_BATCH),
      deferredFreesPendingMax: run.rcuPendingMax,
      tablesFreed: sumStat(all, S_TABLES_FREED),
    },
    counters,
    accounting: run.accounting,
    violations,
    violationCount,
    violationsByKind: byKind,
    firstViolationMs: firsts.length ? Math.min(...firsts) : null,
    verdict,
    bound: verdict === 'PASS' && overlapsPaired > 0 ? 3 / overlapsPaired : null,
    evidence: verdict !== 'PASS' ? null : evidenceOf(overlapsPaired, pairedWindows > 0),
    untilBound: run.cfg.untilBound === null ? null : { target: run.cfg.untilBound, reached: run.boundReached },
    boundBasis: verdict === 'PASS' ? { overlaps: overlapsPaired, readerOps: reader.ops, perReaderOp: reader.ops > 0 ? 3 / reader.ops : null } : null,
    error: run.error,
    stall: run.stall,
  };
}

/** Writes a file atomically: a temp file in the same folder, then rename (a reader never sees half of it). */
export function writeTextAtomic(dir: string, name: string, text: string): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, name);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
  return path;
}

/** Writes JSON atomically: a temp file in the same folder, then rename. */
/** A time as results files name it: 20261205T064015 (UTC, to the second). */
export function stampOf(iso: string): string {
  return iso.replace(/[-:]/g, '').replace(/\.\d+Z$/, '');
}

export function writeJsonAtomic(dir: string, name: string, data: unknown): string {
  return writeTextAtomic(dir, name, JSON.stringify(data, null, 2) + '\n');
}

export function writeResults(r: RunResults, dir: string): string {
  return writeJsonAtomic(dir, `${r.runId}.json`, r);
}

/** 0 ran clean, 1 violations, 3 the harness failed. */
export function exitCodeOf(r: RunResults): 0 | 1 | 3 {
  return r.verdict === 'PASS' ? 0 : r.verdict === 'FAIL' ? 1 : 3;
}
