// seqcount_t (mm->write_protect_seq): odd while a writer (fork's copy_page_range) is inside.
// The kernel's orderings: the writer's increments are plain (writers are serialized) with
// smp_wmb() after the first and before the second; the reader's reads of the count have
// smp_rmb() after the first and before the second (include/linux/seqlock.h).
import type { Cpu } from '../machine/cpu.js';
import { RELAXED, SMP_RMB, SMP_WMB } from '../machine/mem.js';

/** raw_write_seqcount_begin(): s->sequence++; smp_wmb() */
export function writeSeqcountBegin(c: Cpu, p: number): void {
  c.mem.add(p, 1, RELAXED);
  if (!c.bug['seqcount-no-wmb']) c.mem.fence(SMP_WMB);
}
/** raw_write_seqcount_end(): smp_wmb(); s->sequence++ */
export function writeSeqcountEnd(c: Cpu, p: number): void {
  if (!c.bug['seqcount-no-wmb']) c.mem.fence(SMP_WMB);
  c.mem.add(p, 1, RELAXED);
}
/** raw_read_seqcount(): READ_ONCE(s->sequence); smp_rmb(). May return an odd value; the
 *  caller decides what odd means. */
export function rawReadSeqcount(c: Cpu, p: number): number {
  const v = c.mem.load(p);
  if (!c.bug['seqcount-no-rmb']) c.mem.fence(SMP_RMB);
  return v;
}
/** read_seqcount_retry(): smp_rmb(); did a writer enter since `seq` was read? */
export function readSeqcountRetry(c: Cpu, p: number, seq: number): boolean {
  if (!c.bug['seqcount-no-rmb']) c.mem.fence(SMP_RMB);
  return c.mem.load(p) !== seq;
}
