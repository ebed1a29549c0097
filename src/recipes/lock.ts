import type { Cache } from '../cache/cache.js';
import { type AnyCache, method } from '../cache/verbs.js';
import type { Key } from '../format/key.js';
import type { Op } from '../fs/runner.js';
import {
  type AcquireOptions,
  deleteIfSame,
  installLease,
  type Lease,
  type LeaseOptions,
  type LeaseTerms,
  notHeld,
  resolveLease,
  showKey,
  takeAny,
} from './lease.js';

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
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the merged interface declares the methods the static block installs.
export class Lock {
  /** The cache holding the lock's entry. */
  readonly cache: Cache<unknown>;
  /** The key of the lock's entry. */
  readonly key: Key;
  readonly #terms: LeaseTerms;
  /** The holder record of the current acquisition by this instance. */
  #held: string | undefined;

  /** A lock on `key` in `cache`; nothing is written until {@link acquire}. */
  constructor(cache: AnyCache, key: Key, options: Lock.Options = {}) {
    this.#terms = resolveLease(cache, key, options);
    this.cache = cache as Cache<unknown>;
    this.key = key;
  }

  *#acquire(options: AcquireOptions | undefined): Op<void> {
    const [, mine] = yield* takeAny(
      `lock ${showKey(this.key)}`,
      this.cache,
      [this.key],
      this.#terms,
      options,
    );
    this.#held = mine;
  }

  *#release(): Op<void> {
    const mine = this.#held;
    if (mine === undefined) throw notHeld(`lock ${showKey(this.key)}`, this.cache.directory, this.key);
    const removed = yield* deleteIfSame(this.cache, this.key, mine);
    this.#held = undefined;
    if (!removed) throw notHeld(`lock ${showKey(this.key)}`, this.cache.directory, this.key);
  }

  static {
    installLease(this, {
      acquire: (self, options) => self.#acquire(options),
      release: (self) => self.#release(),
      locked: (self) => method(self.cache, 'has', self.key),
      holds: (self) => self.#held !== undefined,
    });
  }
}

// The methods installed by installLease, for the type checker.
export interface Lock extends Lease {}

export namespace Lock {
  /** Options of `new Lock(cache, key, options)`. */
  export type Options = LeaseOptions;
}
