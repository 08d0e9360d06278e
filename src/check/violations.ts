// Violation kinds: stable names (architecture.md; never rename one). Each kind is declared
// by the module whose check reports it (defineViolation); the results carry the names.
import { type Registered, Registry } from '../machine/registry.js';

export interface ViolationDef extends Registered {
  readonly doc: string;
}

export const VIOLATION_KINDS = new Registry<ViolationDef>('violation kind');

export function defineViolation(name: string, doc: string): ViolationDef {
  return VIOLATION_KINDS.define({ name, doc });
}

/** Reserved in the contract (architecture.md); no check reports it yet. */
export const V_WALK_MISMATCH = defineViolation('walk-mismatch', 'reserved: two walks of the same range disagree');

export interface Violation {
  kind: string;
  cpu: number;
  /** the user address (vpn << 12) the violation is about, hex */
  address: string;
  detail: string;
  timeMs: number;
  /** the CPU's last trace events, oldest first */
  trace: string[];
}
