/**
 * The asynchronous surface's share of one turn of the event loop. Inline primitives (and the work
 * between them) resolve in microtasks, so a chain of awaited operations would never let timers, I/O
 * or other requests run: once the steps of the current turn have taken {@link TURN_BUDGET_MS} of the
 * clock, or {@link TURN_STEPS} steps whatever the clock says, the next steps wait, first come first
 * served, for later turns (`setImmediate`), where they are let through one at a time while the new
 * turn has room. A short burst (one `await cache.get()` in a request) never waits.
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
/** A later turn is scheduled, which starts a new budget. */
let turnScheduled = false;
/** Steps waiting for room, in arrival order, from `head` on. */
const waiting: (() => void)[] = [];
let head = 0;

function scheduleTurn(): void {
  if (turnScheduled) return;
  turnScheduled = true;
  setImmediate(newTurn);
}

function newTurn(): void {
  turnScheduled = false;
  startedAt = undefined;
  steps = 0;
  releaseNext();
}

/** Counts one more step in this turn, if it has room for it. */
function claimStep(): boolean {
  const now = performance.now();
  if (startedAt === undefined) {
    startedAt = now;
    scheduleTurn();
  } else if (steps >= TURN_STEPS || now - startedAt >= TURN_BUDGET_MS) {
    return false;
  }
  steps++;
  return true;
}

/**
 * Lets the first waiting step go if this turn has room, then (after it has run, in the microtasks
 * its release queues first) considers the next one.
 */
function releaseNext(): void {
  if (head === waiting.length) return;
  if (!claimStep()) {
    scheduleTurn();
    return;
  }
  const release = waiting[head] as () => void;
  waiting[head++] = () => {};
  if (head === waiting.length) {
    waiting.length = 0;
    head = 0;
  }
  release();
  queueMicrotask(releaseNext);
}

/**
 * Called before each step of an asynchronous operation: `undefined` if the current turn has room
 * for it (and no earlier step is waiting), else a Promise that resolves when the step may run, in a
 * later turn of the event loop.
 */
export function turnPause(): Promise<void> | undefined {
  if (head === waiting.length && claimStep()) return undefined;
  scheduleTurn();
  return new Promise((resolve) => waiting.push(resolve));
}
