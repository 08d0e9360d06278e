// Violation kinds: stable names (architecture.md). Add kinds as scenarios need them; never rename.
export const VIOLATION_KINDS = [
  'lost-dma-write',
  'pin-not-mapped',
  'stale-page',
  'pgtable-use-after-free',
  'wild-pfn',
  'special-refcounted',
  'detached-nonempty',
  'lost-update',
  'refcount-underflow',
  'refcount-leak',
  'walk-mismatch',
  'cow-pinned-shared',
  'sync-broken',
] as const;
export type ViolationKind = (typeof VIOLATION_KINDS)[number];

export const V_LOST_DMA_WRITE = 0;
export const V_PIN_NOT_MAPPED = 1;
export const V_STALE_PAGE = 2;
export const V_PGTABLE_UAF = 3;
export const V_WILD_PFN = 4;
export const V_SPECIAL_REFCOUNTED = 5;
export const V_DETACHED_NONEMPTY = 6;
export const V_LOST_UPDATE = 7;
export const V_REFCOUNT_UNDERFLOW = 8;
export const V_REFCOUNT_LEAK = 9;
export const V_COW_PINNED_SHARED = 11;
export const V_SYNC_BROKEN = 12;

export interface Violation {
  kind: ViolationKind;
  cpu: number;
  /** the user address (vpn << 12) the violation is about, hex */
  address: string;
  detail: string;
  timeMs: number;
  /** the CPU's last trace events, oldest first */
  trace: string[];
}
