// mremap moving a page table back and forth: move_normal_pmd takes the pte table of one pmd
// and hangs it under another (pmd_clear of the old, pmd_populate of the new, flush the old
// range), A -> B -> A ..., while GUP-fast readers walk both ranges. A walker that read the old
// pmd just before the move is inside a table that now maps the other address: its pmd re-check
// after the pin drops the page, and the move frees nothing, so the walker's irq-off section is
// all the table needs. The bug keeps the old pmd: one table under two pmds. The old address goes
// on mapping the pages moved away, and the old range's unmap (free_pgtables) frees the table
// the new pmd still links.
import { V_REFCOUNT_LEAK } from '../check/accounting.js';
import { V_PGTABLE_UAF, V_STALE_PAGE, V_WILD_PFN } from '../check/oracle.js';
import type { Cpu } from '../machine/cpu.js';
import { GUP_MAX } from '../machine/cpu.js';
import { FANOUT } from '../machine/layout.js';
import { V_REFCOUNT_UNDERFLOW } from '../mm/folio.js';
import { W_GUP_PIN_RECHECK, W_GUP_WALK } from '../mm/gup.js';
import { VM_FAULT_OK, handleMmFault } from '../mm/memory.js';
import { mmAlloc } from '../mm/mm.js';
import { MmuGather } from '../mm/mmu_gather.js';
import { MREMAP_MOVED_PMD, MREMAP_NO_TABLE, W_MREMAP_MOVE, mremapVma } from '../mm/mremap.js';
import { VM_READ, VM_WRITE, vmaDefine } from '../mm/vma.js';
import { gupGetReader } from './gup-reader.js';
import { defineScenario } from './scenario.js';

const MM = 0;
const PUD_SPAN = FANOUT * FANOUT;
/** the two PMD-sized ranges the mapping moves between: VMA slots 0 and 1, under one pmd table
 *  (one pmd range apart), so that pmd table stays: the VMA at the other range is the old
 *  range's neighbour when free_pgtables runs */
const RANGE = [PUD_SPAN, PUD_SPAN + 2 * FANOUT] as const;

interface ReaderState {
  pages: number;
  maxNr: number;
}
interface WriterState {
  at: number; // the VMA slot the mapping is in now
  tlb: MmuGather;
}

export const mremapPmd = defineScenario({
  id: 'mremap-pmd',
  title: 'mremap move_normal_pmd (a pte table moved from one pmd to another, back and forth) vs GUP-fast',
  seed: 'Why page tables do not vanish under the walker: a table moved, not freed (mm/mremap.c move_normal_pmd)',
  commits: ['mm/mremap.c move_normal_pmd (HAVE_MOVE_PMD): pmd_clear, pmd_populate, flush_tlb_range', 'mm/gup.c gup_fast_pte_range: the pmd re-check after the pin (70cbc3cc78a9)'],
  selftest: false,
  arches: ['x86-64', 'arm64', 's390'],
  strategies: ['rcu', 'ipi'],
  defaultStrategy: 'rcu',
  defaults: { readers: 2, writers: 1, frames: 1024, huge: 0, widen: { 'gup.pin-recheck': '1us' } },
  params: {
    pages: { value: 16, min: 1, max: FANOUT, doc: 'pages mapped in the moving range (faulted in at boot; the table moves with all of them)' },
    nr: { value: 4, min: 1, max: GUP_MAX, doc: 'largest GUP request in pages (at most `pages`)' },
  },
  // two pages: every move carries a record per page, and a walk's race is on one of them
  explore: { params: { pages: 2 } },
  windows: [[W_GUP_WALK, W_MREMAP_MOVE], [W_GUP_PIN_RECHECK, W_MREMAP_MOVE], W_MREMAP_MOVE],
  maxWriters: 1,
  bugs: {
    'move-pmd-keep-old': {
      doc: 'move_normal_pmd populates the new pmd without pmd_clear() of the old one: one pte table under two pmds. GUP at the old address returns pages now mapped at the new one, and the old range\'s unmap (free_pgtables) frees the table the new pmd still links: walkers enter it freed, and a page faulted in there is mapped through a freed table (refcount-leak at the end of the run)',
      changes: 'move_normal_pmd',
      expectKinds: [V_STALE_PAGE, V_PGTABLE_UAF, V_REFCOUNT_LEAK],
    },
  },
  detects: [V_STALE_PAGE, V_PGTABLE_UAF, V_WILD_PFN, V_REFCOUNT_UNDERFLOW, V_REFCOUNT_LEAK],

  boot(c, p) {
    mmAlloc(c, MM, p.mmLevels);
    vmaDefine(c.mem, c.L, MM, 0, RANGE[0], RANGE[0] + FANOUT, VM_READ | VM_WRITE, true);
    vmaDefine(c.mem, c.L, MM, 1, RANGE[1], RANGE[1] + FANOUT, VM_READ | VM_WRITE, false);
    for (let i = 0; i < p.params.pages; i++) {
      if (handleMmFault(c, MM, RANGE[0] + i, true) !== VM_FAULT_OK) throw new Error('out of frames populating the range');
    }
  },

  // GUP-fast (FOLL_GET) at either range: the one mapped now, or the one the table just left
  // (GUP-fast finds no table there; the slow path finds no VMA: -EFAULT)
  reader: gupGetReader({
    mm: MM,
    init: (_c, p): ReaderState => ({ pages: p.params.pages, maxNr: Math.min(p.params.nr, p.params.pages) }),
    start: (c, s, nr) => RANGE[c.mem.random() & 1] + (c.mem.random() % (s.pages - nr + 1)),
  }),

  writer: {
    outcomes: {
      moved: { expect: 'ACCEPTABLE', doc: 'mremap moved the range\'s pte table to the other range (move_normal_pmd)' },
      'moved-empty': { expect: 'ACCEPTABLE', doc: 'mremap moved a range with no table under its pmd' },
      'not-moved': { expect: 'INTERESTING', doc: 'the table could not move at the pmd level (the new pmd was populated): the old range\'s unmap zapped its pages' },
    },
    init: (): WriterState => ({ at: 0, tlb: new MmuGather() }),
    op(c: Cpu, s: WriterState) {
      const to = 1 - s.at;
      // free_pgtables' floor and ceiling: the VMA at the new range is the old range's neighbour
      const floor = to < s.at ? RANGE[to] + FANOUT : 0;
      const ceiling = to > s.at ? RANGE[to] : 0x7fffffff;
      const r = mremapVma(c, MM, s.at, to, s.tlb, floor, ceiling);
      s.at = to;
      return r === MREMAP_MOVED_PMD ? 'moved' : r === MREMAP_NO_TABLE ? 'moved-empty' : 'not-moved';
    },
  },
});
