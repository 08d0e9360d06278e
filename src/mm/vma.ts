// VMAs: a small fixed table per mm (start, end, flags, present), enough for find_vma()
// and check_vma_flags(). munmap clears "present"; the range stays reserved for re-mmap.
import type { Cpu } from '../machine/cpu.js';
import { MAX_VMAS, MM_VMA_BASE, MM_VMA_COUNT, VMA_END, VMA_FLAGS, VMA_PGOFF, VMA_PRESENT, VMA_START, VMA_WORDS, mmAddr } from '../machine/layout.js';
import type { Mem } from '../machine/mem.js';
import type { Layout } from '../machine/layout.js';

export const VM_READ = 1;
export const VM_WRITE = 2;
export const VM_HUGEPAGE = 4; //  THP-eligible (MADV_HUGEPAGE)
export const VM_PFNMAP = 8;
export const VM_IO = 16;
export const VM_MIXEDMAP = 32;
export const VM_SHARED = 64; //     not a COW mapping (is_cow_mapping() is false)
export const VM_FILE = 128; //      a file mapping (vma->vm_file), not anonymous memory
export const VM_DIRTY_TRACK = 256; // its filesystem tracks dirty pages for writeback (ext4, xfs, btrfs): not shmem, not hugetlbfs
export const VM_SOFTDIRTY_TRACK = 512; // soft-dirty tracking on (clear_refs "4" cleared VM_SOFTDIRTY): the ptes are not soft-dirty

/** vma_needs_dirty_tracking(): a shared file mapping whose filesystem writes dirty pages
 *  back. A FOLL_LONGTERM writable pin there would let the device dirty a page the fs
 *  believes clean (writable_file_mapping_allowed refuses it). The bug shmem-dirty-tracked
 *  counts shmem in too. */
export function vmaNeedsDirtyTracking(c: Cpu, flags: number): boolean {
  if ((flags & (VM_FILE | VM_SHARED)) !== (VM_FILE | VM_SHARED)) return false;
  return (flags & VM_DIRTY_TRACK) !== 0 || c.bug['shmem-dirty-tracked'];
}

export function vmaAddr(L: Layout, mm: number, vma: number, field: number): number {
  return mmAddr(L, mm, MM_VMA_BASE + vma * VMA_WORDS + field);
}

/** Creates VMA slot `vma` (boot time). An mm holds MAX_VMAS slots: a scenario declares its
 *  parameters' ranges from that, and a slot beyond it is refused here, never written over
 *  the next mm. */
export function vmaDefine(m: Mem, L: Layout, mm: number, vma: number, start: number, end: number, flags: number, present: boolean): void {
  if (!(vma >= 0 && vma < MAX_VMAS)) throw new Error(`VMA slot ${vma}: an mm holds ${MAX_VMAS}`);
  m.store(vmaAddr(L, mm, vma, VMA_START), start);
  m.store(vmaAddr(L, mm, vma, VMA_END), end);
  m.store(vmaAddr(L, mm, vma, VMA_FLAGS), flags);
  m.store(vmaAddr(L, mm, vma, VMA_PRESENT), present ? 1 : 0);
  if (m.load(mmAddr(L, mm, MM_VMA_COUNT)) <= vma) m.store(mmAddr(L, mm, MM_VMA_COUNT), vma + 1);
}

/** find_vma(): the present VMA containing vpn, or -1 (caller holds mmap_lock). */
export function findVma(c: Cpu, mm: number, vpn: number): number {
  const m = c.mem;
  const n = m.load(mmAddr(c.L, mm, MM_VMA_COUNT));
  for (let i = 0; i < n; i++) {
    if (m.load(vmaAddr(c.L, mm, i, VMA_PRESENT)) === 0) continue;
    if (vpn >= m.load(vmaAddr(c.L, mm, i, VMA_START)) && vpn < m.load(vmaAddr(c.L, mm, i, VMA_END))) return i;
  }
  return -1;
}

export function vmaStart(c: Cpu, mm: number, vma: number): number {
  return c.mem.load(vmaAddr(c.L, mm, vma, VMA_START));
}
export function vmaEnd(c: Cpu, mm: number, vma: number): number {
  return c.mem.load(vmaAddr(c.L, mm, vma, VMA_END));
}
export function vmaFlags(c: Cpu, mm: number, vma: number): number {
  return c.mem.load(vmaAddr(c.L, mm, vma, VMA_FLAGS));
}
export function vmaPgoff(c: Cpu, mm: number, vma: number): number {
  return c.mem.load(vmaAddr(c.L, mm, vma, VMA_PGOFF));
}
export function setVmaPgoff(c: Cpu, mm: number, vma: number, pgoff: number): void {
  c.mem.store(vmaAddr(c.L, mm, vma, VMA_PGOFF), pgoff);
}
