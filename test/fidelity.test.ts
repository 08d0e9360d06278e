// Issue 8: the emulated machine as unkind as a real one. Preemptible RCU (a grace period can
// end between any two accesses outside a read-side section), IPIs taken at once by a CPU with
// irqs on and never by one with irqs off, a freed table reported at the first access to it,
// and GUP-fast pinning readers on retracted tables. Each point both sides.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { C_IPI_ACK, C_IPI_REQ, cpuAddr } from '../src/machine/layout.js';

const CPU_RUNNING = 1; // CpuState.Running (a const enum of the model)
import { K_RCU_FLAVOR, passedQs, rcuReadLock, rcuReadUnlock } from '../src/sync/rcu.js';
import { handleIpi, ipiBroadcast, ipiDone, irqPoint, localIrqRestore, localIrqSave } from '../src/sync/irq.js';
import { mmAlloc } from '../src/mm/mm.js';
import { mmapPopulate } from '../src/mm/memory.js';
import { VM_READ, VM_WRITE, vmaDefine } from '../src/mm/vma.js';
import { pmdOffsetLockless } from '../src/mm/pgtable.js';
import { describeRun, exploreSummary, gupstress, machine, run, tmpOut } from './helpers.js';

const flavor = (name: string): Record<string, number> => ({ [K_RCU_FLAVOR.name]: K_RCU_FLAVOR.choices!.indexOf(name) });

for (const name of ['preempt', 'nonpreempt']) {
  test(`RCU ${name}: a reader holds the grace period; after rcu_read_unlock it is quiescent ${name === 'preempt' ? 'at once' : 'only at its next interrupt point'}`, () => {
    const m = machine({ cpus: 2, knobs: flavor(name) });
    const [gp, reader] = m.cs;
    m.mem.store(reader.aState, CPU_RUNNING);
    rcuReadLock(reader);
    const g = m.mem.add(gp.gGpCtr, 1) + 1; // a grace period starts (rcu_gp_init)
    assert.equal(passedQs(gp, 1, g), false, 'inside its section since before g');
    rcuReadUnlock(reader);
    // the reader runs on (Running), between two accesses outside any section
    assert.equal(passedQs(gp, 1, g), name === 'preempt');
    irqPoint(reader); // rcu_qs(): a context switch or the tick
    assert.equal(passedQs(gp, 1, g), true);
    // an irq-off section is a read-side section under either flavor (consolidated RCU)
    localIrqSave(reader);
    const g2 = m.mem.add(gp.gGpCtr, 1) + 1;
    assert.equal(passedQs(gp, 1, g2), false);
    localIrqRestore(reader);
    assert.equal(passedQs(gp, 1, g2), name === 'preempt');
  });
}

test('IPI: a CPU with irqs on takes it at once, mid-walk; a CPU with irqs off only at local_irq_restore', () => {
  const m = machine({ cpus: 2 });
  const [sender, walker] = m.cs;
  mmAlloc(sender, 0, 4);
  vmaDefine(m.mem, m.L, 0, 0, 4096, 4096 + 64, VM_READ | VM_WRITE, false);
  assert.equal(mmapPopulate(sender, 0, 0), 0);
  // a __pte_offset_map walker, irqs on, in the middle of its walk (it has read down to the pmd)
  rcuReadLock(walker);
  walker.nrWalk = 0;
  assert.ok(pmdOffsetLockless(walker, 0, 4096) >= 0);
  ipiBroadcast(sender); // returns: the walker took it between two of its accesses
  const req = m.mem.load(cpuAddr(m.L, 1, C_IPI_REQ));
  assert.ok(ipiDone(sender, 1, req));
  assert.notEqual(m.mem.load(cpuAddr(m.L, 1, C_IPI_ACK)), req, 'nothing of it is in flight: the handler\'s ack is bookkeeping');
  rcuReadUnlock(walker);
  irqPoint(walker);
  assert.equal(m.mem.load(cpuAddr(m.L, 1, C_IPI_ACK)), req);
  // irqs off: the request stays pending until the walker restores irqs
  localIrqSave(walker);
  const req2 = m.mem.add(cpuAddr(m.L, 1, C_IPI_REQ), 1) + 1;
  assert.equal(ipiDone(sender, 1, req2), false);
  handleIpi(sender); // the sender's own handler changes nothing of the walker's
  irqPoint(walker); // an interrupt point with irqs off takes nothing
  assert.equal(ipiDone(sender, 1, req2), false);
  localIrqRestore(walker);
  assert.ok(ipiDone(sender, 1, req2));
  assert.equal(m.mem.load(cpuAddr(m.L, 1, C_IPI_ACK)), req2);
});

test('preemptible RCU: an early rcu_read_unlock in a pte_offset_map reader is caught, at its first access to the freed table', async () => {
  // under control (deterministic): executions until one reports the read itself; under
  // stress the same run is a FAIL too, when the race is hit (the scenario tests)
  const x = await exploreSummary({ scenario: 'retract-pgtable', bug: 'pte-unmap-early', rcu: 'preempt' }, 3000, (s) => s.details.some((d) => d.detail.startsWith('read an entry of')));
  // reported at the access (not at the end of the section), with the access in the trace;
  // (a table freed after the reader's last read, before its section's end check, is
  // reported by that check: the reader was outside its section, which is the bug too)
  const v = x.details.find((d) => d.kind === 'pgtable-use-after-free' && d.detail.startsWith('read an entry of'));
  assert.ok(v, `${x.executions} executions: ${JSON.stringify(x.kinds)} ${JSON.stringify(x.details.slice(0, 3).map((d) => d.detail))}`);
  assert.match(v.detail, /^read an entry of level-1 table frame \d+ after it was freed/);
  assert.match(v.trace[v.trace.length - 1], /^ptep_get_lockless /);
});

test('non-preemptible RCU: the same early rcu_read_unlock is not caught (no quiescent state until the reader\'s next interrupt point)', async () => {
  // explored (deterministic): clean, with the readers' windows and the retract overlapping
  const x = await exploreSummary({ scenario: 'retract-pgtable', bug: 'pte-unmap-early', rcu: 'nonpreempt' }, 500);
  assert.deepEqual(x.kinds, {}, JSON.stringify(x.details.slice(0, 2)));
  assert.ok((x.overlaps['pte.map-lockless'] ?? 0) > 0, `the pte_offset_map readers and the retract overlapped in ${x.executions} executions: ${JSON.stringify(x.overlaps)}`);
  // and under stress, over reader operations (what a busy machine cannot make dirty)
  const r = await run({ scenario: 'retract-pgtable', bug: 'pte-unmap-early', set: ['rcu.flavor=nonpreempt'], ops: '20000' });
  assert.equal(r.verdict, 'PASS', describeRun(r));
  assert.ok(r.sync.tablesFreed > 0, `tables were freed behind grace periods: ${describeRun(r)}`);
});

test('retract-pgtable: the pmd re-check is what keeps GUP-fast pins off a table detached before it is emptied', async () => {
  // detached-not-empty alone: the pte_offset_map readers see the non-empty detached table;
  // the pinning readers' pmd re-check drops every pin taken through it (explored until both
  // have happened; no pin from a detached table in any execution)
  const alone = await exploreSummary({ scenario: 'retract-pgtable', bug: 'detached-not-empty' }, 3000, (s) => (s.kinds['detached-nonempty'] ?? 0) > 0 && (s.outcomes.reader['pin-retry-changed'] ?? 0) > 0);
  const what = `${alone.executions} executions: ${JSON.stringify(alone.kinds)}, pin-retry-changed ${alone.outcomes.reader['pin-retry-changed']}`;
  assert.ok(alone.kinds['detached-nonempty'] > 0, what);
  assert.ok(alone.outcomes.reader['pin-retry-changed'] > 0, `the re-check saw retracts: ${what}`);
  assert.equal(alone.kinds['pinned-from-detached'] ?? 0, 0, what);
  // without the pmd re-check the same pins go through
  const without = await exploreSummary({ scenario: 'retract-pgtable', bug: 'gup-no-pmd-recheck' }, 3000, (s) => (s.kinds['pinned-from-detached'] ?? 0) > 0);
  assert.ok(without.kinds['pinned-from-detached'] > 0, `${without.executions} executions: ${JSON.stringify(without.kinds)}`);
});

test('--rcu on run, sweep and campaign: a bad flavor is exit 2; the campaign runs every row under each flavor given', () => {
  for (const cmd of [['run', '--scenario', 'munmap-free'], ['sweep', '--scenario', 'munmap-free'], ['campaign']]) {
    const r = gupstress(...cmd, '--rcu', 'tree', '--duration', '100ms');
    assert.equal(r.status, 2, `${cmd[0]}: ${r.stderr}`);
    assert.match(r.stderr, /rcu\.flavor is one of nonpreempt, preempt \(got tree\)/);
  }
  const out = tmpOut();
  const c = gupstress('campaign', '--scenario', 'sync-locks', '--rcu', 'preempt,nonpreempt', '--duration', '300ms', '--bug-timeout', '2s', '--out', out, '--format', 'csv');
  assert.equal(c.status, 0, c.stdout + c.stderr);
  const rows = c.stdout.trim().split('\n').slice(2).map((l) => l.split(','));
  for (const f of ['preempt', 'nonpreempt']) assert.ok(rows.some((r) => r[1] === 'ipi' && r[2] === f && r[3] === '(fixed)' && r[4] === 'clean'), `${f}: ${c.stdout}`);
  assert.equal(rows.filter((r) => r[2] === 'preempt').length, rows.filter((r) => r[2] === 'nonpreempt').length);
});
