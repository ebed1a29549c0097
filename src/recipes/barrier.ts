import type { AnyCache } from '../cache/verbs.js';
import type { Key } from '../format/key.js';

/** What {@link barrier} needs of a lock: {@link Lock}, {@link RLock} and {@link BoundedSemaphore} qualify. */
export interface Lockable {
  withLock<T>(fn: () => T | Promise<T>): Promise<T>;
  withLockSync<T>(fn: () => T): T;
}

/** A lock class: `new LockClass(cache, key, options)`. */
export type LockClass<O> = new (cache: AnyCache, key: Key, options?: O) => Lockable;

/** Options of {@link barrier}: the lock's key, and the options passed to the lock class. */
export type BarrierOptions<O> = O & {
  /**
   * The key of the lock.
   * @default `barrier:` + `fn.name` (required if `fn` is anonymous)
   */
  name?: Key;
};

function split<O>(fn: { name: string }, options: BarrierOptions<O> | undefined): [Key, O] {
  const { name, ...lockOptions } = (options ?? {}) as BarrierOptions<O>;
  if (name !== undefined) return [name, lockOptions as O];
  if (typeof fn !== 'function') throw new TypeError('diskcache-ts: barrier needs a function to wrap');
  if (!fn.name) throw new TypeError('diskcache-ts: barrier of an anonymous function needs options.name');
  return [`barrier:${fn.name}`, lockOptions as O];
}

/**
 * Wraps `fn` so that every call runs while holding a lock of `LockClass` (`Lock`, `RLock` or
 * `BoundedSemaphore`) on one key: calls from all processes that use the same cache and name are
 * serialized (or, with a semaphore, limited). Each call takes its own lock instance. The wrapper
 * returns a Promise.
 *
 * @example
 * const report = barrier(cache, Lock, async () => writeReport());
 * await report(); // one process at a time
 */
export function barrier<A extends unknown[], R, O = Record<never, never>>(
  cache: AnyCache,
  LockClass: LockClass<O>,
  fn: (...args: A) => R,
  options?: BarrierOptions<O>,
): (...args: A) => Promise<Awaited<R>> {
  const [key, lockOptions] = split(fn, options);
  return (...args: A) =>
    new LockClass(cache, key, lockOptions).withLock(async () => await fn(...args)) as Promise<Awaited<R>>;
}

/** {@link barrier} for synchronous functions: the wrapper blocks the thread while it waits. */
export function barrierSync<A extends unknown[], R, O = Record<never, never>>(
  cache: AnyCache,
  LockClass: LockClass<O>,
  fn: (...args: A) => R,
  options?: BarrierOptions<O>,
): (...args: A) => R {
  const [key, lockOptions] = split(fn, options);
  return (...args: A) => new LockClass(cache, key, lockOptions).withLockSync(() => fn(...args));
}
