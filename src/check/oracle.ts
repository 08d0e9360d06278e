// The oracle: checks that ride along with the model's own steps. None of them changes
// what the model does; each one records a violation with the CPU's trace.
import type { Cpu } from '../machine/cpu.js';
import { FANOUT, MD_GEN, MD_LEVEL, MD_PREV_VPN, MD_STAMP, MD_TYPE, MD_VPN, PageType, mdAddr } from '../machine/layout.js';
import { V_PGTABLE_UAF, V_SPECIAL_REFCOUNTED, V_STALE_PAGE, V_WILD_PFN } from './violations.js';

/** The walker enters table frame pfn: remember its generation. A frame that is not a page
 *  table any more was freed under the walker. Returns false if the walk must stop. */
export function walkEnterTable(c: Cpu, pfn: number, vpn: number): boolean {
  const m = c.mem;
  const L = c.L;
  if (pfn <= 0 || pfn >= L.totalFrames) {
    c.violation(V_WILD_PFN, vpn, `walked pfn ${pfn} as a table: no such frame`);
    return false;
  }
  const i = c.nrWalk++;
  c.walkPfn[i] = pfn;
  c.walkGen[i] = m.load(mdAddr(L, pfn, MD_GEN));
  if (m.load(mdAddr(L, pfn, MD_TYPE)) !== PageType.PageTable) {
    c.violation(V_PGTABLE_UAF, vpn, `walked table frame ${pfn} after it was freed (type ${m.load(mdAddr(L, pfn, MD_TYPE))}, gen ${c.walkGen[i]})`);
    return false;
  }
  return true;
}

/** End of the protected section (before local_irq_restore): every table walked must still
 *  be the same allocation; a changed generation means it was freed (and maybe reused). */
export function walkCheckTables(c: Cpu, vpn: number): void {
  const m = c.mem;
  for (let i = 0; i < c.nrWalk; i++) {
    const pfn = c.walkPfn[i];
    const gen = m.load(mdAddr(c.L, pfn, MD_GEN));
    if (gen !== c.walkGen[i]) {
      c.violation(V_PGTABLE_UAF, vpn,
        `level-${m.load(mdAddr(c.L, pfn, MD_LEVEL))} table frame ${pfn} was freed during the walk (gen ${c.walkGen[i]} -> ${gen}, type now ${m.load(mdAddr(c.L, pfn, MD_TYPE))})`);
    }
  }
}

/** GUP is about to return `page` for vpn, holding a reference: it must be a user page that
 *  was mapped at vpn at some time during the walk (stale-page), taken from a real frame. */
export function checkGotPage(c: Cpu, page: number, head: number, vpn: number): boolean {
  const m = c.mem;
  const L = c.L;
  if (page <= 0 || page >= L.totalFrames) {
    c.violation(V_WILD_PFN, vpn, `GUP took pfn ${page}: no such frame`);
    return false;
  }
  const type = m.load(mdAddr(L, page, MD_TYPE));
  if (type === PageType.Reserved) {
    c.violation(V_SPECIAL_REFCOUNTED, vpn, `a reference was taken on pfn ${page}: device memory of a pfn mapping, not a refcounted page`);
    return false;
  }
  if (type !== PageType.Anon && type !== PageType.Ksm && type !== PageType.Tail) {
    c.violation(V_STALE_PAGE, vpn, `GUP returned pfn ${page}, which is not a user page (type ${type})`);
    return false;
  }
  const expect = head === page ? vpn : vpn & ~(FANOUT - 1);
  if (m.load(mdAddr(L, head, MD_VPN)) === expect) return true;
  // unmapped after our walk started, from this very address: a legitimate race
  if (m.load(mdAddr(L, head, MD_PREV_VPN)) === expect && m.load(mdAddr(L, head, MD_STAMP)) - c.walkStamp > 0) return true;
  c.violation(V_STALE_PAGE, vpn,
    `GUP returned pfn ${page}, mapped at vpn 0x${(m.load(mdAddr(L, head, MD_VPN)) >>> 0).toString(16)}, not here at any time during the walk`);
  return false;
}

/** A present pmd leaf names a PMD-sized folio: its pfn must be the head of one. That is a
 *  property of the frame layout, so it is checked without a reference and without a race. */
export function checkPmdLeafPfn(c: Cpu, pfn: number, vpn: number, pmd: number): boolean {
  const L = c.L;
  if (pfn >= L.hugeBase && pfn < L.totalFrames && ((pfn - L.hugeBase) & (FANOUT - 1)) === 0) return true;
  c.violation(V_WILD_PFN, vpn, `a "present" pmd leaf 0x${(pmd >>> 0).toString(16)} names pfn ${pfn}, which is not a PMD-sized folio (swap bits read as a pfn?)`);
  return false;
}
