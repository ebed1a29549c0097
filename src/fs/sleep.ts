/** What the synchronous sleep waits on: nothing ever wakes it, so it sleeps the whole time. */
const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Blocks the thread for `ms` milliseconds (nothing if `ms` is not positive). */
export function sleepSync(ms: number): void {
  if (ms > 0) Atomics.wait(sleeper, 0, 0, ms);
}

/** Resolves after `ms` milliseconds (on a later turn of the event loop, even for 0). */
export function sleepAsync(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}
