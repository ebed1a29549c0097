import type { Cache } from '../cache/cache.js';
import type { WriteOptions } from '../cache/context.js';
import { type AnyCache, method, transact } from '../cache/verbs.js';
import { assertKey, type Key } from '../format/key.js';
import type { Op } from '../fs/runner.js';
import { type AsyncSurface, installTwins, over, type SyncSurface } from '../fs/twins.js';
import { parsePair } from './pair.js';

/**
 * A running average shared by processes (python-diskcache's `recipes.Averager`): the total and the
 * count live in one entry, updated in a cache transaction, so concurrent `add`s are never lost.
 *
 * @example
 * const latency = new Averager(cache, 'latency-ms');
 * await latency.add(12);
 * await latency.add(18);
 * await latency.get(); // 15
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the merged interface declares the methods the static block installs.
export class Averager {
  /** The cache holding the average. */
  readonly cache: Cache<unknown>;
  /** The key of its entry. */
  readonly key: Key;
  readonly #write: WriteOptions;

  /** An average kept under `key`; `ttl` and `tag` apply to its entry (renewed by each `add`). */
  constructor(cache: AnyCache, key: Key, options: WriteOptions = {}) {
    assertKey(key);
    this.cache = cache as Cache<unknown>;
    this.key = key;
    this.#write = { ttl: options.ttl ?? null, tag: options.tag ?? null };
  }

  *#add(value: number): Op<void> {
    if (typeof value !== 'number' || Number.isNaN(value)) {
      throw new TypeError('diskcache-ts: Averager.add needs a number');
    }
    const { key } = this;
    const write = this.#write;
    yield* transact(this.cache, function* (view) {
      const [total, count] = parsePair(yield* method(view, 'get', key)) ?? [0, 0];
      yield* method(view, 'set', key, JSON.stringify([total + value, count + 1]), write);
    });
  }

  *#get(): Op<number | undefined> {
    const tally = parsePair(yield* method(this.cache, 'get', this.key));
    return tally && tally[1] > 0 ? tally[0] / tally[1] : undefined;
  }

  *#pop(): Op<number | undefined> {
    const { key } = this;
    return yield* transact(this.cache, function* (view) {
      const tally = parsePair(yield* method(view, 'get', key));
      yield* method(view, 'delete', key);
      return tally && tally[1] > 0 ? tally[0] / tally[1] : undefined;
    });
  }

  static {
    installTwins(
      this,
      {
        add: (self: Averager, value: number) => self.#add(value),
        get: (self: Averager) => self.#get(),
        pop: (self: Averager) => self.#pop(),
      },
      over((self: Averager) => self),
    );
  }
}

/** The operations of an {@link Averager}, in their synchronous form; each is installed as `name()` (a Promise) and `nameSync()`. */
interface AveragerMethods {
  /** Adds `value` to the average. */
  add(value: number): void;
  /** The average of the values added, or `undefined` if none was. */
  get(): number | undefined;
  /** The average, and starts over (removes the entry); `undefined` if no value was added. */
  pop(): number | undefined;
}

// The methods installed by the static block, for the type checker.
export interface Averager extends AsyncSurface<AveragerMethods>, SyncSurface<AveragerMethods> {}
