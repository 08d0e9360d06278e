// The oracle: checks that ride along with the model's own steps. None of them changes
// what the model does; each one records a violation with the CPU's trace.
import type { Cpu } from '../machine/cpu.js';
import { isHugeFolioHead } from '../mm/page_alloc.js';
import { LVL_PMD } from '../arch/arch.js';
import { FANOUT, FRAME_WORDS, MD_FLAGS, PG_TABLE_DETACHED, MD_GEN, MD_LEVEL, MD_PREV_VPN, MD_STAMP, MD_TYPE, MD_VPN, PageType, frameAddr, mdAddr } from '../machine/layout.js';
import { defineViolation } from './violations.js';

export const V_STALE_PAGE = defineViolation('stale-page', 'GUP returned a page that was not mapped there at any time during the walk');
export const V_PGTABLE_UAF = defineViolation('pgtable-use-after-free', 'a walker read a table frame that was freed or reused during its protected section');
export const V_WILD_PFN = defineViolation('wild-pfn', 'a pfn was taken from a non-present entry, or a non-table frame was walked as a table');
export const V_SPECIAL_REFCOUNTED = defineViolation('special-refcounted', 'a reference was taken on a pfn that has no refcounted page');
export const V_DETACHED_NONEMPTY = defineViolation('detached-nonempty', 'a lockless reader read a non-empty pte from a retracted (detached) table');
export const V_PIN_DETACHED = defineViolation('pinned-from-detached', 'GUP-fast returned a page through a pte of a table that was retracted (its pmd cleared) before its re-check');
export const V_LOST_UPDATE = defineViolation('lost-update', 'a write made under a lock is not there afterwards');
export const V_WALK_PAST_TABLE = defineViolation('walk-past-table', 'a lockless walker read an entry outside the table it entered (an index past its last entry)');

/** The walker enters table frame pfn, whose type the model just read (tableType in
 *  mm/pgtable.ts, -1: no such frame): remember its generation, and judge the frame: one that
 *  is not a page table any more was freed under the walker. Only records and judges, with
 *  what the walk read; whether the walk can go on is the model's decision. Returns the walk
 *  record's index, for walkEntryLive at each entry read from the frame.
 *  (Every oracle check here is split: a few plain reads inline in the walk, the report out
 *  of line, so that the walk's optimized code stays small: issue 10.) */
export function walkEnterTable(c: Cpu, pfn: number, vpn: number, type: number): number {
  if (!c.oracleOn) return -1;
  if (type !== PageType.PageTable) return walkEnterFreed(c, pfn, vpn, type);
  const i = c.nrWalk++;
  c.walkPfn[i] = pfn;
  c.walkBase[i] = frameAddr(c.L, pfn, 0);
  c.walkGen[i] = c.mem.peek(mdAddr(c.L, pfn, MD_GEN));
  return i;
}

function walkEnterFreed(c: Cpu, pfn: number, vpn: number, type: number): number {
  if (type < 0) {
    c.violation(V_WILD_PFN, vpn, `walked pfn ${pfn} as a table: no such frame`);
    return -1;
  }
  const i = c.nrWalk++;
  c.walkPfn[i] = pfn;
  c.walkBase[i] = frameAddr(c.L, pfn, 0);
  c.walkGen[i] = c.mem.peek(mdAddr(c.L, pfn, MD_GEN));
  c.violation(V_PGTABLE_UAF, vpn, `walked table frame ${pfn} after it was freed (type ${type}, gen ${c.walkGen[i]})`);
  return i;
}

/** The walker read the entry at p of the table it entered as walk record i (the index
 *  walkEnterTable gave it; -1: a folded level, read from the table above): p must lie inside
 *  that table (an index past its last entry is walk-past-table: the walk's own address
 *  arithmetic went wrong), and the frame must still be the allocation it entered (a changed
 *  generation is a use-after-free). Each is reported at this first access, with the access in
 *  the trace; the record takes the new generation so the end-of-section check does not report
 *  it again. false: the walker must stop (a real CPU would go on reading whatever is there).
 *  The common case is one unsigned compare and one plain read. */
export function walkEntryLive(c: Cpu, i: number, p: number, vpn: number): boolean {
  // i < 0: a folded level (or the oracle off, bench)
  return i < 0 || ((p - c.walkBase[i]) >>> 0 < FANOUT && c.mem.peek(mdAddr(c.L, c.walkPfn[i], MD_GEN)) === c.walkGen[i]) || walkEntryBad(c, i, p, vpn);
}

function walkEntryBad(c: Cpu, i: number, p: number, vpn: number): boolean {
  const m = c.mem;
  const pfn = c.walkPfn[i];
  const index = p - c.walkBase[i];
  if (index < 0 || index >= FANOUT) {
    c.violation(V_WALK_PAST_TABLE, vpn, `read entry ${index} of level-${m.peek(mdAddr(c.L, pfn, MD_LEVEL))} table frame ${pfn}, which has ${FANOUT} (0..${FANOUT - 1}): the walk stepped past its table`);
    return false;
  }
  const gen = m.peek(mdAddr(c.L, pfn, MD_GEN));
  c.violation(V_PGTABLE_UAF, vpn,
    `read an entry of level-${m.peek(mdAddr(c.L, pfn, MD_LEVEL))} table frame ${pfn} after it was freed (gen ${c.walkGen[i]} -> ${gen}, type now ${m.peek(mdAddr(c.L, pfn, MD_TYPE))})`);
  c.walkGen[i] = gen;
  return false;
}

/** End of the protected section (before local_irq_restore): every table walked must still
 *  be the same allocation; a changed generation means it was freed (and maybe reused). */
export function walkCheckTables(c: Cpu, vpn: number): void {
  if (!c.oracleOn) return;
  const m = c.mem;
  for (let i = 0; i < c.nrWalk; i++) {
    if (m.peek(mdAddr(c.L, c.walkPfn[i], MD_GEN)) !== c.walkGen[i]) walkTableFreed(c, i, vpn);
  }
}

function walkTableFreed(c: Cpu, i: number, vpn: number): void {
  const m = c.mem;
  const pfn = c.walkPfn[i];
  c.violation(V_PGTABLE_UAF, vpn,
    `level-${m.peek(mdAddr(c.L, pfn, MD_LEVEL))} table frame ${pfn} was freed during the walk (gen ${c.walkGen[i]} -> ${m.peek(mdAddr(c.L, pfn, MD_GEN))}, type now ${m.peek(mdAddr(c.L, pfn, MD_TYPE))})`);
}

/** GUP is about to return `page` for vpn, holding a reference: it must be a user page that
 *  was mapped at vpn at some time during the walk (stale-page), taken from a real frame. The
 *  common case (a user page mapped here now) is two plain reads; the rest out of line. */
export function checkGotPage(c: Cpu, page: number, head: number, vpn: number): void {
  if (!c.oracleOn) return;
  const m = c.mem;
  const L = c.L;
  if (page > 0 && page < L.totalFrames) {
    const type = m.peek(mdAddr(L, page, MD_TYPE));
    if ((type === PageType.Anon || type === PageType.Ksm || type === PageType.Tail) && m.peek(mdAddr(L, head, MD_VPN)) === (head === page ? vpn : vpn & ~(FANOUT - 1))) return;
  }
  judgeGotPage(c, page, head, vpn);
}

function judgeGotPage(c: Cpu, page: number, head: number, vpn: number): void {
  const m = c.mem;
  const L = c.L;
  if (page <= 0 || page >= L.totalFrames) {
    c.violation(V_WILD_PFN, vpn, `GUP took pfn ${page}: no such frame`);
    return;
  }
  const type = m.peek(mdAddr(L, page, MD_TYPE));
  if (type === PageType.Reserved) {
    c.violation(V_SPECIAL_REFCOUNTED, vpn, `a reference was taken on pfn ${page}: device memory of a pfn mapping, not a refcounted page`);
    return;
  }
  if (type !== PageType.Anon && type !== PageType.Ksm && type !== PageType.Tail) {
    c.violation(V_STALE_PAGE, vpn, `GUP returned pfn ${page}, which is not a user page (type ${type})`);
    return;
  }
  const expect = head === page ? vpn : vpn & ~(FANOUT - 1);
  if (m.peek(mdAddr(L, head, MD_VPN)) === expect) return;
  // unmapped after our walk started, from this very address: a legitimate race
  if (m.peek(mdAddr(L, head, MD_PREV_VPN)) === expect && m.peek(mdAddr(L, head, MD_STAMP)) - c.walkStamp > 0) return;
  c.violation(V_STALE_PAGE, vpn,
    `GUP returned pfn ${page}, mapped at 0x${((m.peek(mdAddr(L, head, MD_VPN)) >>> 0) * 4096).toString(16)}, not here at any time during the walk`);
}

/** A present pmd leaf names a PMD-sized folio: its pfn must be the head of one. That is a
 *  property of the frame layout, so it is checked without a reference and without a race. */
export function checkPmdLeafPfn(c: Cpu, pfn: number, vpn: number, pmd: number): void {
  if (isHugeFolioHead(c.L, pfn)) return;
  c.violation(V_WILD_PFN, vpn, `a "present" pmd leaf 0x${(pmd >>> 0).toString(16)} names pfn ${pfn}, which is not a PMD-sized folio (swap bits read as a pfn?)`);
}


/** Oracle bookkeeping, not kernel state: was table frame pfn retracted (its pmd cleared by
 *  retract_page_tables) by now? */
export function tableDetached(c: Cpu, pfn: number): boolean {
  if (!c.oracleOn) return false;
  return (c.mem.peek(mdAddr(c.L, pfn, MD_FLAGS)) & PG_TABLE_DETACHED) !== 0;
}

/** A lockless reader read `pte` at ptep of table frame pfn after it was retracted: a detached
 *  table must read as empty entries until its grace period ends. Judged only when the read
 *  returned the newest write there: under a weak memory model a load may return an older one
 *  (it was satisfied early, before the retraction's writes reached it), which the kernel
 *  allows; under sequential consistency a read always returns the newest. */
export function checkDetachedEmpty(c: Cpu, pfn: number, ptep: number, pte: number, vpn: number): void {
  const a = c.arch;
  if (c.mem.peek(ptep) !== pte) return;
  if (!a.pteNone(pte)) c.violation(V_DETACHED_NONEMPTY, vpn, `read pte 0x${(pte >>> 0).toString(16)} from retracted table ${pfn}: a detached table must read empty (0x${(a.emptyPte >>> 0).toString(16)})`);
}

/** A writer that holds the ptl of the table at ptep wrote a pte: the pmd must still link
 *  that table, or the write went into a retracted table and is lost. */
export function checkPtlStillLinked(c: Cpu, pmdp: number, ptep: number, vpn: number): void {
  const a = c.arch;
  const now = c.mem.peek(pmdp);
  const table = ((ptep - c.L.framesBase) / FRAME_WORDS) | 0;
  if (a.pmdNone(now) || a.tablePfn(LVL_PMD, now) !== table) {
    c.violation(V_LOST_UPDATE, vpn, `pte written into table ${table} after it was retracted: the update is lost`);
  }
}
