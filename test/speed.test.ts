// Issue 10's reporting: --widen none turns a scenario's built-in widening off (a device's
// latency stays), every paired window reports its overlaps per second, and campaign
// --unwidened runs each row again without widening. (Speed itself is measured by `gupstress
// bench`, never asserted here.)
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { campaignTable } from '../harness/commands/campaign.js';
import type { CampaignRow } from '../harness/run/files.js';
import { resolveRunConfig } from '../harness/run/config.js';
import { machine, run, tmpOut, gupstress } from './helpers.js';
import { windowArrays } from '../harness/run/runner.js';
import { scenarioById } from '../src/scenarios/index.js';
import { Cpu } from '../src/machine/cpu.js';
import { StressMem } from '../src/machine/mem.js';
import { READER_TIMED } from '../src/machine/stats.js';
import { WIN_SLOTS } from '../src/machine/layout.js';
import { TRACE_LEN } from '../src/check/trace.js';
import { WIN_UNLISTED, winReaderClose, winReaderOpen, winWiden, winWriterClose, winWriterOpen } from '../src/check/windows.js';
import { FOLL_GET } from '../src/mm/folio.js';
import { W_GUP_PIN_RECHECK, W_GUP_WALK, gupFast, putUserPages } from '../src/mm/gup.js';
import { W_KSM_CLEAR_CHECK } from '../src/mm/ksm.js';
import { W_MUNMAP_UNLINK_FREE, mmapPopulate } from '../src/mm/memory.js';
import { mmAlloc } from '../src/mm/mm.js';
import { EV_PTE } from '../src/mm/pgtable.js';
import { VM_READ, VM_WRITE, vmaDefine } from '../src/mm/vma.js';


test('--widen none: the scenario\'s widening off, its device latency kept, a window widened on top', () => {
  const d = resolveRunConfig({ scenario: 'ksm-merge', seed: 1 });
  assert.ok(d.widen['gup.pin-recheck'] > 0 && d.widen['dio.dma'] > 0, JSON.stringify(d.widen));
  const none = resolveRunConfig({ scenario: 'ksm-merge', seed: 1, widen: ['none'] });
  assert.deepEqual(Object.keys(none.widen), ['dio.dma'], 'the O_DIRECT latency is the device\'s, not widening');
  assert.equal(none.widen['dio.dma'], d.widen['dio.dma']);
  const one = resolveRunConfig({ scenario: 'ksm-merge', seed: 1, widen: ['none', 'ksm.clear-check=1us'] });
  assert.equal(one.widen['ksm.clear-check'], 1000);
  assert.equal(one.widen['gup.pin-recheck'], undefined);
});

test('overlaps per second: every paired reader window reports it, and it is overlaps over the run\'s time', async () => {
  const r = await run({ scenario: 'munmap-free', duration: '600ms', widen: ['none'] });
  const paired = Object.values(r.windows).filter((w) => w.overlaps !== null);
  assert.ok(paired.length > 0);
  for (const w of paired) assert.ok(Math.abs(w.overlapsPerSec! - w.overlaps! / (r.durationMs / 1000)) <= 0.01 * Math.max(1, w.overlapsPerSec!), `${w.overlapsPerSec} vs ${w.overlaps} in ${r.durationMs} ms`);
  for (const w of Object.values(r.windows).filter((x) => x.overlaps === null)) assert.equal(w.overlapsPerSec, null);
  assert.equal(r.config.widen['gup.pin-recheck'], undefined);
});

test('campaign --unwidened: each row again without widening, its overlaps per second and whether the bug is caught', () => {
  const out = tmpOut();
  const c = gupstress('campaign', '--scenario', 'madv-dontneed', '--unwidened', '--duration', '300ms', '--bug-timeout', '3s', '--out', out, '--format', 'json');
  assert.equal(c.status, 0, c.stderr);
  const rows = JSON.parse(c.stdout).rows as CampaignRow[];
  assert.equal(rows.length, 3); // the fixed form under rcu and ipi, the bug under rcu
  for (const r of rows) {
    const u = r.unwidened!;
    assert.ok(u, JSON.stringify(r));
    if (r.bug === null) {
      assert.equal(u.caught, null);
      assert.ok(u.perSec !== null && u.widenedPerSec !== null);
    } else {
      assert.equal(typeof u.caught, 'boolean');
      assert.equal(u.firstViolationMs !== null, u.caught);
    }
  }
  const t = campaignTable(rows);
  const col = t.head.indexOf('without widening (overlaps/s; caught)');
  assert.ok(col > 0);
  for (const [i, r] of rows.entries()) {
    const cell = t.rows[i][col];
    if (r.bug === null) assert.match(cell, /^[\d,]+ -> [\d,]+ \/s$/);
    else assert.match(cell, r.unwidened!.caught ? /^[\d.]+ ms$/ : /^not in \d+ s$/);
  }
});

// ---- what issue 10 changed in the model's hot path, held to its behaviour ----

/** A Mem that records the shared-memory addresses read (READ_ONCE) and counts window points. */
class RecordingMem extends StressMem {
  reads: number[] = [];
  points = 0;
  override load(p: number): number {
    this.reads.push(p);
    return super.load(p);
  }
  override point(): void {
    this.points++;
  }
}

/** CPU 0 of machine m again, on a RecordingMem over the same memory (winPair: its windows). */
function recordingCpu(m: ReturnType<typeof machine>, winPair = m.c.opts.winPair): { c: Cpu; mem: RecordingMem } {
  const mem = new RecordingMem(m.mem.m.buffer as SharedArrayBuffer, 1);
  return { c: new Cpu(mem, m.L, 0, m.c.arch, m.c.strategy, m.c.bug, { ...m.c.opts, winPair }), mem };
}

test('GUP-fast reads each entry of its walk once, then the pmd and pte again: a folded level is the walker\'s copy (x86-64, arm64), read again on s390', () => {
  const BASE = 4096;
  const cases = [['x86-64', 4, 6], ['arm64', 4, 6], ['x86-64', 5, 7]] as const;
  for (const [arch, levels, entries] of cases) {
    const m = machine({ arch, frames: 1024, huge: 0 });
    mmAlloc(m.c, 0, levels);
    vmaDefine(m.mem, m.L, 0, 0, BASE, BASE + 64, VM_READ | VM_WRITE, false);
    assert.equal(mmapPopulate(m.c, 0, 0), 0);
    const { c, mem } = recordingCpu(m);
    assert.equal(gupFast(c, 0, BASE + 5, 1, FOLL_GET), 1);
    const inTables = mem.reads.filter((p) => p >= m.L.framesBase);
    assert.equal(inTables.length, entries, `${arch} ${levels}-level: ${inTables.join(',')}`);
    // one read of each level's entry, top down, then the re-checks of the pmd and the pte
    assert.equal(new Set(inTables.slice(0, entries - 2)).size, entries - 2, `${arch} ${levels}-level: an entry read twice`);
    assert.deepEqual(inTables.slice(entries - 2), inTables.slice(entries - 4, entries - 2));
    putUserPages(c, 1, FOLL_GET, BASE + 5);
  }
  // s390 folds at run time with its own pXd_offset_lockless, pointing into the table: a 3-level
  // mm's folded p4d and pud read the pgd entry again
  const m = machine({ arch: 's390', frames: 1024, huge: 0 });
  mmAlloc(m.c, 0, 3);
  vmaDefine(m.mem, m.L, 0, 0, BASE, BASE + 64, VM_READ | VM_WRITE, false);
  assert.equal(mmapPopulate(m.c, 0, 0), 0);
  const { c, mem } = recordingCpu(m);
  assert.equal(gupFast(c, 0, BASE + 5, 1, FOLL_GET), 1);
  const pgdp = mem.reads.filter((p) => p >= m.L.framesBase)[1]; // after the top entry's type
  assert.equal(mem.reads.filter((p) => p === pgdp).length, 3, 'pgd, then the folded p4d and pud read it again');
});

test('a race window the scenario does not list is not counted (its points stay scheduling points); a listed one is', () => {
  const m = machine();
  const pairs = Int32Array.from(windowArrays(scenarioById('munmap-free')!, { widen: {} }).winPair);
  assert.equal(pairs[W_GUP_WALK.id], W_MUNMAP_UNLINK_FREE.id);
  assert.equal(pairs[W_GUP_PIN_RECHECK.id], -1, 'listed, unpaired');
  assert.equal(pairs[W_MUNMAP_UNLINK_FREE.id], -1, 'listed (and paired with)');
  assert.equal(pairs[W_KSM_CLEAR_CHECK.id], WIN_UNLISTED);
  const { c, mem } = recordingCpu(m, pairs);
  for (const w of [W_GUP_PIN_RECHECK, W_KSM_CLEAR_CHECK]) {
    const points = mem.points;
    winReaderOpen(c, w, 100);
    winWiden(c, w);
    winReaderClose(c, w);
    assert.equal(mem.points - points, 3, `${w.name}: open, widen and close are scheduling points`);
  }
  assert.equal(c.winEntries[W_GUP_PIN_RECHECK.id], 1);
  assert.equal(c.winReachedCount[W_GUP_PIN_RECHECK.id], 1);
  assert.equal(c.winEntries[W_KSM_CLEAR_CHECK.id], 0, 'not listed by munmap-free: not counted');
  assert.equal(c.winReachedCount[W_KSM_CLEAR_CHECK.id], 0);
  winWriterOpen(c, W_KSM_CLEAR_CHECK, 100);
  winWriterClose(c, W_KSM_CLEAR_CHECK);
  assert.equal(m.mem.load(m.L.winBase + W_KSM_CLEAR_CHECK.id * WIN_SLOTS + 100), 0, 'an unlisted writer window leaves its counter alone');
  // with jitter on, every window point jitters, so every window counts
  const jittering = new Cpu(mem, m.L, 0, m.c.arch, m.c.strategy, m.c.bug, { ...m.c.opts, winPair: pairs, jitterP: 0.5 });
  winReaderOpen(jittering, W_KSM_CLEAR_CHECK, 100);
  winReaderClose(jittering, W_KSM_CLEAR_CHECK);
  assert.equal(jittering.winEntries[W_KSM_CLEAR_CHECK.id], 1);
});

test('the trace ring: two stores an event, read back whole (negative values, the oldest 32 dropped first)', () => {
  const { c } = machine();
  c.trace(EV_PTE, -1, -2);
  assert.deepEqual(c.traceDump(), ['ptep_get_lockless addr=0xffffffff000 pte=0xfffffffe']);
  for (let i = 0; i < 40; i++) c.trace(EV_PTE, i, 0x80000000 + i);
  const dump = c.traceDump();
  assert.equal(dump.length, TRACE_LEN);
  assert.equal(dump[0], `ptep_get_lockless addr=0x${(8 * 4096).toString(16)} pte=0x80000008`);
  assert.equal(dump[TRACE_LEN - 1], `ptep_get_lockless addr=0x${(39 * 4096).toString(16)} pte=0x80000027`);
});

test('a reader times one op in READER_TIMED, a writer every op', async () => {
  const r = await run({ scenario: 'munmap-free', readers: '1', writers: '1', ops: String(10 * READER_TIMED) });
  assert.equal(r.reader.ops, 10 * READER_TIMED);
  assert.equal(r.reader.latencyNs.count, 10);
  assert.ok(r.writer.ops > 0 && r.writer.latencyNs.count === r.writer.ops, JSON.stringify(r.writer));
});

test('bench\'s scaling: 1 and 2 reader CPUs on 2 cores, doubling up to all cores but one, never past MAX_CPUS', async () => {
  const { scalingReaders } = await import('../harness/commands/bench.js');
  const { MAX_CPUS } = await import('../src/machine/layout.js');
  assert.deepEqual(scalingReaders(1), [1, 2]);
  assert.deepEqual(scalingReaders(2), [1, 2]);
  assert.deepEqual(scalingReaders(4), [1, 2, 3]);
  assert.deepEqual(scalingReaders(16), [1, 2, 4, 8, 15]);
  const big = scalingReaders(1024);
  assert.equal(big.at(-1), MAX_CPUS);
  assert.ok(big.every((n, i) => i === 0 || n > big[i - 1]), big.join());
});

test('bench --baseline: an earlier build\'s bench JSON and this one\'s give the figures compared, explore\'s default executor in each', async () => {
  const { benchFigures, beforeAfterRows } = await import('../harness/commands/bench-baseline.js');
  const { readFileSync } = await import('node:fs');
  const fixture = (f: string): unknown => JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', f), 'utf8'));
  // b78d14c had one controlled executor (worker threads), its rate straight under controlled.pct
  const before = benchFigures(fixture('bench-b78d14c.json'));
  assert.deepEqual(before.explorePct, { runsPerSec: 386, stepsPerSec: 251655 });
  // this build names its two; explore's default (sequential) is the one compared
  const now = benchFigures(fixture('bench-sequential-executor.json'));
  assert.deepEqual(now.explorePct, { runsPerSec: 4392, stepsPerSec: 2691820 });
  const rows = new Map(beforeAfterRows(before, now).map((r) => [r[0], r.slice(1)]));
  assert.deepEqual(rows.get('explore, ksm-merge pct: executions/s'), ['386', '4,392', '11.38x faster']);
  // a time that grew is slower, not faster
  assert.match(rows.get('harness gup_fast + put (stress)')![2], /^1\.\d\dx slower$/);
  assert.throws(() => benchFigures({ schema: 'gupstress/run@1' }), /gupstress\/bench@1/);
});

test('bench --baseline: a directory with no build is bad input (exit 2, one line); a baseline that prints no JSON is a harness failure (exit 3), before this build\'s bench runs', async () => {
  const { mkdirSync, writeFileSync } = await import('node:fs');
  const r = gupstress('bench', '--baseline', '/nonexistent-gupstress');
  assert.equal(r.status, 2, r.stderr);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /--baseline \/nonexistent-gupstress: no built gupstress there/);
  const dir = tmpOut();
  mkdirSync(join(dir, 'dist', 'harness'), { recursive: true });
  writeFileSync(join(dir, 'dist', 'harness', 'cli.js'), 'console.log("not a bench");\n');
  const t0 = Date.now();
  const g = gupstress('bench', '--baseline', dir);
  assert.equal(g.status, 3, g.stderr);
  assert.match(g.stderr, /the baseline's bench .* printed no JSON/);
  assert.ok(Date.now() - t0 < 60_000, 'it stopped before running its own bench');
});
