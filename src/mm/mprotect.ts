// mprotect() and clear_refs' soft-dirty reset (mm/mprotect.c change_protection,
// fs/proc/task_mmu.c clear_refs_write): what changes whether a present pte is writable
// without a fault. Used by the kernel-selftest cases (cow.c, gup_longterm.c).
import type { Cpu } from '../machine/cpu.js';
import { MD_TYPE, MM_MMAP_LOCK, PageType, VMA_FLAGS, mdAddr, mmAddr } from '../machine/layout.js';
import { downWrite, upWrite } from '../sync/rwsem.js';
import { LVL_PMD } from '../arch/arch.js';
import { folioHead } from './page_alloc.js';
import { entryOffset, pteOffsetMapLock, pteUnmapUnlock } from './pgtable.js';
import { pageAnonExclusive } from './rmap.js';
import { VM_SHARED, VM_SOFTDIRTY_TRACK, VM_WRITE, vmaAddr, vmaEnd, vmaFlags, vmaStart } from './vma.js';

/** can_change_pte_writable(): may mprotect(PROT_WRITE) map this R/O pte writable without a
 *  fault? Not with soft-dirty tracking on (the pte is not soft-dirty); in a private mapping
 *  only an exclusive anon page (a COW-shared one would let the write through to the other
 *  mm). The bug mprotect-upgrade-shared skips the exclusivity check. */
function canChangePteWritable(c: Cpu, vf: number, pfn: number): boolean {
  if ((vf & VM_WRITE) === 0 || (vf & VM_SOFTDIRTY_TRACK) !== 0) return false;
  if ((vf & VM_SHARED) !== 0) return true;
  const head = folioHead(c.L, pfn);
  if (c.mem.load(mdAddr(c.L, head, MD_TYPE)) !== PageType.Anon) return false;
  return c.bug['mprotect-upgrade-shared'] || pageAnonExclusive(c, head);
}

/** Every present pte of VMA slot `vma` under its ptl: `f` returns the new pte. Then one flush. */
function changePtes(c: Cpu, mm: number, vma: number, f: (pte: number) => number): void {
  const m = c.mem;
  const a = c.arch;
  for (let vpn = vmaStart(c, mm, vma), end = vmaEnd(c, mm, vma); vpn < end; vpn++) {
    const pmdp = entryOffset(c, mm, vpn, LVL_PMD, false);
    if (pmdp < 0 || a.pmdNone(m.load(pmdp)) || a.pmdLeaf(m.load(pmdp))) continue;
    const ptep = pteOffsetMapLock(c, pmdp, vpn);
    if (ptep < 0) continue;
    const pte = m.load(ptep);
    if (a.ptePresent(pte)) m.store(ptep, f(pte));
    pteUnmapUnlock(c, ptep);
  }
  c.strategy.flushTlb(c);
}

/** mprotect(): the VMA's new VM_WRITE bit; ptes lose write, or gain it where
 *  can_change_pte_writable() allows (MM_CP_TRY_CHANGE_WRITABLE). */
export function mprotectVma(c: Cpu, mm: number, vma: number, writable: boolean): void {
  const a = c.arch;
  const lock = mmAddr(c.L, mm, MM_MMAP_LOCK);
  downWrite(c, lock);
  const vf = (vmaFlags(c, mm, vma) & ~VM_WRITE) | (writable ? VM_WRITE : 0);
  c.mem.store(vmaAddr(c.L, mm, vma, VMA_FLAGS), vf);
  changePtes(c, mm, vma, (pte) => {
    if (!writable) return a.pteWrprotect(pte);
    return !a.pteWrite(pte) && canChangePteWritable(c, vf, a.ptePfn(pte)) ? a.mkPte(a.ptePfn(pte), true) : pte;
  });
  upWrite(c, lock);
}

/** echo 4 > /proc/self/clear_refs: soft-dirty tracking on for the VMA (VM_SOFTDIRTY cleared),
 *  every pte write-protected and clean. The pages stay exclusive. */
export function clearSoftdirty(c: Cpu, mm: number, vma: number): void {
  const lock = mmAddr(c.L, mm, MM_MMAP_LOCK);
  downWrite(c, lock);
  c.mem.store(vmaAddr(c.L, mm, vma, VMA_FLAGS), vmaFlags(c, mm, vma) | VM_SOFTDIRTY_TRACK);
  changePtes(c, mm, vma, (pte) => c.arch.pteWrprotect(pte));
  upWrite(c, lock);
}
