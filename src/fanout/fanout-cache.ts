import { EventEmitter } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  type AsyncMethods,
  Cache,
  type CacheMethods,
  type ResolvedOptions,
  type SyncMethods,
} from '../cache/cache.js';
import type { CheckReport } from '../cache/check.js';
import type { CacheEventEmitter } from '../cache/events.js';
import type { Factory, FactoryContext, GetOrSetOptions } from '../cache/get-or-set.js';
import type { Memoized, MemoizedSync, MemoizeOptions } from '../cache/memoize.js';
import { callKey, planMemo } from '../cache/memoize.js';
import { FANOUT_FILE, refuseForeign } from '../cache/open-settings.js';
import { type CacheOptions, DEFAULT_SETTINGS, validateDirectory, validateOptions } from '../cache/options.js';
import type { PullOptions } from '../cache/queue.js';
import { queueOf } from '../cache/queue.js';
import type { Stats } from '../cache/totals.js';
import { method } from '../cache/verbs.js';
import { Deque } from '../collections/deque.js';
import { Index } from '../collections/index-map.js';
import { assertKey, encodeKey, type Key, keyHash } from '../format/key.js';
import { all, type Op } from '../fs/runner.js';
import { installTwins, over } from '../fs/twins.js';
import { SETTINGS_FILE } from '../store/layout.js';
import { isFanoutName, shardCount } from './shard-count.js';

/** Options of `new FanoutCache(directory, options)`. */
export interface FanoutOptions extends CacheOptions {
  /**
   * Number of shards (sub-caches) keys are spread over; stored in the directory on first use, and a
   * different number later is refused (it would move every key).
   * @default 8
   */
  shards?: number;
}

type MethodName = Exclude<keyof CacheMethods<unknown>, 'peekItem'>;

/** One shard's part of a call: the shard, its arguments, and (for a batch) which items it got. */
interface ShardCall {
  shard: Cache;
  args: unknown[];
  items?: number[];
}

/** How a method is spread over the shards: the calls it makes, and how their results combine. */
interface Route {
  calls(fanout: FanoutCache, args: unknown[]): ShardCall[];
  combine(results: unknown[], calls: ShardCall[]): unknown;
}

const first = (results: unknown[]) => results[0];
const sum = (results: unknown[]) => (results as number[]).reduce((a, b) => a + b, 0);
const byKey: Route = { calls: (f, args) => [{ shard: f.shardOf(args[0] as Key), args }], combine: first };
const everyShard = (combine: (results: unknown[]) => unknown): Route => ({
  calls: (f, args) => f.shards.map((shard) => ({ shard, args })),
  combine,
});
/** Queue calls go to the shard of their queue, named by the options at `optionsAt` (never by the value). */
const byQueue = (optionsAt: number): Route => ({
  calls: (f, args) => [{ shard: f.queueShard((args[optionsAt] as PullOptions | undefined)?.prefix), args }],
  combine: first,
});
/**
 * Batch calls: the items of the first argument go to the shards of their keys (`keyOf`), each
 * shard's share in one call with the other arguments; an argument that is no array goes to the
 * first shard, to be refused there.
 */
const byItems = (keyOf: (item: unknown) => unknown, combine: Route['combine']): Route => ({
  calls(f, [items, ...rest]) {
    if (!Array.isArray(items)) return [{ shard: f.shards[0] as Cache, args: [items, ...rest] }];
    const shares = new Map<Cache, { share: unknown[]; items: number[] }>();
    items.forEach((item, i) => {
      const shard = f.shardOf(keyOf(item) as Key);
      const found = shares.get(shard) ?? { share: [], items: [] };
      found.share.push(item);
      found.items.push(i);
      shares.set(shard, found);
    });
    return [...shares].map(([shard, { share, items }]) => ({ shard, args: [share, ...rest], items }));
  },
  combine,
});
/** The results of a batch (values, or whether each was deleted) put back in the order of its items. */
const inItemOrder = (results: unknown[], calls: ShardCall[]) => {
  const values: unknown[] = [];
  calls.forEach(({ items }, c) => {
    (items ?? []).forEach((i, j) => {
      values[i] = (results[c] as unknown[])[j];
    });
  });
  return values;
};
const entryKey = (entry: unknown) =>
  Array.isArray(entry) ? entry[0] : (entry as { key?: unknown } | null | undefined)?.key;

/** Every method of {@link CacheMethods}, routed. */
const ROUTES: Record<MethodName, Route> = {
  get: byKey,
  getEntry: byKey,
  set: byKey,
  add: byKey,
  has: byKey,
  delete: byKey,
  getMany: byItems((key) => key, inItemOrder),
  setMany: byItems(entryKey, () => true),
  deleteMany: byItems((key) => key, inItemOrder),
  pop: byKey,
  incr: byKey,
  decr: byKey,
  touch: byKey,
  clear: everyShard(sum),
  expire: everyShard(sum),
  evict: everyShard(sum),
  cull: everyShard(sum),
  count: everyShard(sum),
  volume: everyShard(sum),
  push: byQueue(1),
  pull: byQueue(0),
  peek: byQueue(0),
  stats: everyShard((results) => ({
    hits: (results as Stats[]).reduce((a, s) => a + s.hits, 0),
    misses: (results as Stats[]).reduce((a, s) => a + s.misses, 0),
  })),
  check: everyShard((results) => ({
    problems: (results as CheckReport[]).flatMap((r) => r.problems),
    fixed: (results as CheckReport[]).reduce((a, r) => a + r.fixed, 0),
  })),
};

/** Every routed method as one operation: the calls of its route, made on their shards, combined. */
const ROUTED = Object.fromEntries(
  Object.entries(ROUTES).map(([name, route]) => [
    name,
    function* (f: FanoutCache, ...args: unknown[]): Op<unknown> {
      const calls = route.calls(f, args);
      const shardCalls = calls.map(({ shard, args }) =>
        method(shard, name as MethodName, ...(args as Parameters<CacheMethods<unknown>[MethodName]>)),
      );
      return route.combine(yield* all<unknown>(shardCalls), calls);
    },
  ]),
);

/** The item whose entry was stored last (or first). */
function pickLatest<V>(
  items: ([Key, V] | undefined)[],
  entries: ({ storedAt: number } | undefined)[],
  last: boolean,
): [Key, V] | undefined {
  let best: number | undefined;
  entries.forEach((entry, i) => {
    if (entry === undefined) return;
    const current = best === undefined ? undefined : (entries[best] as { storedAt: number }).storedAt;
    if (current === undefined || (last ? entry.storedAt > current : entry.storedAt < current)) best = i;
  });
  return best === undefined ? undefined : items[best];
}

/** An emitter that passes on the shards' events of each name while it has listeners of that name. */
function forwardingEvents(shards: () => readonly { events: CacheEventEmitter }[]): CacheEventEmitter {
  const events = new EventEmitter();
  const forwarders = new Map<string | symbol, (event: unknown) => void>();
  events.on('newListener', (name: string | symbol) => {
    if (forwarders.has(name) || name === 'newListener' || name === 'removeListener') return;
    const forward = (event: unknown) => events.emit(name, event);
    forwarders.set(name, forward);
    for (const shard of shards()) (shard.events as EventEmitter).on(name, forward);
  });
  events.on('removeListener', (name: string | symbol) => {
    const forward = forwarders.get(name);
    if (forward === undefined || events.listenerCount(name) > 0) return;
    forwarders.delete(name);
    for (const shard of shards()) (shard.events as EventEmitter).off(name, forward);
  });
  return events as CacheEventEmitter;
}

/**
 * What `transact` passes to the constructor, in place of a directory, for the fan-out over its
 * shards' transaction views. Nobody outside this module can make one.
 */
class Over {
  constructor(readonly shards: readonly Cache[]) {}
}

/**
 * A cache spread over `shards` sub-caches (`<directory>/000`, `001`, …), each a {@link Cache} with its
 * share of `sizeLimit`; a key's shard is chosen by a stable hash of the key. It has the API of
 * {@link Cache} (every method as `name()` and `nameSync()`); counts, volumes, statistics and checks
 * add up over the shards, and iteration goes shard by shard. Queues live in the shard of their prefix.
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the merged interface declares the methods the static block installs.
export class FanoutCache<V = unknown> {
  /** The absolute path of the cache directory. */
  readonly directory: string;
  /** The sub-caches, in shard order. */
  readonly shards: readonly Cache<V>[];
  /** The shards' events (see `Cache.events`), passed on while someone listens. */
  readonly events: CacheEventEmitter = forwardingEvents(() => this.shards);

  constructor(directory?: string, options: FanoutOptions = {}) {
    const over: unknown = directory;
    if (over instanceof Over) {
      this.shards = over.shards as Cache<V>[];
      this.directory = (over.shards[0] as Cache).directory;
      return;
    }
    validateDirectory(directory);
    validateOptions(options, ['shards'], 'FanoutCache');
    const { shards: wanted, ...cacheOptions } = options;
    const dir = resolve(directory ?? mkdtempSync(join(tmpdir(), 'diskcache-fanout-')));
    refuseForeign(dir, FANOUT_FILE, isFanoutName);
    mkdirSync(dir, { recursive: true, mode: cacheOptions.dirMode ?? 0o755 });
    const count = shardCount(dir, wanted, cacheOptions.fileMode ?? 0o644);
    // Each shard gets its share of the totals; without one, shards keep the one they stored.
    const shardOptions = {
      ...cacheOptions,
      ...(cacheOptions.sizeLimit === undefined ? {} : { sizeLimit: cacheOptions.sizeLimit / count }),
      ...(cacheOptions.maxEntries === undefined
        ? {}
        : { maxEntries: Math.ceil(cacheOptions.maxEntries / count) }),
    };
    const fresh = !existsSync(join(dir, '000', SETTINGS_FILE));
    this.directory = dir;
    this.shards = Array.from({ length: count }, (_, i) => {
      const defaults =
        fresh && shardOptions.sizeLimit === undefined
          ? { sizeLimit: DEFAULT_SETTINGS.sizeLimit / count }
          : {};
      return new Cache<V>(join(dir, String(i).padStart(3, '0')), { ...defaults, ...shardOptions });
    });
  }

  /**
   * The shard that holds `key`. Keys shaped like queue items (integers from 1e14 to 1e15, and
   * `prefix-` plus 15 digits) live in the shard of their queue, so that `get` finds what `push` stored.
   */
  shardOf(key: Key): Cache<V> {
    assertKey(key);
    const queue = queueOf(key);
    return queue === undefined ? this.#shardByHash(key) : this.queueShard(queue);
  }

  /** The shard that holds the queue named `prefix`. */
  queueShard(prefix: string | null | undefined): Cache<V> {
    return this.#shardByHash(`queue:${prefix ?? ''}`);
  }

  #shardByHash(key: Key): Cache<V> {
    const hash = Number.parseInt(keyHash(encodeKey(key)).slice(0, 8), 16);
    return this.shards[hash % this.shards.length] as Cache<V>;
  }

  /** The options in force (those of the shards, with `sizeLimit` and `maxEntries` the totals over them). */
  get options(): ResolvedOptions & { shards: number } {
    const first = (this.shards[0] as Cache<V>).options;
    return Object.freeze({
      ...first,
      sizeLimit: first.sizeLimit * this.shards.length,
      maxEntries: first.maxEntries * this.shards.length,
      shards: this.shards.length,
    });
  }

  static {
    installTwins(
      this,
      ROUTED,
      over((self: FanoutCache) => self),
    );
  }

  /** The most (or, with `last: false`, least) recently stored live entry over all shards. O(n). */
  async peekItem(options: { last?: boolean } = {}): Promise<[Key, V] | undefined> {
    const items = await Promise.all(this.shards.map((shard) => shard.peekItem(options)));
    const entries = await Promise.all(
      items.map((item, i) => item && (this.shards[i] as Cache<V>).getEntry(item[0])),
    );
    return pickLatest(items, entries, options.last ?? true);
  }

  /** {@link peekItem}, synchronously. */
  peekItemSync(options: { last?: boolean } = {}): [Key, V] | undefined {
    const items = this.shards.map((shard) => shard.peekItemSync(options));
    const entries = items.map((item, i) => item && (this.shards[i] as Cache<V>).getEntrySync(item[0]));
    return pickLatest(items, entries, options.last ?? true);
  }

  /** Every live key, shard by shard. */
  async *keys(): AsyncGenerator<Key> {
    for (const shard of this.shards) yield* shard.keys();
  }
  /** {@link keys}, synchronously. */
  *keysSync(): Generator<Key> {
    for (const shard of this.shards) yield* shard.keysSync();
  }
  /** Every live value, in the order of {@link keys}. */
  async *values(): AsyncGenerator<V> {
    for (const shard of this.shards) yield* shard.values();
  }
  /** {@link values}, synchronously. */
  *valuesSync(): Generator<V> {
    for (const shard of this.shards) yield* shard.valuesSync();
  }
  /** Every live `[key, value]`, in the order of {@link keys}. */
  async *entries(): AsyncGenerator<[Key, V]> {
    for (const shard of this.shards) yield* shard.entries();
  }
  /** {@link entries}, synchronously. */
  *entriesSync(): Generator<[Key, V]> {
    for (const shard of this.shards) yield* shard.entriesSync();
  }
  /** `for await (const key of cache)`. */
  [Symbol.asyncIterator](): AsyncGenerator<Key> {
    return this.keys();
  }
  /** `for (const key of cache)`. */
  [Symbol.iterator](): Generator<Key> {
    return this.keysSync();
  }

  /**
   * Runs `fn` with a fan-out whose writes are staged, holding every shard's transaction lock (taken in
   * shard order, so two transactions never deadlock). Each shard commits its own journal when `fn`
   * returns: a crash between two shards' commits keeps the shards that committed.
   */
  transact<T>(fn: (cache: FanoutCache<V>) => Promise<T> | T): Promise<T> {
    const enter = (i: number, views: Cache<V>[]): Promise<T> =>
      i === this.shards.length
        ? Promise.resolve(fn(FanoutCache.#over(views)))
        : (this.shards[i] as Cache<V>).transact((view) => enter(i + 1, [...views, view]));
    return enter(0, []);
  }

  /** {@link transact}, synchronously. */
  transactSync<T>(fn: (cache: FanoutCache<V>) => T): T {
    const enter = (i: number, views: Cache<V>[]): T =>
      i === this.shards.length
        ? fn(FanoutCache.#over(views))
        : (this.shards[i] as Cache<V>).transactSync((view) => enter(i + 1, [...views, view]));
    return enter(0, []);
  }

  static #over<V>(shards: Cache<V>[]): FanoutCache<V> {
    return new FanoutCache<V>(new Over(shards as Cache[]) as unknown as string);
  }

  /** As {@link Cache.memoize}; each call's result lives in the shard of its key. */
  memoize<A extends unknown[], R>(fn: (...args: A) => R, options?: MemoizeOptions): Memoized<A, R> {
    return this.#memoized(fn, options, false, (shard, name) => shard.memoize(fn, { ...options, name }));
  }

  /** As {@link Cache.memoizeSync}. */
  memoizeSync<A extends unknown[], R>(fn: (...args: A) => R, options?: MemoizeOptions): MemoizedSync<A, R> {
    return this.#memoized(fn, options, true, (shard, name) => shard.memoizeSync(fn, { ...options, name }));
  }

  /** One wrapper per shard (`wrap`, all under one name), each call handed to the shard of its key. */
  #memoized<A extends unknown[], W extends ((...args: A) => unknown) & { cacheKey: (...args: A) => string }>(
    fn: (...args: A) => unknown,
    options: MemoizeOptions | undefined,
    sync: boolean,
    wrap: (shard: Cache<V>, name: string) => W,
  ): W {
    const plan = planMemo(fn, options, sync);
    const perShard = this.shards.map((shard) => wrap(shard, plan.name));
    const memoized = (...args: A) =>
      (perShard[this.shards.indexOf(this.shardOf(callKey(plan, args)))] as W)(...args);
    return Object.assign(memoized, { cacheKey: (...args: A) => callKey(plan, args) }) as W;
  }

  /** As {@link Cache.getOrSet}, in the shard of `key`. */
  async getOrSet<T = V>(key: Key, factory: Factory<NoInfer<T>>, options?: GetOrSetOptions): Promise<T> {
    return this.shardOf(key).getOrSet(key, factory, options);
  }

  /** As {@link Cache.getOrSetSync}, in the shard of `key`. */
  getOrSetSync<T = V>(
    key: Key,
    factory: (context: FactoryContext<NoInfer<T>>) => NoInfer<T>,
    options?: Omit<GetOrSetOptions, 'softTimeout' | 'hardTimeout' | 'signal'>,
  ): T {
    return this.shardOf(key).getOrSetSync(key, factory, options);
  }

  #named = new Map<string, { closeSync(): void; close(): Promise<void> }>();

  #subStore<T extends { closeSync(): void; close(): Promise<void> }>(
    kind: string,
    name: string,
    make: (dir: string) => T,
  ): T {
    if (
      typeof name !== 'string' ||
      name.split('/').some((part) => part === '' || part === '.' || part === '..')
    ) {
      throw new RangeError(
        `diskcache-ts: a ${kind} name is one or more non-empty path segments separated by '/'`,
      );
    }
    const id = `${kind}/${name}`;
    let store = this.#named.get(id) as T | undefined;
    if (store === undefined) {
      store = make(join(this.directory, kind, ...name.split('/')));
      this.#named.set(id, store);
    }
    return store;
  }

  /** A {@link Cache} at `<directory>/cache/<name>`, opened on first use and kept. */
  cache(name: string, options?: CacheOptions): Cache {
    return this.#subStore('cache', name, (dir) => new Cache(dir, options));
  }

  /** A {@link Deque} at `<directory>/deque/<name>`, opened on first use and kept. */
  deque(name: string, options?: Deque.Options): Deque {
    return this.#subStore('deque', name, (dir) => new Deque(dir, options));
  }

  /** An {@link Index} at `<directory>/index/<name>`, opened on first use and kept. */
  index(name: string, options?: Index.Options): Index {
    return this.#subStore('index', name, (dir) => new Index(dir, options));
  }

  /** Closes every shard and named sub-store. */
  async close(): Promise<void> {
    await Promise.all([...this.shards, ...this.#named.values()].map((store) => store.close()));
    this.#named.clear();
  }
  /** {@link close}, synchronously. */
  closeSync(): void {
    for (const store of [...this.shards, ...this.#named.values()]) store.closeSync();
    this.#named.clear();
  }
  /** `using cache = new FanoutCache(dir)`. */
  [Symbol.dispose](): void {
    this.closeSync();
  }
  /** `await using cache = new FanoutCache(dir)`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

export interface FanoutCache<V> extends AsyncMethods<V>, SyncMethods<V> {}
