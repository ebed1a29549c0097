import { pipeline, Readable } from 'node:stream';
import { acquireLock, type HeldLock, type LockOptions, releaseLock } from '../coordination/lock.js';
import { CacheError, toCacheError } from '../errors.js';
import { decompressionStages } from '../format/compression.js';
import type { Key } from '../format/key.js';
import { io, iterateAsync, iterateSync, type Op, runAsync, runSync } from '../fs/runner.js';
import { installTwins } from '../fs/twins.js';
import { bookkeeping } from '../store/bookkeeping.js';
import { forgetDirectory } from '../store/directories.js';
import { type BatchEntry, deleteMany, getMany, remove, set, setMany } from './batch.js';
import { type CheckReport, check } from './check.js';
import type { CacheContext, WriteOptions } from './context.js';
import type { CacheEventEmitter } from './events.js';
import {
  type Factory,
  type FactoryContext,
  type GetOrSetOptions,
  getOrSet,
  invokeAsync,
  invokeSync,
  planGetOrSet,
  type Served,
  settleLate,
} from './get-or-set.js';
import {
  callKey,
  type Memoized,
  type MemoizedSync,
  type MemoizeOptions,
  measured,
  memoizedCall,
  planMemo,
} from './memoize.js';
import { type OpenCache, openCache, releaseCounters } from './open.js';
import type { CacheOptions, Settings } from './options.js';
import { type PullOptions, type PushOptions, peek, pull, push } from './queue.js';
import { clear, cull, evict, expire, type IterationKind, iterate, peekItem } from './scan.js';
import { add, type CacheEntry, get, getEntry, has, incr, pop, touch } from './single.js';
import { isCompressed, openEntry, setStream, streamEntry } from './streams.js';
import type { AsyncSurface, SyncSurface, TypedCalls } from './surfaces.js';
import { count, type Stats, type StatsOptions, stats, volume } from './totals.js';
import { Transaction } from './transaction.js';

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
  /** The values of `keys`, in order, `undefined` for each miss. */
  getMany(keys: readonly Key[]): (V | undefined)[];
  /**
   * Stores each `[key, value]` (or `{ key, value, ttl?, tag? }`, whose own `ttl` and `tag` win over
   * `options`), in order; on the `log` engine the entries of one bucket cost one append.
   */
  setMany(entries: readonly BatchEntry<V>[], options?: WriteOptions): true;
  /** Removes each key; for each, whether a live entry was removed (as `delete`). */
  deleteMany(keys: readonly Key[]): boolean[];
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
  /** Appends `value` to the queue named by `prefix` (at the `side` end) and returns its key. */
  push(value: V, options?: PushOptions): Key;
  /** Removes and returns `[key, value]` from one end of a queue; each item goes to exactly one caller. */
  pull(options?: PullOptions): [Key, V] | undefined;
  /** `[key, value]` at one end of a queue, without removing it. */
  peek(options?: PullOptions): [Key, V] | undefined;
  /** The most recently stored live entry as `[key, value]` (`last: false`: the least recently stored). O(n). */
  peekItem(options?: { last?: boolean }): [Key, V] | undefined;
  /** Entries stored, including expired ones not yet removed. O(1). */
  count(): number;
  /**
   * Bytes the entries take on disk, as `du` counts them: entry files rounded up to the file
   * system's allocation unit (`files` engine), or records with their headers and blob files rounded
   * up (`log` engine). O(1). A `log` cache's replaced and deleted records, which stay in their
   * bucket file until it is compacted, are not counted: `du` may show up to about twice as much
   * after heavy overwrites. What `sizeLimit` limits.
   */
  volume(): number;
  /** Hit and miss counts (counted while `statistics` is on), before any `reset`. */
  stats(options?: StatsOptions): Stats;
  /** Verifies every entry and the counters; `fix` repairs what it finds. */
  check(options?: { fix?: boolean }): CheckReport;
}

/** The Promise-returning surface (`get<T>()` and the others of {@link TypedCalls} typed per call). */
export type AsyncMethods<V> = AsyncSurface<CacheMethods<V>, V>;

/** The synchronous surface: the same operations with a `Sync` suffix. */
export type SyncMethods<V> = SyncSurface<CacheMethods<V>, V>;

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
  getMany,
  setMany,
  deleteMany,
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
  push,
  pull,
  peek,
  count,
  volume,
  stats,
  check: (ctx, options = {}) => check(ctx, options.fix === true),
};

/**
 * What `transact` passes to the constructor, in place of a directory, for the cache it hands to its
 * function: the open cache over the transaction's context. Nobody outside this module can make one.
 */
class View {
  constructor(readonly open: OpenCache) {}
}

/** A transaction's lock is broken by other hosts only after this long (same-host holders: when dead). */
const TRANSACTION_LEASE_MS = 10 * 60 * 1000;

/** The options in force for an open cache. */
export type ResolvedOptions = Readonly<
  Settings & { fileMode: number; dirMode: number; asyncIO: 'inline' | 'threadpool'; ttl: number | null }
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
  /**
   * Evictions (`'evict'`, with the reason: `'size'`, `'expired'`, `'tag'`, `'clear'`), damaged
   * entries moved aside (`'damaged'`) and values refused for being larger than `sizeLimit`
   * (`'refused'`), told synchronously to `cache.events.on(name, listener)`. Free when nobody listens.
   */
  readonly events: CacheEventEmitter;

  #open: OpenCache;
  #asyncIO: 'inline' | 'threadpool';
  #closed = false;
  /** Set on the cache that `transact` hands to its function: its writes are staged. */
  #transaction: Transaction | undefined;

  /**
   * Opens the cache in `directory` (created if needed; a new temporary directory if omitted).
   * Options passed here are stored in the directory and apply to later opens that do not pass their own.
   */
  constructor(directory?: string, options: CacheOptions = {}) {
    const view: unknown = directory;
    this.#open = view instanceof View ? view.open : openCache(directory, options);
    const { ctx, asyncIO } = this.#open;
    this.directory = ctx.layout.directory;
    this.events = ctx.events;
    this.#asyncIO = asyncIO;
  }

  /** The options in force: stored settings merged with those passed to the constructor (a snapshot). */
  get options(): ResolvedOptions {
    const { settings, store, defaultTtl } = this.#open.ctx;
    return Object.freeze({
      ...settings,
      fileMode: store.fileMode,
      dirMode: store.dirMode,
      asyncIO: this.#asyncIO,
      ttl: defaultTtl,
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
    installTwins(this, OPERATIONS, {
      sync: (self, make) => self.#runSync(make),
      async: (self, make) => self.#runAsync(make),
    });
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

  /**
   * Runs `fn` with a cache whose writes are staged, holding the directory's transaction lock (one
   * transaction at a time across processes). When `fn` returns, its writes become visible together
   * and durable all together, also across a crash: a journal is written first, and if the process
   * dies while applying it, the next process to open the cache completes it. If `fn` throws, nothing
   * it wrote is kept. Inside, use the cache passed to `fn`: reads see the transaction's own writes.
   * Plain readers outside see either none of the writes, or, during the brief apply, some of them.
   * Single-key methods (get, set, add, delete, pop, incr, decr, touch, has, getEntry) are staged;
   * bulk methods (clear, expire, evict, cull) and queues apply directly.
   */
  async transact<T>(fn: (cache: Cache<V>) => Promise<T> | T): Promise<T> {
    if (this.#transaction !== undefined) return fn(this);
    const { lock, tx, view } = await this.#runAsync(() => this.#beginTransaction());
    try {
      const result = await fn(view);
      await this.#runAsync(() => tx.commit());
      return result;
    } catch (error) {
      await this.#runAsync(() => tx.rollback()).catch(() => {});
      throw error;
    } finally {
      view.#closed = true;
      // A lock whose release fails is known to this process as no longer held: it is stale.
      await this.#runAsync(() => releaseLock(lock)).catch(() => {});
    }
  }

  /** {@link transact}, synchronously: `fn` must not return a Promise. */
  transactSync<T>(fn: (cache: Cache<V>) => T): T {
    if (this.#transaction !== undefined) return fn(this);
    const { lock, tx, view } = this.#runSync(() => this.#beginTransaction());
    try {
      const result = fn(view);
      if (result instanceof Promise) {
        throw new TypeError(
          'diskcache-ts: transactSync(fn) got a Promise from fn; use transact() for async functions',
        );
      }
      this.#runSync(() => tx.commit());
      return result;
    } catch (error) {
      try {
        this.#runSync(() => tx.rollback());
      } catch {}
      throw error;
    } finally {
      view.#closed = true;
      try {
        this.#runSync(() => releaseLock(lock));
      } catch {}
    }
  }

  *#beginTransaction(): Op<{ lock: HeldLock; tx: Transaction; view: Cache<V> }> {
    const ctx = this.#context();
    const lock = yield* acquireLock(ctx.layout.transactLock, { ...ctx.lock, leaseMs: TRANSACTION_LEASE_MS });
    const tx = new Transaction(ctx);
    const view = new Cache<V>(new View({ ...this.#open, ctx: tx.context() }) as unknown as string);
    view.#transaction = tx;
    return { lock, tx, view };
  }

  /**
   * The fresh value of `key`, or the one `factory` computes and stores, computed once per key across
   * every process sharing the directory while the others wait for it. With `grace`, an expired value
   * is still served while one caller recomputes it, and when the factory fails or times out; see
   * {@link GetOrSetOptions} and the timeline in the README. The factory gets a {@link FactoryContext}
   * to set the value's `ttl` and `tag` from the value, or to skip storing it.
   */
  async getOrSet<T = V>(key: Key, factory: Factory<NoInfer<T>>, options?: GetOrSetOptions): Promise<T> {
    const plan = planGetOrSet(factory, options, false);
    plan.signal?.throwIfAborted();
    const invoke = invokeAsync(factory as Factory<unknown>, plan);
    return (await this.#getOrSet((ctx) => getOrSet(ctx, key, plan, invoke))) as T;
  }

  /** {@link getOrSet} for a synchronous factory (no timeouts or signal: a running factory cannot be interrupted). */
  getOrSetSync<T = V>(
    key: Key,
    factory: (context: FactoryContext<NoInfer<T>>) => NoInfer<T>,
    options?: Omit<GetOrSetOptions, 'softTimeout' | 'hardTimeout' | 'signal'>,
  ): T {
    const plan = planGetOrSet(factory, options, true);
    return this.#runSync((ctx) => getOrSet(ctx, key, plan, invokeSync(factory as Factory<unknown>)))
      .value as T;
  }

  /** Runs a `getOrSet` flow; a factory still running past its soft timeout is settled in the background. */
  async #getOrSet(flow: (ctx: CacheContext) => Op<Served>): Promise<unknown> {
    const served = await this.#runAsync(flow);
    const { late } = served;
    if (late !== undefined) {
      // Nobody awaits this: if storing fails (the cache was closed meanwhile), the next call computes again.
      late.pending.then((outcome) => this.#runAsync((ctx) => settleLate(ctx, late, outcome))).catch(() => {});
    }
    return served.value;
  }

  /**
   * Wraps `fn` so that its results are stored in the cache under a key derived from `options.name`
   * (default: `fn.name` with a digest of its source, so that two different functions never share
   * results) and the arguments (see {@link MemoizeOptions}). Concurrent calls with the same
   * arguments in this process share one computation; across processes at most one computes while
   * the others wait for its result. Errors are not cached. The wrapper returns a Promise and has `cacheKey(...args)`.
   */
  memoize<A extends unknown[], R>(fn: (...args: A) => R, options?: MemoizeOptions): Memoized<A, R> {
    const plan = planMemo(fn, options);
    const inflight = new Map<string, Promise<Awaited<R>>>();
    const memoized = (...args: A): Promise<Awaited<R>> => {
      const key = callKey(plan, args);
      let pending = inflight.get(key);
      if (pending === undefined) {
        const invoke = invokeAsync(
          measured(() => fn(...args)),
          plan.getOrSet,
        );
        const flow = (ctx: CacheContext) => memoizedCall(ctx, plan, key, invoke);
        pending = (this.#getOrSet(flow) as Promise<Awaited<R>>).finally(() => inflight.delete(key));
        inflight.set(key, pending);
      }
      return pending;
    };
    return Object.assign(memoized, { cacheKey: (...args: A) => callKey(plan, args) });
  }

  /** {@link memoize} for synchronous functions: the wrapper returns the result itself. */
  memoizeSync<A extends unknown[], R>(fn: (...args: A) => R, options?: MemoizeOptions): MemoizedSync<A, R> {
    const plan = planMemo(fn, options, true);
    const memoized = (...args: A): R => {
      const key = callKey(plan, args);
      const invoke = invokeSync(measured(() => fn(...args)));
      return this.#runSync((ctx) => memoizedCall(ctx, plan, key, invoke)).value as R;
    };
    return Object.assign(memoized, { cacheKey: (...args: A) => callKey(plan, args) });
  }

  /**
   * Stores the bytes of a stream (or any async iterable of Buffers, Uint8Arrays or strings) as the
   * value of `key`, without holding the whole value in memory; with the same atomicity and checksums
   * as `set` (readers see the old value or the whole new one; a failing stream stores nothing). The
   * value reads back as a Buffer. Async only: a stream is read asynchronously.
   */
  setStream(key: Key, source: AsyncIterable<unknown>, options?: WriteOptions): Promise<true> {
    return this.#runAsync((ctx) => setStream(ctx, key, source, options));
  }

  /**
   * A readable stream of the value of `key` (a Buffer or string value), or `undefined` if the key is
   * missing or expired. The file is opened at once, so the stream delivers that value even if the key
   * is replaced meanwhile; a checksum mismatch at the end is an error on the stream.
   */
  async createReadStream(key: Key): Promise<Readable | undefined> {
    const opened = await this.#runAsync((ctx) => openEntry(ctx, key));
    if (opened === undefined) return undefined;
    const bytes = Readable.from(
      iterateAsync<Buffer>(this.#open.asyncFs, streamEntry(this.#context(), opened)),
    );
    if (!isCompressed(opened)) return bytes;
    const { compression, rawLength } = opened.header;
    const [inflate, verify] = decompressionStages(compression, rawLength);
    return pipeline(bytes, inflate, verify, () => {});
  }

  /** Whether {@link close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Releases the cache's file handles; later calls throw a `CacheError` (`'ECLOSED'`). Idempotent. */
  async close(): Promise<void> {
    if (this.#closed || this.#transaction !== undefined) return;
    const lock = this.#beginClose();
    try {
      if (lock !== undefined) await runAsync(this.#open.asyncFs, this.#releaseProcessState(lock));
    } catch (error) {
      throw toCacheError(error, this.directory);
    } finally {
      const log = this.#open.ctx.log;
      if (log !== undefined) await runAsync(this.#open.asyncFs, log.close()).catch(() => {});
    }
  }

  /** {@link close}, synchronously. */
  closeSync(): void {
    if (this.#closed || this.#transaction !== undefined) return;
    const lock = this.#beginClose();
    try {
      if (lock !== undefined) runSync(this.#open.syncFs, this.#releaseProcessState(lock));
    } catch (error) {
      throw toCacheError(error, this.directory);
    } finally {
      const log = this.#open.ctx.log;
      if (log !== undefined) {
        try {
          runSync(this.#open.syncFs, log.close());
        } catch {}
      }
    }
  }

  /**
   * Folds this process's counters (unless another process is folding: they are folded once this
   * process is gone), closes their file, and removes the private directory (if empty).
   */
  *#releaseProcessState(lock: LockOptions): Op<void> {
    const { counters, ctx } = this.#open;
    try {
      // Bookkeeping: nothing to do on a read-only store (and on read-only media, nothing possible).
      yield* bookkeeping(ctx.store, function* () {
        yield* counters.fold(lock, true);
        if (yield* io('rmdir', ctx.layout.ownTemp)) forgetDirectory(ctx.store, ctx.layout.ownTemp);
      });
    } finally {
      yield* counters.close();
    }
  }

  /**
   * Marks the cache closed. If it was the process's last user of the directory's counters, returns
   * the lock options for folding them (without waiting: another process may be folding).
   */
  #beginClose(): LockOptions | undefined {
    if (this.#closed || this.#transaction !== undefined) return undefined;
    this.#closed = true;
    return releaseCounters(this.directory) ? { ...this.#open.ctx.lock, timeout: 0 } : undefined;
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
