import { CacheError, toCacheError } from '../errors.js';
import type { Key } from '../format/key.js';
import { iterateAsync, iterateSync, type Op, runAsync, runSync } from '../fs/runner.js';
import { type CheckReport, check } from './check.js';
import type { CacheContext, WriteOptions } from './context.js';
import { type OpenCache, openCache, releaseCounters } from './open.js';
import type { CacheOptions, Settings } from './options.js';
import { clear, cull, evict, expire, type IterationKind, iterate, peekItem } from './scan.js';
import { add, type CacheEntry, get, getEntry, has, incr, pop, remove, set, touch } from './single.js';
import { count, type Stats, type StatsOptions, stats, volume } from './totals.js';

/**
 * The operations of a {@link Cache}, in their synchronous form. Each is installed twice: as
 * `name()`, returning a Promise, and as `nameSync()`. Both run the same code.
 */
export interface CacheMethods<V> {
  /** The value stored under `key`, or `defaultValue` if it is missing or expired. */
  get(key: Key, defaultValue?: V): V | undefined;
  /** The value with its metadata, or `undefined`; tells a stored `undefined` from a miss. */
  getEntry(key: Key): CacheEntry<V> | undefined;
  /** Stores `value` under `key`, replacing what was there. `ttl` is in milliseconds. */
  set(key: Key, value: V, options?: WriteOptions): true;
  /** Stores `value` only if `key` is missing or expired; atomic across processes. */
  add(key: Key, value: V, options?: WriteOptions): boolean;
  /** Whether `key` is present and not expired. */
  has(key: Key): boolean;
  /** Removes `key`; `true` if a live entry was removed. */
  delete(key: Key): boolean;
  /** Removes `key` and returns its value (or `defaultValue`); of concurrent callers, one gets it. */
  pop(key: Key, defaultValue?: V): V | undefined;
  /**
   * Adds `delta` to the number under `key` and returns the result, atomically across processes. A missing
   * key starts at `defaultValue`; with `defaultValue: null` a missing key throws a `CacheError` (`'EKEYMISSING'`).
   */
  incr(key: Key, delta?: number | bigint, defaultValue?: number | bigint | null): number | bigint;
  /** `incr` with `-delta`. */
  decr(key: Key, delta?: number | bigint, defaultValue?: number | bigint | null): number | bigint;
  /** Gives a live entry a new time to live; `false` if there is none. */
  touch(key: Key, options?: Pick<WriteOptions, 'ttl'>): boolean;
  /** Removes every entry; returns how many. */
  clear(): number;
  /** Removes the entries expired at `now` (default: the clock's now); returns how many. */
  expire(now?: number): number;
  /** Removes the entries with this tag; returns how many. */
  evict(tag: Key): number;
  /** Removes expired entries, then evicts by the policy until `volume() <= sizeLimit`; returns how many. */
  cull(): number;
  /** The most recently stored live entry as `[key, value]` (`last: false`: the least recently stored). O(n). */
  peekItem(options?: { last?: boolean }): [Key, V] | undefined;
  /** Entries stored, including expired ones not yet removed. O(1). */
  count(): number;
  /** Bytes the entries take on disk. O(1). */
  volume(): number;
  /** Hit and miss counts (counted while `statistics` is on), before any `reset`. */
  stats(options?: StatsOptions): Stats;
  /** Verifies every entry and the counters; `fix` repairs what it finds. */
  check(options?: { fix?: boolean }): CheckReport;
}

/** The Promise-returning surface. */
export type AsyncMethods<V> = {
  [K in keyof CacheMethods<V>]: (
    ...args: Parameters<CacheMethods<V>[K]>
  ) => Promise<ReturnType<CacheMethods<V>[K]>>;
};

/** The synchronous surface: the same operations with a `Sync` suffix. */
export type SyncMethods<V> = {
  [K in keyof CacheMethods<V> as `${K}Sync`]: CacheMethods<V>[K];
};

type OperationTable = {
  [K in keyof CacheMethods<unknown>]: (
    ctx: CacheContext,
    ...args: Parameters<CacheMethods<unknown>[K]>
  ) => Op<unknown>;
};

/** Every operation, written once; both surfaces are installed from this table. */
const OPERATIONS: OperationTable = {
  get,
  getEntry,
  set,
  add,
  has,
  delete: remove,
  pop,
  incr,
  decr: (ctx, key, delta = 1, defaultValue) =>
    incr(
      ctx,
      key,
      typeof delta === 'bigint' ? -delta : typeof delta === 'number' ? -delta : delta,
      defaultValue,
    ),
  touch,
  clear,
  expire,
  evict,
  cull,
  peekItem,
  count,
  volume,
  stats,
  check: (ctx, options = {}) => check(ctx, options.fix === true),
};

/** The options in force for an open cache. */
export type ResolvedOptions = Readonly<
  Settings & { fileMode: number; dirMode: number; asyncIO: 'inline' | 'threadpool' }
>;

/**
 * A persistent key-value cache in a directory, shared by every process (and host) that opens it.
 * Each operation exists as `name()` (a Promise) and `nameSync()`; see {@link CacheMethods}.
 *
 * @example
 * const cache = new Cache('/tmp/my-cache');
 * await cache.set('answer', 42, { ttl: 60_000 });
 * await cache.get('answer'); // 42
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the merged interface declares the methods the static block installs.
export class Cache<V = unknown> {
  /** The absolute path of the cache directory. */
  readonly directory: string;
  /** The options in force: stored settings merged with those passed to the constructor. */
  readonly options: ResolvedOptions;
  #open: OpenCache;
  #closed = false;

  /**
   * Opens the cache in `directory` (created if needed; a new temporary directory if omitted).
   * Options passed here are stored in the directory and apply to later opens that do not pass their own.
   */
  constructor(directory?: string, options: CacheOptions = {}) {
    this.#open = openCache(directory, options);
    const { ctx, asyncIO } = this.#open;
    this.directory = ctx.layout.directory;
    this.options = Object.freeze({
      ...ctx.settings,
      fileMode: ctx.store.fileMode,
      dirMode: ctx.store.dirMode,
      asyncIO,
    });
  }

  #context(): CacheContext {
    if (this.#closed) throw new CacheError('ECLOSED', 'the cache is closed', { directory: this.directory });
    return this.#open.ctx;
  }

  #runSync<T>(make: (ctx: CacheContext) => Op<T>): T {
    try {
      return runSync(this.#open.syncFs, make(this.#context()));
    } catch (error) {
      throw toCacheError(error, this.directory);
    }
  }

  async #runAsync<T>(make: (ctx: CacheContext) => Op<T>): Promise<T> {
    try {
      return await runAsync(this.#open.asyncFs, make(this.#context()));
    } catch (error) {
      throw toCacheError(error, this.directory);
    }
  }

  static {
    for (const [name, operation] of Object.entries(OPERATIONS)) {
      const op = operation as (ctx: CacheContext, ...args: unknown[]) => Op<unknown>;
      Object.defineProperty(Cache.prototype, name, {
        value: function (this: Cache, ...args: unknown[]) {
          return this.#runAsync((ctx) => op(ctx, ...args));
        },
        writable: true,
        configurable: true,
      });
      Object.defineProperty(Cache.prototype, `${name}Sync`, {
        value: function (this: Cache, ...args: unknown[]) {
          return this.#runSync((ctx) => op(ctx, ...args));
        },
        writable: true,
        configurable: true,
      });
    }
  }

  #iterateSync<T>(what: IterationKind): IterableIterator<T> {
    return iterateSync<T>(this.#open.syncFs, iterate(this.#context(), what));
  }

  #iterateAsync<T>(what: IterationKind): AsyncIterableIterator<T> {
    return iterateAsync<T>(this.#open.asyncFs, iterate(this.#context(), what));
  }

  /** Every live key once, in a stable order (by key hash, not insertion). */
  keys(): AsyncIterableIterator<Key> {
    return this.#iterateAsync('keys');
  }
  /** {@link keys}, synchronously. */
  keysSync(): IterableIterator<Key> {
    return this.#iterateSync('keys');
  }
  /** Every live value once, in the order of {@link keys}. */
  values(): AsyncIterableIterator<V> {
    return this.#iterateAsync('values');
  }
  /** {@link values}, synchronously. */
  valuesSync(): IterableIterator<V> {
    return this.#iterateSync('values');
  }
  /** Every live `[key, value]` once, in the order of {@link keys}. */
  entries(): AsyncIterableIterator<[Key, V]> {
    return this.#iterateAsync('entries');
  }
  /** {@link entries}, synchronously. */
  entriesSync(): IterableIterator<[Key, V]> {
    return this.#iterateSync('entries');
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
    return this.#closed;
  }

  /** Releases the cache's file handles; later calls throw a `CacheError` (`'ECLOSED'`). Idempotent. */
  async close(): Promise<void> {
    const ctx = this.#beginClose();
    if (ctx !== undefined) await runAsync(this.#open.syncFs, ctx.counters.fold(ctx.lock, true));
  }

  /** {@link close}, synchronously. */
  closeSync(): void {
    const ctx = this.#beginClose();
    if (ctx !== undefined) runSync(this.#open.syncFs, ctx.counters.fold(ctx.lock, true));
  }

  /** Marks the cache closed; returns its context if this was the last user of the process's counters. */
  #beginClose(): CacheContext | undefined {
    if (this.#closed) return undefined;
    this.#closed = true;
    const ctx = this.#open.ctx;
    return releaseCounters(this.directory) ? { ...ctx, lock: { ...ctx.lock, timeout: 0 } } : undefined;
  }

  /** `using cache = new Cache(dir)` closes it at the end of the scope. */
  [Symbol.dispose](): void {
    this.closeSync();
  }

  /** `await using cache = new Cache(dir)` closes it at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

// The methods installed from OPERATIONS, for the type checker.
export interface Cache<V> extends AsyncMethods<V>, SyncMethods<V> {}
