// Historical bugs are switches, not forks: a scenario declares each bug once (name, doc,
// fixing commit, strategies, expected kinds, the step it changes and any other switch it
// needs), and the model reads the switch by that name at the line the kernel changed:
//
//     if (c.bug['ksm-check-before-clear']) { ...the historical order... }
//
// A test checks that every declared bug is read by the model and every switch the model
// reads is declared (test/declarations.test.ts).
import type { ViolationDef } from '../check/violations.js';
import type { BugSwitches, StrategyName } from './cpu.js';

import type { MemoryModel } from './weak.js';

export interface BugDef {
  readonly doc: string;
  /** the kernel function(s) whose step the switch changes */
  readonly changes: string;
  /** the kernel commit that fixed it, where there is one */
  readonly fixedBy?: string;
  /** strategies under which the bug can show (default: every strategy of the scenario) */
  readonly strategies?: readonly StrategyName[];
  /** the violation kinds it is expected to produce */
  readonly expectKinds: readonly ViolationDef[];
  /** other switches this bug turns on with its own, where the historical kernel differed
   *  in more than one step (gup-no-pmd-recheck predates collapse's IPI too) */
  readonly implies?: readonly string[];
  /** knob settings the bug needs to show, by knob name and value as on the command line
   *  (an early rcu_read_unlock shows only where a grace period can end at any instant:
   *  { 'rcu.flavor': 'preempt' }); the campaign runs it so, `run` warns otherwise */
  readonly knobs?: Readonly<Record<string, string>>;
  /** stress finds it only where two CPUs really run at once (its window is shorter than an OS
   *  time slice, so a time-shared CPU rarely lands in it): on a busy machine a stress run can
   *  miss it. Why, in a line. The campaign also explores its rows (deterministic), and the
   *  tests accept a stress miss where explore finds it. */
  readonly needsParallelism?: string;
  /** the operations a reader and a writer need for the race to be in explore --exhaustive's
   *  instance, where one each is not enough (--reader-ops and --writer-ops override) */
  readonly exhaustiveOps?: { readonly reader?: number; readonly writer?: number };
  /** a missing ordering (a barrier, acquire/release): the memory models under which the bug
   *  can show. Only explore's weak models can: stress runs and `sc` are sequentially
   *  consistent, where the ordering is always there */
  readonly memory?: readonly MemoryModel[];
}

/** The switches built so far, by declaration and bug list (a controlled executor builds a
 *  CPU's switches for each of thousands of executions). */
const built = new WeakMap<object, Map<string, BugSwitches>>();

/** Builds the switches: all `declared` names (one object shape for every run), on for
 *  `on` and what each of those implies. The same lists give the same (frozen) object. */
export function bugSwitches(declared: Readonly<Record<string, BugDef>>, on: readonly string[]): BugSwitches {
  const key = on.join(',');
  let cache = built.get(declared);
  if (cache === undefined) built.set(declared, (cache = new Map()));
  let sw = cache.get(key);
  if (sw === undefined) cache.set(key, (sw = buildSwitches(declared, on)));
  return sw;
}

function buildSwitches(declared: Readonly<Record<string, BugDef>>, on: readonly string[]): BugSwitches {
  const set = new Set<string>();
  const turnOn = (name: string): void => {
    if (!(name in declared)) throw new Error(`unknown bug switch ${name}`);
    if (set.has(name)) return;
    set.add(name);
    for (const n of declared[name].implies ?? []) turnOn(n);
  };
  for (const n of on) turnOn(n);
  // built in one go (Object.fromEntries): V8 keeps it a fast-properties object, where adding
  // forty names one by one (sw[name] = ...) turns it into a dictionary, a hash lookup at each
  // c.bug['...'] read of the walk
  return Object.freeze(Object.fromEntries(Object.keys(declared).sort().map((name) => [name, set.has(name)])));
}
