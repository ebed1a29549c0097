/**
 * The asynchronous surface's share of one turn of the event loop. Inline primitives (and the work
 * between them) resolve in microtasks, so a chain of awaited operations would never let timers, I/O
 * or other requests run: once the steps of the current turn have taken {@link TURN_BUDGET_MS} of the
 * clock, or {@link TURN_STEPS} steps whatever the clock says, the next step waits for a later turn
 * (a `setImmediate`). A short burst (one `await cache.get()` in a request) never waits.
 */

/** Milliseconds of one turn that the cache's steps may take before the next one waits. */
export const TURN_BUDGET_MS = 1;
/**
 * Steps (an operation's start, each primitive) in one turn, at most: a bound that holds on any
 * clock. About 100 µs of inline work at the least, so it only binds on machines much faster than
 * the time budget expects.
 */
export const TURN_STEPS = 128;

/** When the current turn's first step ran (`undefined`: none has yet). */
let startedAt: number | undefined;
let steps = 0;
/** The later turn that steps wait for once this one's budget is spent. */
let nextTurn: Promise<void> | undefined;

function endTurn(): void {
  startedAt = undefined;
  steps = 0;
  nextTurn = undefined;
}

/**
 * Called before each step of an asynchronous operation: `undefined` if the current turn has room
 * for it, else a Promise to await first, which resolves in a later turn of the event loop.
 */
export function turnPause(): Promise<void> | undefined {
  if (nextTurn !== undefined) return nextTurn;
  const now = performance.now();
  if (startedAt === undefined) {
    startedAt = now;
    steps = 1;
    setImmediate(endTurn);
    return undefined;
  }
  steps++;
  if (steps <= TURN_STEPS && now - startedAt < TURN_BUDGET_MS) return undefined;
  nextTurn = new Promise((resolve) => setImmediate(resolve));
  return nextTurn;
}
