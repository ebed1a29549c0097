import { EventEmitter } from 'node:events';
import type { Factory, GetOrSetOptions } from '../cache/get-or-set.js';
import { callKey, type MemoizeOptions, planMemo } from '../cache/memoize.js';
import { CacheError } from '../errors.js';
import { assertKey, type Key } from '../format/key.js';
import { type Op, runAsync, runSync } from '../fs/runner.js';
import { type AsyncSurface, type Drive, defineMethod, installTwins, type SyncSurface } from '../fs/twins.js';
import { getOrSet } from './get-or-set.js';
import { planTiers, type Tier, type TieredCacheOptions } from './options.js';
import { lookup } from './reads.js';
import { makeQueues, type TieredEvents, type TieredState } from './state.js';
import { add, flushInline, remove, removeAll, set, type TieredWriteOptions } from './writes.js';

/** A value found by `getEntry`, with its metadata and the tier that served it. */
export interface TieredEntry<V = unknown> {
  key: Key;
  value: V;
  /** Epoch ms, or `null`: never expires. */
  expiresAt: number | null;
  tag: Key | null;
  /** The name of the tier it was found in (it is now also in the tiers above that one). */
  tier: string;
}

/** How a tier has fared, as `health()` tells it. */
export interface TierHealth {
  name: string;
  /** Failures skipped so far (`whenDown: 'skip'`), each told by a `'degraded'` event. */
  failures: number;
  /** The last of them. */
  lastError: unknown;
  /** Writes waiting in its write-behind queue. */
  queued: number;
}

/** The operations of a {@link TieredCache}, in their synchronous form; each is also `name()`, a Promise. */
export interface TieredMethods<V> {
  /** The value of `key` from the first tier that has it (copied into the tiers above), or `defaultValue`. */
  get(key: Key, defaultValue?: V): V | undefined;
  /** The value with its metadata, or `undefined`. */
  getEntry(key: Key): TieredEntry<V> | undefined;
  /** Whether some tier has a live value for `key`. */
  has(key: Key): boolean;
  /** Stores `value` in every writable tier (the last first; write-behind tiers from their queue). */
  set(key: Key, value: V, options?: TieredWriteOptions): true;
  /**
   * Stores `value` only if `key` has no live value, atomically across hosts: the last writable tier
   * must be a `Cache`, written through (a `CacheError` `'EUNSUPPORTED'` otherwise); `false` if it had one.
   */
  add(key: Key, value: V, options?: TieredWriteOptions): boolean;
  /** The values of `keys`, in order, `undefined` for each miss. */
  getMany(keys: readonly Key[]): (V | undefined)[];
  /** Stores each `[key, value]`, in order, as {@link set} does. */
  setMany(entries: readonly (readonly [Key, V])[], options?: TieredWriteOptions): true;
  /** Removes `key` from every writable tier; whether a tier written through held it. */
  delete(key: Key): boolean;
  /** Removes each key, as {@link delete} does; for each, whether a tier held it. */
  deleteMany(keys: readonly Key[]): boolean[];
  /** Removes every entry of every writable tier; the sum of what the tiers report. */
  clear(): number;
  /** Removes the entries tagged `tag` from every writable tier; the sum of what the tiers report. */
  evict(tag: Key): number;
  /** Writes what the write-behind queues hold, in order; fails with the first tier that fails. */
  flush(): void;
}

function assertArray(value: unknown, what: string): void {
  if (!Array.isArray(value)) throw new TypeError(`diskcache-ts: ${what} must be an array`);
}

type OperationTable = {
  [K in keyof TieredMethods<unknown>]: (
    s: TieredState,
    ...args: Parameters<TieredMethods<unknown>[K]>
  ) => Op<ReturnType<TieredMethods<unknown>[K]>>;
};

const OPERATIONS: OperationTable = {
  *get(s, key, defaultValue) {
    const found = yield* lookup(s, key);
    return found === undefined ? defaultValue : found.envelope.value;
  },
  *getEntry(s, key) {
    const found = yield* lookup(s, key);
    if (found === undefined) return undefined;
    const { value, expiresAt, tag } = found.envelope;
    return { key, value, expiresAt, tag, tier: s.tiers[found.tier]?.name ?? '' };
  },
  *has(s, key) {
    return (yield* lookup(s, key)) !== undefined;
  },
  set,
  add,
  *getMany(s, keys) {
    assertArray(keys, 'keys');
    const values = [];
    for (const key of keys) values.push((yield* lookup(s, key))?.envelope.value);
    return values;
  },
  *setMany(s, entries, options) {
    assertArray(entries, 'entries');
    for (const entry of entries) {
      assertArray(entry, 'each entry ([key, value])');
      assertKey(entry[0]);
    }
    for (const [key, value] of entries) yield* set(s, key, value, options);
    return true as const;
  },
  delete: remove,
  *deleteMany(s, keys) {
    assertArray(keys, 'keys');
    const removed = [];
    for (const key of keys) removed.push(yield* remove(s, key));
    return removed;
  },
  clear: (s) => removeAll(s),
  evict: (s, tag) => removeAll(s, tag),
  flush: flushInline,
};

/** `memoize` options, refusing XFetch's `beta`, which a tiered memoize does not offer. */
function noBeta<T extends object>(options: T | undefined): T {
  if (options !== undefined && options !== null && (options as { beta?: unknown }).beta !== undefined) {
    throw new TypeError('diskcache-ts: TieredCache.memoize has no beta option (early recomputation)');
  }
  return options ?? ({} as T);
}

/** The position of the last tier that takes writes, or `-1`. */
function lastWritable(tiers: readonly Tier[]): number {
  for (let i = tiers.length - 1; i >= 0; i--) if (tiers[i]?.writes !== 'none') return i;
  return -1;
}

/** What an instance keeps: the operations' state and whether it can run synchronously. */
interface Held {
  state: TieredState;
  /** Every tier's store has synchronous methods. */
  sync: boolean;
  closed: boolean;
}

/**
 * A cache over an ordered list of tiers, fastest first: a `MemoryCache`, a `Cache` on a local disk,
 * a `Cache` on a network mount shared by many hosts, a Keyv store such as Redis. Reads try each tier
 * in turn and copy a hit into the tiers above it (with its remaining time to live and its tag);
 * writes go to every writable tier, through or from a bounded write-behind queue. A copy in an upper
 * tier answers to the last tier: after `maxStaleness` ms it is checked against it by version, so a
 * value that another host replaced or deleted there is not served for longer than that.
 * `getOrSet` computes a key once across every host that shares the last `Cache` tier.
 *
 * The tiers' stores are the caller's: `close()` flushes the queues but closes no store.
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the merged interface declares the methods the static block installs.
export class TieredCache<V = unknown> {
  readonly #held: Held;
  /** `'degraded'`: a tier failed and was skipped (`whenDown: 'skip'`); told synchronously. */
  readonly events = new EventEmitter<TieredEvents>();

  constructor(options: TieredCacheOptions) {
    const plan = planTiers(options);
    const state: TieredState = {
      ...plan,
      queues: [],
      authority: lastWritable(plan.tiers),
      events: this.events,
      failures: plan.tiers.map(() => ({ count: 0, last: undefined })),
      writes: { now: 0, all: 0, byKey: new Map() },
    };
    makeQueues(state);
    this.#held = { state, sync: plan.tiers.every((t) => t.backend.sync), closed: false };
  }

  static {
    const drive: Drive<TieredCache<unknown>, TieredState> = {
      sync: (self, make) => runSync(undefined, make(self.#open(true))),
      async: async (self, make) => runAsync(undefined, make(self.#open(false))),
    };
    installTwins(this, OPERATIONS as never, drive);
    // The async flush waits for background writes under way, which the sync one cannot.
    defineMethod(this.prototype, 'flush', async function (this: TieredCache<unknown>) {
      const s = this.#open(false);
      for (const queue of s.queues) await queue?.flush();
    });
  }

  /**
   * The value of `key`, or the one `factory` computes and every tier then stores. Of all the
   * processes and hosts that share the last writable `Cache` tier, one computes while the others wait
   * for its result (that tier's `getOrSet`, with the same options); without such a tier, each
   * process computes for itself.
   */
  getOrSet<T = V>(key: Key, factory: Factory<NoInfer<T>>, options?: GetOrSetOptions): Promise<T> {
    return this.#drive(false, (s) =>
      getOrSet(s, key, factory as Factory<unknown>, options, false),
    ) as Promise<T>;
  }

  /** {@link getOrSet} on the sync surface (every tier synchronous; the factory must not return a Promise). */
  getOrSetSync<T = V>(
    key: Key,
    factory: Factory<NoInfer<T>>,
    options?: Omit<GetOrSetOptions, 'softTimeout' | 'hardTimeout' | 'signal'>,
  ): T {
    return this.#drive(true, (s) => getOrSet(s, key, factory as Factory<unknown>, options, true)) as T;
  }

  /**
   * `fn` with its results kept in the tiers, by its name and arguments (as `Cache.memoize`): each
   * call is a {@link getOrSet} of its key. XFetch's `beta` is not offered here.
   */
  memoize<A extends unknown[], R>(
    fn: (...args: A) => R,
    options?: Omit<MemoizeOptions, 'beta'>,
  ): ((...args: A) => Promise<Awaited<R>>) & { cacheKey(...args: A): string } {
    const plan = planMemo(fn, noBeta(options));
    const { ttl, tag, grace } = plan.getOrSet.write;
    const { softTimeout, hardTimeout } = plan.getOrSet;
    const cacheKey = (...args: A) => callKey(plan, args);
    const memoized = (...args: A) =>
      this.#drive(false, (s) =>
        getOrSet(
          s,
          cacheKey(...args),
          () => fn(...args),
          { ttl, tag, grace, softTimeout, hardTimeout },
          false,
        ),
      );
    return Object.assign(memoized as (...args: A) => Promise<Awaited<R>>, { cacheKey });
  }

  /** {@link memoize} on the sync surface. */
  memoizeSync<A extends unknown[], R>(
    fn: (...args: A) => R,
    options?: Omit<MemoizeOptions, 'beta' | 'softTimeout' | 'hardTimeout'>,
  ): ((...args: A) => R) & { cacheKey(...args: A): string } {
    const plan = planMemo(fn, noBeta(options), true);
    const { ttl, tag, grace } = plan.getOrSet.write;
    const cacheKey = (...args: A) => callKey(plan, args);
    const memoized = (...args: A) =>
      this.#drive(true, (s) =>
        getOrSet(s, cacheKey(...args), () => fn(...args), { ttl, tag, grace }, true),
      ) as R;
    return Object.assign(memoized, { cacheKey });
  }

  /** How each tier has fared: skipped failures and queued writes, first tier first. */
  health(): TierHealth[] {
    const s = this.#held.state;
    return s.tiers.map((tier, i) => ({
      name: tier.name,
      failures: s.failures[i]?.count ?? 0,
      lastError: s.failures[i]?.last,
      queued: s.queues[i]?.size ?? 0,
    }));
  }

  /**
   * Flushes the write-behind queues, then closes. What a `whenDown: 'skip'` tier fails to take is
   * dropped and told of as lost; a `'fail'` tier's failure rejects, and the instance stays open.
   */
  async close(): Promise<void> {
    if (this.#held.closed) return;
    const s = this.#held.state;
    for (const [i, queue] of s.queues.entries()) await queue?.flush(s.tiers[i]?.whenDown === 'skip');
    this.#stop();
  }

  /** {@link close} on the sync surface (writes under way in the background are left to finish). */
  closeSync(): void {
    if (this.#held.closed) return;
    runSync(undefined, flushInline(this.#held.state, true));
    this.#stop();
  }

  #stop(): void {
    for (const queue of this.#held.state.queues) queue?.stop();
    this.#held.closed = true;
  }

  #drive(sync: boolean, make: (s: TieredState) => Op<unknown>): unknown {
    if (sync) return runSync(undefined, make(this.#open(true)));
    return (async () => runAsync(undefined, make(this.#open(false))))();
  }

  #open(sync: boolean): TieredState {
    const held = this.#held;
    if (held.closed) throw new CacheError('ECLOSED', 'this TieredCache is closed');
    if (sync && !held.sync) {
      throw new TypeError(
        'diskcache-ts: this TieredCache has a tier without synchronous methods (a Keyv store): use the Promise-returning methods',
      );
    }
    return held.state;
  }
}

/** The methods installed from {@link TieredMethods}: `name()` returning a Promise and `nameSync()`. */
export interface TieredCache<V> extends AsyncSurface<TieredMethods<V>>, SyncSurface<TieredMethods<V>> {}
