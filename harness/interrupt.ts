// Ctrl-C at any instant. The CLI imports this module before any other, so from the first
// instant its code runs a SIGINT exits 130 at once: nothing has run, nothing is lost. A
// command that runs CPUs calls interruptible() before it starts anything: from then the
// first Ctrl-C stops the CPUs and lets the command write its results (the runner, the
// sweep, the campaign and explore read the signal at every phase, start-up included), and a
// second one exits 130 at once.

/** Nothing has run yet: exit as a process killed by Ctrl-C does. */
const early = (): void => process.exit(130);
process.on('SIGINT', early);

/** From now on the first Ctrl-C aborts the returned signal (after `onFirst`), the second exits. */
export function interruptible(onFirst: () => void): AbortController {
  const ac = new AbortController();
  process.removeListener('SIGINT', early);
  process.once('SIGINT', () => {
    onFirst();
    ac.abort();
    process.once('SIGINT', () => process.exit(130));
  });
  return ac;
}
