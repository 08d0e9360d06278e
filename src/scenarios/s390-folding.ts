// s390 mms of 3, 4 and 5 levels that crst_table_upgrade() grows at run time, while GUP-fast
// walks ranges that cross region boundaries. The walker must take each folded level's
// pointer from the real entry above (pXd_offset_lockless) and end it where that entry ends
// (pXd_addr_end_folded); with the stack copy and static pXd_addr_end, pudp++ walks on over
// the walker's own stack (d3f7b1bb2040).
import { V_REFCOUNT_LEAK } from '../check/accounting.js';
import { V_PGTABLE_UAF, V_STALE_PAGE, V_WILD_PFN } from '../check/oracle.js';
import type { Cpu } from '../machine/cpu.js';
import { V_REFCOUNT_UNDERFLOW } from '../mm/folio.js';
import { MM_DYING, MM_LEVELS, MM_MMAP_LOCK, MM_USERS, VMA_PRESENT, mmAddr } from '../machine/layout.js';
import { FOLL_GET } from '../mm/folio.js';
import { exitMmap } from '../mm/fork.js';
import { GUP_FAST_OK, W_GUP_WALK, getUserPagesFast, putUserPages } from '../mm/gup.js';
import { mmapPopulate, munmapVma } from '../mm/memory.js';
import { crstTableUpgrade, mmAlloc } from '../mm/mm.js';
import { MmuGather } from '../mm/mmu_gather.js';
import { VM_READ, VM_WRITE, vmaAddr, vmaDefine } from '../mm/vma.js';
import { downWrite, upWrite } from '../sync/rwsem.js';
import { defineScenario } from './scenario.js';

const MMS = 3;
/** VMA i straddles the boundary of a region-i entry: R3 (pud), R2 (p4d), R1 (pgd) spans;
 *  it needs an mm of 3 + i levels. mm k grows to 3 + k levels. */
const BOUNDARY = [1 << 12, 1 << 18, 1 << 24];
const HALF = 32;


function levelsOf(c: Cpu, mm: number): number {
  return c.mem.load(mmAddr(c.L, mm, MM_LEVELS));
}

/** exit, once no thread uses the mm (mm_users), and a fresh mm of `levels` in its place. */
function recreate(c: Cpu, mm: number, levels: number, tlb: MmuGather): void {
  const m = c.mem;
  const users = mmAddr(c.L, mm, MM_USERS);
  m.store(mmAddr(c.L, mm, MM_DYING), 1);
  while (m.load(users) !== 0) c.block(users, m.load(users), 0.1);
  exitMmap(c, mm, tlb);
  mmAlloc(c, mm, levels);
  m.store(mmAddr(c.L, mm, MM_DYING), 0);
  mmapPopulate(c, mm, 0);
}

export const s390Folding = defineScenario({
  id: 's390-folding',
  title: 's390 dynamic folding: crst_table_upgrade vs GUP-fast across region boundaries',
  seed: 's390 dynamic folding (2020, commit d3f7b1bb2040)',
  commits: ['d3f7b1bb2040 mm/gup: fix gup_fast with dynamic page table folding'],
  selftest: false,
  arches: ['s390'],
  strategies: ['rcu', 'ipi'],
  defaultStrategy: 'rcu',
  defaults: { readers: 1, writers: 1, frames: 4096, huge: 0, widen: {} },
  params: {},
  windows: [W_GUP_WALK],
  bugs: {
    'stack-copy-walk': {
      doc: 'GUP-fast calls pud_offset(&p4d_copy) on its stack copy and uses static pXd_addr_end: on a folded level pudp++ walks over the stack',
      changes: 'gup_fast_pgd_range, gup_fast_p4d_range, gup_fast_pud_range',
      fixedBy: 'd3f7b1bb2040',
      expectKinds: [V_WILD_PFN],
    },
  },
  // one writer: its upgrade, exit and re-creation of an mm are not serialized against a
  // second writer's (the kernel holds mmap_lock and mm_users)
  maxWriters: 1,
  detects: [V_WILD_PFN, V_STALE_PAGE, V_PGTABLE_UAF, V_REFCOUNT_UNDERFLOW, V_REFCOUNT_LEAK],
  mms: MMS,

  // --levels is the depth every mm starts (and restarts) at; mm k grows to 3 + k levels
  boot(c, p) {
    for (let mm = 0; mm < MMS; mm++) {
      mmAlloc(c, mm, p.mmLevels);
      for (let i = 0; i <= mm; i++) vmaDefine(c.mem, c.L, mm, i, BOUNDARY[i] - HALF, BOUNDARY[i] + HALF, VM_READ | VM_WRITE, false);
      if (mmapPopulate(c, mm, 0) !== 0) throw new Error('out of frames');
    }
  },

  reader: {
    outcomes: {
      'fast-ok': { expect: 'ACCEPTABLE', doc: 'GUP-fast got every page of a range across a region boundary' },
      'slow-or-efault': { expect: 'ACCEPTABLE', doc: 'GUP-fast stopped short (not mapped, or beyond the mm\'s current depth); the slow path did the rest' },
      'mm-exiting': { expect: 'ACCEPTABLE', doc: 'the mm was being torn down: no new user' },
    },
    init: () => ({}),
    op(c: Cpu) {
      const m = c.mem;
      const mm = m.random() % MMS;
      const users = mmAddr(c.L, mm, MM_USERS);
      m.add(users, 1); // mmget(): then check the mm is not exiting (the exit waits for us)
      if (m.load(mmAddr(c.L, mm, MM_DYING)) !== 0) {
        m.add(users, -1);
        return 'mm-exiting';
      }
      const i = m.random() % (mm + 1);
      const nr = 2 + (m.random() % 15);
      const start = BOUNDARY[i] - 1 - (m.random() % Math.min(nr - 1, HALF - 1));
      const n = getUserPagesFast(c, mm, start, nr, FOLL_GET);
      const fast = c.gupFastReason === GUP_FAST_OK;
      putUserPages(c, n, FOLL_GET, start);
      m.add(users, -1);
      return fast ? 'fast-ok' : 'slow-or-efault';
    },
  },

  writer: {
    outcomes: {
      upgrade: { expect: 'INTERESTING', doc: 'crst_table_upgrade added a level while walkers ran, then a VMA beyond the old reach was mapped' },
      remap: { expect: 'ACCEPTABLE', doc: 'munmap or re-mmap of a boundary-crossing VMA' },
      recreate: { expect: 'ACCEPTABLE', doc: 'the mm exited and a new one of the starting depth took its place' },
      'upgrade-nomem': { expect: 'ACCEPTABLE', doc: 'crst_table_upgrade found no frame for the new top table: the mm stays as it was' },
    },
    init: (_c, p) => ({ tlb: new MmuGather(), start: p.mmLevels }),
    op(c: Cpu, s: { tlb: MmuGather; start: number }) {
      const m = c.mem;
      const mm = m.random() % MMS;
      const levels = levelsOf(c, mm);
      if (levels < 3 + mm) {
        const lock = mmAddr(c.L, mm, MM_MMAP_LOCK);
        downWrite(c, lock);
        const grown = crstTableUpgrade(c, mm, levels + 1);
        upWrite(c, lock);
        if (!grown) return 'upgrade-nomem';
        mmapPopulate(c, mm, levels + 1 - 3); // the VMA the new level reaches
        return 'upgrade';
      }
      if (mm > 0 && (m.random() & 3) === 0) {
        recreate(c, mm, s.start, s.tlb);
        return 'recreate';
      }
      const i = m.random() % (mm + 1);
      if (m.load(vmaAddr(c.L, mm, i, VMA_PRESENT)) !== 0) munmapVma(c, mm, i, s.tlb, BOUNDARY[i] - HALF, BOUNDARY[i] + HALF);
      else mmapPopulate(c, mm, i);
      return 'remap';
    },
  },
});
