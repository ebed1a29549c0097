import type { Cache } from '../cache/cache.js';
import { type AnyCache, method } from '../cache/verbs.js';
import type { Key } from '../format/key.js';
import type { Op } from '../fs/runner.js';
import {
  type AcquireOptions,
  deleteIfSame,
  derivedKey,
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
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the merged interface declares the methods the static block installs.
export class BoundedSemaphore {
  /** The cache holding the permits. */
  readonly cache: Cache<unknown>;
  /** The semaphore's key. */
  readonly key: Key;
  /** The number of permits. */
  readonly value: number;
  readonly #terms: LeaseTerms;
  readonly #permits: string[];
  /** The permits this instance holds: `[permit key, holder record]`, most recent last. */
  readonly #held: [string, string][] = [];

  /** A semaphore on `key` in `cache` with `options.value` permits (default 1). */
  constructor(cache: AnyCache, key: Key, options: BoundedSemaphore.Options = {}) {
    this.#terms = resolveLease(cache, key, options, ['value']);
    const value = options.value ?? 1;
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new RangeError('diskcache-ts: a semaphore value must be a positive integer');
    }
    this.cache = cache as Cache<unknown>;
    this.key = key;
    this.value = value;
    this.#permits = Array.from({ length: value }, (_, i) => derivedKey(key, `permit ${i}`));
  }

  *#acquire(options: AcquireOptions | undefined): Op<[string, string]> {
    const what = `semaphore ${showKey(this.key)}`;
    const held = (yield* takeAny(what, this.cache, this.#permits, this.#terms, options)) as [string, string];
    this.#held.push(held);
    return held;
  }

  /** Gives back `held` (by default the permit taken last). */
  *#release(held = this.#held.at(-1)): Op<void> {
    if (held === undefined) throw notHeld(`semaphore ${showKey(this.key)}`, this.cache.directory, this.key);
    this.#held.splice(this.#held.indexOf(held), 1);
    if (!(yield* deleteIfSame(this.cache, held[0], held[1]))) {
      throw notHeld(`a permit of semaphore ${showKey(this.key)}`, this.cache.directory, this.key);
    }
  }

  *#locked(): Op<boolean> {
    for (const permit of this.#permits) if (!(yield* method(this.cache, 'has', permit))) return false;
    return true;
  }

  static {
    installLease(this, {
      acquire: (self, options) => self.#acquire(options),
      release: (self, held) => self.#release(held),
      locked: (self) => self.#locked(),
      holds: (self) => self.#held.length > 0,
    });
  }
}

// The methods installed by installLease, for the type checker.
export interface BoundedSemaphore extends Lease {}

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
