import * as v8 from 'node:v8';
import { LRUCache } from 'lru-cache';
import { assertArray, type BatchEntry, entryTerms } from '../cache/batch.js';
import type { CacheMethods } from '../cache/cache.js';
import type { WriteOptions } from '../cache/context.js';
import type { Clock } from '../cache/options.js';
import { checkIncr, isNumeric, sum } from '../cache/single.js';
import type { AsyncSurface, SyncSurface } from '../cache/surfaces.js';
import { checkTtl, expiryOf } from '../cache/ttl.js';
import { CacheError } from '../errors.js';
import { assertKey, encodeKey, type Key } from '../format/key.js';
import { type Op, runSync } from '../fs/runner.js';
import { installTwins } from '../fs/twins.js';
import { assertOptionsObject, checkOptions } from '../option-names.js';

/**
 * The operations of a {@link MemoryCache}, in their synchronous form: the {@link Cache} methods that
 * make sense in memory, with the same semantics. Each is installed as `name()` (a Promise, for code
 * written against `Cache`) and `nameSync()`.
 */
export interface MemoryCacheMethods<V>
  extends Pick<
    CacheMethods<V>,
    | 'getEntry'
    | 'delete'
    | 'getMany'
    | 'deleteMany'
    | 'pop'
    | 'decr'
    | 'touch'
    | 'clear'
    | 'expire'
    | 'evict'
    | 'stats'
  > {
  /** The value stored under `key`, or `defaultValue` if it is missing or expired. Marks it recently used. */
  get(key: Key, defaultValue?: V): V | undefined;
  /** Stores `value` under `key` (by reference, not copied). `ttl` in ms; omitted: the cache's `ttl`. */
  set(key: Key, value: V, options?: WriteOptions): true;
  /** Stores `value` only if `key` is missing or expired; `true` if it stored it. */
  add(key: Key, value: V, options?: WriteOptions): boolean;
  /** Whether `key` is present and not expired (does not mark it used). */
  has(key: Key): boolean;
  /** Stores each `[key, value]` (or `{ key, value, ttl?, tag? }`), in order. */
  setMany(entries: readonly BatchEntry<V>[], options?: WriteOptions): true;
  /** Adds `delta` to the number under `key` (missing: `defaultValue`; `null`: throws `'EKEYMISSING'`). */
  incr(key: Key, delta?: number | bigint, defaultValue?: number | bigint | null): number | bigint;
  /** Entries held, including expired ones not yet removed. O(1). */
  count(): number;
  /** Estimated bytes of the entries held (see `sizeOf`). O(1). */
  volume(): number;
}

/** An entry as held in memory. */
interface Held {
  key: Key;
  value: unknown;
  expiresAt: number | null;
  tag: Key | null;
  storedAt: number;
  size: number;
}

interface State {
  lru: LRUCache<string, Held>;
  clock: Clock;
  ttl: number | null;
  statistics: boolean;
  hits: number;
  misses: number;
  sizeOf: (value: unknown, key: Key) => number;
  closed: boolean;
}

const KNOWN = new Set(['maxEntries', 'maxBytes', 'ttl', 'statistics', 'clock', 'sizeOf']);
const WRITE = new Set(['ttl', 'tag']);

/** A string that identifies a key; keys of different types never collide (as in `Cache`). */
function idOf(key: Key): string {
  assertKey(key);
  const { type, bytes } = encodeKey(key);
  return `${type}:${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1')}`;
}

/** The default size estimate: bytes for buffers and strings, the serialized size for other values. */
export function estimateSize(value: unknown): number {
  if (value instanceof Uint8Array) return value.byteLength;
  if (typeof value === 'string') return Buffer.byteLength(value);
  if (typeof value === 'bigint') return 16;
  if (value === null || typeof value !== 'object') return 8;
  try {
    return v8.serialize(value).byteLength;
  } catch {
    return 64;
  }
}

function sizeOfKey(key: Key): number {
  return key instanceof Uint8Array ? key.byteLength : typeof key === 'string' ? Buffer.byteLength(key) : 8;
}

function live(s: State, held: Held | undefined, now = s.clock.now()): held is Held {
  return held !== undefined && (held.expiresAt === null || held.expiresAt > now);
}

/** Validates write options; returns the expiry time and tag. */
function terms(s: State, options: WriteOptions | undefined): { expiresAt: number | null; tag: Key | null } {
  if (options === undefined) return { expiresAt: expiryOf(undefined, s.ttl, s.clock.now()), tag: null };
  checkOptions(options, WRITE, 'write');
  const expiresAt = expiryOf(options.ttl, s.ttl, s.clock.now());
  const tag = options.tag ?? null;
  if (tag !== null) assertKey(tag, 'tag');
  return { expiresAt, tag };
}

function store(
  s: State,
  key: Key,
  value: unknown,
  expiresAt: number | null,
  tag: Key | null,
  id = idOf(key),
) {
  const size = Math.max(1, Math.ceil(sizeOfKey(key) + s.sizeOf(value, key)));
  const held: Held = { key, value, expiresAt, tag, storedAt: s.clock.now(), size };
  s.lru.set(id, held, { size });
}

/** The live entry for `key` (marking it used), counting a hit or a miss; removes an expired one. */
function lookup(s: State, key: Key): Held | undefined {
  const id = idOf(key);
  const held = s.lru.get(id);
  const found = live(s, held) ? held : undefined;
  if (held !== undefined && found === undefined) s.lru.delete(id);
  if (s.statistics) {
    if (found) s.hits++;
    else s.misses++;
  }
  return found;
}

function incr(s: State, key: Key, delta: number | bigint = 1, defaultValue: number | bigint | null = 0) {
  checkIncr(delta, defaultValue);
  const id = idOf(key);
  const held = s.lru.peek(id);
  const current = live(s, held) ? held : undefined;
  if (current === undefined && defaultValue === null) {
    throw new CacheError('EKEYMISSING', `key ${String(key)} is not in the cache`, { key });
  }
  const value = current === undefined ? defaultValue : current.value;
  if (!isNumeric(value)) {
    throw new CacheError('ENOTNUMBER', `the value of key ${String(key)} is not a number`, { key });
  }
  const next = sum(value, delta);
  store(s, key, next, current?.expiresAt ?? null, current?.tag ?? null, id);
  return next;
}

function removeWhere(s: State, matches: (held: Held) => boolean): number {
  let removed = 0;
  for (const [id, held] of [...s.lru.entries()]) {
    if (matches(held) && s.lru.delete(id)) removed++;
  }
  return removed;
}

type Operations = {
  [K in keyof MemoryCacheMethods<unknown>]: (
    s: State,
    ...args: Parameters<MemoryCacheMethods<unknown>[K]>
  ) => ReturnType<MemoryCacheMethods<unknown>[K]>;
};

function remove(s: State, key: Key): boolean {
  const id = idOf(key);
  const held = s.lru.peek(id);
  s.lru.delete(id);
  return live(s, held);
}

/** Every operation, written once (synchronously: nothing here waits). */
const OPERATIONS: Operations = {
  get: (s, key, defaultValue) => {
    const held = lookup(s, key);
    return held === undefined ? defaultValue : held.value;
  },
  getEntry: (s, key) => {
    const held = lookup(s, key);
    return held === undefined ? undefined : { ...held };
  },
  set: (s, key, value, options) => {
    const { expiresAt, tag } = terms(s, options);
    store(s, key, value, expiresAt, tag);
    return true;
  },
  add: (s, key, value, options) => {
    const { expiresAt, tag } = terms(s, options);
    const id = idOf(key);
    if (live(s, s.lru.peek(id))) return false;
    store(s, key, value, expiresAt, tag, id);
    return true;
  },
  has: (s, key) => live(s, s.lru.peek(idOf(key))),
  delete: remove,
  getMany: (s, keys) => {
    assertArray(keys, 'keys');
    // Every key is checked before any is looked up (and marked used).
    for (const key of keys) assertKey(key);
    return keys.map((key) => OPERATIONS.get(s, key));
  },
  setMany: (s, entries, options) => {
    assertArray(entries, 'entries');
    terms(s, options);
    const laidOut = entries.map((entry) => {
      const [key, value, write] = entryTerms(entry, options);
      assertKey(key);
      return { key, value, ...terms(s, write) };
    });
    for (const { key, value, expiresAt, tag } of laidOut) store(s, key, value, expiresAt, tag);
    return true;
  },
  deleteMany: (s, keys) => {
    assertArray(keys, 'keys');
    for (const key of keys) assertKey(key);
    return keys.map((key) => remove(s, key));
  },
  pop: (s, key, defaultValue) => {
    const id = idOf(key);
    const held = s.lru.peek(id);
    s.lru.delete(id);
    return live(s, held) ? held.value : defaultValue;
  },
  incr,
  decr: (s, key, delta = 1, defaultValue) =>
    incr(
      s,
      key,
      typeof delta === 'bigint' ? -delta : typeof delta === 'number' ? -delta : delta,
      defaultValue,
    ),
  touch: (s, key, options) => {
    const id = idOf(key);
    const held = s.lru.peek(id);
    if (!live(s, held)) return false;
    const { expiresAt } = terms(s, { ttl: options?.ttl });
    held.expiresAt = expiresAt;
    return true;
  },
  clear: (s) => {
    const removed = s.lru.size;
    s.lru.clear();
    return removed;
  },
  expire: (s, now) => {
    if (now !== undefined && (typeof now !== 'number' || Number.isNaN(now))) {
      throw new TypeError('diskcache-ts: now must be a number of epoch milliseconds');
    }
    const at = now ?? s.clock.now();
    return removeWhere(s, (held) => held.expiresAt !== null && held.expiresAt <= at);
  },
  evict: (s, tag) => {
    const wanted = idOf(tag);
    return removeWhere(s, (held) => held.tag !== null && idOf(held.tag) === wanted);
  },
  count: (s) => s.lru.size,
  volume: (s) => s.lru.calculatedSize,
  stats: (s, options = {}) => {
    assertOptionsObject(options);
    const result = { hits: s.hits, misses: s.misses };
    if (options.reset) {
      s.hits = 0;
      s.misses = 0;
    }
    if (options.enable !== undefined) {
      if (typeof options.enable !== 'boolean') throw new TypeError('diskcache-ts: enable must be a boolean');
      s.statistics = options.enable;
    }
    return result;
  },
};

/** The operations as the twin installer takes them: generators that yield no effect. */
const TWINS = Object.fromEntries(
  Object.entries(OPERATIONS).map(([name, operation]) => {
    const op = operation as (s: State, ...args: unknown[]) => unknown;
    return [
      name,
      function* (s: State, ...args: unknown[]): Op<unknown> {
        return op(s, ...args);
      },
    ];
  }),
);

function positiveInteger(name: string, value: unknown): void {
  if (value !== undefined && !(Number.isSafeInteger(value) && (value as number) > 0)) {
    throw new RangeError(`diskcache-ts: options.${name} must be a positive integer`);
  }
}

/**
 * An in-process cache with the method names of {@link Cache} (both surfaces), for when persistence is
 * not wanted (python-diskcache users know it as the seed's `FastCache`). Least recently used entries
 * are evicted beyond `maxEntries` or `maxBytes`; the bookkeeping is
 * [lru-cache](https://github.com/isaacs/node-lru-cache)'s. Values are held by reference, not copied:
 * mutating a stored object changes what later `get`s return. Expiry follows `Cache`: an expired
 * entry is a miss, and is removed when it is read or by `expire()`. Nothing is shared between
 * processes.
 *
 * @example
 * const memo = new MemoryCache<string>({ maxEntries: 10_000, ttl: 60_000 });
 * memo.setSync('greeting', 'hello');
 * memo.getSync('greeting'); // 'hello'
 * await memo.get('greeting'); // the same, for code written against Cache
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the merged interface declares the methods the static block installs.
export class MemoryCache<V = unknown> {
  readonly #state: State;

  /** An empty cache; see {@link MemoryCache.Options}. */
  constructor(options: MemoryCache.Options<V> = {}) {
    checkOptions(options, KNOWN, 'MemoryCache');
    const { maxEntries, maxBytes = 2 ** 30, statistics = false, clock, sizeOf } = options;
    positiveInteger('maxEntries', maxEntries);
    positiveInteger('maxBytes', maxBytes);
    const ttl = checkTtl(options.ttl, 'options.ttl');
    if (typeof statistics !== 'boolean')
      throw new TypeError('diskcache-ts: options.statistics must be a boolean');
    if (clock !== undefined && typeof clock?.now !== 'function') {
      throw new TypeError('diskcache-ts: options.clock must have a now() method');
    }
    if (sizeOf !== undefined && typeof sizeOf !== 'function') {
      throw new TypeError('diskcache-ts: options.sizeOf must be a function');
    }
    this.#state = {
      lru: new LRUCache<string, Held>({ maxSize: maxBytes, ...(maxEntries ? { max: maxEntries } : {}) }),
      clock: clock ?? Date,
      ttl,
      statistics,
      hits: 0,
      misses: 0,
      sizeOf: (sizeOf as State['sizeOf'] | undefined) ?? estimateSize,
      closed: false,
    };
  }

  #open(): State {
    if (this.#state.closed) throw new CacheError('ECLOSED', 'the cache is closed');
    return this.#state;
  }

  static {
    installTwins(this, TWINS, {
      sync: (self, make) => runSync(undefined, make(self.#open())),
      // Nothing here waits: the Promise is settled once the operation has run, in this turn.
      async: async (self, make) => runSync(undefined, make(self.#open())),
    });
  }

  *#live<T>(pick: (held: Held) => T): IterableIterator<T> {
    const s = this.#open();
    const now = s.clock.now();
    for (const held of [...s.lru.values()]) if (live(s, held, now)) yield pick(held);
  }

  /** Every live key once, from the most to the least recently used. */
  keysSync(): IterableIterator<Key> {
    return this.#live((held) => held.key);
  }
  /** Every live value once, in the order of {@link keysSync}. */
  valuesSync(): IterableIterator<V> {
    return this.#live((held) => held.value as V);
  }
  /** Every live `[key, value]` once, in the order of {@link keysSync}. */
  entriesSync(): IterableIterator<[Key, V]> {
    return this.#live((held) => [held.key, held.value as V]);
  }
  /** {@link keysSync} as an async iterator (the surface of `Cache.keys`). */
  async *keys(): AsyncIterableIterator<Key> {
    yield* this.keysSync();
  }
  /** {@link valuesSync} as an async iterator. */
  async *values(): AsyncIterableIterator<V> {
    yield* this.valuesSync();
  }
  /** {@link entriesSync} as an async iterator. */
  async *entries(): AsyncIterableIterator<[Key, V]> {
    yield* this.entriesSync();
  }
  /** `for await (const key of cache)`: the keys. */
  [Symbol.asyncIterator](): AsyncIterableIterator<Key> {
    return this.keys();
  }
  /** `for (const key of cache)`: the keys. */
  [Symbol.iterator](): IterableIterator<Key> {
    return this.keysSync();
  }

  /** Whether {@link close} was called. */
  get closed(): boolean {
    return this.#state.closed;
  }
  /** Drops every entry; later calls throw a `CacheError` (`'ECLOSED'`). Idempotent. */
  closeSync(): void {
    this.#state.lru.clear();
    this.#state.closed = true;
  }
  /** {@link closeSync}, as a Promise. */
  async close(): Promise<void> {
    this.closeSync();
  }
  /** `using cache = new MemoryCache()` closes it at the end of the scope. */
  [Symbol.dispose](): void {
    this.closeSync();
  }
  /** `await using cache = new MemoryCache()` closes it at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** The Promise-returning surface. */
type AsyncMemoryMethods<V> = AsyncSurface<MemoryCacheMethods<V>, V>;
/** The synchronous surface. */
type SyncMemoryMethods<V> = SyncSurface<MemoryCacheMethods<V>, V>;

// The methods installed from OPERATIONS, for the type checker.
export interface MemoryCache<V> extends AsyncMemoryMethods<V>, SyncMemoryMethods<V> {}

export namespace MemoryCache {
  /** Options of `new MemoryCache(options)`. */
  export interface Options<V = unknown> {
    /**
     * The most entries held; beyond it the least recently used go. Unbounded if omitted
     * (`maxBytes` still applies).
     */
    maxEntries?: number;
    /**
     * The most bytes held, as estimated by `sizeOf` (plus each key's bytes); beyond it the least
     * recently used entries go. An entry larger than this is not stored.
     * @default 2 ** 30 (1 GiB, as `Cache`'s sizeLimit)
     */
    maxBytes?: number;
    /**
     * Time to live in milliseconds of entries written without a `ttl`; `0` or `null`: they never expire.
     * @default null
     */
    ttl?: number | null | undefined;
    /**
     * Count hits and misses (see `stats()`).
     * @default false
     */
    statistics?: boolean;
    /**
     * The clock for store times and expiry; inject one in tests to move time without sleeping.
     * @default Date
     */
    clock?: Clock;
    /**
     * The size of a value in bytes, for `maxBytes` and `volume()`.
     * @default byte length for Uint8Array and string, 8 for numbers and other primitives, the
     * `v8.serialize` length for objects (a cost on every `set` of an object)
     */
    sizeOf?: (value: V, key: Key) => number;
  }
}
