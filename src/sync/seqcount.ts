// seqcount_t (mm->write_protect_seq): odd while a writer (fork's copy_page_range) is inside.
import type { Cpu } from '../machine/cpu.js';

/** raw_write_seqcount_begin() */
export function writeSeqcountBegin(c: Cpu, p: number): void {
  c.mem.add(p, 1);
}
/** raw_write_seqcount_end() */
export function writeSeqcountEnd(c: Cpu, p: number): void {
  c.mem.add(p, 1);
}
/** raw_read_seqcount(): may return an odd value; the caller decides what odd means. */
export function rawReadSeqcount(c: Cpu, p: number): number {
  return c.mem.load(p);
}
/** read_seqcount_retry(): did a writer enter since `seq` was read? */
export function readSeqcountRetry(c: Cpu, p: number, seq: number): boolean {
  return c.mem.load(p) !== seq;
}
