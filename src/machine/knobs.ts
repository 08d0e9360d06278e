// The tuning knobs a kernel developer turns (HZ, blimit, the mmu_gather batch, how long an
// IPI sender spins): each declared once by the module that reads it, with its range and the
// kernel setting it stands for. `--set NAME=V` on run and sweep; `gupstress list` prints them.
// A CPU reads a knob as c.knob(K), from an array indexed by the knob's id.
import { type Registered, Registry } from './registry.js';

export interface KnobDef extends Registered {
  readonly doc: string;
  /** what the kernel calls it */
  readonly kernel: string;
  /** 'us': a duration, given as 250us, 1ms, or a bare number of us; 'count': an integer;
   *  'choice': one of `choices`, by name (the value is its index) */
  readonly unit: 'us' | 'count' | 'choice';
  readonly choices?: readonly string[];
  readonly value: number;
  readonly min: number;
  readonly max: number;
}

export const KNOBS = new Registry<KnobDef>('knob');

export function defineKnob(k: Omit<KnobDef, 'id'>): KnobDef {
  if (!(k.min <= k.value && k.value <= k.max)) throw new Error(`knob ${k.name}: default ${k.value} outside ${k.min}..${k.max}`);
  if ((k.unit === 'choice') !== (k.choices !== undefined) || (k.choices && (k.min !== 0 || k.max !== k.choices.length - 1))) throw new Error(`knob ${k.name}: a choice knob names its choices, indexed 0..n-1`);
  return KNOBS.define(k);
}

/** A choice knob: its value is the index of one of `choices`; the default is by name. */
export function defineChoiceKnob(k: Omit<KnobDef, 'id' | 'unit' | 'value' | 'min' | 'max'> & { choices: readonly string[]; default: string }): KnobDef {
  const { default: d, ...rest } = k;
  return defineKnob({ ...rest, unit: 'choice', value: k.choices.indexOf(d), min: 0, max: k.choices.length - 1 });
}

/** A knob's value as it is written on the command line: 250us, 64, preempt. */
export function formatKnob(k: KnobDef, v: number): string {
  return k.unit === 'us' ? `${v}us` : k.unit === 'choice' ? (k.choices![v] ?? String(v)) : String(v);
}

/** Every knob's value by id: the defaults, and what `values` sets (by name). */
export function knobArray(values: Readonly<Record<string, number>>): Float64Array {
  return Float64Array.from(KNOBS.all.map((k) => values[k.name] ?? k.value));
}

/** The defaults by name. */
export function knobDefaults(): Record<string, number> {
  return Object.fromEntries(KNOBS.all.map((k) => [k.name, k.value]));
}
