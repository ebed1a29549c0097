import { Cache } from '../cache/cache.js';
import type { AnyCache } from '../cache/verbs.js';
import { CacheError } from '../errors.js';
import { encodeKey, type Key } from '../format/key.js';
import { type Op, twin } from '../fs/runner.js';
import { MemoryCache } from '../memory/memory-cache.js';
import { decodeEnvelope, type Envelope, encodeEnvelope, readEnvelope } from './envelope.js';
import { redisClientOf, releaseLease, takeLease } from './redis-lock.js';

/**
 * What a tier needs of a Keyv store: a `Keyv` instance, or a Keyv storage adapter such as
 * `@keyv/redis`'s. Values are written as strings, which every store and serializer keeps as they are.
 */
export interface KeyvLike {
  get(key: string): unknown;
  set(key: string, value: string, ttl?: number): unknown;
  delete(key: string): unknown;
  clear(): unknown;
  /** Every `[key, value]`, where the store can list them: how `evict(tag)` finds tagged entries. */
  iterator?: ((...args: never[]) => AsyncIterable<[unknown, unknown]>) | undefined;
}

/** A memory cache of any value type (as {@link AnyCache}). */
// biome-ignore lint/suspicious/noExplicitAny: `MemoryCache<V>` is invariant in V; any V will do here.
export type AnyMemoryCache = MemoryCache<any>;

/** What a tier is made of. */
export type TierStore = AnyCache | AnyMemoryCache | KeyvLike;

/** How a tier's operations reach its store, each written once for both surfaces. */
export interface Backend {
  /** What the tier is, for messages: `'cache /path'`, `'memory'`, `'keyv'`. */
  readonly label: string;
  /** Whether the store has synchronous methods (a `Cache` or a `MemoryCache`). */
  readonly sync: boolean;
  /** The store as a `Cache`, whose `getOrSet` computes once for every process that shares it. */
  readonly shared: AnyCache | undefined;
  /** Leases on keys, where the store can hold them (Redis): how `getOrSet` computes once over it. */
  readonly lease: Lease | undefined;
  read(key: Key): Op<Envelope | undefined>;
  /** Stores `envelope` for the time it has left (`false`: it had none left, so nothing was stored). */
  write(envelope: Envelope): Op<boolean>;
  remove(key: Key): Op<boolean>;
  /** Removes every entry; how many, where the store says. */
  clear(): Op<number>;
  /** Removes the entries tagged `tag`; how many. */
  evict(tag: Key): Op<number>;
}

/** A lease on a key, held by `token` for `ms` at most. */
export interface Lease {
  /** Takes the lease on `key` if it is free; whether it was. */
  take(key: Key, token: string, ms: number): Op<boolean>;
  /** Releases it, if `token` still holds it. */
  release(key: Key, token: string): Op<void>;
}

type Methods = Record<string, (...args: unknown[]) => unknown>;

/** `target.name(...args)`, or `target.nameSync(...args)` on the sync surface. */
function invoke<T>(target: object, name: string, ...args: unknown[]): Op<T> {
  const methods = target as Methods;
  return twin(
    () => methods[`${name}Sync`]?.(...args) as T,
    async () => (await methods[name]?.(...args)) as T,
  );
}

/** Milliseconds `envelope` has left to live: `0` for never expiring (as `ttl: 0` means), `-1` for none left. */
function timeLeft(envelope: Envelope, now: number): number {
  if (envelope.expiresAt === null) return 0;
  const left = envelope.expiresAt - now;
  return left > 0 ? left : -1;
}

/**
 * A diskcache-ts `Cache` or `MemoryCache`. The envelope is stored as the value, in the cache's own
 * codec (the default `'structured'` codec keeps any value; a `'json'` cache keeps JSON values only).
 */
function cacheBackend(cache: AnyCache | AnyMemoryCache): Backend {
  return {
    label: cache instanceof Cache ? `cache ${cache.directory}` : 'memory',
    sync: true,
    shared: cache instanceof Cache ? cache : undefined,
    lease: undefined,
    // One effect per read: this is a hit's whole cost over the store's own.
    read: (key) =>
      twin(
        () => decodeEnvelope(cache.getSync(key), key),
        async () => decodeEnvelope(await cache.get(key), key),
      ),
    *write(envelope) {
      const ttl = timeLeft(envelope, Date.now());
      if (ttl < 0) return false;
      yield* invoke(cache, 'set', envelope.key, envelope, { ttl, tag: envelope.tag });
      return true;
    },
    remove: (key) => invoke(cache, 'delete', key),
    clear: () => invoke(cache, 'clear'),
    evict: (tag) => invoke(cache, 'evict', tag),
  };
}

/**
 * The store key of `key` in a Keyv store: strings as they are, other keys by type and bytes after a
 * NUL (as is a string that starts with one, so that no two keys share a store key).
 */
function keyvKey(key: Key): string {
  if (typeof key === 'string' && !key.startsWith('\u0000')) return key;
  const { type, bytes } = encodeKey(key);
  return `\u0000${type}:${Buffer.from(bytes).toString('base64')}`;
}

function syncRefused(): never {
  throw new TypeError(
    'diskcache-ts: a TieredCache with a Keyv tier has no synchronous methods (Keyv stores are asynchronous): use the Promise-returning ones',
  );
}

/** Calls `fn` of a Keyv store, asynchronously only. */
function keyvCall<T>(fn: () => unknown): Op<T> {
  return twin(syncRefused, async () => (await fn()) as T);
}

/** The namespace a Keyv store (or `Keyv`) keeps its keys in, `''` for none. */
function namespaceOf(store: KeyvLike): string {
  const namespace = (store as { namespace?: unknown }).namespace;
  return typeof namespace === 'string' ? namespace : '';
}

/** Leases in the Redis server behind a Keyv store, if it is one. */
function redisLease(store: KeyvLike): Lease | undefined {
  const redis = redisClientOf(store);
  if (redis === undefined) return undefined;
  const namespace = namespaceOf(store);
  const name = (key: Key) => `diskcache-ts:lease:${namespace}:${keyvKey(key)}`;
  return {
    take: (key, token, ms) => keyvCall(() => takeLease(redis, name(key), token, ms)),
    release: (key, token) => keyvCall(() => releaseLease(redis, name(key), token)),
  };
}

function keyvBackend(store: KeyvLike): Backend {
  const decode = (stored: unknown, key: Key) =>
    typeof stored === 'string' ? decodeEnvelope(Buffer.from(stored, 'base64'), key) : undefined;
  return {
    label: 'keyv',
    sync: false,
    shared: undefined,
    lease: redisLease(store),
    *read(key) {
      return decode(yield* keyvCall(() => store.get(keyvKey(key))), key);
    },
    *write(envelope) {
      const ttl = timeLeft(envelope, Date.now());
      if (ttl < 0) return false;
      let stored: string;
      try {
        stored = encodeEnvelope(envelope).toString('base64');
      } catch (cause) {
        // Not cloneable (a function, a symbol): no retry would store it.
        throw new TypeError(
          `diskcache-ts: a Keyv tier cannot store this value: ${(cause as Error).message}`,
          {
            cause,
          },
        );
      }
      yield* keyvCall(() => store.set(keyvKey(envelope.key), stored, ttl === 0 ? undefined : ttl));
      return true;
    },
    *remove(key) {
      return (yield* keyvCall(() => store.delete(keyvKey(key)))) === true;
    },
    *clear() {
      yield* keyvCall(() => store.clear());
      return 0;
    },
    *evict(tag) {
      const iterator = store.iterator;
      if (typeof iterator !== 'function') {
        throw new CacheError(
          'EUNSUPPORTED',
          'evict(tag) needs a Keyv store that can list its entries (iterator()); this one cannot, so entries tagged so would stay in it',
        );
      }
      const wanted = keyvKey(tag);
      const tagged = yield* keyvCall<Key[]>(async () => {
        const keys: Key[] = [];
        for await (const [, stored] of iterator.call(store, (namespaceOf(store) || undefined) as never)) {
          if (typeof stored !== 'string') continue;
          const envelope = readEnvelope(Buffer.from(stored, 'base64'));
          if (envelope !== undefined && envelope.tag !== null && keyvKey(envelope.tag) === wanted)
            keys.push(envelope.key);
        }
        return keys;
      });
      let removed = 0;
      for (const key of tagged) if (yield* this.remove(key)) removed++;
      return removed;
    },
  };
}

/** The backend of a tier's store; a `TypeError` for anything that is not one. */
export function backendOf(store: unknown): Backend {
  if (store instanceof Cache || store instanceof MemoryCache) return cacheBackend(store);
  const s = store as Partial<KeyvLike> | null;
  if (
    typeof s === 'object' &&
    s !== null &&
    typeof s.get === 'function' &&
    typeof s.set === 'function' &&
    typeof s.delete === 'function' &&
    typeof s.clear === 'function'
  ) {
    return keyvBackend(s as KeyvLike);
  }
  throw new TypeError(
    'diskcache-ts: a tier is a Cache, a MemoryCache or a Keyv store (get, set, delete and clear methods)',
  );
}
