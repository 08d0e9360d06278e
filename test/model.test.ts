// Single-threaded tests of the model on one CPU: the steps do what the kernel's do.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { endOfRunAccounting } from '../src/check/accounting.js';
import { winReaderClose, winReaderOpen, winWriterClose, winWriterOpen } from '../src/check/windows.js';
import { FANOUT, MD_MAPCOUNT, MD_REFCOUNT, MD_TYPE, PageType, frameAddr, mdAddr } from '../src/machine/layout.js';
import { FOLL_GET, FOLL_PIN, FOLL_WRITE, GUP_PIN_COUNTING_BIAS, folioMaybeDmaPinned } from '../src/mm/folio.js';
import { GUP_FAST_NOT_PRESENT, GUP_FAST_PERM, GUP_FAST_TABLE_GONE, gupFast, gupSlow, getUserPagesFast, putUserPages } from '../src/mm/gup.js';
import { KSM_ABORT_PINNED, KSM_MERGED, ksmMergeOne } from '../src/mm/ksm.js';
import { mmapPopulate, munmapVma } from '../src/mm/memory.js';
import { mmAlloc } from '../src/mm/mm.js';
import { MmuGather } from '../src/mm/mmu_gather.js';
import { entryOffset } from '../src/mm/pgtable.js';
import { VM_HUGEPAGE, VM_READ, VM_WRITE, vmaDefine } from '../src/mm/vma.js';
import { type Arch, LVL_PTE, LVL_PUD } from '../src/arch/arch.js';
import { S_TABLES_FREED } from '../src/sync/strategy.js';
import { machine } from './helpers.js';
import { W_GUP_PIN_RECHECK } from '../src/mm/gup.js';
import { W_KSM_CLEAR_CHECK } from '../src/mm/ksm.js';

const BASE = 4096;

function setup(huge: boolean, levels = 4) {
  const m = machine({ frames: 1024, huge: 4 });
  mmAlloc(m.c, 0, levels);
  vmaDefine(m.mem, m.L, 0, 0, BASE, BASE + 128, VM_READ | VM_WRITE | (huge ? VM_HUGEPAGE : 0), false);
  assert.equal(mmapPopulate(m.c, 0, 0), 0);
  return m;
}

const ref = (m: ReturnType<typeof machine>, pfn: number) => m.mem.load(mdAddr(m.L, pfn, MD_REFCOUNT));

for (const levels of [4, 5]) {
  test(`GUP-fast FOLL_GET and FOLL_PIN on pte-mapped pages (${levels}-level mm)`, () => {
    const m = setup(false, levels);
    const n = gupFast(m.c, 0, BASE + 3, 4, FOLL_GET);
    assert.equal(n, 4);
    const pages = Array.from(m.c.pages.subarray(0, 4));
    for (const p of pages) {
      assert.equal(m.mem.load(mdAddr(m.L, p, MD_TYPE)), PageType.Anon);
      assert.equal(ref(m, p), 2, 'the mapping + our reference');
    }
    putUserPages(m.c, 4, FOLL_GET, BASE + 3);
    for (const p of pages) assert.equal(ref(m, p), 1);
    assert.equal(gupFast(m.c, 0, BASE + 60, 8, FOLL_PIN | FOLL_WRITE), 8, 'across a pmd boundary');
    const pinned = m.c.pages[0];
    assert.equal(ref(m, pinned), 1 + GUP_PIN_COUNTING_BIAS);
    assert.ok(folioMaybeDmaPinned(m.c, pinned));
    putUserPages(m.c, 8, FOLL_PIN, BASE + 60);
    assert.ok(!folioMaybeDmaPinned(m.c, pinned));
    assert.equal(m.c.violations.length, 0, JSON.stringify(m.c.violations));
  });
}

test('GUP-fast on a huge pmd (gup_fast_pmd_leaf): subpages of one folio, refs on the head', () => {
  const m = setup(true);
  const n = gupFast(m.c, 0, BASE + 10, 5, FOLL_GET);
  assert.equal(n, 5);
  const head = m.c.pages[0] - 10;
  assert.ok(head >= m.L.hugeBase);
  assert.deepEqual(Array.from(m.c.pages.subarray(0, 5)), [10, 11, 12, 13, 14].map((i) => head + i));
  assert.equal(ref(m, head), 1 + 5);
  putUserPages(m.c, 5, FOLL_GET, BASE + 10);
  assert.equal(ref(m, head), 1);
  assert.equal(m.c.violations.length, 0);
});

test('munmap frees pages and tables; GUP-fast then stops, the slow path says -EFAULT; accounting balances', () => {
  const m = setup(false);
  assert.equal(gupFast(m.c, 0, BASE, 1, FOLL_GET), 1);
  const held = m.c.pages[0];
  munmapVma(m.c, 0, 0, new MmuGather(), BASE & ~4095, (BASE & ~4095) + 4096);
  assert.equal(m.mem.load(mdAddr(m.L, held, MD_MAPCOUNT)), 0);
  assert.equal(ref(m, held), 1, 'our reference keeps the page alive after the unmap');
  assert.equal(gupFast(m.c, 0, BASE + 5, 1, FOLL_GET), 0);
  assert.equal(m.c.gupFastReason, GUP_FAST_NOT_PRESENT);
  assert.equal(gupSlow(m.c, 0, BASE + 5, 1, FOLL_GET), 0);
  putUserPages(m.c, 1, FOLL_GET, BASE);
  assert.equal(m.mem.load(mdAddr(m.L, held, MD_TYPE)), PageType.Free);
  assert.equal(m.c.stats[S_TABLES_FREED.id], 3, 'two pte tables and the pmd table were freed');
  const acc = endOfRunAccounting(m.c, 1);
  assert.equal(acc.foliosMapped, 0);
  assert.equal(m.c.violations.length, 0, JSON.stringify(m.c.violations));
});

test('KSM merges an unpinned page; a FOLL_WRITE pin then breaks COW through the slow path', () => {
  const m = setup(false);
  const vpn = BASE + 7;
  assert.equal(getUserPagesFast(m.c, 0, vpn, 1, FOLL_PIN | FOLL_WRITE), 1);
  const page = m.c.pages[0];
  m.mem.store(frameAddr(m.L, page, 1), 1234); // a DMA write through the pin (CPU 0's token slot)
  assert.equal(ksmMergeOne(m.c, 0, vpn), KSM_ABORT_PINNED, 'a pinned page is not merged');
  putUserPages(m.c, 1, FOLL_PIN, vpn);
  assert.equal(ksmMergeOne(m.c, 0, vpn), KSM_MERGED);
  const ptep = frameAddr(m.L, m.c.arch.tablePfn(2, m.mem.load(entryOffset(m.c, 0, vpn, 2, false))), m.c.arch.index(LVL_PTE, 5, vpn));
  const kpage = m.c.arch.ptePfn(m.mem.load(ptep));
  assert.equal(m.mem.load(mdAddr(m.L, kpage, MD_TYPE)), PageType.Ksm);
  assert.ok(!m.c.arch.pteWrite(m.mem.load(ptep)), 'the KSM page is mapped read-only');
  assert.equal(m.mem.load(frameAddr(m.L, kpage, 1)), 1234, 'the merged page carries the content');
  assert.equal(m.mem.load(mdAddr(m.L, page, MD_TYPE)), PageType.Free, 'the old page was freed');
  assert.equal(gupFast(m.c, 0, vpn, 1, FOLL_PIN | FOLL_WRITE), 0);
  assert.equal(m.c.gupFastReason, GUP_FAST_PERM, 'GUP-fast refuses a write pin of a read-only pte');
  assert.equal(getUserPagesFast(m.c, 0, vpn, 1, FOLL_PIN | FOLL_WRITE), 1, 'the slow path breaks COW');
  const fresh = m.c.pages[0];
  assert.notEqual(fresh, kpage);
  assert.equal(m.mem.load(frameAddr(m.L, fresh, 1)), 1234, 'COW copied the content');
  putUserPages(m.c, 1, FOLL_PIN, vpn);
  endOfRunAccounting(m.c, 1);
  assert.equal(m.c.violations.length, 0, JSON.stringify(m.c.violations));
});

test('window overlap: odd counter at open, or a change by close, means the windows overlapped', () => {
  const m = machine();
  m.c.opts.winPair[W_GUP_PIN_RECHECK.id] = W_KSM_CLEAR_CHECK.id;
  winReaderOpen(m.c, W_GUP_PIN_RECHECK, 100);
  winReaderClose(m.c, W_GUP_PIN_RECHECK);
  assert.equal(m.c.winOverlaps[W_GUP_PIN_RECHECK.id], 0);
  winReaderOpen(m.c, W_GUP_PIN_RECHECK, 100);
  winWriterOpen(m.c, W_KSM_CLEAR_CHECK, 100);
  winReaderClose(m.c, W_GUP_PIN_RECHECK);
  assert.equal(m.c.winOverlaps[W_GUP_PIN_RECHECK.id], 1, 'writer opened during the reader window');
  winReaderOpen(m.c, W_GUP_PIN_RECHECK, 100);
  winReaderClose(m.c, W_GUP_PIN_RECHECK);
  assert.equal(m.c.winOverlaps[W_GUP_PIN_RECHECK.id], 2, 'writer window open at the reader open');
  winReaderOpen(m.c, W_GUP_PIN_RECHECK, 101);
  winReaderClose(m.c, W_GUP_PIN_RECHECK);
  assert.equal(m.c.winOverlaps[W_GUP_PIN_RECHECK.id], 2, 'another object: no overlap');
  winWriterClose(m.c, W_KSM_CLEAR_CHECK);
  winReaderOpen(m.c, W_GUP_PIN_RECHECK, 100);
  winReaderClose(m.c, W_GUP_PIN_RECHECK);
  assert.equal(m.c.winOverlaps[W_GUP_PIN_RECHECK.id], 2);
  assert.equal(m.c.winEntries[W_GUP_PIN_RECHECK.id], 5);
});

test('a speculative reference on a page-table frame defers its free to the last put (put_page_testzero)', async () => {
  const { allocTable, freeTable } = await import('../src/mm/page_alloc.js');
  const { folioRefTryAdd, folioPutRefs } = await import('../src/mm/folio.js');
  const m = machine();
  const t = allocTable(m.c, 0, 1, 0, 4);
  assert.ok(folioRefTryAdd(m.c, t, 1), 'a stale pte led GUP-fast here: the try-get succeeds on a live frame');
  assert.equal(freeTable(m.c, t), false, 'pagetable_free drops only its own reference');
  assert.equal(m.mem.load(mdAddr(m.L, t, MD_TYPE)), PageType.PageTable);
  folioPutRefs(m.c, t, 1, 0);
  assert.equal(m.mem.load(mdAddr(m.L, t, MD_TYPE)), PageType.Free, 'the walker\'s put frees it');
  assert.equal(m.c.violations.length, 0, 'no refcount underflow');
});

test('a fault that loses the race to map an address drops only its own reference (do_anonymous_page: folio_put)', async () => {
  // A GUP-fast walker read a pte; munmap freed its page (rcu: the flush waits for nobody);
  // a fault allocates that very frame, the walker's try-get lands on it (refcount 1 -> 2),
  // and the fault then finds the address mapped by another: it must drop its reference,
  // not zero the count, or the walker's put underflows (the false refcount-underflow a CI
  // sweep of munmap-free under rcu once reported)
  const { G_FREE_HEAD, VMA_PRESENT } = await import('../src/machine/layout.js');
  const { vmaAddr } = await import('../src/mm/vma.js');
  const { handleMmFault } = await import('../src/mm/memory.js');
  const { tryGrabFolioFast, gupPutFolio } = await import('../src/mm/folio.js');
  const { localIrqRestore, localIrqSave } = await import('../src/sync/irq.js');
  const { cs, L, mem } = machine({ cpus: 3, strategy: 'rcu', frames: 1024 });
  const [w, a, b] = cs; // the writer, a GUP-fast walker, a faulting CPU
  mmAlloc(w, 0, 4);
  vmaDefine(mem, L, 0, 0, BASE, BASE + 64, VM_READ | VM_WRITE, false);
  assert.equal(mmapPopulate(w, 0, 0), 0);
  // the walker, irqs off, has read every pte (one of them is the stale one it goes on with)
  localIrqSave(a);
  const ptes = new Map<number, { vpn: number; pte: number; ptep: number }>();
  for (let vpn = BASE; vpn < BASE + 64; vpn++) {
    const ptep = entryOffset(w, 0, vpn, LVL_PTE, false);
    const pte = mem.load(ptep);
    ptes.set(a.arch.ptePfn(pte), { vpn, pte, ptep });
  }
  munmapVma(w, 0, 0, new MmuGather(), BASE, BASE + 64 * 64);
  // mapped again, its tables rebuilt by a first fault
  mem.store(vmaAddr(L, 0, 0, VMA_PRESENT), 1);
  assert.equal(handleMmFault(w, 0, BASE + 63, true), 0);
  const p = mem.load(L.gBase + G_FREE_HEAD); // the frame the next allocation gets
  const stale = ptes.get(p);
  assert.ok(stale, `the next frame handed out (${p}) was one of the VMA's pages`);
  assert.equal(mem.load(mdAddr(L, p, MD_TYPE)), PageType.Free);
  // the faulting CPU's allocation gets p: the walker's try-get lands there, and the writer
  // maps the address first
  const target = BASE + 5;
  const typeOf = (x: number) => mdAddr(L, x, MD_TYPE);
  let grabbed = false;
  const inner = b.mem;
  const hooked = Object.create(inner) as typeof inner;
  hooked.store = (q: number, v: number) => {
    inner.store(q, v);
    if (!grabbed && q === typeOf(p) && v === PageType.Anon) {
      grabbed = tryGrabFolioFast(a, p, 1, FOLL_GET);
      assert.equal(handleMmFault(w, 0, target, true), 0);
    }
  };
  (b as { mem: typeof inner }).mem = hooked;
  assert.equal(handleMmFault(b, 0, target, true), 0);
  (b as { mem: typeof inner }).mem = inner;
  assert.ok(grabbed, 'the walker took a speculative reference on the fault\'s fresh page');
  assert.notEqual(a.arch.ptePfn(mem.load(entryOffset(w, 0, target, LVL_PTE, false))), p, 'the other fault mapped the address');
  assert.equal(mem.load(mdAddr(L, p, MD_REFCOUNT)), 1, 'the losing fault dropped only its own reference');
  assert.notEqual(mem.load(mdAddr(L, p, MD_TYPE)), PageType.Free, 'the walker\'s reference keeps the frame');
  // the walker's re-check fails (its pte table was unlinked): it puts its reference, the last
  assert.ok(mem.load(stale!.ptep) !== stale!.pte || mem.load(entryOffset(w, 0, stale!.vpn, LVL_PTE, false)) !== stale!.pte);
  gupPutFolio(a, p, 1, FOLL_GET, stale!.vpn);
  localIrqRestore(a);
  assert.equal(mem.load(mdAddr(L, p, MD_TYPE)), PageType.Free, 'the walker\'s put freed it');
  for (const x of cs) assert.deepEqual(x.violations.map((v) => `${v.kind}: ${v.detail}`), []);
});

test('a walk that steps past its table is caught at that read (walk-past-table), not by what the next frame holds', () => {
  // the pmd loop's range is clamped by the pud level's pXd_addr_end; a mutation that stops
  // clamping it walks pmdp on past entry 63 of its table, into whatever frame follows
  const m = machine({ frames: 1024, huge: 4 });
  mmAlloc(m.c, 0, 4);
  const boundary = 2 * FANOUT * FANOUT; // a pud boundary: two pmd tables meet here
  vmaDefine(m.mem, m.L, 0, 0, boundary - 64, boundary + 64, VM_READ | VM_WRITE, false);
  assert.equal(mmapPopulate(m.c, 0, 0), 0);
  assert.equal(gupFast(m.c, 0, boundary - 2, 4, FOLL_GET), 4, 'the kernel walk crosses into the next pmd table');
  putUserPages(m.c, 4, FOLL_GET, boundary - 2);
  assert.equal(m.c.violations.length, 0, JSON.stringify(m.c.violations));
  const sane = m.c.arch;
  (m.c as { arch: Arch }).arch = { ...sane, addrEnd: (level, mmLevels, vpn, end) => (level === LVL_PUD ? end : sane.addrEnd(level, mmLevels, vpn, end)) };
  const n = gupFast(m.c, 0, boundary - 2, 4, FOLL_GET);
  putUserPages(m.c, n, FOLL_GET, boundary - 2);
  assert.equal(m.c.violations[0]?.kind, 'walk-past-table', JSON.stringify(m.c.violations));
  assert.match(m.c.violations[0].detail, /read entry 64 of level-2 table frame \d+, which has 64/);
  assert.equal(m.c.gupFastReason, GUP_FAST_TABLE_GONE, 'the walk stops there');
});
