import type { Cache } from '../cache/cache.js';
import type { WriteOptions } from '../cache/context.js';
import type { Key } from '../format/key.js';
import {
  type AcquireOptions,
  type Attempt,
  checkTimeout,
  deleteIfSame,
  encodeHolder,
  type LeaseOptions,
  newHolder,
  notHeld,
  resolveLease,
  showKey,
  spin,
  takeIfFree,
} from './lease.js';
import { type AnyCache, invoke, runAsync, runSync, type Steps, transact } from './steps.js';

/**
 * A cross-process mutual-exclusion lock kept as one entry of a cache (python-diskcache's
 * `recipes.Lock`, made safer): `acquire` stores a record of the holder under the key if no live
 * entry is there, and `release` removes it only if it still holds that record, so a holder whose lock
 * expired cannot release someone else's. Both are cache transactions, so they are serialized across
 * processes with each other and with takeovers. The entry expires after `ttl` (10 minutes by default) so that a holder that
 * crashed does not block forever; a dead holder on the same host is detected at once. Not re-entrant
 * (see {@link RLock}). One instance may be shared by concurrent async callers in a process: they wait
 * for each other like separate processes do.
 *
 * @example
 * const lock = new Lock(cache, 'report', { ttl: 30_000 });
 * await lock.withLock(async () => {
 *   // one process at a time
 * });
 * {
 *   await using held = await lock.acquire(); // released at the end of the block
 * }
 */
export class Lock {
  /** The cache holding the lock's entry. */
  readonly cache: Cache<unknown>;
  /** The key of the lock's entry. */
  readonly key: Key;
  readonly #write: WriteOptions;
  readonly #timeout: number;
  /** The holder record of the current acquisition by this instance. */
  #held: string | undefined;

  /** A lock on `key` in `cache`; nothing is written until {@link acquire}. */
  constructor(cache: AnyCache, key: Key, options: Lock.Options = {}) {
    const { ttl, timeout, tag } = resolveLease(cache, key, options);
    this.cache = cache as Cache<unknown>;
    this.key = key;
    this.#write = { ttl, tag };
    this.#timeout = timeout;
  }

  *#acquire(options: AcquireOptions | undefined): Steps<void> {
    const timeout = checkTimeout(options?.timeout) ?? this.#timeout;
    const { cache, key } = this;
    const mine = encodeHolder(newHolder());
    const write = this.#write;
    yield* spin(`lock ${showKey(key)}`, cache.directory, timeout, function* (): Steps<Attempt<void>> {
      const { taken, holder } = yield* transact(cache, (view) => takeIfFree(view, key, mine, write));
      return taken ? { taken, value: undefined } : { taken, holder };
    });
    this.#held = mine;
  }

  *#release(): Steps<void> {
    const mine = this.#held;
    if (mine === undefined) throw notHeld(`lock ${showKey(this.key)}`, this.cache.directory, this.key);
    const removed = yield* deleteIfSame(this.cache, this.key, mine);
    this.#held = undefined;
    if (!removed) throw notHeld(`lock ${showKey(this.key)}`, this.cache.directory, this.key);
  }

  *#withLock<T>(fn: () => T | Promise<T>): Steps<T> {
    yield* this.#acquire(undefined);
    try {
      return yield* invoke(fn);
    } finally {
      yield* this.#release();
    }
  }

  /**
   * Waits until the lock is free and takes it; returns the lock, so that
   * `await using held = await lock.acquire()` releases it at the end of the scope.
   * @throws LockTimeoutError after `timeout` milliseconds.
   */
  async acquire(options?: AcquireOptions): Promise<this> {
    await runAsync(this.#acquire(options));
    return this;
  }
  /** {@link acquire}, synchronously (blocks the thread while it waits). */
  acquireSync(options?: AcquireOptions): this {
    runSync(this.#acquire(options));
    return this;
  }

  /**
   * Releases the lock.
   * @throws CacheError `'ENOTHELD'` if this instance does not hold it (for example because its ttl
   * ran out and another holder took it: the critical section was not protected to the end).
   */
  release(): Promise<void> {
    return runAsync(this.#release());
  }
  /** {@link release}, synchronously. */
  releaseSync(): void {
    runSync(this.#release());
  }

  /** Whether anyone (in any process) holds the lock. */
  locked(): Promise<boolean> {
    return this.cache.has(this.key);
  }
  /** {@link locked}, synchronously. */
  lockedSync(): boolean {
    return this.cache.hasSync(this.key);
  }

  /** Runs `fn` holding the lock, and releases it however `fn` ends. */
  withLock<T>(fn: () => T | Promise<T>): Promise<T> {
    return runAsync(this.#withLock(fn));
  }
  /** {@link withLock} for a synchronous `fn`. */
  withLockSync<T>(fn: () => T): T {
    return runSync(this.#withLock(fn));
  }

  /** Releases the lock if this instance holds it (`using held = lock.acquireSync()`). */
  [Symbol.dispose](): void {
    if (this.#held !== undefined) this.releaseSync();
  }
  /** Releases the lock if this instance holds it (`await using held = await lock.acquire()`). */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#held !== undefined) await this.release();
  }
}

export namespace Lock {
  /** Options of `new Lock(cache, key, options)`. */
  export type Options = LeaseOptions;
}
