/**
 * Ctrl-C while a command runs. The first SIGINT asks the command to stop at its next safe point:
 * `clear` and `ls` once the entries in hand are done, the other commands once their one call to the
 * cache returns; so the counters always match the entries. A second SIGINT exits at once.
 */

/** What a command sees of Ctrl-C. */
export interface Interrupt {
  /** Whether Ctrl-C was pressed. */
  readonly requested: boolean;
  /** Runs `listener` on the first Ctrl-C (at once if it was already pressed); returns a remover. */
  onRequest(listener: () => void): () => void;
}

/** An {@link Interrupt} that never comes (for work that runs without a terminal's signals). */
export const NEVER: Interrupt = { requested: false, onRequest: () => () => {} };

/** Catches SIGINT until `dispose()`: the first is an {@link Interrupt}, the second runs `abort`. */
export function catchInterrupts(abort: () => never): Interrupt & { dispose(): void } {
  const listeners = new Set<() => void>();
  let requested = false;
  const onSignal = () => {
    if (requested) abort();
    requested = true;
    for (const listener of [...listeners]) listener();
    listeners.clear();
  };
  process.on('SIGINT', onSignal);
  return {
    get requested() {
      return requested;
    },
    onRequest(listener) {
      if (requested) {
        listener();
        return () => {};
      }
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    dispose() {
      process.off('SIGINT', onSignal);
    },
  };
}
