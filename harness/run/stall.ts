// Naming a shared-memory word for humans (stall reports: "cpu 2 waits on ptl of pfn 812").
import {
  C_IPI_ACK, C_IPI_REQ, C_IRQ_OFF, C_OPS, C_QS_SEQ, C_RCU_CTR, C_STATE, C_WAITING_ON, CPU_WORDS, FRAME_WORDS, type Layout,
  MD_HIST, MD_WORDS, MM_WORDS, cpuAddr,
} from '../../src/machine/layout.js';

const G_NAMES = ['stop', 'start', 'zone->lock', 'free_head', 'free_count', 'huge_head', 'huge_count', 'gp_ctr', 'gp_done', 'gp_doorbell', 'gp_req', 'stamp', 'drain', 'violations', 'rcu_pending', 'rcu_pending_max'];
const MM_NAMES = ['pgd', 'levels', 'mmap_lock', 'write_protect_seq', 'page_table_lock'];
const CPU_NAMES = ['state', 'irq_off', 'rcu_ctr', 'qs_seq', 'ipi_req', 'ipi_ack', 'wake', 'ops', 'waiting_on', 'phase', 'cb_head', 'cb_tail', 'want'];
const MD_NAMES = [
  'type', 'gen', 'refcount', 'mapcount', 'pincount', 'flags', 'owner_mm', 'vpn', 'hist_seq', 'spare', 'level', 'ptl', 'next', 'head', 'order', 'spare',
  ...Array.from({ length: (MD_WORDS - MD_HIST) / 2 }, (_, k) => [`hist[${k}].vpn`, `hist[${k}].from`]).flat(),
];
const STATE_NAMES = ['init', 'running', 'blocked', 'done'];

export function describeWord(L: Layout, p: number): string {
  if (p < 0) return '-';
  if (p < L.mmBase) return `global ${G_NAMES[p - L.gBase] ?? p}`;
  if (p < L.cpuBase) return `mm${Math.floor((p - L.mmBase) / MM_WORDS)} ${MM_NAMES[(p - L.mmBase) % MM_WORDS] ?? 'vma table'}`;
  if (p < L.cbBase) return `cpu${Math.floor((p - L.cpuBase) / CPU_WORDS)} ${CPU_NAMES[(p - L.cpuBase) % CPU_WORDS] ?? 'stack'}`;
  if (p < L.winBase) return 'call_rcu ring';
  if (p < L.scratchBase) return 'window counter';
  if (p < L.mdBase) return `scenario scratch +${p - L.scratchBase}`;
  if (p < L.framesBase) return `struct page pfn ${Math.floor((p - L.mdBase) / MD_WORDS)} ${MD_NAMES[(p - L.mdBase) % MD_WORDS]}`;
  return `frame ${Math.floor((p - L.framesBase) / FRAME_WORDS)} word ${(p - L.framesBase) % FRAME_WORDS}`;
}

export interface CpuSnapshot {
  cpu: number;
  role: string;
  state: string;
  irqOff: number;
  rcuCtr: number;
  qsSeq: number;
  ipiReq: number;
  ipiAck: number;
  ops: number;
  waitingOn: string;
}

/** Every CPU's shared words, read without stopping anybody. */
export function snapshotCpus(m: Int32Array, L: Layout, roles: string[]): CpuSnapshot[] {
  const out: CpuSnapshot[] = [];
  for (let cpu = 0; cpu < roles.length; cpu++) {
    const w = (f: number): number => Atomics.load(m, cpuAddr(L, cpu, f));
    out.push({
      cpu,
      role: roles[cpu],
      state: STATE_NAMES[w(C_STATE)] ?? String(w(C_STATE)),
      irqOff: w(C_IRQ_OFF),
      rcuCtr: w(C_RCU_CTR),
      qsSeq: w(C_QS_SEQ),
      ipiReq: w(C_IPI_REQ),
      ipiAck: w(C_IPI_ACK),
      ops: w(C_OPS),
      waitingOn: describeWord(L, w(C_WAITING_ON)),
    });
  }
  return out;
}
