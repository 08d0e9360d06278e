// The SharedArrayBuffer layout: one Int32Array holds every word of emulated memory.
// A "pointer" in the model is a word index into that array, so a page-table entry, a
// struct-page field and a CPU's stack slot are all addressed the same way.

/** Words per physical frame: a page table holds FANOUT entries; a data page holds content words. */
export const FRAME_WORDS = 64;
/** Entries per table (a smaller fanout than the kernel's 512; every level uses it on x86-64). */
export const FANOUT = 64;
export const FANOUT_SHIFT = 6;

// ---- struct page: per-frame metadata words ----
export const MD_WORDS = 32;
export const MD_TYPE = 0; //      PageType below
export const MD_GEN = 1; //       bumped at every alloc and free: a walker compares it at entry and exit
export const MD_REFCOUNT = 2; //  folio->_refcount (head page for large folios)
export const MD_MAPCOUNT = 3; //  folio mapcount (number of pte/pmd mappings)
export const MD_PINCOUNT = 4; //  folio->_pincount (large folios only)
export const MD_FLAGS = 5; //     PG_anon_exclusive and friends
export const MD_OWNER_MM = 6; //  mm id the frame belongs to
export const MD_VPN = 7; //       tables: first vpn covered; data: vpn mapped at now, or -1
export const MD_HIST_SEQ = 8; //  data: the oracle's mapping history: records appended since the alloc
//                                (word 9 is spare)
export const MD_LEVEL = 10; //    tables: level (1 = pte table ... 5 = pgd)
export const MD_PTL = 11; //      split page-table lock (ptlock_ptr(page)): pte tables, and the pmd lock
export const MD_NEXT = 12; //     free-list link
export const MD_HEAD = 13; //     tail pages: pfn of the head; head: its own pfn
export const MD_ORDER = 14; //    folio order (0 small, FANOUT_SHIFT for a PMD-sized folio)
//                                (word 15 is spare)
export const MD_HIST = 16; //     data: the history ring, HIST_ENTRIES records of (vpn, from-stamp):
//                                record k at MD_HIST + 2 * (k & (HIST_ENTRIES - 1)). Written by
//                                mm/rmap.ts (rmapRecord), read by check/oracle.ts (mappedDuring)
/** Records of the mapping-history ring (a power of two; MD_HIST + 2 * HIST_ENTRIES <= MD_WORDS).
 *  The oracle reads the newest HIST_ENTRIES - 1 of them (the oldest slot may be the one a writer
 *  is filling); a walk that outlives that many changes of one page is judged "unknown". */
export const HIST_ENTRIES = 8;

export const enum PageType {
  Free = 0,
  PageTable = 1,
  Anon = 2,
  Ksm = 3,
  Tail = 4,
  Reserved = 5,
}
export const PG_ANON_EXCLUSIVE = 1;
/** oracle bookkeeping on a page-table frame: retracted (pmd cleared), waiting for its free */
export const PG_TABLE_DETACHED = 2;
/** a page of a file whose filesystem needs dirty tracking for writes (writeback: ext4, xfs,
 *  btrfs; not shmem or hugetlbfs): what gup_fast_folio_allowed() asks of folio->mapping */
export const PG_DIRTY_TRACKED = 4;

// ---- global control words ----
export const G_STOP = 0; //           set by the main thread (or a CPU with --stop-on-violation)
export const G_START = 1; //          start barrier: workers wait until it is 1
export const G_ZONE_LOCK = 2; //      zone->lock, protects both free lists
export const G_FREE_HEAD = 3; //      small-frame free list
export const G_FREE_COUNT = 4;
export const G_HUGE_HEAD = 5; //      PMD-sized folio free list
export const G_HUGE_COUNT = 6;
export const G_GP_CTR = 7; //         RCU: grace-period counter (starts at 1, a snapshot is never 0)
export const G_GP_DONE = 8; //        RCU: highest grace period known complete
export const G_GP_DOORBELL = 9; //    RCU: rung by call_rcu / synchronize_rcu to wake the gp worker
export const G_GP_REQ = 10; //        RCU: highest grace period a synchronize_rcu caller asked for
export const G_STAMP = 11; //         global event clock: the oracle's mapping-history stamps, a walk's start
export const G_DRAIN = 12; //         the gp worker drains its queues and exits when this is 1
export const G_VIOLATIONS = 13; //    count of violations seen by every CPU (for --stop-on-violation)
export const G_RCU_PENDING = 14; //   deferred frees queued but not run
export const G_RCU_PENDING_MAX = 15;
export const G_ROLES_DONE = 16; //    controlled runs: readers and writers that finished their operations
export const G_WORDS = 32;

// ---- per mm ----
export const MM_PGD = 0; //           pfn of the top-level table (mm->pgd)
export const MM_LEVELS = 1; //        page-table levels of this mm (s390 picks per mm)
export const MM_MMAP_LOCK = 2; //     mmap_lock (rwsem)
export const MM_WP_SEQ = 3; //        mm->write_protect_seq (seqcount)
export const MM_PTL = 4; //           mm->page_table_lock (upper levels)
export const MM_VMA_COUNT = 5;
export const MM_USERS = 6; //         mm_users: threads of the process using the mm (scenarios that recreate mms)
export const MM_DYING = 7; //         the mm is exiting: no new user
export const MM_VMA_BASE = 8; //      VMAs: start, end, flags, present, pgoff (5 words each)
export const VMA_WORDS = 5;
export const VMA_START = 0;
export const VMA_END = 1;
export const VMA_FLAGS = 2;
export const VMA_PRESENT = 3;
export const VMA_PGOFF = 4; //        vm_pgoff: remap_pfn_range stores the first pfn of a COW pfnmap
export const MAX_VMAS = 16;
export const MM_WORDS = MM_VMA_BASE + MAX_VMAS * VMA_WORDS;

// ---- per CPU ----
export const C_STATE = 0; //          CpuState below
export const C_IRQ_OFF = 1; //        0 irqs on; else the gp snapshot taken at local_irq_save (irq-off is an RCU reader)
export const C_RCU_CTR = 2; //        0 outside rcu_read_lock; else the gp snapshot at the outermost lock
export const C_QS_SEQ = 3; //         last grace period this CPU reported a quiescent state for
export const C_IPI_REQ = 4; //        IPI mailbox: requests posted
export const C_IPI_ACK = 5; //        IPI mailbox: requests acknowledged
export const C_WAKE = 6; //           bumped + notified to wake a waiter on this CPU's words
export const C_OPS = 7; //            heartbeat: operations done (updated every few ops)
export const C_WAITING_ON = 8; //     word this CPU is blocked on (stall report), -1 none
export const C_CB_HEAD = 10; //       call_rcu ring: consumer index (gp worker)
export const C_CB_TAIL = 11; //       call_rcu ring: producer index (this CPU)
export const C_WANT = 12; //          set by a waiter that sleeps on C_WAKE: wake me when you leave irq-off/RCU or ack
export const C_OVERLAPS = 13; //      heartbeat: this reader's paired-window overlaps (run --until-bound)
export const C_STACK = 32; //         a small stack area, real memory holding live values
export const CPU_WORDS = 64;
export const STACK_WORDS = 32;

export const enum CpuState {
  Init = 0,
  Running = 1,
  Blocked = 2, // inside Atomics.wait with irqs on
  Done = 3,
}

/** pfns are 20 bits in a 32-bit entry (pfn << 12 | flags); the layout keeps them below this */
export const PFN_LIMIT = 1 << 19;
export const MIN_FRAMES = 64;

/** The most small frames a layout with `huge` PMD-sized folios holds. */
export function maxFrames(huge: number): number {
  return PFN_LIMIT - FANOUT * (huge + 1);
}
/** The most PMD-sized folios a layout with `frames` small frames holds. */
export function maxHuge(frames: number): number {
  return Math.max(0, Math.floor((PFN_LIMIT - 1 - Math.ceil(frames / FANOUT) * FANOUT) / FANOUT));
}

export const CB_RING = 4096; //      call_rcu ring entries per CPU
export const WIN_SLOTS = 1024; //     race-window object counters per window
export const MAX_CPUS = 48;

export interface LayoutConfig {
  frames: number; //      small frames
  hugeFolios: number; //  PMD-sized folios (FANOUT contiguous frames each)
  cpus: number; //        emulated CPUs of the mm (readers + writers)
  mms: number;
  windows: number; //     race windows in the registry
  scratchWords: number; // scenario-owned words
}

export interface Layout extends LayoutConfig {
  totalFrames: number;
  hugeBase: number; //  first pfn of the huge region
  gBase: number;
  mmBase: number;
  cpuBase: number;
  cpuSlots: number; //  cpus + gp worker + boot CPU
  cbBase: number;
  winBase: number;
  scratchBase: number;
  mdBase: number;
  framesBase: number;
  words: number;
}

export class LayoutError extends Error {}

/** Computes every region's offset; throws LayoutError (bad input) for sizes that cannot work. */
export function computeLayout(cfg: LayoutConfig): Layout {
  if (!Number.isInteger(cfg.frames) || cfg.frames < MIN_FRAMES) throw new LayoutError(`--frames must be an integer >= ${MIN_FRAMES} (got ${cfg.frames})`);
  if (!Number.isInteger(cfg.hugeFolios) || cfg.hugeFolios < 0) throw new LayoutError(`--huge must be an integer >= 0 (got ${cfg.hugeFolios})`);
  if (!Number.isInteger(cfg.cpus) || cfg.cpus < 1 || cfg.cpus > MAX_CPUS) throw new LayoutError(`readers + writers must be between 1 and ${MAX_CPUS} (got ${cfg.cpus})`);
  const hugeFrames = cfg.hugeFolios * FANOUT;
  // pfns are 20 bits in a 32-bit entry (pfn << 12 | flags)
  const hugeBase = Math.ceil(cfg.frames / FANOUT) * FANOUT;
  const totalFrames = hugeBase + hugeFrames;
  if (totalFrames >= PFN_LIMIT) throw new LayoutError(`--frames + --huge*${FANOUT} must stay below ${PFN_LIMIT} frames (got ${totalFrames})`);
  const cpuSlots = cfg.cpus + 2;
  let off = 0;
  const gBase = off; off += G_WORDS;
  const mmBase = off; off += cfg.mms * MM_WORDS;
  const cpuBase = off; off += cpuSlots * CPU_WORDS;
  const cbBase = off; off += cpuSlots * CB_RING;
  const winBase = off; off += Math.max(1, cfg.windows) * WIN_SLOTS;
  const scratchBase = off; off += cfg.scratchWords;
  const mdBase = off; off += totalFrames * MD_WORDS;
  off = Math.ceil(off / FRAME_WORDS) * FRAME_WORDS;
  const framesBase = off; off += totalFrames * FRAME_WORDS;
  const bytes = off * 4;
  if (bytes > 1 << 30) throw new LayoutError(`machine would need ${(bytes / 2 ** 20).toFixed(0)} MiB of shared memory; the limit is 1024 MiB`);
  return { ...cfg, totalFrames, hugeBase, gBase, mmBase, cpuBase, cpuSlots, cbBase, winBase, scratchBase, mdBase, framesBase, words: off };
}

/** Address of word `idx` of frame `pfn`. */
export function frameAddr(L: Layout, pfn: number, idx: number): number {
  return L.framesBase + pfn * FRAME_WORDS + idx;
}

/** The words of a data page that carry content: word 0 and a token slot per CPU (O_DIRECT
 *  writes 1 + cpu). Copying or clearing a page touches these only: the rest of a data frame
 *  is never written, and under the controlled executor every access is a step. */
export function dataWords(L: Layout): number {
  return Math.min(FRAME_WORDS, L.cpuSlots + 1);
}
/** Address of metadata word `field` of frame `pfn`. */
export function mdAddr(L: Layout, pfn: number, field: number): number {
  return L.mdBase + pfn * MD_WORDS + field;
}
export function cpuAddr(L: Layout, cpu: number, field: number): number {
  return L.cpuBase + cpu * CPU_WORDS + field;
}
export function mmAddr(L: Layout, mm: number, field: number): number {
  return L.mmBase + mm * MM_WORDS + field;
}
/** The gp worker's per-CPU slot (not a CPU of any mm: never an IPI target). */
export function gpCpu(L: Layout): number {
  return L.cpus;
}
/** The boot CPU slot: the main thread uses it for setup and end-of-run checks. */
export function bootCpu(L: Layout): number {
  return L.cpus + 1;
}
