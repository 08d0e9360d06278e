// The oracle: checks that ride along with the model's own steps. None of them changes
// what the model does; each one records a violation with the CPU's trace.
//
// ---- The judge's contract ----
//
// What the oracle reads. Struct-page words the model keeps anyway (type, generation,
// refcount, flags) and three records kept for the oracle alone:
//   - a table frame's generation (MD_GEN): page_alloc.ts bumps it at every alloc and free;
//   - a page's mapping history (MD_VPN, MD_HIST_SEQ, MD_HIST): where it was mapped, from when,
//     on the event clock G_STAMP. Writers keep it through the rmap calls of mm/rmap.ts, and
//     only through them (see below);
//   - PG_TABLE_DETACHED on a table frame: set by a writer that unlinks a table and leaves it
//     to lockless readers for a grace period (retract_page_tables), after the pmd is cleared.
// A walker keeps its own record in CPU-local scratch: c.walkStamp (the clock at the start of
// its protected section: gup_fast's local_irq_save, a lockless reader's walk start, a locked
// lookup's start) and each table it entered with its generation (walkEnterTable).
//
// The rmap calls a writer must make (mm/rmap.ts), at the place the kernel makes its own:
//   map a page:            folioAddNewAnonRmap / folioAddKsmRmap, before the entry is written
//   unmap it:              folioRemoveRmap, after the entry is cleared
//   move its mapping:      folioMoveRmap(c, head, from, to), after the old entry is cleared
//                          and before the new one is written (mremap's move_normal_pmd)
// A writer that keeps to them needs no change here. One writer per page at a time: the one
// holding the lock of the entry that maps it. Freeing a table through mmu_gather, call_rcu or
// pte_free needs nothing of the oracle (the generation moves on in page_alloc.ts).
//
// The violation kinds this file reports, what each assumes, and when its check runs:
//   stale-page             GUP (fast or slow) or a lockless reader is about to use a page it
//                          holds a reference on (checkGotPage, after the re-checks): the page
//                          must have been mapped at that vpn at some time during [walkStamp,
//                          now] (mappedDuring). Assumes the rmap calls above; a page freed
//                          and reused counts as another page. When the history cannot tell
//                          (a walk outlived HIST_ENTRIES - 1 changes of the page) the check
//                          accepts and counts oracleHistoryUnknown: never a false report.
//   pgtable-use-after-free a lockless walker entered a frame that is not a page table any
//                          more (walkEnterTable), read an entry of a table whose generation
//                          changed since it entered it (walkEntryLive, at every entry read),
//                          or one of its tables changed generation before its section ended
//                          (walkCheckTables, before local_irq_restore / rcu_read_unlock).
//                          Assumes a table is freed only through page_alloc.ts.
//   walk-past-table        a walker read an entry outside the table it entered (walkEntryLive).
//   wild-pfn               a walker used a pfn that is no frame, walked a frame that never was
//                          a table, or a present pmd leaf names no PMD-sized folio
//                          (checkGotPage, walkEnterTable, checkPmdLeafPfn: at the read).
//   special-refcounted     a reference was taken on a reserved frame (a pfnmap's device
//                          memory): checkGotPage.
//   detached-nonempty      a lockless pte_offset_map reader read a non-empty pte from a table
//                          marked PG_TABLE_DETACHED, and the read returned the newest write
//                          there (checkDetachedEmpty). Assumes the writer marks the table after
//                          clearing its pmd.
//   pinned-from-detached   reported by gup_fast_pte_range (mm/gup.ts) with tableDetached(): the
//                          table was marked detached before the pin's re-check passed.
//   lost-update            a writer holding a pte table's ptl wrote a pte into a table its pmd
//                          no longer links (checkPtlStillLinked, after the write).
// Kinds declared elsewhere: refcount-underflow (mm/folio.ts, at every put), refcount-leak
// (accounting.ts, the end of the run: every reference and table explained by the page tables),
// and the scenarios' own (lost-dma-write, pin-not-mapped, cow-pinned-shared, sync-broken,
// selftest-fail), each documented where it is declared.
import type { Cpu } from '../machine/cpu.js';
import { isHugeFolioHead } from '../mm/page_alloc.js';
import { LVL_PMD } from '../arch/arch.js';
import { defineStat } from '../machine/stats.js';
import {
  FANOUT, FRAME_WORDS, HIST_ENTRIES, MD_FLAGS, PG_TABLE_DETACHED, MD_GEN, MD_HIST, MD_HIST_SEQ, MD_LEVEL, MD_TYPE, MD_VPN, PageType,
  frameAddr, mdAddr,
} from '../machine/layout.js';
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
  // moved or unmapped after our walk started, from this very address: a legitimate race
  const r = mappedDuring(c, head, expect, c.walkStamp);
  if (r === HIST_MAPPED) return;
  if (r === HIST_UNKNOWN) {
    c.stats[S_HIST_UNKNOWN.id]++; // the history lost the walk's start: accept, never a false report
    return;
  }
  const now = m.peek(mdAddr(L, head, MD_VPN));
  c.violation(V_STALE_PAGE, vpn,
    `GUP returned pfn ${page}, ${now === -1 ? 'mapped nowhere' : `mapped at 0x${((now >>> 0) * 4096).toString(16)}`}, not here at any time during the walk`);
}

// ---- The mapping history (written by mm/rmap.ts rmapRecord) ----

export const S_HIST_UNKNOWN = defineStat('oracleHistoryUnknown', 'stale-page checks the mapping history could not decide (a walk outlived its ring): accepted');

/** mappedDuring(): the page was mapped at vpn at some time during the walk */
export const HIST_MAPPED = 0;
/** mappedDuring(): it was not (the history since the page's allocation is complete) */
export const HIST_NOT_MAPPED = 1;
/** mappedDuring(): the ring no longer holds the walk's start, or writers kept changing it */
export const HIST_UNKNOWN = 2;

/** Was the page (head) mapped at vpn at some time during [since, now]? `since` is a stamp of
 *  the event clock read at the walk's start (c.walkStamp): events stamped at or before it
 *  happened before the walk. Record k (vpn_k, from_k) holds from from_k until from_k+1 (the
 *  newest until now); the answer is yes if some record of vpn holds past `since`. Reads the
 *  newest HIST_ENTRIES - 1 records newest first, down to the one in force at `since`; if the
 *  ring no longer reaches back that far and nothing matched, the answer is unknown.
 *  Lock-free against a writer appending: the record count is read before and after, and a
 *  scan that a completed append overlapped is done again (at most a few times, then unknown);
 *  an append in progress writes only the slot the scan skips. The checker's plain reads
 *  (peek): an instant-old value can make it accept, never report. */
export function mappedDuring(c: Cpu, head: number, vpn: number, since: number): number {
  const m = c.mem;
  const L = c.L;
  const seqp = mdAddr(L, head, MD_HIST_SEQ);
  const ring = mdAddr(L, head, MD_HIST);
  for (let tries = 0; tries < 4; tries++) {
    const n = m.peek(seqp);
    const oldest = n > HIST_ENTRIES - 1 ? n - (HIST_ENTRIES - 1) : 0;
    let r = oldest === 0 ? HIST_NOT_MAPPED : HIST_UNKNOWN; // if the scan finds no record in force at `since`
    let until = 0; // the newer record's from-stamp: when record k stopped holding
    for (let k = n - 1; k >= oldest; k--) {
      const rec = ring + 2 * (k & (HIST_ENTRIES - 1));
      const from = m.peek(rec + 1);
      // held past `since`: the newest record holds now; an older one until its successor
      if (m.peek(rec) === vpn && (k === n - 1 || ((until - since) | 0) > 0)) {
        r = HIST_MAPPED;
        break;
      }
      if (((from - since) | 0) <= 0) {
        r = HIST_NOT_MAPPED; // in force at the walk's start; every older record ended before it
        break;
      }
      until = from;
    }
    if (m.peek(seqp) === n) return r;
  }
  return HIST_UNKNOWN;
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
