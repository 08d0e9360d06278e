// The kernel's own expectations for GUP and COW, re-expressed on the model:
// tools/testing/selftests/mm/cow.c (the anonymous-memory families) and gup_longterm.c. Each
// case is the kernel test's sequence of steps on a parent mm and a child mm, with the
// kernel's name ("<desc> ... with <backing>"), its C function, its expectation and the line
// it prints when it fails. Deterministic: one CPU runs it from start to end; under stress
// several CPUs run cases at once (the kernel-selftests scenario).
//
// Data: a page's content is its data words (copyPage's); memset(v) writes v to each of
// them through the mapping, faulting as a CPU store would; a read compares them all, as
// memcmp would. The kernel fills 0x01 and writes 0xff.
import { LVL_PTE } from '../arch/arch.js';
import type { Cpu } from '../machine/cpu.js';
import { MM_MMAP_LOCK, dataWords, frameAddr, mmAddr } from '../machine/layout.js';
import { FOLL_GET, FOLL_LONGTERM, FOLL_PIN, FOLL_WRITE } from '../mm/folio.js';
import { exitMmap, forkMm } from '../mm/fork.js';
import { getUserPagesFast, gupSlow, putUserPages } from '../mm/gup.js';
import { VM_FAULT_OK, handleMmFault, munmapVma } from '../mm/memory.js';
import { mmAlloc } from '../mm/mm.js';
import { MmuGather } from '../mm/mmu_gather.js';
import { clearSoftdirty, mprotectVma } from '../mm/mprotect.js';
import { entryOffset } from '../mm/pgtable.js';
import { VM_DIRTY_TRACK, VM_FILE, VM_READ, VM_SHARED, VM_WRITE, vmaDefine } from '../mm/vma.js';
import { downRead, upRead } from '../sync/rwsem.js';

export const MEM1 = 0x01;
export const MEMFF = 0xff;
const BASE = 0x3000;

/** The CPU, the two mm slots a case runs on (parent, child), their depth. */
export interface Ctx {
  readonly c: Cpu;
  readonly parent: number;
  readonly child: number;
  readonly levels: number;
  readonly tlb: MmuGather;
}

export interface SelftestCase {
  /** exactly what the kernel test prints: "<desc> ... with <backing>" (or the bare desc) */
  readonly name: string;
  readonly file: 'cow.c' | 'gup_longterm.c';
  /** the C function */
  readonly fn: string;
  readonly desc: string;
  readonly backing: string;
  /** what the kernel test prints when the check fails */
  readonly failure: string;
  /** null: the model runs it; else why not, as a SKIP line */
  readonly skip: string | null;
  /** runs it; null: PASS, else what went wrong */
  readonly run: (x: Ctx) => string | null;
}

// ---- the process's view: loads and stores through the mapping, faulting like a CPU ----

/** The pfn mapped at vpn after a fault of the given kind if needed, or -1 (SIGSEGV). */
function touch(x: Ctx, mm: number, vpn: number, write: boolean): number {
  const { c } = x;
  const m = c.mem;
  const a = c.arch;
  const lock = mmAddr(c.L, mm, MM_MMAP_LOCK);
  for (let tries = 0; tries < 4; tries++) {
    downRead(c, lock);
    const ptep = entryOffset(c, mm, vpn, LVL_PTE, false); // -1: no pte table (yet)
    const pte = ptep < 0 ? a.emptyPte : m.load(ptep);
    if (a.ptePresent(pte) && (!write || a.pteWrite(pte))) {
      upRead(c, lock);
      return a.ptePfn(pte);
    }
    const r = handleMmFault(c, mm, vpn, write);
    upRead(c, lock);
    if (r !== VM_FAULT_OK) return -1;
  }
  return -1;
}

// (loops, not Array.from or map callbacks: a load is a scheduling point, and the resumable
// form of the model, build/resumable.ts, makes no generator of a builtin's callback)
function pageWords(x: Ctx, pfn: number): number[] {
  const n = dataWords(x.c.L);
  const p = frameAddr(x.c.L, pfn, 0);
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(x.c.mem.load(p + i));
  return out;
}

/** memset(mem, v, pages): a store to each data word of each page. */
function memset(x: Ctx, mm: number, pages: number, v: number): boolean {
  for (let i = 0; i < pages; i++) {
    const pfn = touch(x, mm, BASE + i, true);
    if (pfn < 0) return false;
    const p = frameAddr(x.c.L, pfn, 0);
    for (let w = 0, n = dataWords(x.c.L); w < n; w++) x.c.mem.store(p + w, v);
  }
  return true;
}

/** A copy of what the process reads there (memcpy(old, mem, size)). */
function readMem(x: Ctx, mm: number, pages: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < pages; i++) {
    const pfn = touch(x, mm, BASE + i, false);
    out.push(pfn < 0 ? [] : pageWords(x, pfn));
  }
  return out;
}

const same = (a: number[][], b: number[][]): boolean => JSON.stringify(a) === JSON.stringify(b);

/** Pages held by GUP (a pipe's buffers, a pin): their content through the reference. */
interface Held {
  pages: number[];
  flags: number;
}
function gup(x: Ctx, mm: number, pages: number, flags: number, fast: boolean): Held | null {
  const { c } = x;
  c.nrPages = 0;
  const n = fast ? getUserPagesFast(c, mm, BASE, pages, flags) : gupSlow(c, mm, BASE, pages, flags);
  const held = { pages: Array.from(c.pages.subarray(0, n)), flags };
  if (n === pages) return held;
  release(x, held);
  return null;
}
function heldContent(x: Ctx, h: Held): number[][] {
  const out: number[][] = [];
  for (const p of h.pages) out.push(pageWords(x, p));
  return out;
}
function release(x: Ctx, h: Held): void {
  x.c.pages.set(h.pages);
  putUserPages(x.c, h.pages.length, h.flags, BASE);
}

// ---- mm setup and teardown ----

/** mmap of one VMA (anonymous, or a file mapping by its flags) at BASE in mm, empty. */
function mmapVma(x: Ctx, mm: number, pages: number, flags = VM_READ | VM_WRITE): void {
  mmAlloc(x.c, mm, x.levels);
  vmaDefine(x.c.mem, x.c.L, mm, 0, BASE, BASE + pages, flags, true);
}
function fork(x: Ctx): boolean {
  return forkMm(x.c, x.parent, x.child);
}
function exit(x: Ctx, mm: number): void {
  exitMmap(x.c, mm, x.tlb);
}
function munmap(x: Ctx, mm: number): void {
  munmapVma(x.c, mm, 0, x.tlb, 0, 1 << 30);
}

// ---- cow.c: the anonymous test cases (anon_test_cases[]) on a base page ----

const PAGES = 1;

/** run_with_base_page(): mmap one page, MADV_NOHUGEPAGE, memset 1; then the test; then the
 *  test's process exits (both mms torn down). */
function withBasePage(x: Ctx, body: (x: Ctx) => string | null): string | null {
  mmapVma(x, x.parent, PAGES);
  let r: string | null;
  if (!memset(x, x.parent, PAGES, MEM1)) r = 'memset() failed';
  else r = body(x);
  exit(x, x.parent);
  return r;
}

const LEAK_CHILD = 'Leak from parent into child';
const LEAK_PARENT = 'Leak from child into parent';
const RO_PIN = 'Longterm R/O pin is not reliable';
const RW_PIN = 'Longtom R/W pin is not reliable'; // sic: the kernel's own spelling

/** do_test_cow_in_parent(): the child saves the page, the parent (after an optional
 *  mprotect(R)/(RW) round trip) writes 0xff, the child compares. */
function cowInParent(x: Ctx, mprotect: boolean): string | null {
  if (!fork(x)) return 'fork() failed';
  const old = readMem(x, x.child, PAGES);
  if (mprotect) {
    mprotectVma(x.c, x.parent, 0, false);
    mprotectVma(x.c, x.parent, 0, true);
  }
  memset(x, x.parent, PAGES, MEMFF);
  const now = readMem(x, x.child, PAGES);
  exit(x, x.child);
  return same(old, now) ? null : LEAK_CHILD;
}

/** test_vmsplice_in_child(): the child vmsplice()s the page into a pipe (FOLL_GET refs) and
 *  unmaps it; the parent writes; the child reads the pipe. */
function vmspliceInChild(x: Ctx, mprotect: boolean): string | null {
  if (!fork(x)) return 'fork() failed';
  const old = readMem(x, x.child, PAGES);
  const pipe = gup(x, x.child, PAGES, FOLL_GET, true);
  if (!pipe) return 'vmsplice() failed';
  munmap(x, x.child);
  if (mprotect) {
    mprotectVma(x.c, x.parent, 0, false);
    mprotectVma(x.c, x.parent, 0, true);
  }
  memset(x, x.parent, PAGES, MEMFF);
  const got = heldContent(x, pipe);
  release(x, pipe);
  exit(x, x.child);
  return same(old, got) ? null : LEAK_CHILD;
}

/** test_vmsplice_before_fork() / test_vmsplice_after_fork(): the parent's pipe holds the
 *  page, the parent unmaps it, the child writes and exits, the parent reads the pipe. */
function vmspliceParent(x: Ctx, beforeFork: boolean): string | null {
  const old = readMem(x, x.parent, PAGES);
  let pipe = beforeFork ? gup(x, x.parent, PAGES, FOLL_GET, true) : null;
  if (beforeFork && !pipe) return 'vmsplice() failed';
  if (!fork(x)) return 'fork() failed';
  if (!beforeFork) {
    pipe = gup(x, x.parent, PAGES, FOLL_GET, true);
    if (!pipe) return 'vmsplice() failed';
  }
  munmap(x, x.parent);
  memset(x, x.child, PAGES, MEMFF);
  exit(x, x.child);
  const got = heldContent(x, pipe!);
  release(x, pipe!);
  return same(old, got) ? null : LEAK_PARENT;
}

/** io_uring_register_buffers(): pin_user_pages(FOLL_WRITE | FOLL_PIN | FOLL_LONGTERM). */
const IOURING = FOLL_WRITE | FOLL_PIN | FOLL_LONGTERM;

/** test_iouring_ro() / test_iouring_fork(): register the buffer, then (R/O remap round trip
 *  with soft-dirty cleared, or a fork whose child stays), write 0xff, write_fixed() the
 *  buffer to the file, and read the file back: it must hold what the process wrote. */
function iouring(x: Ctx, kind: 'ro' | 'fork'): string | null {
  const buf = gup(x, x.parent, PAGES, IOURING, true);
  if (!buf) return 'io_uring_register_buffers() failed';
  if (kind === 'ro') {
    mprotectVma(x.c, x.parent, 0, false);
    clearSoftdirty(x.c, x.parent, 0);
    mprotectVma(x.c, x.parent, 0, true);
  } else if (!fork(x)) {
    release(x, buf);
    return 'fork() failed';
  }
  memset(x, x.parent, PAGES, MEMFF);
  const file = heldContent(x, buf); // write_fixed() through the registered pages, pread() back
  const mem = readMem(x, x.parent, PAGES);
  release(x, buf);
  if (kind === 'fork') exit(x, x.child);
  return same(mem, file) ? null : RW_PIN;
}

type RoPinTest = 'shared' | 'previously-shared' | 'ro-exclusive';

/** do_test_ro_pin(): the state, then gup_test's PIN_LONGTERM_TEST_START (an R/O longterm pin,
 *  GUP or GUP-fast), write 0xff, PIN_LONGTERM_TEST_READ: the pin must see the write. */
function roPin(x: Ctx, test: RoPinTest, fast: boolean): string | null {
  let child = false;
  if (test === 'shared' || test === 'previously-shared') {
    if (!fork(x)) return 'fork() failed';
    child = true;
    if (test === 'previously-shared') {
      exit(x, x.child); // the child exits and is reaped: mapcount 1, not exclusive
      child = false;
    }
  } else {
    mprotectVma(x.c, x.parent, 0, false);
    clearSoftdirty(x.c, x.parent, 0);
    mprotectVma(x.c, x.parent, 0, true); // the pte stays R/O, the page exclusive
  }
  const pin = gup(x, x.parent, PAGES, FOLL_PIN | FOLL_LONGTERM, fast);
  let r: string | null;
  if (!pin) r = 'PIN_LONGTERM_TEST_START failed';
  else {
    memset(x, x.parent, PAGES, MEMFF);
    const tmp = heldContent(x, pin);
    const mem = readMem(x, x.parent, PAGES);
    release(x, pin);
    r = same(mem, tmp) ? null : RO_PIN;
  }
  if (child) exit(x, x.child);
  return r;
}

const ANON_TESTS: readonly { desc: string; fn: string; failure: string; run: (x: Ctx) => string | null }[] = [
  { desc: 'Basic COW after fork()', fn: 'test_cow_in_parent', failure: LEAK_CHILD, run: (x) => cowInParent(x, false) },
  { desc: 'Basic COW after fork() with mprotect() optimization', fn: 'test_cow_in_parent_mprotect', failure: LEAK_CHILD, run: (x) => cowInParent(x, true) },
  { desc: 'vmsplice() + unmap in child', fn: 'test_vmsplice_in_child', failure: LEAK_CHILD, run: (x) => vmspliceInChild(x, false) },
  { desc: 'vmsplice() + unmap in child with mprotect() optimization', fn: 'test_vmsplice_in_child_mprotect', failure: LEAK_CHILD, run: (x) => vmspliceInChild(x, true) },
  { desc: 'vmsplice() before fork(), unmap in parent after fork()', fn: 'test_vmsplice_before_fork', failure: LEAK_PARENT, run: (x) => vmspliceParent(x, true) },
  { desc: 'vmsplice() + unmap in parent after fork()', fn: 'test_vmsplice_after_fork', failure: LEAK_PARENT, run: (x) => vmspliceParent(x, false) },
  { desc: 'R/O-mapping a page registered as iouring fixed buffer', fn: 'test_iouring_ro', failure: RW_PIN, run: (x) => iouring(x, 'ro') },
  { desc: 'fork() with an iouring fixed buffer', fn: 'test_iouring_fork', failure: RW_PIN, run: (x) => iouring(x, 'fork') },
  { desc: 'R/O GUP pin on R/O-mapped shared page', fn: 'test_ro_pin_on_shared', failure: RO_PIN, run: (x) => roPin(x, 'shared', false) },
  { desc: 'R/O GUP-fast pin on R/O-mapped shared page', fn: 'test_ro_fast_pin_on_shared', failure: RO_PIN, run: (x) => roPin(x, 'shared', true) },
  { desc: 'R/O GUP pin on R/O-mapped previously-shared page', fn: 'test_ro_pin_on_ro_previously_shared', failure: RO_PIN, run: (x) => roPin(x, 'previously-shared', false) },
  { desc: 'R/O GUP-fast pin on R/O-mapped previously-shared page', fn: 'test_ro_fast_pin_on_ro_previously_shared', failure: RO_PIN, run: (x) => roPin(x, 'previously-shared', true) },
  { desc: 'R/O GUP pin on R/O-mapped exclusive page', fn: 'test_ro_pin_on_ro_exclusive', failure: RO_PIN, run: (x) => roPin(x, 'ro-exclusive', false) },
  { desc: 'R/O GUP-fast pin on R/O-mapped exclusive page', fn: 'test_ro_fast_pin_on_ro_exclusive', failure: RO_PIN, run: (x) => roPin(x, 'ro-exclusive', true) },
];

/** The model's PMD size: FANOUT pages of 4 KiB. */
const THP_KB = 256;
const NO_THP_COW = 'the model does not fork or COW a PMD-mapped THP (copy_huge_pmd, do_huge_pmd_wp_page) and keeps PageAnonExclusive per folio, not per page';
const NO_SWAP = 'MADV_PAGEOUT did not work, is swap enabled? (the model has no swap entries)';

/** run_anon_test_case()'s backings, in the kernel's order: the model runs the base page. */
const ANON_BACKINGS: readonly { backing: string; skip: string | null }[] = [
  { backing: 'base page', skip: null },
  { backing: 'swapped out base page', skip: NO_SWAP },
  { backing: `THP (${THP_KB} kB)`, skip: NO_THP_COW },
  { backing: `swapped-out THP (${THP_KB} kB)`, skip: NO_SWAP },
  { backing: `PTE-mapped THP (${THP_KB} kB)`, skip: NO_THP_COW },
  { backing: `swapped-out, PTE-mapped THP (${THP_KB} kB)`, skip: NO_SWAP },
  { backing: `single PTE of THP (${THP_KB} kB)`, skip: NO_THP_COW },
  { backing: `single PTE of swapped-out THP (${THP_KB} kB)`, skip: NO_SWAP },
  { backing: `partially mremap()'ed THP (${THP_KB} kB)`, skip: 'the model has no mremap()' },
  { backing: `partially shared THP (${THP_KB} kB)`, skip: NO_THP_COW },
  { backing: 'hugetlb (2048 kB)', skip: 'need more free huge pages (the model has no hugetlb)' },
];

// ---- gup_longterm.c: the pin matrix on file mappings ----

type PinType = 'RW' | 'RW_FAST' | 'RO' | 'RO_FAST' | 'IOURING';

/** The backings gup_longterm runs on, with how the model maps them: memfd is shmem (no
 *  dirty tracking); "local tmpfile" is a file in the current directory, on ext4 here (the
 *  usual CI disk), whose writeback needs dirty tracking. */
const LONGTERM_BACKINGS: readonly { backing: string; skip: string | null; flags: number; fs: string; writableLongterm: boolean }[] = [
  { backing: 'memfd', skip: null, flags: VM_FILE, fs: 'tmpfs', writableLongterm: true },
  { backing: 'tmpfile', skip: 'its filesystem is the host\'s (tmpfs or a disk): the model runs the two it can name, memfd and local tmpfile', flags: 0, fs: '', writableLongterm: false },
  { backing: 'local tmpfile', skip: null, flags: VM_FILE | VM_DIRTY_TRACK, fs: 'ext4', writableLongterm: false },
  { backing: 'memfd hugetlb (2048 kB)', skip: 'need more free huge pages (the model has no hugetlb)', flags: 0, fs: '', writableLongterm: true },
];

/** do_test(): mmap the file shared or private, memset(0) (a private mapping COWs into an anon
 *  page), mprotect(PROT_READ) for the R/O types, then try the longterm pin: it must succeed
 *  iff should_work = !shared || !rw || the fs supports writable longterm pins. */
function longterm(x: Ctx, type: PinType, shared: boolean, vmFlags: number, fsOk: boolean): string | null {
  const rw = type === 'RW' || type === 'RW_FAST' || type === 'IOURING';
  const fast = type === 'RW_FAST' || type === 'RO_FAST' || type === 'IOURING';
  const shouldWork = !shared || !rw || fsOk;
  mmapVma(x, x.parent, PAGES, VM_READ | VM_WRITE | vmFlags | (shared ? VM_SHARED : 0));
  let r: string | null;
  if (!memset(x, x.parent, PAGES, 0)) r = 'memset() failed';
  else {
    if (type === 'RO' || type === 'RO_FAST') mprotectVma(x.c, x.parent, 0, false);
    const pin = gup(x, x.parent, PAGES, FOLL_PIN | FOLL_LONGTERM | (rw ? FOLL_WRITE : 0), fast);
    if (pin) release(x, pin);
    r = Boolean(pin) === shouldWork ? null : shouldWork ? 'Should have worked' : 'Should have failed';
  }
  exit(x, x.parent);
  return r;
}

const LONGTERM_TESTS: readonly { desc: string; fn: string; type: PinType; shared: boolean }[] = [
  { desc: 'R/W longterm GUP pin in MAP_SHARED file mapping', fn: 'test_shared_rw_pin', type: 'RW', shared: true },
  { desc: 'R/W longterm GUP-fast pin in MAP_SHARED file mapping', fn: 'test_shared_rw_fast_pin', type: 'RW_FAST', shared: true },
  { desc: 'R/O longterm GUP pin in MAP_SHARED file mapping', fn: 'test_shared_ro_pin', type: 'RO', shared: true },
  { desc: 'R/O longterm GUP-fast pin in MAP_SHARED file mapping', fn: 'test_shared_ro_fast_pin', type: 'RO_FAST', shared: true },
  { desc: 'R/W longterm GUP pin in MAP_PRIVATE file mapping', fn: 'test_private_rw_pin', type: 'RW', shared: false },
  { desc: 'R/W longterm GUP-fast pin in MAP_PRIVATE file mapping', fn: 'test_private_rw_fast_pin', type: 'RW_FAST', shared: false },
  { desc: 'R/O longterm GUP pin in MAP_PRIVATE file mapping', fn: 'test_private_ro_pin', type: 'RO', shared: false },
  { desc: 'R/O longterm GUP-fast pin in MAP_PRIVATE file mapping', fn: 'test_private_ro_fast_pin', type: 'RO_FAST', shared: false },
  { desc: 'io_uring fixed buffer with MAP_SHARED file mapping', fn: 'test_shared_iouring', type: 'IOURING', shared: true },
  { desc: 'io_uring fixed buffer with MAP_PRIVATE file mapping', fn: 'test_private_iouring', type: 'IOURING', shared: false },
];

const ONLY_THP = 'the model has no PTE-mapped THP to collapse (MADV_COLLAPSE of a PTE-mapped THP)';

/** Every case, in the kernel's order: cow.c's anon cases per backing, its anon THP collapse
 *  family, then gup_longterm's tests per backing. */
export const SELFTEST_CASES: readonly SelftestCase[] = [
  ...ANON_BACKINGS.flatMap(({ backing, skip }) => ANON_TESTS.map((t): SelftestCase => ({
    name: `${t.desc} ... with ${backing}`, file: 'cow.c', fn: t.fn, desc: t.desc, backing, failure: t.failure, skip, run: (x) => withBasePage(x, t.run),
  }))),
  ...[
    ['Basic COW after fork() when collapsing before fork()', 'test_anon_thp_collapse_unshared'],
    ['Basic COW after fork() when collapsing after fork() (fully shared)', 'test_anon_thp_collapse_fully_shared'],
    ['Basic COW after fork() when collapsing after fork() (lower shared)', 'test_anon_thp_collapse_lower_shared'],
    ['Basic COW after fork() when collapsing after fork() (upper shared)', 'test_anon_thp_collapse_upper_shared'],
  ].map(([desc, fn]): SelftestCase => ({ name: desc, file: 'cow.c', fn, desc, backing: `THP (${THP_KB} kB)`, failure: LEAK_CHILD, skip: ONLY_THP, run: () => null })),
  ...LONGTERM_BACKINGS.flatMap((b) => LONGTERM_TESTS.map((t): SelftestCase => ({
    name: `${t.desc} ... with ${b.backing}`, file: 'gup_longterm.c', fn: t.fn, desc: t.desc, backing: b.backing,
    failure: t.shared && t.type !== 'RO' && t.type !== 'RO_FAST' && !b.writableLongterm ? 'Should have failed' : 'Should have worked',
    skip: b.skip, run: (x) => longterm(x, t.type, t.shared, b.flags, b.writableLongterm),
  }))),
];

/** The cases the model runs. */
export const RUNNABLE_CASES: readonly SelftestCase[] = SELFTEST_CASES.filter((x) => x.skip === null);

/** The file systems the gup_longterm backings stand for (for the README and the output). */
export const LONGTERM_FS: Readonly<Record<string, string>> = Object.fromEntries(LONGTERM_BACKINGS.filter((b) => b.fs).map((b) => [b.backing, b.fs]));

