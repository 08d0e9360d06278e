// The kernel's cow.c and gup_longterm.c cases on the model: each runs and PASSes as the
// kernel expects, each fails on a model change that breaks what it checks, and under stress
// (several CPUs at once) the fixed model stays clean while each model change is caught.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { selftestResults } from '../harness/commands/selftest.js';
import { kernelSelftests } from '../src/scenarios/kernel-selftests.js';
import { SELFTEST_CASES } from '../src/selftests/cases.js';
import { describeRun, run, tmpOut, gupstress } from './helpers.js';

const rows = selftestResults([]);

test('every case the model can build PASSes, named as the kernel prints it', () => {
  const ran = rows.filter((r) => r.result !== 'SKIP');
  assert.ok(ran.length >= 34, `${ran.length} cases ran`);
  for (const r of ran) assert.equal(r.result, 'PASS', `${r.name}: ${r.detail}`);
  // the fourteen anon test cases of cow.c on a base page, and gup_longterm's ten on memfd
  assert.equal(ran.filter((r) => r.file === 'cow.c' && r.name.endsWith(' ... with base page')).length, 14);
  assert.equal(ran.filter((r) => r.file === 'gup_longterm.c' && r.name.endsWith(' ... with memfd')).length, 10);
  assert.ok(rows.some((r) => r.name === 'vmsplice() + unmap in child ... with base page' && r.fn === 'test_vmsplice_in_child'));
  // a SKIP says why, as the kernel's SKIP lines do
  for (const r of rows.filter((x) => x.result === 'SKIP')) assert.ok(r.detail && r.detail.length > 10, r.name);
});

test('every cow.c case fails on a model change that breaks what it checks (and each change breaks some case)', () => {
  for (const r of rows.filter((x) => x.result === 'PASS' && x.file === 'cow.c')) assert.ok(r.failsUnder.length > 0, `${r.name}: no model change breaks it`);
  const used = new Set(rows.flatMap((r) => r.failsUnder));
  for (const b of Object.keys(kernelSelftests.bugs)) assert.ok(used.has(b), `${b} breaks no case`);
  const under = (name: string): string[] => rows.find((r) => r.name === name)!.failsUnder;
  // the example: R/O pins that do not unshare
  assert.ok(under('R/O GUP pin on R/O-mapped shared page ... with base page').includes('ro-pin-no-unshare'));
  assert.ok(under('R/O GUP-fast pin on R/O-mapped shared page ... with base page').includes('ro-pin-no-unshare'));
  // CVE-2020-29374: the mapcount rule lets the parent write into the child's pipe
  assert.ok(under('vmsplice() + unmap in child ... with base page').includes('wp-reuse-mapcount'));
  assert.ok(!under('Basic COW after fork() ... with base page').includes('wp-reuse-mapcount'));
  assert.deepEqual(under('Basic COW after fork() with mprotect() optimization ... with base page').sort(), ['fork-no-wrprotect', 'mprotect-upgrade-shared']);
  // gup_longterm: writable longterm pins of shared mappings, allowed on shmem, refused on a dirty-tracked fs
  assert.deepEqual(under('R/W longterm GUP-fast pin in MAP_SHARED file mapping ... with local tmpfile'), ['longterm-write-dirty-tracked']);
  assert.deepEqual(under('io_uring fixed buffer with MAP_SHARED file mapping ... with memfd'), ['shmem-dirty-tracked']);
});

test('under a model change the cases it breaks FAIL with the kernel\'s own line', () => {
  const broken = selftestResults(['ro-pin-no-unshare']);
  const failed = broken.filter((r) => r.result === 'FAIL');
  assert.deepEqual(failed.map((r) => r.name).sort(), rows.filter((r) => r.failsUnder.includes('ro-pin-no-unshare')).map((r) => r.name).sort());
  for (const r of failed) assert.equal(r.detail, 'Longterm R/O pin is not reliable');
  const r = gupstress('selftest', '--bug', 'wp-reuse-mapcount', '--stress', '0');
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stdout, /^not ok cow\.c: vmsplice\(\) \+ unmap in child \.\.\. with base page # Leak from parent into child$/m);
});

test('gupstress selftest: each case with PASS, the SKIPs by backing, and the stress run clean', () => {
  const out = tmpOut();
  const r = gupstress('selftest', '--stress', '500ms', '--out', out);
  assert.equal(r.status, 0, r.stderr);
  const ok = r.stdout.split('\n').filter((l) => l.startsWith('ok     '));
  assert.equal(ok.length, rows.filter((x) => x.result === 'PASS').length);
  assert.match(r.stdout, /^# SKIP cow\.c: 14 cases with hugetlb \(2048 kB\): need more free huge pages/m);
  assert.match(r.stdout, new RegExp(`^${rows.filter((x) => x.result === 'PASS').length}/\\d+ PASS, 0 FAIL, \\d+ SKIP \\(of ${SELFTEST_CASES.length} cases`, 'm'));
  assert.match(r.stdout, /^under stress \(kernel-selftests, [\d,]+ cases on 2 CPUs at once\): PASS, 0 failed$/m);
  assert.equal(gupstress('selftest', '--bug', 'nope').status, 2);
});

test('kernel-selftests: a case failed under stress is reported with the kernel\'s own line', async () => {
  // (every bug of the scenario is found under explore and reported through run in
  // scenarios.test.ts; this is the text of the violation)
  const r = await run({ scenario: 'kernel-selftests', bug: 'ro-pin-no-unshare', ops: '3000000', stopOnViolation: true });
  assert.equal(r.verdict, 'FAIL', describeRun(r));
  assert.match(r.violations[0].detail, /^(cow|gup_longterm)\.c: .+: (Leak from|Longt|Should have)/);
});

for (const strategy of kernelSelftests.strategies) {
  test(`kernel-selftests under ${strategy}, fixed model: clean over thousands of cases on every reader CPU`, async () => {
    const r = await run({ scenario: 'kernel-selftests', strategy, readers: '3', ops: '3000' });
    assert.equal(r.verdict, 'PASS', describeRun(r));
    assert.ok(r.reader.outcomes['case-pass'].count > 1000, `${r.reader.outcomes['case-pass'].count} cases: ${describeRun(r)}`);
    assert.equal(r.violations.length, 0, 'no leak or underflow in the end-of-run accounting either');
  });
}
