import type { Cache } from '../cache/cache.js';
import type { WriteOptions } from '../cache/context.js';
import { assertKey, type Key } from '../format/key.js';
import { type AnyCache, call, runAsync, runSync, type Steps, transact } from './steps.js';

/** `[total, count]`, stored as a JSON string so that every codec can store it. */
function parseTally(value: unknown): [number, number] | undefined {
  if (typeof value !== 'string') return undefined;
  try {
    const tally = JSON.parse(value) as unknown;
    return Array.isArray(tally) && typeof tally[0] === 'number' && typeof tally[1] === 'number'
      ? [tally[0], tally[1]]
      : undefined;
  } catch {
    return undefined;
  }
}

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

  *#add(value: number): Steps<void> {
    if (typeof value !== 'number' || Number.isNaN(value)) {
      throw new TypeError('diskcache-ts: Averager.add needs a number');
    }
    const { key } = this;
    const write = this.#write;
    yield* transact(this.cache, function* (view) {
      const [total, count] = parseTally(yield* call(view, 'get', key)) ?? [0, 0];
      yield* call(view, 'set', key, JSON.stringify([total + value, count + 1]), write);
    });
  }

  *#get(): Steps<number | undefined> {
    const tally = parseTally(yield* call(this.cache, 'get', this.key));
    return tally && tally[1] > 0 ? tally[0] / tally[1] : undefined;
  }

  *#pop(): Steps<number | undefined> {
    const { key } = this;
    return yield* transact(this.cache, function* (view) {
      const tally = parseTally(yield* call(view, 'get', key));
      yield* call(view, 'delete', key);
      return tally && tally[1] > 0 ? tally[0] / tally[1] : undefined;
    });
  }

  /** Adds `value` to the average. */
  add(value: number): Promise<void> {
    return runAsync(this.#add(value));
  }
  /** {@link add}, synchronously. */
  addSync(value: number): void {
    runSync(this.#add(value));
  }
  /** The average of the values added, or `undefined` if none was. */
  get(): Promise<number | undefined> {
    return runAsync(this.#get());
  }
  /** {@link get}, synchronously. */
  getSync(): number | undefined {
    return runSync(this.#get());
  }
  /** The average, and starts over (removes the entry); `undefined` if no value was added. */
  pop(): Promise<number | undefined> {
    return runAsync(this.#pop());
  }
  /** {@link pop}, synchronously. */
  popSync(): number | undefined {
    return runSync(this.#pop());
  }
}
