/**
 * A [Keyv](https://github.com/jaredwray/keyv) storage adapter over a {@link Cache}, published at the
 * subpath `diskcache-ts/keyv` so that it loads only when imported. It depends on no Keyv package at
 * run time: it has the shape Keyv expects.
 *
 * @module diskcache-ts/keyv
 */
import { EventEmitter } from 'node:events';
import type { BatchEntry } from '../cache/batch.js';
import { Cache } from '../cache/cache.js';
import { type CacheOptions, validateOptions } from '../cache/options.js';
import { assertOptionsObject } from '../option-names.js';

/** Options of {@link KeyvDiskCache}: where to store, plus any {@link CacheOptions} for opening it. */
export interface KeyvDiskCacheOptions extends CacheOptions {
  /**
   * The cache directory, created if needed. Ignored when {@link cache} is given.
   * @default a new temporary directory
   */
  directory?: string;
  /**
   * An open {@link Cache} to store into instead of opening {@link directory}. The adapter does not
   * close it on `disconnect()`; whoever opened it does.
   */
  cache?: Cache;
  /**
   * The namespace before Keyv sets one. Keyv 5 always sets it (its default is `'keyv'`); Keyv 6 sets
   * it when it has a namespace of its own, and otherwise keeps this one.
   */
  namespace?: string;
  /**
   * The Keyv storage contract to follow. Keyv 5 prefixes keys with their namespace itself and passes a
   * relative `ttl` to `set`; Keyv 6 passes bare keys and an absolute `expires`, and leaves namespaces
   * to the adapter. Without this option the adapter follows Keyv 5 until Keyv 6 reads its
   * {@link KeyvDiskCache.capabilities} (which Keyv 6 does when the store is attached, and Keyv 5
   * never does).
   */
  keyvVersion?: 5 | 6;
}

/** Whether and how a storage method exists, as Keyv 6 describes it. */
export interface KeyvStorageMethodInfo {
  /** Whether the adapter has the method. */
  exists: boolean;
  /** Whether the method returns a Promise (`'async'`). */
  methodType: 'sync' | 'async' | 'none';
}

/** What the adapter can do, in the shape of Keyv 6's `KeyvStorageCapability`. */
export interface KeyvDiskCacheCapabilities {
  /** The adapter can serve as a Keyv store. */
  compatible: true;
  /** A full asynchronous storage adapter, not a Map-like object. */
  store: 'keyvStorage';
  /** Each storage method, as Keyv 6 lists them. */
  methods: Record<
    | 'get'
    | 'getMany'
    | 'has'
    | 'hasMany'
    | 'set'
    | 'setMany'
    | 'delete'
    | 'deleteMany'
    | 'clear'
    | 'disconnect'
    | 'iterator',
    KeyvStorageMethodInfo
  >;
  /** The adapter accepts an absolute `expires` (epoch milliseconds) on `set` and `setMany`. */
  expires: true;
}

/**
 * An entry for {@link KeyvDiskCache.setMany}: Keyv 5 passes a relative `ttl`, Keyv 6 an absolute
 * `expires`; both in milliseconds.
 */
export interface KeyvDiskCacheEntry {
  /** The key, as Keyv passes it. */
  key: string;
  /** The value, as Keyv passes it (serialized by Keyv unless it was told not to). */
  value: unknown;
  /** Milliseconds to live (Keyv 5). */
  ttl?: number;
  /** Epoch milliseconds after which the entry is expired (Keyv 6). */
  expires?: number;
}

/** The adapter's `opts`, which Keyv reads. */
export interface KeyvDiskCacheOpts {
  /**
   * Keyv 5 enables `Keyv.iterator()` only for stores whose `opts.dialect` is in a list of its own
   * (sqlite, postgres, mysql, mongo, redis, valkey, etcd). The adapter says `'redis'`, whose iterator
   * contract (keys carry their namespace prefix) it follows; nothing else reads this.
   */
  dialect: 'redis';
  /** The cache directory. */
  directory: string;
  /** Keyv and its test suite may set further fields here; the adapter ignores them. */
  [option: string]: unknown;
}

const ADAPTER_OPTIONS = new Set(['directory', 'cache', 'namespace', 'keyvVersion']);

/** The tag of the entries written in `namespace`; `evict(tag)` clears a namespace. */
export function keyvNamespaceTag(namespace: string | undefined): string {
  return `keyv:${namespace ?? ''}`;
}

function assertStringKey(key: unknown): asserts key is string {
  if (typeof key !== 'string') {
    throw new TypeError(`diskcache-ts: Keyv keys must be strings, not ${key === null ? 'null' : typeof key}`);
  }
}

/**
 * A Keyv storage adapter that keeps entries in a diskcache-ts {@link Cache}: persistent, shared by every
 * process on the directory, with expiry enforced by the cache. Works with Keyv 5 (and so with
 * cache-manager 7 and NestJS) and with Keyv 6, which it tells apart by itself (see
 * {@link KeyvDiskCacheOptions.keyvVersion}).
 *
 * Every entry is tagged with its namespace (`'keyv:' + namespace`, see {@link keyvNamespaceTag}), so
 * `clear()` in a namespace removes only that namespace's entries. Without a namespace, `clear()`
 * empties the whole directory: give Keyv a directory of its own.
 *
 * Keys are stored as Keyv 5 forms them, `namespace:key`, under either Keyv version, so data written
 * through Keyv 5 is found after moving to Keyv 6. Values are stored as Keyv hands them over (a string
 * with its default serializer), with the cache's codec.
 *
 * @example
 * import Keyv from 'keyv';
 * import { KeyvDiskCache } from 'diskcache-ts/keyv';
 *
 * const keyv = new Keyv({ store: new KeyvDiskCache({ directory: '/var/cache/my-app' }) });
 * await keyv.set('answer', 42, 60_000);
 */
export class KeyvDiskCache extends EventEmitter {
  /** The cache the entries are stored in. */
  readonly cache: Cache;
  /** Options as Keyv reads them. */
  readonly opts: KeyvDiskCacheOpts;
  /** The current namespace; Keyv assigns it. */
  namespace: string | undefined;

  #owned: boolean;
  #version: 5 | 6 | undefined;

  /**
   * @param options - a directory path, or {@link KeyvDiskCacheOptions}; the options that are not the
   * adapter's own are passed to `new Cache(directory, options)`.
   */
  constructor(options: string | KeyvDiskCacheOptions = {}) {
    super();
    const given: KeyvDiskCacheOptions = typeof options === 'string' ? { directory: options } : options;
    assertOptionsObject(given, 'KeyvDiskCache options must be a directory path or an object');
    validateOptions(given, [...ADAPTER_OPTIONS], 'KeyvDiskCache');
    if (given.keyvVersion !== undefined && given.keyvVersion !== 5 && given.keyvVersion !== 6) {
      throw new RangeError('diskcache-ts: keyvVersion must be 5 or 6');
    }
    const cacheOptions = Object.fromEntries(
      Object.entries(given).filter(([name]) => !ADAPTER_OPTIONS.has(name)),
    ) as CacheOptions;
    if (given.cache !== undefined) {
      if (!(given.cache instanceof Cache)) throw new TypeError('diskcache-ts: options.cache must be a Cache');
      this.cache = given.cache;
      this.#owned = false;
    } else {
      this.cache = new Cache(given.directory, cacheOptions);
      this.#owned = true;
    }
    this.namespace = given.namespace;
    this.#version = given.keyvVersion;
    this.opts = { dialect: 'redis', directory: this.cache.directory };
  }

  /**
   * Keyv 6 reads this to learn that the adapter takes an absolute `expires` and handles namespaces;
   * reading it switches an adapter without an explicit `keyvVersion` to the Keyv 6 contract.
   */
  get capabilities(): KeyvDiskCacheCapabilities {
    this.#version ??= 6;
    const async: KeyvStorageMethodInfo = { exists: true, methodType: 'async' };
    return {
      compatible: true,
      store: 'keyvStorage',
      methods: {
        get: async,
        getMany: async,
        has: async,
        hasMany: async,
        set: async,
        setMany: async,
        delete: async,
        deleteMany: async,
        clear: async,
        disconnect: async,
        iterator: async,
      },
      expires: true,
    };
  }

  /** The Keyv contract the adapter follows: 5 until Keyv 6 attaches it, or as configured. */
  get keyvVersion(): 5 | 6 {
    return this.#version ?? 5;
  }

  /** The cache key of a Keyv key: Keyv 5 has prefixed it already; under Keyv 6 the adapter does. */
  #cacheKey(key: unknown): string {
    assertStringKey(key);
    if (this.keyvVersion === 5 || this.namespace === undefined) return key;
    return `${this.namespace}:${key}`;
  }

  /**
   * Stores the entries (Keyv's keys) as one batch, tagged with the namespace. `ttl` is relative (`0`:
   * never expires; none: the cache's default `ttl` option); `expires` (Keyv 6) is absolute, and an
   * `expires` (or a `ttl`) already past removes the entry instead, as Keyv 6 asks of its adapters.
   */
  async #store(entries: readonly KeyvDiskCacheEntry[]): Promise<void> {
    const writes: BatchEntry[] = [];
    const removals: string[] = [];
    for (const { key, value, ttl, expires } of entries) {
      const cacheKey = this.#cacheKey(key);
      const left =
        typeof expires === 'number' && Number.isFinite(expires)
          ? expires - Date.now()
          : typeof ttl === 'number' && Number.isFinite(ttl)
            ? ttl
            : undefined;
      if (left !== undefined && (left < 0 || (left === 0 && expires !== undefined))) removals.push(cacheKey);
      else writes.push({ key: cacheKey, value, ttl: left });
    }
    await this.cache.setMany(writes, { tag: keyvNamespaceTag(this.namespace) });
    if (removals.length > 0) await this.cache.deleteMany(removals);
  }

  /** The stored value, or `undefined` if the key is missing or expired. */
  async get<Value = unknown>(key: string): Promise<Value | undefined> {
    return (await this.cache.get(this.#cacheKey(key))) as Value | undefined;
  }

  /** The stored values, in the order of `keys`, with `undefined` for each miss. */
  async getMany<Value = unknown>(keys: string[]): Promise<Array<Value | undefined>> {
    return (await this.cache.getMany(keys.map((key) => this.#cacheKey(key)))) as Array<Value | undefined>;
  }

  /**
   * Stores `value` under `key`. The third argument is a `ttl` in milliseconds under Keyv 5, and an
   * absolute `expires` in epoch milliseconds under Keyv 6 (see {@link keyvVersion}); `undefined`
   * means no expiry.
   */
  async set(key: string, value: unknown, ttlOrExpires?: number): Promise<boolean> {
    await this.#store([
      this.keyvVersion === 6 ? { key, value, expires: ttlOrExpires } : { key, value, ttl: ttlOrExpires },
    ]);
    return true;
  }

  /** Stores several entries as one batch (see `Cache.setMany`); one `true` per entry. */
  async setMany(entries: KeyvDiskCacheEntry[]): Promise<boolean[]> {
    await this.#store(entries);
    return entries.map(() => true);
  }

  /** Whether `key` is present and not expired. */
  async has(key: string): Promise<boolean> {
    return this.cache.has(this.#cacheKey(key));
  }

  /** {@link has} for each key. */
  async hasMany(keys: string[]): Promise<boolean[]> {
    const results: boolean[] = [];
    for (const key of keys) results.push(await this.has(key));
    return results;
  }

  /** Removes `key`; `true` if it was there. */
  async delete(key: string): Promise<boolean> {
    return this.cache.delete(this.#cacheKey(key));
  }

  /**
   * Removes each key. Keyv 5 expects one boolean (here: whether every key was there, as Keyv 5's own
   * fallback answers); Keyv 6 expects one boolean per key.
   */
  async deleteMany(keys: string[]): Promise<boolean | boolean[]> {
    const results = await this.cache.deleteMany(keys.map((key) => this.#cacheKey(key)));
    return this.keyvVersion === 6 ? results : results.length > 0 && results.every(Boolean);
  }

  /**
   * Removes the entries of the current namespace (`evict('keyv:' + namespace)`); without a namespace,
   * every entry in the cache directory.
   */
  async clear(): Promise<void> {
    if (this.namespace === undefined) await this.cache.clear();
    else await this.cache.evict(keyvNamespaceTag(this.namespace));
  }

  /**
   * Every live `[key, value]` of `namespace` (default: the current one). Keys are yielded as Keyv
   * passed them: with the namespace prefix under Keyv 5, without it under Keyv 6. Without a
   * namespace, every entry written through a Keyv adapter, whatever its namespace.
   */
  async *iterator<Value = unknown>(namespace?: string): AsyncGenerator<[string, Value], void> {
    const ns = namespace ?? this.namespace;
    const prefix = this.keyvVersion === 6 && ns !== undefined ? `${ns}:` : '';
    const tag = ns === undefined ? undefined : keyvNamespaceTag(ns);
    for await (const key of this.cache.keys()) {
      if (typeof key !== 'string' || !key.startsWith(prefix)) continue;
      const entry = await this.cache.getEntry(key);
      if (entry === undefined) continue;
      const ours =
        tag === undefined
          ? typeof entry.tag === 'string' && entry.tag.startsWith('keyv:')
          : entry.tag === tag;
      if (ours) yield [key.slice(prefix.length), entry.value as Value];
    }
  }

  /** Closes the cache if the adapter opened it. */
  async disconnect(): Promise<void> {
    if (this.#owned) await this.cache.close();
  }
}
