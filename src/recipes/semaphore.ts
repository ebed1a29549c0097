import type { Cache } from '../cache/cache.js';
import type { WriteOptions } from '../cache/context.js';
import type { Key } from '../format/key.js';
import {
  type AcquireOptions,
  type Attempt,
  checkTimeout,
  deleteIfSame,
  derivedKey,
  encodeHolder,
  type Holder,
  type LeaseOptions,
  newHolder,
  notHeld,
  resolveLease,
  showKey,
  spin,
  takeIfFree,
} from './lease.js';
import { type AnyCache, call, invoke, runAsync, runSync, type Steps, transact } from './steps.js';

/**
 * A cross-process semaphore with `value` permits (python-diskcache's `recipes.BoundedSemaphore`).
 * Each permit is an entry of its own (`key` with a suffix), taken in a cache transaction and given
 * back only by the instance that took it: so each permit expires on its own after `ttl`, a dead
 * holder's permits are recovered without disturbing the others, and releasing more than was acquired
 * is an error rather than an extra permit. An attempt is one transaction that reads the permits in a
 * random order until it finds a free one: O(value) reads, which suits the small values semaphores
 * usually have. Every process must
 * use the same `value` for a key.
 *
 * @example
 * const downloads = new BoundedSemaphore(cache, 'downloads', { value: 3 });
 * await downloads.withLock(() => fetch(url)); // at most 3 at a time, across processes
 */
export class BoundedSemaphore {
  /** The cache holding the permits. */
  readonly cache: Cache<unknown>;
  /** The semaphore's key. */
  readonly key: Key;
  /** The number of permits. */
  readonly value: number;
  readonly #write: WriteOptions;
  readonly #timeout: number;
  readonly #permits: string[];
  /** The permits this instance holds: `[permit key, holder record]`, most recent last. */
  readonly #held: [string, string][] = [];

  /** A semaphore on `key` in `cache` with `options.value` permits (default 1). */
  constructor(cache: AnyCache, key: Key, options: BoundedSemaphore.Options = {}) {
    const { ttl, timeout, tag } = resolveLease(cache, key, options, ['value']);
    const value = options.value ?? 1;
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new RangeError('diskcache-ts: a semaphore value must be a positive integer');
    }
    this.cache = cache as Cache<unknown>;
    this.key = key;
    this.value = value;
    this.#write = { ttl, tag };
    this.#timeout = timeout;
    this.#permits = Array.from({ length: value }, (_, i) => derivedKey(key, `permit ${i}`));
  }

  *#acquire(options: AcquireOptions | undefined): Steps<[string, string]> {
    const timeout = checkTimeout(options?.timeout) ?? this.#timeout;
    const { cache } = this;
    const permits = this.#permits;
    const write = this.#write;
    const mine = encodeHolder(newHolder());
    const what = `semaphore ${showKey(this.key)}`;
    const taken = yield* spin(what, cache.directory, timeout, () => {
      const first = Math.floor(Math.random() * permits.length);
      return transact(cache, function* (view): Steps<Attempt<string>> {
        let holder: Holder | undefined;
        for (let i = 0; i < permits.length; i++) {
          const permit = permits[(first + i) % permits.length] as string;
          const attempt = yield* takeIfFree(view, permit, mine, write);
          if (attempt.taken) return { taken: true, value: permit };
          holder ??= attempt.holder;
        }
        return { taken: false, holder };
      });
    });
    const held: [string, string] = [taken, mine];
    this.#held.push(held);
    return held;
  }

  /** Gives back `held` (by default the permit taken last). */
  *#release(held = this.#held.at(-1)): Steps<void> {
    if (held === undefined) throw notHeld(`semaphore ${showKey(this.key)}`, this.cache.directory, this.key);
    this.#held.splice(this.#held.indexOf(held), 1);
    if (!(yield* deleteIfSame(this.cache, held[0], held[1]))) {
      throw notHeld(`a permit of semaphore ${showKey(this.key)}`, this.cache.directory, this.key);
    }
  }

  *#withLock<T>(fn: () => T | Promise<T>): Steps<T> {
    const held = yield* this.#acquire(undefined);
    try {
      return yield* invoke(fn);
    } finally {
      yield* this.#release(held);
    }
  }

  *#locked(): Steps<boolean> {
    for (const permit of this.#permits) if (!(yield* call(this.cache, 'has', permit))) return false;
    return true;
  }

  /**
   * Takes a permit, waiting while all are taken; returns the semaphore (for `await using`).
   * @throws LockTimeoutError after `timeout` milliseconds.
   */
  async acquire(options?: AcquireOptions): Promise<this> {
    await runAsync(this.#acquire(options));
    return this;
  }
  /** {@link acquire}, synchronously. */
  acquireSync(options?: AcquireOptions): this {
    runSync(this.#acquire(options));
    return this;
  }

  /**
   * Gives back the permit this instance took last.
   * @throws CacheError `'ENOTHELD'` if it holds none, or if the permit expired and was taken by another.
   */
  release(): Promise<void> {
    return runAsync(this.#release());
  }
  /** {@link release}, synchronously. */
  releaseSync(): void {
    runSync(this.#release());
  }

  /** Whether every permit is taken (an `acquire` would wait). */
  locked(): Promise<boolean> {
    return runAsync(this.#locked());
  }
  /** {@link locked}, synchronously. */
  lockedSync(): boolean {
    return runSync(this.#locked());
  }

  /** Runs `fn` holding a permit, and gives it back however `fn` ends. */
  withLock<T>(fn: () => T | Promise<T>): Promise<T> {
    return runAsync(this.#withLock(fn));
  }
  /** {@link withLock} for a synchronous `fn`. */
  withLockSync<T>(fn: () => T): T {
    return runSync(this.#withLock(fn));
  }

  /** Gives back the last permit if this instance holds one (`using held = sem.acquireSync()`). */
  [Symbol.dispose](): void {
    if (this.#held.length > 0) this.releaseSync();
  }
  /** Gives back the last permit if this instance holds one (`await using held = await sem.acquire()`). */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#held.length > 0) await this.release();
  }
}

export namespace BoundedSemaphore {
  /** Options of `new BoundedSemaphore(cache, key, options)`. */
  export interface Options extends LeaseOptions {
    /**
     * The number of permits.
     * @default 1
     */
    value?: number;
  }
}
