// The arches by name: one Arch record per file of this folder (x86_64.ts, arm64.ts, s390.ts).
import type { Arch, ArchName } from './arch.js';
import { arm64 } from './arm64.js';
import { s390 } from './s390.js';
import { x86_64 } from './x86_64.js';

const ARCHES: Record<ArchName, Arch> = { 'x86-64': x86_64, arm64, s390 };

/** Every arch, for help texts and listings. */
export function allArches(): Arch[] {
  return Object.values(ARCHES);
}

export function archByName(name: ArchName): Arch {
  return ARCHES[name];
}
