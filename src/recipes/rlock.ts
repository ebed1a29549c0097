import type { Cache } from '../cache/cache.js';
import type { WriteOptions } from '../cache/context.js';
import type { Key } from '../format/key.js';
import {
  type AcquireOptions,
  checkTimeout,
  encodeHolder,
  type Holder,
  holderIsDead,
  type LeaseOptions,
  newHolder,
  notHeld,
  parseHolder,
  resolveLease,
  showKey,
  spin,
} from './lease.js';
import { type AnyCache, call, invoke, runAsync, runSync, type Steps, transact } from './steps.js';

/**
 * A cross-process re-entrant lock (python-diskcache's `recipes.RLock`): the owner may acquire it again
 * while holding it, and must release it as many times. The owner is the `RLock` instance (python: the
 * thread), so create one instance per logical owner; concurrent async tasks that share an instance
 * share ownership. Its entry records the owner and the count, and every change to it is made in a
 * cache transaction. Like {@link Lock}, it expires after `ttl` and a dead holder on the same host is
 * detected at once.
 *
 * @example
 * const lock = new RLock(cache, 'tree');
 * await lock.withLock(async () => {
 *   await lock.withLock(async () => {}); // re-entrant: no deadlock
 * });
 */
export class RLock {
  /** The cache holding the lock's entry. */
  readonly cache: Cache<unknown>;
  /** The key of the lock's entry. */
  readonly key: Key;
  readonly #write: WriteOptions;
  readonly #timeout: number;
  readonly #owner: Holder = newHolder();
  /** Acquisitions by this instance not yet released, as far as this process knows (for dispose). */
  #depth = 0;

  /** A re-entrant lock on `key` in `cache`; nothing is written until {@link acquire}. */
  constructor(cache: AnyCache, key: Key, options: RLock.Options = {}) {
    const { ttl, timeout, tag } = resolveLease(cache, key, options);
    this.cache = cache as Cache<unknown>;
    this.key = key;
    this.#write = { ttl, tag };
    this.#timeout = timeout;
  }

  *#acquire(options: AcquireOptions | undefined): Steps<void> {
    const timeout = checkTimeout(options?.timeout) ?? this.#timeout;
    const { cache, key } = this;
    const owner = this.#owner;
    const write = this.#write;
    yield* spin(`lock ${showKey(key)}`, cache.directory, timeout, () =>
      transact(cache, function* (view) {
        const current = yield* call(view, 'get', key);
        const holder = parseHolder(current);
        let count = 1;
        if (holder?.token === owner.token) count = (holder.count ?? 0) + 1;
        else if (current !== undefined && !holderIsDead(holder)) return { taken: false, holder };
        yield* call(view, 'set', key, encodeHolder({ ...owner, count }), write);
        return { taken: true, value: undefined };
      }),
    );
    this.#depth++;
  }

  *#release(): Steps<void> {
    const { cache, key } = this;
    const owner = this.#owner;
    const write = this.#write;
    yield* transact(cache, function* (view) {
      const holder = parseHolder(yield* call(view, 'get', key));
      const count = holder?.count ?? 0;
      if (holder?.token !== owner.token || count < 1)
        throw notHeld(`lock ${showKey(key)}`, cache.directory, key);
      if (count > 1) yield* call(view, 'set', key, encodeHolder({ ...owner, count: count - 1 }), write);
      else yield* call(view, 'delete', key);
    });
    this.#depth = Math.max(0, this.#depth - 1);
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
   * Takes the lock, waiting while another owner holds it; returns the lock (for `await using`).
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
   * Releases one acquisition.
   * @throws CacheError `'ENOTHELD'` if this instance does not hold the lock.
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

  /** Runs `fn` holding the lock (re-entrant), and releases it however `fn` ends. */
  withLock<T>(fn: () => T | Promise<T>): Promise<T> {
    return runAsync(this.#withLock(fn));
  }
  /** {@link withLock} for a synchronous `fn`. */
  withLockSync<T>(fn: () => T): T {
    return runSync(this.#withLock(fn));
  }

  /** Releases one acquisition if this instance holds one (`using held = lock.acquireSync()`). */
  [Symbol.dispose](): void {
    if (this.#depth > 0) this.releaseSync();
  }
  /** Releases one acquisition if this instance holds one (`await using held = await lock.acquire()`). */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#depth > 0) await this.release();
  }
}

export namespace RLock {
  /** Options of `new RLock(cache, key, options)`. */
  export type Options = LeaseOptions;
}
