// The kernel's own GUP/COW expectations (tools/testing/selftests/mm/cow.c, gup_longterm.c,
// src/selftests/cases.ts) under stress: every reader CPU runs the cases one after the other
// on an mm pair of its own, all at once, so their forks, flushes, faults and pins share the
// allocator, the IPIs and the grace periods. A case that does not end as the kernel expects
// is a violation carrying the kernel's own failure line. The bug switches are the model
// changes that break what the cases check; `gupstress selftest` runs each case once.
import { V_REFCOUNT_LEAK } from '../check/accounting.js';
import { V_PGTABLE_UAF, V_STALE_PAGE } from '../check/oracle.js';
import { defineViolation } from '../check/violations.js';
import type { Cpu } from '../machine/cpu.js';
import { G_FREE_COUNT } from '../machine/layout.js';
import { V_REFCOUNT_UNDERFLOW } from '../mm/folio.js';
import { MmuGather } from '../mm/mmu_gather.js';
import { type Ctx, RUNNABLE_CASES } from '../selftests/cases.js';
import { defineScenario } from './scenario.js';

export const V_SELFTEST_FAIL = defineViolation('selftest-fail', 'a kernel selftest case (cow.c, gup_longterm.c) did not end as the kernel expects');

/** reader CPUs: each runs the cases on two mm slots of its own */
export const SELFTEST_MAX_READERS = 8;
/** frames one case holds at its peak, with room to spare: two mms' tables at 5 levels, the
 *  page, its COW and pinned copies, and what an mmu_gather holds until its flush */
export const CASE_FRAMES = 24;

const kinds = [V_SELFTEST_FAIL];

export const kernelSelftests = defineScenario({
  id: 'kernel-selftests',
  title: 'tools/testing/selftests/mm cow.c and gup_longterm.c cases, on several CPUs at once',
  seed: 'the kernel\'s own GUP/COW expectations (David Hildenbrand\'s cow.c and gup_longterm.c)',
  commits: ['09854ba94c6a mm: do_wp_page() simplification (refcount, not mapcount)', '6c287605fd56 mm: remember exclusively mapped anonymous pages with PG_anon_exclusive', 'a7f226604170 mm/gup: trigger FAULT_FLAG_UNSHARE when R/O-pinning a possibly shared anonymous page', '70e806e4e645 mm: Do early cow for pinned pages during fork() for ptes', 'a8f0e8b86b9d mm/gup: disallow FOLL_LONGTERM GUP-nonfast writing to file-backed mappings'],
  selftest: true,
  arches: ['x86-64', 'arm64'],
  strategies: ['ipi', 'rcu'],
  defaultStrategy: 'rcu',
  defaults: { readers: 2, writers: 0, frames: 2048, huge: 0, widen: {} },
  params: {},
  windows: [],
  bugs: {
    'fork-no-wrprotect': { doc: 'copy_present_pte shares an anon page without write-protecting it or clearing PageAnonExclusive: no COW at all', changes: 'copy_present_pte', expectKinds: kinds },
    'fork-no-pin-copy': { doc: 'fork COW-shares a maybe-pinned anon page instead of copying it for the child: the parent\'s next write copies away from its own pin', changes: 'copy_present_pte (folio_try_dup_anon_rmap_pte)', fixedBy: '70e806e4e645', expectKinds: kinds },
    'wp-reuse-mapcount': { doc: 'do_wp_page reuses a page mapped once, whatever its references: a child\'s vmsplice()d page is written by the parent (CVE-2020-29374)', changes: 'do_wp_page (wp_can_reuse_anon_folio)', fixedBy: '09854ba94c6a', expectKinds: kinds },
    'wp-ignore-exclusive': { doc: 'do_wp_page reuses only a page nobody else references, ignoring PageAnonExclusive: a pinned exclusive page is copied away from its pin', changes: 'do_wp_page (wp_can_reuse_anon_folio)', fixedBy: '6c287605fd56', expectKinds: kinds },
    'mprotect-upgrade-shared': { doc: 'mprotect(PROT_WRITE) maps a COW-shared anon page writable without a fault (can_change_pte_writable ignores PageAnonExclusive)', changes: 'can_change_pte_writable', expectKinds: kinds },
    'ro-pin-no-unshare': { doc: 'an R/O pin of a COW-shared anon page does not unshare it (gup_must_unshare false): the next write fault copies away from the pin', changes: 'gup_must_unshare', fixedBy: 'a7f226604170', expectKinds: kinds },
    'longterm-write-dirty-tracked': { doc: 'a FOLL_LONGTERM writable pin of a shared file mapping whose fs needs dirty tracking (ext4) is allowed: writable_file_mapping_allowed / gup_fast_folio_allowed skipped', changes: 'check_vma_flags, gup_fast_folio_allowed', fixedBy: 'a8f0e8b86b9d', expectKinds: kinds },
    'shmem-dirty-tracked': { doc: 'shmem counted as needing dirty tracking: writable longterm pins of memfd mappings are refused', changes: 'vma_needs_dirty_tracking', expectKinds: kinds },
  },
  detects: [V_SELFTEST_FAIL, V_STALE_PAGE, V_PGTABLE_UAF, V_REFCOUNT_UNDERFLOW, V_REFCOUNT_LEAK],
  mms: 2 * SELFTEST_MAX_READERS,
  maxReaders: SELFTEST_MAX_READERS,
  maxWriters: 0,

  // a case needs its frames: fewer than two cases' worth per reader CPU is refused at boot
  boot(c, p) {
    const need = 2 * CASE_FRAMES * p.readers;
    if (c.L.frames < need) throw new Error(`out of frames: ${p.readers} reader CPU(s) running cases need ${need} frames`);
  },

  reader: {
    outcomes: {
      'case-pass': { expect: 'ACCEPTABLE', doc: 'a case ended as the kernel expects (PASS)' },
      'waited-for-memory': { expect: 'ACCEPTABLE', doc: 'fewer free frames than a case needs per reader CPU (tables waiting for a grace period): the CPU waited instead of starting one' },
      'case-fail': { expect: 'FORBIDDEN', doc: 'a case did not (FAIL: a selftest-fail violation with the kernel\'s line)' },
    },
    init: (c: Cpu, p, index) => ({ reserve: CASE_FRAMES * p.readers, x: { c, parent: 2 * index, child: 2 * index + 1, levels: p.mmLevels, tlb: new MmuGather() } }),
    op(c: Cpu, s: { reserve: number; x: Ctx }) {
      // memory pressure (frees behind grace periods): wait, as an allocation would reclaim,
      // rather than fail a case for want of memory, which is not what it checks
      if (c.mem.load(c.L.gBase + G_FREE_COUNT) < s.reserve) {
        c.block(c.aWake, c.mem.load(c.aWake), 0.05);
        return 'waited-for-memory';
      }
      // a case drawn from the seed: every case under stress, and under explore's few operations
      const k = RUNNABLE_CASES[c.mem.random() % RUNNABLE_CASES.length];
      const r = k.run(s.x);
      if (r === null) return 'case-pass';
      c.violation(V_SELFTEST_FAIL, 0, `${k.file}: ${k.name}: ${r}`);
      return 'case-fail';
    },
  },

  writer: {
    outcomes: { idle: { expect: 'ACCEPTABLE', doc: 'no writer role: the cases are their own writers' } },
    init: () => null,
    op: () => 'idle',
  },
});
