import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Cache } from '../cache/cache.js';
import {
  callKey,
  type Memoized,
  type MemoizedSync,
  type MemoizeOptions,
  planMemo,
} from '../cache/memoize.js';
import { refuseForeign } from '../cache/open-settings.js';
import { type CacheOptions, validateDirectory, validateOptions } from '../cache/options.js';
import type { PullOptions, PushOptions } from '../cache/queue.js';
import { list, method, mutex } from '../cache/verbs.js';
import type { Key } from '../format/key.js';
import { emit, iterateAsync, iterateSync, type Op } from '../fs/runner.js';
import { type AsyncSurface, installTwins, over, type SyncSurface } from '../fs/twins.js';

/**
 * The operations of an {@link Index}, in their synchronous form; each is installed as `name()`
 * (a Promise) and `nameSync()` from one body. Costs are in cache calls; every write takes the
 * index's lock (one per directory, shared by processes), reads take none.
 */
export interface IndexMethods<V> {
  /** The value under `key`, or `defaultValue`. One read. */
  get(key: Key, defaultValue?: V): V | undefined;
  /**
   * Stores `value` under `key`. A new key goes to the end of the insertion order; replacing a
   * value keeps the key's place (as `Map` does). Under the lock: one read and one write, plus one
   * queue push for a new key.
   */
  set(key: Key, value: V): void;
  /** Whether `key` is present. One read. */
  has(key: Key): boolean;
  /** Removes `key`; `true` if it was present. Under the lock: one read and two removals. */
  delete(key: Key): boolean;
  /** Removes `key` and returns its value, or `defaultValue` if it was absent. Like `delete`. */
  pop(key: Key, defaultValue?: V): V | undefined;
  /**
   * Adds `value` to the queue named by `prefix` inside the index (python-diskcache's `Index.push`),
   * and returns its key: an integer, or `prefix-` and a zero-padded integer. The item is an ordinary
   * entry of the index, last in insertion order whatever the `side`. Under the lock: three writes.
   */
  push(value: V, options?: Pick<PushOptions, 'prefix' | 'side'>): Key;
  /** Removes and returns `[key, value]` from one end of a queue (`push`); exactly once across processes. */
  pull(options?: PullOptions): [Key, V] | undefined;
  /** The last (`last: false`: the first) entry in insertion order, without removing it. O(1) reads. */
  peekItem(options?: { last?: boolean }): [Key, V] | undefined;
  /** Removes and returns the last (`last: false`: the first) entry in insertion order. Under the lock, O(1). */
  popItem(options?: { last?: boolean }): [Key, V] | undefined;
  /** The number of entries. O(1). */
  length(): number;
  /** Removes every entry; returns how many. O(n), under the lock. */
  clear(): number;
}

/** An entry's stored value: its place in the insertion order (the key of its order item), and the value. */
type Slot = [at: number, value: unknown];

/** What the operations work on: the entries (key → slot), and the insertion order (a queue of keys). */
interface Parts {
  items: Cache<Slot>;
  order: Cache<Key | null>;
}

function isSlot(value: unknown): value is Slot {
  return Array.isArray(value) && value.length === 2 && typeof value[0] === 'number';
}

function* slotOf(p: Parts, key: Key): Op<Slot | undefined> {
  const slot = yield* method(p.items, 'get', key);
  return isSlot(slot) ? slot : undefined;
}

function* set(p: Parts, key: Key, value: unknown): Op<void> {
  yield* mutex(p.items, function* () {
    const current = yield* slotOf(p, key);
    if (current !== undefined) {
      yield* method(p.items, 'set', key, [current[0], value]);
      return;
    }
    // The order item first: a crash in between leaves an order item without an entry (skipped),
    // never an entry without an order item.
    const at = (yield* method(p.order, 'push', key)) as number;
    try {
      yield* method(p.items, 'set', key, [at, value]);
    } catch (error) {
      yield* method(p.order, 'delete', at);
      throw error;
    }
  });
}

function* pop(p: Parts, key: Key, defaultValue?: unknown): Op<unknown> {
  return yield* mutex(p.items, function* () {
    const current = yield* slotOf(p, key);
    if (current === undefined) return defaultValue;
    yield* method(p.items, 'delete', key);
    yield* method(p.order, 'delete', current[0]);
    return current[1];
  });
}

function* remove(p: Parts, key: Key): Op<boolean> {
  const missing = Symbol('missing');
  return (yield* pop(p, key, missing)) !== missing;
}

function* push(p: Parts, value: unknown, options: Pick<PushOptions, 'prefix' | 'side'> = {}): Op<Key> {
  const { prefix, side } = options ?? {};
  return yield* mutex(p.items, function* () {
    const at = (yield* method(p.order, 'push', null)) as number;
    let key: Key;
    try {
      key = yield* method(p.items, 'push', [at, value], { prefix, side });
    } catch (error) {
      yield* method(p.order, 'delete', at);
      throw error;
    }
    yield* method(p.order, 'set', at, key);
    return key;
  });
}

function* pull(p: Parts, options: PullOptions = {}): Op<[Key, unknown] | undefined> {
  return yield* mutex(p.items, function* () {
    const item = yield* method(p.items, 'pull', options);
    if (item === undefined) return undefined;
    const [key, slot] = item;
    if (!isSlot(slot)) return [key, slot] as [Key, unknown];
    yield* method(p.order, 'delete', slot[0]);
    return [key, slot[1]] as [Key, unknown];
  });
}

/** The entry an order item stands for, if that item is the entry's current place. */
function* entryAt(p: Parts, at: Key, key: Key | null): Op<[Key, unknown] | undefined> {
  if (key === null || typeof at !== 'number') return undefined;
  const slot = yield* slotOf(p, key);
  return slot !== undefined && slot[0] === at ? [key, slot[1]] : undefined;
}

function* peekItem(p: Parts, options: { last?: boolean } = {}): Op<[Key, unknown] | undefined> {
  const side = (options?.last ?? true) ? 'back' : 'front';
  for (;;) {
    const end = yield* method(p.order, 'peek', { side });
    if (end === undefined) return undefined;
    const found = yield* entryAt(p, end[0], end[1]);
    if (found !== undefined) return found;
    // An order item left by a crash, or by a write in progress: drop it under the lock if it
    // still stands for nothing once the writers are out, then look again.
    yield* mutex(p.items, function* () {
      if ((yield* entryAt(p, end[0], end[1])) === undefined) yield* method(p.order, 'delete', end[0]);
    });
  }
}

function* popItem(p: Parts, options: { last?: boolean } = {}): Op<[Key, unknown] | undefined> {
  const side = (options?.last ?? true) ? 'back' : 'front';
  return yield* mutex(p.items, function* () {
    for (;;) {
      const end = yield* method(p.order, 'peek', { side });
      if (end === undefined) return undefined;
      const found = yield* entryAt(p, end[0], end[1]);
      if (found !== undefined) yield* method(p.items, 'delete', found[0]);
      yield* method(p.order, 'delete', end[0]);
      if (found !== undefined) return found;
    }
  });
}

function* clear(p: Parts): Op<number> {
  return yield* mutex(p.items, function* () {
    const removed = yield* method(p.items, 'clear');
    yield* method(p.order, 'clear');
    return removed;
  });
}

/** The order items, oldest first. */
function* orderItems(p: Parts): Op<[Key, Key | null][]> {
  const items = yield* list(p.order, 'entries');
  return items
    .filter((item): item is [number, Key | null] => typeof item[0] === 'number')
    .sort((a, b) => a[0] - b[0]);
}

/** Emits `pick(entry)` for each entry in insertion order; an order item that stands for nothing is skipped. */
function* walk<T>(p: Parts, pick: (entry: [Key, unknown]) => T): Op<void> {
  for (const [at, key] of yield* orderItems(p)) {
    const found = yield* entryAt(p, at, key);
    if (found !== undefined) yield* emit(pick(found));
  }
}

type Operations = {
  [K in keyof IndexMethods<unknown>]: (
    p: Parts,
    ...args: Parameters<IndexMethods<unknown>[K]>
  ) => Op<ReturnType<IndexMethods<unknown>[K]>>;
};

/** Every operation, written once. */
const OPERATIONS: Operations = {
  get: function* (p, key, defaultValue) {
    const slot = yield* slotOf(p, key);
    return slot === undefined ? defaultValue : slot[1];
  },
  set,
  has: (p, key) => method(p.items, 'has', key),
  delete: remove,
  pop,
  push,
  pull,
  peekItem,
  popItem,
  length: (p) => method(p.items, 'count'),
  clear,
};

/**
 * A persistent mapping in a directory that keeps insertion order (python-diskcache's `Index`), safe
 * to share between processes. Every operation exists as `name()` (a Promise) and `nameSync()`; see
 * {@link IndexMethods} for each one's cost.
 *
 * Design: the directory holds two caches (eviction policy `'none'`). `items` maps each key to
 * `[place, value]`; `order` is a queue of keys whose item keys are the places. A new key is pushed on
 * the order queue, and its place stored with its value; a removal removes both. Iteration walks the
 * order queue and yields the keys whose stored place matches, so an order item left behind by a
 * crash is skipped, never shown. Writes run one at a time under the `items` cache's transaction lock;
 * reads take no lock. Iteration lists the order queue first: O(n) reads plus a sort, then one read
 * per entry.
 *
 * @example
 * const users = new Index<{ name: string }>('/tmp/users');
 * await users.set('ada', { name: 'Ada' });
 * await users.set('alan', { name: 'Alan' });
 * for await (const [id, user] of users.entries()) console.log(id, user.name); // insertion order
 * await users.popItem(); // ['alan', { name: 'Alan' }]
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the merged interface declares the methods the static block installs.
export class Index<V = unknown> {
  /** The absolute path of the index's directory. */
  readonly directory: string;
  readonly #parts: Parts;

  /**
   * Opens the index in `directory` (created if needed; a new temporary directory if omitted). The
   * other options are the {@link Cache}'s, except the eviction policy, which is always `'none'`.
   */
  constructor(directory?: string, options: Index.Options = {}) {
    validateDirectory(directory);
    validateOptions(options, [], 'Index');
    this.directory =
      directory === undefined ? mkdtempSync(join(tmpdir(), 'diskcache-index-')) : resolve(directory);
    refuseForeign(this.directory, undefined, (name) => name === 'items' || name === 'order');
    const cacheOptions: CacheOptions = { ...(options ?? {}), evictionPolicy: 'none' };
    const items = new Cache<Slot>(join(this.directory, 'items'), cacheOptions);
    try {
      this.#parts = { items, order: new Cache<Key | null>(join(this.directory, 'order'), cacheOptions) };
    } catch (error) {
      items.closeSync();
      throw error;
    }
  }

  static {
    installTwins(
      this,
      OPERATIONS,
      over((self: Index) => self.#parts),
    );
  }

  /** Every key once, in insertion order. */
  keys(): AsyncIterableIterator<Key> {
    return this.#iterateAsync((entry) => entry[0]);
  }
  /** {@link keys}, synchronously. */
  keysSync(): IterableIterator<Key> {
    return this.#iterateSync((entry) => entry[0]);
  }
  /** Every value once, in the insertion order of their keys. */
  values(): AsyncIterableIterator<V> {
    return this.#iterateAsync((entry) => entry[1] as V);
  }
  /** {@link values}, synchronously. */
  valuesSync(): IterableIterator<V> {
    return this.#iterateSync((entry) => entry[1] as V);
  }
  /** Every `[key, value]` once, in insertion order. */
  entries(): AsyncIterableIterator<[Key, V]> {
    return this.#iterateAsync((entry) => entry as [Key, V]);
  }
  /** {@link entries}, synchronously. */
  entriesSync(): IterableIterator<[Key, V]> {
    return this.#iterateSync((entry) => entry as [Key, V]);
  }
  /** `for await (const key of index)`: the keys in insertion order. */
  [Symbol.asyncIterator](): AsyncIterableIterator<Key> {
    return this.keys();
  }
  /** `for (const key of index)`: the keys in insertion order. */
  [Symbol.iterator](): IterableIterator<Key> {
    return this.keysSync();
  }

  #iterateAsync<T>(pick: (entry: [Key, unknown]) => T): AsyncIterableIterator<T> {
    return iterateAsync<T>(undefined, walk(this.#parts, pick));
  }
  #iterateSync<T>(pick: (entry: [Key, unknown]) => T): IterableIterator<T> {
    return iterateSync<T>(undefined, walk(this.#parts, pick));
  }

  /**
   * Wraps `fn` so that its results are kept in the index, under the key `cacheKey(...args)` derived
   * from `options.name` (default: `fn.name` with a digest of its source) and the arguments as in
   * {@link Cache.memoize} (no expiry or tag: an index
   * keeps what it is given). The wrapper returns a Promise; errors are not kept.
   */
  memoize<A extends unknown[], R>(fn: (...args: A) => R, options: IndexMemoizeOptions = {}): Memoized<A, R> {
    const plan = planMemo(fn, options);
    const memoized = async (...args: A): Promise<Awaited<R>> => {
      const key = callKey(plan, args);
      if (await this.has(key)) return (await this.get(key)) as Awaited<R>;
      const result = await fn(...args);
      await this.set(key, result as unknown as V);
      return result;
    };
    return Object.assign(memoized, { cacheKey: (...args: A) => callKey(plan, args) });
  }

  /** {@link memoize} for synchronous functions. */
  memoizeSync<A extends unknown[], R>(
    fn: (...args: A) => R,
    options: IndexMemoizeOptions = {},
  ): MemoizedSync<A, R> {
    const plan = planMemo(fn, options);
    const memoized = (...args: A): R => {
      const key = callKey(plan, args);
      if (this.hasSync(key)) return this.getSync(key) as R;
      const result = fn(...args);
      this.setSync(key, result as unknown as V);
      return result;
    };
    return Object.assign(memoized, { cacheKey: (...args: A) => callKey(plan, args) });
  }

  /** Closes the underlying caches. */
  async close(): Promise<void> {
    await this.#parts.items.close();
    await this.#parts.order.close();
  }
  /** {@link close}, synchronously. */
  closeSync(): void {
    this.#parts.items.closeSync();
    this.#parts.order.closeSync();
  }
  /** `using index = new Index(dir)` closes it at the end of the scope. */
  [Symbol.dispose](): void {
    this.closeSync();
  }
  /** `await using index = new Index(dir)` closes it at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

// The methods installed from OPERATIONS, for the type checker.
export interface Index<V> extends AsyncSurface<IndexMethods<V>>, SyncSurface<IndexMethods<V>> {}

/** Options of `Index.memoize`: a name and whether arguments are typed. */
export type IndexMemoizeOptions = Pick<MemoizeOptions, 'name' | 'typed'>;

export namespace Index {
  /** Options of `new Index(directory, options)`: the {@link Cache}'s, except the eviction policy. */
  export type Options = Omit<CacheOptions, 'evictionPolicy'>;
}
