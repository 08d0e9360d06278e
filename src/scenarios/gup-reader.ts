// The FOLL_GET GUP reader shared by the scenarios that race a writer against GUP-fast on
// plain references (munmap-free, madv-dontneed): take up to maxNr pages with
// get_user_pages_fast (the slow path gets what GUP-fast did not), note why GUP-fast stopped
// short, and put the pages back.
import type { Cpu } from '../machine/cpu.js';
import { FOLL_GET } from '../mm/folio.js';
import { GUP_FAST_OK, GUP_FAST_RECHECK, GUP_FAST_REFZERO, GUP_FAST_TABLE_GONE, getUserPagesFast, putUserPages } from '../mm/gup.js';
import { type RunParams, defineRole } from './scenario.js';
import type { BugDef } from '../machine/bugs.js';
import { V_DETACHED_NONEMPTY, V_PGTABLE_UAF, V_PIN_DETACHED } from '../check/oracle.js';
import { V_LOST_DMA_WRITE, V_PIN_NOT_MAPPED } from './odirect.js';

/** The pmd re-check after GUP-fast's pin, missing: one declaration for the scenarios whose
 *  pinning readers it concerns (thp-collapse, retract-pgtable). */
export const BUG_GUP_NO_PMD_RECHECK: BugDef = {
  doc: 'gup_fast_pte_range re-checks the pte but not the pmd after the pin (before 70cbc3cc78a9). It implies the steps under which the pte re-check alone misses a table replaced under the walker: collapse sends no IPI, as before 2ba99c5e0881 (thp-collapse), and a retracted table is emptied after it is detached (retract-pgtable: the kernel empties it first, so there the pmd re-check is the second line, and pte_free_defer sends no IPI)',
  changes: 'gup_fast_pte_range',
  fixedBy: '70cbc3cc78a9',
  strategies: ['rcu'],
  // (in retract-pgtable the implied detached-not-empty shows to the pte_offset_map readers as
  // detached-nonempty too; test/fidelity.test.ts shows pinned-from-detached comes only with
  // the missing pmd re-check)
  expectKinds: [V_LOST_DMA_WRITE, V_PIN_NOT_MAPPED, V_PGTABLE_UAF, V_PIN_DETACHED, V_DETACHED_NONEMPTY],
  implies: ['collapse-no-ipi', 'detached-not-empty'],
};

export function gupGetReader<S extends { maxNr: number }>(o: {
  mm: number;
  init: (c: Cpu, p: RunParams) => S;
  /** the first page of a request of nr pages */
  start: (c: Cpu, s: S, nr: number) => number;
}) {
  return defineRole({
    outcomes: {
      'fast-ok': { expect: 'ACCEPTABLE', doc: 'GUP-fast got every page' },
      'slow-ok': { expect: 'ACCEPTABLE', doc: 'GUP-fast stopped short; the slow path got the rest' },
      'slow-efault': { expect: 'ACCEPTABLE', doc: 'the slow path could not get every page (unmapped: -EFAULT, or out of frames)' },
    },
    events: {
      'fast-retry-pte-changed': { expect: 'INTERESTING', doc: 'the re-check after the reference saw the pte/pmd change under it: the race was hit and the protocol saved it' },
      'fast-refcount-zero': { expect: 'INTERESTING', doc: 'a page being freed refused the reference' },
      'walked-freed-table': { expect: 'FORBIDDEN', doc: 'the walker entered a table frame that had been freed' },
    },
    init: o.init,
    op(c: Cpu, s: S) {
      const nr = 1 + (c.mem.random() % s.maxNr);
      const start = o.start(c, s, nr);
      const n = getUserPagesFast(c, o.mm, start, nr, FOLL_GET);
      const r = c.gupFastReason;
      if (r === GUP_FAST_RECHECK) c.event('fast-retry-pte-changed');
      else if (r === GUP_FAST_REFZERO) c.event('fast-refcount-zero');
      else if (r === GUP_FAST_TABLE_GONE) c.event('walked-freed-table');
      putUserPages(c, n, FOLL_GET, start);
      return r === GUP_FAST_OK ? 'fast-ok' : n === nr ? 'slow-ok' : 'slow-efault';
    },
  });
}
