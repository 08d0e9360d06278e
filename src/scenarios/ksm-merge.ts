// KSM merging pages that "O_DIRECT" readers pin with FOLL_PIN|FOLL_WRITE, write a token
// into through the pin, and unpin. Afterwards the token must be visible through the
// mapping: a merge that let a pin land after its refcount check loses the write.
import { LVL_PMD } from '../arch/arch.js';
import { EV_DMA, EV_UNPIN, EV_VERIFY } from '../check/trace.js';
import { V_LOST_DMA_WRITE, V_PIN_NOT_MAPPED } from '../check/violations.js';
import { W_DIO_DMA, winReaderClose, winReaderOpen, winWiden } from '../check/windows.js';
import type { Cpu } from '../machine/cpu.js';
import { H_READER_OP, H_WRITER_OP } from '../machine/cpu.js';
import { MD_VPN, frameAddr, mdAddr } from '../machine/layout.js';
import { FOLL_PIN, FOLL_WRITE, gupPutFolio } from '../mm/folio.js';
import {
  GUP_FAST_OK, GUP_FAST_RECHECK, GUP_FAST_REFZERO, getUserPagesFast,
} from '../mm/gup.js';
import { KSM_ABORT_CHANGED, KSM_ABORT_PINNED, KSM_MERGED, KSM_OOM, KSM_SKIP, ksmMergeOne } from '../mm/ksm.js';
import { mmapPopulate } from '../mm/memory.js';
import { mmAlloc } from '../mm/mm.js';
import { folioHead } from '../mm/page_alloc.js';
import { entryOffset, pteOffsetMapLock, pteUnmapUnlock } from '../mm/pgtable.js';
import { VM_READ, VM_WRITE, vmaDefine } from '../mm/vma.js';
import { type OutcomeDef, defineScenario } from './scenario.js';

const MM = 0;
const BASE = 0x4000; // vpn of the VMA

const READER_OUTCOMES: OutcomeDef[] = [
  { name: 'fast-pinned', expect: 'ACCEPTABLE', doc: 'GUP-fast pinned the page' },
  { name: 'fast-retry-pte-changed', expect: 'INTERESTING', doc: 'the re-check after the pin saw the pte change: the race was hit and the protocol saved it' },
  { name: 'fast-refcount-zero', expect: 'INTERESTING', doc: 'folio_ref_try_add refused a page being freed' },
  { name: 'slow-pinned', expect: 'ACCEPTABLE', doc: 'GUP-fast found the pte read-only or cleared (KSM at work); the slow path broke COW and pinned' },
  { name: 'gup-failed', expect: 'INTERESTING', doc: 'neither path returned a page' },
  { name: 'dma-visible', expect: 'ACCEPTABLE', doc: 'the token written through the pin reads back through the mapping' },
];
const R_FAST = 0, R_RECHECK = 1, R_REFZERO = 2, R_SLOW = 3, R_FAILED = 4, R_VISIBLE = 5;

const WRITER_OUTCOMES: OutcomeDef[] = [
  { name: 'ksm-merged', expect: 'ACCEPTABLE', doc: 'write_protect_page + replace_page mapped a KSM page' },
  { name: 'ksm-skip', expect: 'ACCEPTABLE', doc: 'nothing to merge there (already a KSM page, or read-only)' },
  { name: 'ksm-abort-pinned', expect: 'INTERESTING', doc: 'the refcount check after clear+flush saw a pin and restored the pte' },
  { name: 'ksm-abort-changed', expect: 'INTERESTING', doc: 'replace_page found the pte changed (a COW fault got there first)' },
  { name: 'ksm-oom', expect: 'ACCEPTABLE', doc: 'no free frame for the KSM page' },
];
// outcome i is KSM_* == i
void [KSM_MERGED, KSM_SKIP, KSM_ABORT_PINNED, KSM_ABORT_CHANGED, KSM_OOM];

interface ReaderState {
  pages: number;
  token: number;
  slot: number;
}

export const ksmMerge = defineScenario({
  id: 'ksm-merge',
  title: 'KSM write_protect_page vs FOLL_PIN|FOLL_WRITE (O_DIRECT) GUP-fast',
  seed: 'GUP guarantees vs KSM/khugepaged (2016 thread)',
  commits: ['mm/ksm.c write_protect_page: "ok this is a tricky one" comment (clear+flush, then check the count)', 'mm/gup.c gup_fast_pte_range re-check'],
  selftest: false,
  arches: ['x86-64'],
  strategies: ['ipi', 'rcu', 'rcu-sync', 'rcu-exp'],
  defaultStrategy: 'rcu',
  defaults: { readers: 1, writers: 1, frames: 4096, huge: 0, widen: { 'gup.pin-recheck': '2us', 'ksm.clear-check': '2us', 'dio.dma': '5us' } },
  params: { pages: { value: 16, doc: 'pages in the VMA that readers pin and KSM merges' } },
  windows: { 'gup.pin-recheck': 'ksm.clear-check', 'gup.walk': null, 'dio.dma': null, 'ksm.clear-check': null },
  bugs: [
    {
      name: 'ksm-check-before-clear',
      doc: 'write_protect_page checks the refcount before ptep_clear_flush: a pin can land in between',
      expectKinds: ['lost-dma-write', 'pin-not-mapped'],
    },
    {
      name: 'gup-no-recheck',
      doc: 'gup_fast_pte_range skips the pte re-check after the pin (shows where the flush does not wait for walkers)',
      strategies: ['rcu', 'rcu-sync', 'rcu-exp'],
      expectKinds: ['lost-dma-write', 'pin-not-mapped', 'stale-page'],
    },
  ],
  detects: ['lost-dma-write', 'pin-not-mapped', 'stale-page', 'pgtable-use-after-free', 'refcount-underflow', 'refcount-leak'],
  scratchWords: 0,

  boot(c, p) {
    mmAlloc(c, MM, p.mmLevels);
    vmaDefine(c.mem, c.L, MM, 0, BASE, BASE + p.params.pages, VM_READ | VM_WRITE, false);
    if (mmapPopulate(c, MM, 0) !== 0) throw new Error('ksm-merge: out of frames populating the VMA');
  },

  reader: {
    outcomes: READER_OUTCOMES,
    init: (c, p): ReaderState => ({ pages: p.params.pages, token: 0, slot: 1 + c.id }),
    op(c: Cpu, s: ReaderState) {
      const m = c.mem;
      const t0 = m.now();
      const vpn = BASE + (m.random() % s.pages);
      const flags = FOLL_PIN | FOLL_WRITE;
      const n = getUserPagesFast(c, MM, vpn, 1, flags);
      const r = c.gupFastReason;
      if (r === GUP_FAST_RECHECK) c.outcomes[R_RECHECK]++;
      else if (r === GUP_FAST_REFZERO) c.outcomes[R_REFZERO]++;
      if (n === 0) {
        c.outcomes[R_FAILED]++;
        return;
      }
      c.outcomes[r === GUP_FAST_OK ? R_FAST : R_SLOW]++;
      const page = c.pages[0];
      const head = folioHead(c.L, page);
      // the device writes through the pin (DMA) some time later, then the pin is released
      winReaderOpen(c, W_DIO_DMA, vpn);
      winWiden(c, W_DIO_DMA);
      const token = (s.token = (s.token + 1) | 0);
      m.store(frameAddr(c.L, page, s.slot), token);
      winReaderClose(c, W_DIO_DMA);
      c.trace(EV_DMA, page, token);
      if (m.load(mdAddr(c.L, head, MD_VPN)) !== vpn) {
        c.violation(V_PIN_NOT_MAPPED, vpn, `pinned pfn ${page} is no longer mapped at the pinned address while the DMA runs`);
      }
      gupPutFolio(c, head, 1, flags, vpn);
      c.trace(EV_UNPIN, page, 0);
      // afterwards a CPU load through the mapping must see the token
      const pmdp = entryOffset(c, MM, vpn, LVL_PMD, false);
      const ptep = pmdp < 0 ? -1 : pteOffsetMapLock(c, pmdp, vpn);
      if (ptep >= 0) {
        const pte = m.load(ptep);
        const now = c.arch.ptePresent(pte) ? m.load(frameAddr(c.L, c.arch.ptePfn(pte), s.slot)) : 0;
        pteUnmapUnlock(c, ptep);
        c.trace(EV_VERIFY, vpn, now);
        if (now === token) c.outcomes[R_VISIBLE]++;
        else c.violation(V_LOST_DMA_WRITE, vpn, `token ${token} written through the pin on pfn ${page}; the mapping shows pfn ${c.arch.ptePfn(pte)} holding ${now}`);
      }
      c.hists[H_READER_OP].recordValue(Math.round(m.now() - t0));
    },
  },

  writer: {
    outcomes: WRITER_OUTCOMES,
    init: (_c, p) => ({ pages: p.params.pages }),
    op(c: Cpu, s: { pages: number }) {
      const t0 = c.mem.now();
      const r = ksmMergeOne(c, MM, BASE + (c.mem.random() % s.pages));
      c.outcomes[r]++; // KSM_* numbers the outcomes in declaration order
      c.hists[H_WRITER_OP].recordValue(Math.round(c.mem.now() - t0));
    },
  },
});
