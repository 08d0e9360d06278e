// VM_PFNMAP on an arch without pte_special. remap_pfn_range() maps device pfns into a COW
// mapping and sets vm_pgoff to the first one, so that vm_normal_page() can tell an original
// pfn (no page) from a COW'd anon page without a special bit; GUP-fast cannot tell at all
// and must not walk ptes. A reference taken on a device pfn is a bug.
import { withoutPteSpecial } from '../arch/arch.js';
import { V_REFCOUNT_LEAK } from '../check/accounting.js';
import { V_PGTABLE_UAF, V_SPECIAL_REFCOUNTED, V_STALE_PAGE } from '../check/oracle.js';
import type { Cpu } from '../machine/cpu.js';
import { MD_TYPE, MM_MMAP_LOCK, PageType, mdAddr, mmAddr } from '../machine/layout.js';
import { FOLL_GET, V_REFCOUNT_UNDERFLOW } from '../mm/folio.js';
import { W_GUP_PIN_RECHECK, W_GUP_WALK, getUserPagesFast, putUserPages } from '../mm/gup.js';
import {
  FOLIO_WALK_NONE, FOLIO_WALK_NO_PAGE, FOLIO_WALK_PAGE, folioWalkGet, handleMmFault, mmapEmpty, munmapVma, remapPfnRange, vmfInsertPfn,
} from '../mm/memory.js';
import { mmAlloc } from '../mm/mm.js';
import { MmuGather } from '../mm/mmu_gather.js';
import { allocAnonPage } from '../mm/page_alloc.js';
import { VM_PFNMAP, VM_READ, VM_WRITE, vmaDefine } from '../mm/vma.js';
import { downRead, upRead } from '../sync/rwsem.js';
import { defineScenario } from './scenario.js';

const MM = 0;
const BASE = 0x20000;

const WALK_OUTCOME = {
  [FOLIO_WALK_NONE]: 'walk-none',
  [FOLIO_WALK_NO_PAGE]: 'walk-no-page',
  [FOLIO_WALK_PAGE]: 'walk-cow-page',
} as const;

/** The driver's mmap: remap_pfn_range() of its device pfns starting at `dev`. */
function populate(c: Cpu, pages: number, dev: number): boolean {
  if (!c.bug['fault-insert-cow-pfnmap']) return remapPfnRange(c, MM, 0, dev);
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
    // a pte table maps 64 pages; the device range, its COW copies and the tables fit in a quarter of the frames
    pages: { value: 32, min: 1, max: (k) => Math.floor(k.frames / 4), doc: 'device pfns in the mapping (at most a quarter of the frames)' },
    pte_special: { value: 0, min: 0, max: 1, doc: '1: model the arch with CONFIG_ARCH_HAS_PTE_SPECIAL (then both bugs are harmless)' },
  },
  scratch: () => ({ dev: 1 }), // the first device pfn
  windows: [W_GUP_WALK, W_GUP_PIN_RECHECK],
  bugs: {
    'gupfast-without-pte-special': {
      doc: 'GUP-fast walks ptes on an arch without pte_special: it cannot tell a device pfn from a page and takes a reference',
      changes: 'gup_fast_pte_range',
      expectKinds: [V_SPECIAL_REFCOUNTED],
    },
    'fault-insert-cow-pfnmap': {
      doc: 'a driver inserts pfns at fault time (vmf_insert_pfn) into a COW VM_PFNMAP: the vm_pgoff rule breaks and vm_normal_page returns device pfns as pages',
      changes: 'the driver\'s mmap (remap_pfn_range replaced by vmf_insert_pfn at fault time)',
      // (and stale-page: a put on a device pfn taken as a page frees a COW copy still mapped,
      // and GUP-fast returns that freed frame; stopped at its first violation a run may see
      // this one first)
      expectKinds: [V_SPECIAL_REFCOUNTED, V_REFCOUNT_UNDERFLOW, V_STALE_PAGE],
    },
  },
  detects: [V_SPECIAL_REFCOUNTED, V_STALE_PAGE, V_REFCOUNT_UNDERFLOW, V_REFCOUNT_LEAK, V_PGTABLE_UAF],
  archVariant: (a, p) => (p.params.pte_special ? a : withoutPteSpecial(a)),

  boot(c, p) {
    // device memory: contiguous frames with struct pages a driver owns (PG_reserved)
    let first = -1;
    for (let i = 0; i < p.params.pages; i++) {
      const f = allocAnonPage(c, MM, PageType.Anon);
      if (f < 0 || (first >= 0 && f !== first + i)) throw new Error('no contiguous device range');
      if (first < 0) first = f;
      c.mem.store(mdAddr(c.L, f, MD_TYPE), PageType.Reserved);
    }
    c.mem.store(p.scratch.dev, first);
    mmAlloc(c, MM, p.mmLevels);
    vmaDefine(c.mem, c.L, MM, 0, BASE, BASE + p.params.pages, VM_READ | VM_WRITE | VM_PFNMAP, false);
    if (!populate(c, p.params.pages, first)) throw new Error('out of frames');
  },

  reader: {
    outcomes: {
      'gup-efault': { expect: 'ACCEPTABLE', doc: 'GUP refused the pfn mapping (GUP-fast stops at once, check_vma_flags says -EFAULT)' },
      'gup-got': { expect: 'INTERESTING', doc: 'GUP returned pages from the pfn mapping' },
      'walk-no-page': { expect: 'ACCEPTABLE', doc: 'vm_normal_page() said: a pfn, no page' },
      'walk-cow-page': { expect: 'ACCEPTABLE', doc: 'vm_normal_page() returned a COW\'d anon page, referenced and released' },
      'walk-none': { expect: 'ACCEPTABLE', doc: 'nothing mapped there (between unmap and remap)' },
    },
    init: (_c, p) => ({ pages: p.params.pages }),
    op(c: Cpu, s: { pages: number }) {
      const m = c.mem;
      const vpn = BASE + (m.random() % s.pages);
      if ((m.random() & 1) !== 0) return WALK_OUTCOME[folioWalkGet(c, MM, 0, vpn) as keyof typeof WALK_OUTCOME];
      const n = getUserPagesFast(c, MM, vpn, 1, FOLL_GET);
      putUserPages(c, n, FOLL_GET, vpn);
      return n > 0 ? 'gup-got' : 'gup-efault';
    },
  },

  writer: {
    outcomes: {
      'cow-fault': { expect: 'ACCEPTABLE', doc: 'a write fault copied a device pfn into an anon page' },
      remap: { expect: 'ACCEPTABLE', doc: 'munmap, then map the device pfns again' },
    },
    init: (_c, p) => ({ pages: p.params.pages, tlb: new MmuGather(), dev: p.scratch.dev }),
    op(c: Cpu, s: { pages: number; tlb: MmuGather; dev: number }) {
      const m = c.mem;
      if ((m.random() & 7) !== 0) {
        const lock = mmAddr(c.L, MM, MM_MMAP_LOCK);
        downRead(c, lock);
        handleMmFault(c, MM, BASE + (m.random() % s.pages), true); // a write: COW the pfn
        upRead(c, lock);
        return 'cow-fault';
      }
      munmapVma(c, MM, 0, s.tlb, BASE, BASE + s.pages);
      populate(c, s.pages, m.load(s.dev));
      return 'remap';
    },
  },
});
