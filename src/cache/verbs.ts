import type { Key } from '../format/key.js';
import { type Op, runAsync, runSync, twin } from '../fs/runner.js';
import type { Cache, CacheMethods } from './cache.js';

/**
 * A cache of any value type. The recipes take one of these: they store only their own strings in it,
 * so a `Cache<User>` serves as well as a `Cache<unknown>`.
 */
// biome-ignore lint/suspicious/noExplicitAny: `Cache<V>` is invariant in V; any V will do here.
export type AnyCache = Cache<any>;

type Method<V, K extends keyof CacheMethods<V>> = CacheMethods<V>[K];

type Methods = Record<string, (...args: unknown[]) => unknown>;

/**
 * Calls `cache[name](...args)` from inside an operation, or its `Sync` twin on the sync surface,
 * and returns the result. This is how recipes and collections are written over `Cache`.
 */
export function method<V, K extends keyof CacheMethods<V>>(
  cache: Cache<V>,
  name: K,
  ...args: Parameters<Method<V, K>>
): Op<ReturnType<Method<V, K>>> {
  const methods = cache as unknown as Methods;
  return twin(
    () => methods[`${name}Sync`]?.(...args) as ReturnType<Method<V, K>>,
    async () => (await methods[name]?.(...args)) as ReturnType<Method<V, K>>,
  );
}

/** Every live key (or `[key, value]`) of `cache`, as an array. Reads every entry: O(n). */
export function list<V>(cache: Cache<V>, what: 'keys'): Op<Key[]>;
export function list<V>(cache: Cache<V>, what: 'entries'): Op<[Key, V][]>;
export function list<V>(cache: Cache<V>, what: 'keys' | 'entries'): Op<unknown[]> {
  return twin(
    () => [...(what === 'keys' ? cache.keysSync() : cache.entriesSync())],
    async () => {
      const items: unknown[] = [];
      for await (const item of what === 'keys' ? cache.keys() : cache.entries()) items.push(item);
      return items;
    },
  );
}

/**
 * Runs `body` in a transaction of `cache` (`cache.transact`): single-key writes made through `view`
 * are staged and become visible together when the body returns; removals apply only if the entry is
 * still the one that was read. Transactions run one at a time across processes.
 */
export function transact<V, T>(cache: Cache<V>, body: (view: Cache<V>) => Op<T>): Op<T> {
  return twin(
    () => cache.transactSync((view) => runSync(undefined, body(view))),
    () => cache.transact((view) => runAsync(undefined, body(view))),
  );
}

/**
 * Runs `body` while holding `cache`'s transaction lock (one per cache directory, shared by every
 * process), with the cache itself rather than a staged view: its writes apply at once, and the lock
 * only keeps the other transactions out. A cross-process mutex for sequences of operations that a
 * staged transaction cannot hold, such as queue operations.
 */
export function mutex<V, T>(cache: Cache<V>, body: () => Op<T>): Op<T> {
  return transact(cache, () => body());
}
