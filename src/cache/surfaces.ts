import type { Key } from '../format/key.js';
import type { AsyncSurface as Promised, SyncSurface as Suffixed } from '../fs/twins.js';
import type { CacheEntry } from './single.js';

/**
 * The two surfaces of a table of operations (written once, in their synchronous form): `name()`
 * returning a Promise, and `nameSync()`. The operations whose result type depends on the call
 * (`get<T>(key)`, a fallback's type, a bigint `incr`) are typed by hand in {@link TypedCalls}: a
 * mapped type cannot carry type parameters.
 */

type Operation = (...args: never[]) => unknown;

/** The operations typed per call, in their synchronous form. */
export interface TypedCalls<V> {
  /** The value stored under `key`, typed `T` (the cache's `V` by default), or `undefined`. */
  get<T = V>(key: Key): T | undefined;
  /** The value stored under `key`, or `defaultValue` (typed as given) if it is missing or expired. */
  get<T = V, D = T>(key: Key, defaultValue: D): T | D;
  /** The value with its metadata, or `undefined`. */
  getEntry<T = V>(key: Key): CacheEntry<T> | undefined;
  /** The values of `keys`, in order, `undefined` for each miss. */
  getMany<T = V>(keys: readonly Key[]): (T | undefined)[];
  /** Removes `key` and returns its value, or `undefined`. */
  pop<T = V>(key: Key): T | undefined;
  /** Removes `key` and returns its value, or `defaultValue` (typed as given). */
  pop<T = V, D = T>(key: Key, defaultValue: D): T | D;
  /** Adds a number `delta` (default 1) to the number under `key`; a missing key starts at `defaultValue` (0). */
  incr(key: Key, delta?: number, defaultValue?: number | null): number;
  /** Adds a bigint `delta` to the bigint under `key`; a missing key starts at `defaultValue`. */
  incr(key: Key, delta: bigint, defaultValue?: bigint | null): bigint;
  /** `incr` with `-delta`. */
  decr(key: Key, delta?: number, defaultValue?: number | null): number;
  /** `incr` with `-delta`. */
  decr(key: Key, delta: bigint, defaultValue?: bigint | null): bigint;
}

/** {@link TypedCalls} returning Promises. */
export interface TypedAsyncCalls<V> {
  get<T = V>(key: Key): Promise<T | undefined>;
  get<T = V, D = T>(key: Key, defaultValue: D): Promise<T | D>;
  getEntry<T = V>(key: Key): Promise<CacheEntry<T> | undefined>;
  getMany<T = V>(keys: readonly Key[]): Promise<(T | undefined)[]>;
  pop<T = V>(key: Key): Promise<T | undefined>;
  pop<T = V, D = T>(key: Key, defaultValue: D): Promise<T | D>;
  incr(key: Key, delta?: number, defaultValue?: number | null): Promise<number>;
  incr(key: Key, delta: bigint, defaultValue?: bigint | null): Promise<bigint>;
  decr(key: Key, delta?: number, defaultValue?: number | null): Promise<number>;
  decr(key: Key, delta: bigint, defaultValue?: bigint | null): Promise<bigint>;
}

type TypedName = keyof TypedCalls<unknown>;

/** The Promise-returning surface of operations `M` over values `V`. */
export type AsyncSurface<M extends Record<TypedName, Operation>, V> = Omit<Promised<M>, TypedName> &
  TypedAsyncCalls<V>;

/** The synchronous surface (`nameSync()`) of operations `M` over values `V`. */
export type SyncSurface<M extends Record<TypedName, Operation>, V> = Omit<Suffixed<M>, `${TypedName}Sync`> &
  Suffixed<TypedCalls<V>>;
