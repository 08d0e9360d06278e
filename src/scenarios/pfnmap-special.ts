// VM_PFNMAP on an arch without pte_special. remap_pfn_range() maps device pfns into a COW
// mapping and sets vm_pgoff to the first one, so that vm_normal_page() can tell an original
// pfn (no page) from a COW'd anon page without a special bit; GUP-fast cannot tell at all
// and must not walk ptes. A reference taken on a device pfn is a bug.
import { LVL_PMD } from '../arch/arch.js';
import { withoutPteSpecial } from '../arch/arch.js';
import { checkGotPage } from '../check/oracle.js';
import type { Cpu } from '../machine/cpu.js';
import { H_READER_OP, H_WRITER_OP } from '../machine/cpu.js';
import { MD_TYPE, MM_MMAP_LOCK, PageType, mdAddr, mmAddr } from '../machine/layout.js';
import { FOLL_GET, folioPutRefs, folioRefAdd } from '../mm/folio.js';
import { getUserPagesFast, putUserPages } from '../mm/gup.js';
import { handleMmFault, mmapEmpty, munmapVma, remapPfnRange, vmNormalPage, vmfInsertPfn } from '../mm/memory.js';
import { mmAlloc } from '../mm/mm.js';
import { MmuGather } from '../mm/mmu_gather.js';
import { allocAnonPage } from '../mm/page_alloc.js';
import { entryOffset, pteOffsetMapLock, pteUnmapUnlock } from '../mm/pgtable.js';
import { VM_PFNMAP, VM_READ, VM_WRITE, vmaDefine } from '../mm/vma.js';
import { downRead, upRead } from '../sync/rwsem.js';
import { type OutcomeDef, defineScenario } from './scenario.js';

const MM = 0;
const BASE = 0x20000;
const DEV = 0; // scratch word: the first device pfn

const READER_OUTCOMES: OutcomeDef[] = [
  { name: 'gup-efault', expect: 'ACCEPTABLE', doc: 'GUP refused the pfn mapping (GUP-fast stops at once, check_vma_flags says -EFAULT)' },
  { name: 'gup-got', expect: 'INTERESTING', doc: 'GUP returned pages from the pfn mapping' },
  { name: 'walk-no-page', expect: 'ACCEPTABLE', doc: 'vm_normal_page() said: a pfn, no page' },
  { name: 'walk-cow-page', expect: 'ACCEPTABLE', doc: 'vm_normal_page() returned a COW\'d anon page, referenced and released' },
  { name: 'walk-none', expect: 'ACCEPTABLE', doc: 'nothing mapped there (between unmap and remap)' },
];
const R_EFAULT = 0, R_GOT = 1, R_NOPAGE = 2, R_COWPAGE = 3, R_NONE = 4;

const WRITER_OUTCOMES: OutcomeDef[] = [
  { name: 'cow-fault', expect: 'ACCEPTABLE', doc: 'a write fault copied a device pfn into an anon page' },
  { name: 'remap', expect: 'ACCEPTABLE', doc: 'munmap, then map the device pfns again' },
];

/** A vm_normal_page() user that takes a reference on what it returns (folio_walk_start /
 *  follow_page users: KSM, migration, pagemap), under mmap_lock and the ptl. */
function folioWalk(c: Cpu, vpn: number): number {
  const m = c.mem;
  const lock = mmAddr(c.L, MM, MM_MMAP_LOCK);
  downRead(c, lock);
  let r = R_NONE;
  const pmdp = entryOffset(c, MM, vpn, LVL_PMD, false);
  const ptep = pmdp < 0 ? -1 : pteOffsetMapLock(c, pmdp, vpn);
  if (ptep >= 0) {
    const pte = m.load(ptep);
    if (c.arch.ptePresent(pte)) {
      c.walkStamp = m.load(c.gStamp);
      const head = vmNormalPage(c, MM, 0, vpn, pte);
      if (head < 0) r = R_NOPAGE;
      else {
        folioRefAdd(c, head, 1); // folio_get(): safe under the ptl for a real page
        checkGotPage(c, c.arch.ptePfn(pte), head, vpn);
        folioPutRefs(c, head, 1, vpn);
        r = R_COWPAGE;
      }
    }
    pteUnmapUnlock(c, ptep);
  }
  upRead(c, lock);
  return r;
}

function populate(c: Cpu, pages: number): boolean {
  const dev = c.mem.load(c.L.scratchBase + DEV);
  if (!c.bugs.faultInsertCowPfnmap) return remapPfnRange(c, MM, 0, dev);
  // the bug: a driver fills a COW pfnmap at fault time with pfns of its own choosing
  mmapEmpty(c, MM, 0);
  for (let i = 0; i < pages; i++) if (!vmfInsertPfn(c, MM, BASE + i, dev + ((i + 7) % pages))) return false;
  return true;
}

export const pfnmapSpecial = defineScenario({
  id: 'pfnmap-special',
  title: 'VM_PFNMAP COW mappings on an arch without pte_special: vm_normal_page and GUP-fast',
  seed: 'pte_special / PFNMAP (2024 thread)',
  commits: ['mm/memory.c vm_normal_page (the vm_pgoff rule of remap_pfn_range)', 'mm/gup.c gup_fast_pte_range: only with CONFIG_ARCH_HAS_PTE_SPECIAL'],
  selftest: false,
  arches: ['x86-64', 'arm64'],
  strategies: ['ipi', 'rcu'],
  defaultStrategy: 'ipi',
  defaults: { readers: 1, writers: 1, frames: 2048, huge: 0, widen: {} },
  params: {
    pages: { value: 32, doc: 'device pfns in the mapping' },
    pte_special: { value: 0, doc: '1: model the arch with CONFIG_ARCH_HAS_PTE_SPECIAL (then both bugs are harmless)' },
  },
  windows: { 'gup.walk': null, 'gup.pin-recheck': null },
  bugs: [
    {
      name: 'gupfast-without-pte-special',
      doc: 'GUP-fast walks ptes on an arch without pte_special: it cannot tell a device pfn from a page and takes a reference',
      expectKinds: ['special-refcounted'],
    },
    {
      name: 'fault-insert-cow-pfnmap',
      doc: 'a driver inserts pfns at fault time (vmf_insert_pfn) into a COW VM_PFNMAP: the vm_pgoff rule breaks and vm_normal_page returns device pfns as pages',
      expectKinds: ['special-refcounted', 'refcount-underflow'],
    },
  ],
  detects: ['special-refcounted', 'stale-page', 'refcount-underflow', 'refcount-leak', 'pgtable-use-after-free'],
  scratchWords: 4,
  archVariant: (a, p) => (p.params.pte_special ? a : withoutPteSpecial(a)),

  boot(c, p) {
    // device memory: contiguous frames with struct pages a driver owns (PG_reserved)
    let first = -1;
    for (let i = 0; i < p.params.pages; i++) {
      const f = allocAnonPage(c, MM, PageType.Anon);
      if (f < 0 || (first >= 0 && f !== first + i)) throw new Error('pfnmap-special: no contiguous device range');
      if (first < 0) first = f;
      c.mem.store(mdAddr(c.L, f, MD_TYPE), PageType.Reserved);
    }
    c.mem.store(c.L.scratchBase + DEV, first);
    mmAlloc(c, MM, p.mmLevels);
    vmaDefine(c.mem, c.L, MM, 0, BASE, BASE + p.params.pages, VM_READ | VM_WRITE | VM_PFNMAP, false);
    if (!populate(c, p.params.pages)) throw new Error('pfnmap-special: out of frames');
  },

  reader: {
    outcomes: READER_OUTCOMES,
    init: (_c, p) => ({ pages: p.params.pages }),
    op(c: Cpu, s: { pages: number }) {
      const m = c.mem;
      const t0 = m.now();
      const vpn = BASE + (m.random() % s.pages);
      if ((m.random() & 1) === 0) {
        const n = getUserPagesFast(c, MM, vpn, 1, FOLL_GET);
        c.outcomes[n > 0 ? R_GOT : R_EFAULT]++;
        putUserPages(c, n, FOLL_GET, vpn);
      } else {
        c.outcomes[folioWalk(c, vpn)]++;
      }
      c.hists[H_READER_OP].recordValue(Math.round(m.now() - t0));
    },
  },

  writer: {
    outcomes: WRITER_OUTCOMES,
    init: (_c, p) => ({ pages: p.params.pages, tlb: new MmuGather() }),
    op(c: Cpu, s: { pages: number; tlb: MmuGather }) {
      const m = c.mem;
      const t0 = m.now();
      if ((m.random() & 7) !== 0) {
        const lock = mmAddr(c.L, MM, MM_MMAP_LOCK);
        downRead(c, lock);
        handleMmFault(c, MM, BASE + (m.random() % s.pages), true); // a write: COW the pfn
        upRead(c, lock);
        c.outcomes[0]++;
      } else {
        munmapVma(c, MM, 0, s.tlb, BASE, BASE + s.pages);
        populate(c, s.pages);
        c.outcomes[1]++;
      }
      c.hists[H_WRITER_OP].recordValue(Math.round(m.now() - t0));
    },
  },
});
