import type { Cache } from '../cache/cache.js';
import { type AnyCache, method, transact } from '../cache/verbs.js';
import type { Key } from '../format/key.js';
import type { Op } from '../fs/runner.js';
import {
  type AcquireOptions,
  encodeHolder,
  type Holder,
  holderIsDead,
  installLease,
  type Lease,
  type LeaseOptions,
  type LeaseTerms,
  newHolder,
  notHeld,
  parseHolder,
  resolveLease,
  showKey,
  spin,
  waitFor,
} from './lease.js';

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
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the merged interface declares the methods the static block installs.
export class RLock {
  /** The cache holding the lock's entry. */
  readonly cache: Cache<unknown>;
  /** The key of the lock's entry. */
  readonly key: Key;
  readonly #terms: LeaseTerms;
  readonly #owner: Holder = newHolder();
  /** Acquisitions by this instance not yet released, as far as this process knows (for dispose). */
  #depth = 0;

  /** A re-entrant lock on `key` in `cache`; nothing is written until {@link acquire}. */
  constructor(cache: AnyCache, key: Key, options: RLock.Options = {}) {
    this.#terms = resolveLease(cache, key, options);
    this.cache = cache as Cache<unknown>;
    this.key = key;
  }

  *#acquire(options: AcquireOptions | undefined): Op<void> {
    const timeout = waitFor(this.#terms, options);
    const { cache, key } = this;
    const owner = this.#owner;
    const { write } = this.#terms;
    yield* spin(`lock ${showKey(key)}`, cache.directory, timeout, () =>
      transact(cache, function* (view) {
        const current = yield* method(view, 'get', key);
        const holder = parseHolder(current);
        let count = 1;
        if (holder?.token === owner.token) count = (holder.count ?? 0) + 1;
        else if (current !== undefined && !holderIsDead(holder)) return { taken: false, holder };
        yield* method(view, 'set', key, encodeHolder({ ...owner, count }), write);
        return { taken: true, value: undefined };
      }),
    );
    this.#depth++;
  }

  *#release(): Op<void> {
    const { cache, key } = this;
    const owner = this.#owner;
    const { write } = this.#terms;
    yield* transact(cache, function* (view) {
      const holder = parseHolder(yield* method(view, 'get', key));
      const count = holder?.count ?? 0;
      if (holder?.token !== owner.token || count < 1)
        throw notHeld(`lock ${showKey(key)}`, cache.directory, key);
      if (count > 1) yield* method(view, 'set', key, encodeHolder({ ...owner, count: count - 1 }), write);
      else yield* method(view, 'delete', key);
    });
    this.#depth = Math.max(0, this.#depth - 1);
  }

  static {
    installLease(this, {
      acquire: (self, options) => self.#acquire(options),
      release: (self) => self.#release(),
      locked: (self) => method(self.cache, 'has', self.key),
      holds: (self) => self.#depth > 0,
    });
  }
}

// The methods installed by installLease, for the type checker.
export interface RLock extends Lease {}

export namespace RLock {
  /** Options of `new RLock(cache, key, options)`. */
  export type Options = LeaseOptions;
}
