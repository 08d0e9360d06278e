// Ctrl-C at any instant. The CLI imports this module before any other, so from the first
// instant its code runs a SIGINT exits 130 at once: nothing has run, nothing is lost. A
// command that runs CPUs calls interruptible() before it starts anything: from then the
// first Ctrl-C stops the CPUs and lets the command write its results (the runner, the
// sweep, the campaign and explore read the signal at every phase, start-up included), and a
// second one exits 130 at once.
//
// One listener, installed here and never removed: Node drops a signal that arrived while
// JavaScript ran (start-up under load: module evaluation, argument parsing) and was still
// waiting to be dispatched when the last listener went, so a listener swapped for another
// would lose it. A Ctrl-C that arrives before interruptible() and is dispatched after it
// interrupts the command (its CPUs start and stop at once, the results are written).

/** What the next Ctrl-C does: null, exit 130 (nothing ran, or the second one). */
let onCtrlC: (() => void) | null = null;
process.on('SIGINT', () => {
  const f = onCtrlC;
  onCtrlC = null;
  if (f === null) process.exit(130);
  else f();
});

/** From now on the first Ctrl-C aborts the returned signal (after `onFirst`), the second exits. */
export function interruptible(onFirst: () => void): AbortController {
  const ac = new AbortController();
  onCtrlC = () => {
    onFirst();
    ac.abort();
  };
  return ac;
}
