import { Cache } from '../cache/cache.js';
import { type CacheOptions, validateOptions } from '../cache/options.js';
import { list, method, mutex } from '../cache/verbs.js';
import type { Key } from '../format/key.js';
import { emit, iterateAsync, iterateSync, type Op } from '../fs/runner.js';
import { type AsyncSurface, installTwins, over, type SyncSurface } from '../fs/twins.js';

/**
 * The operations of a {@link Deque}, in their synchronous form; each is installed as `name()`
 * (a Promise) and `nameSync()` from one body. An empty deque gives `undefined` where python raises
 * `IndexError`, so a stored `undefined` cannot be told from "empty" by `pop`/`peek`: check
 * {@link DequeMethods.length} if you store `undefined`.
 */
export interface DequeMethods<V> {
  /** Adds `value` at the back; beyond `maxLength`, drops from the front. O(1). */
  push(value: V): void;
  /** Adds `value` at the front; beyond `maxLength`, drops from the back. O(1). */
  pushFront(value: V): void;
  /** Removes and returns the back item, or `undefined` if empty. Each item goes to exactly one caller. O(1). */
  pop(): V | undefined;
  /** Removes and returns the front item, or `undefined` if empty. O(1). */
  popFront(): V | undefined;
  /** The back item without removing it, or `undefined` if empty. O(1). */
  peek(): V | undefined;
  /** The front item without removing it, or `undefined` if empty. O(1). */
  peekFront(): V | undefined;
  /** The number of items. O(1). */
  length(): number;
  /**
   * The item at `index` from the front (negative: from the back, as `Array.prototype.at`), or
   * `undefined` if out of range. O(n): lists every item's key. An item removed meanwhile is skipped.
   */
  at(index: number): V | undefined;
  /**
   * Rotates `steps` to the right (the back items move to the front); negative steps rotate left.
   * Runs under the deque's lock, one move at a time: O(|steps| mod length).
   */
  rotate(steps?: number): void;
  /** Removes every item; returns how many. O(n). */
  clear(): number;
}

/** What the operations work on. */
interface DequeState {
  cache: Cache<unknown>;
  maxLength: number;
}

function* pushAt(d: DequeState, value: unknown, side: 'back' | 'front'): Op<void> {
  const { cache, maxLength } = d;
  if (maxLength === Number.POSITIVE_INFINITY) {
    yield* method(cache, 'push', value, { side });
    return;
  }
  if (maxLength === 0) return;
  // Push and trim under the deque's lock, so that racing pushes never trim more than needed.
  yield* mutex(cache, function* () {
    yield* method(cache, 'push', value, { side });
    while ((yield* method(cache, 'count')) > maxLength) {
      if ((yield* method(cache, 'pull', { side: side === 'back' ? 'front' : 'back' })) === undefined) break;
    }
  });
}

function* take(d: DequeState, side: 'back' | 'front', remove: boolean): Op<unknown> {
  return (yield* method(d.cache, remove ? 'pull' : 'peek', { side }))?.[1];
}

/** The items' keys, front to back. Queue keys are integers, ordered from the front. */
function* orderedKeys(d: DequeState): Op<number[]> {
  const keys = yield* list(d.cache, 'keys');
  return keys.filter((k): k is number => typeof k === 'number').sort((a, b) => a - b);
}

/** The item under `key`, or `undefined` if it was removed meanwhile. */
function itemEntry(d: DequeState, key: Key): Op<{ value: unknown } | undefined> {
  return method(d.cache, 'getEntry', key);
}

/** Emits every item, front to back; an item removed meanwhile is skipped. */
function* items(d: DequeState): Op<void> {
  for (const key of yield* orderedKeys(d)) {
    const entry = yield* itemEntry(d, key);
    if (entry !== undefined) yield* emit(entry.value);
  }
}

function* at(d: DequeState, index: number): Op<unknown> {
  if (!Number.isSafeInteger(index)) throw new TypeError('diskcache-ts: a deque index must be an integer');
  const keys = yield* orderedKeys(d);
  const step = index < 0 ? -1 : 1;
  for (let i = index < 0 ? keys.length + index : index; i >= 0 && i < keys.length; i += step) {
    const entry = yield* itemEntry(d, keys[i] as number);
    if (entry !== undefined) return entry.value;
  }
  return undefined;
}

function* rotate(d: DequeState, steps = 1): Op<void> {
  if (!Number.isSafeInteger(steps)) throw new TypeError('diskcache-ts: rotate steps must be an integer');
  const { cache } = d;
  yield* mutex(cache, function* () {
    const length = yield* method(cache, 'count');
    if (length === 0) return;
    const moves = Math.abs(steps) % length;
    const [from, to] = steps >= 0 ? (['back', 'front'] as const) : (['front', 'back'] as const);
    for (let i = 0; i < moves; i++) {
      const item = yield* method(cache, 'pull', { side: from });
      if (item === undefined) return;
      yield* method(cache, 'push', item[1], { side: to });
    }
  });
}

type Operations = {
  [K in keyof DequeMethods<unknown>]: (
    d: DequeState,
    ...args: Parameters<DequeMethods<unknown>[K]>
  ) => Op<ReturnType<DequeMethods<unknown>[K]>>;
};

/** Every operation, written once. */
const OPERATIONS: Operations = {
  push: (d, value) => pushAt(d, value, 'back'),
  pushFront: (d, value) => pushAt(d, value, 'front'),
  pop: (d) => take(d, 'back', true),
  popFront: (d) => take(d, 'front', true),
  peek: (d) => take(d, 'back', false),
  peekFront: (d) => take(d, 'front', false),
  length: (d) => method(d.cache, 'count'),
  at,
  rotate,
  clear: (d) => method(d.cache, 'clear'),
};

/**
 * A persistent double-ended queue in a directory (python-diskcache's `Deque`), safe to share between
 * processes: each item goes to exactly one `pop`/`popFront` caller. It is a {@link Cache} with the
 * eviction policy `'none'` whose entries are the items, kept with the cache's queues (`push`, `pull`,
 * `peek`). Every operation exists as `name()` (a Promise) and `nameSync()`; see {@link DequeMethods}.
 * Iteration goes front to back.
 *
 * @example
 * const jobs = new Deque<string>('/tmp/jobs', { maxLength: 1000 });
 * await jobs.push('a');
 * await jobs.pushFront('b');
 * await jobs.popFront(); // 'b'
 * for await (const job of jobs) console.log(job);
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the merged interface declares the methods the static block installs.
export class Deque<V = unknown> {
  /** The cache holding the items (eviction policy `'none'`). */
  readonly cache: Cache<V>;
  /** The absolute path of the deque's directory. */
  readonly directory: string;
  /** The most items kept; pushing beyond it drops from the opposite end. `Infinity` if unbounded. */
  readonly maxLength: number;
  readonly #state: DequeState;

  /**
   * Opens the deque in `directory` (created if needed; a new temporary directory if omitted).
   * The other options are the {@link Cache}'s, except the eviction policy, which is always `'none'`.
   */
  constructor(directory?: string, options: Deque.Options = {}) {
    validateOptions(options, ['maxLength'], 'Deque');
    const { maxLength = Number.POSITIVE_INFINITY, ...cacheOptions } = options;
    if (
      typeof maxLength !== 'number' ||
      !(Number.isSafeInteger(maxLength) || maxLength === Number.POSITIVE_INFINITY) ||
      maxLength < 0
    ) {
      throw new RangeError('diskcache-ts: maxLength must be a non-negative integer or Infinity');
    }
    this.cache = new Cache<V>(directory, { ...cacheOptions, evictionPolicy: 'none' });
    this.directory = this.cache.directory;
    this.maxLength = maxLength;
    this.#state = { cache: this.cache as Cache<unknown>, maxLength };
  }

  static {
    installTwins(
      this,
      OPERATIONS,
      over((self: Deque) => self.#state),
    );
  }

  /** The items, front to back. Lists every key first (O(n)); an item removed meanwhile is skipped. */
  values(): AsyncIterableIterator<V> {
    return iterateAsync<V>(undefined, items(this.#state));
  }
  /** {@link values}, synchronously. */
  valuesSync(): IterableIterator<V> {
    return iterateSync<V>(undefined, items(this.#state));
  }
  /** `for await (const item of deque)`: the items, front to back. */
  [Symbol.asyncIterator](): AsyncIterableIterator<V> {
    return this.values();
  }
  /** `for (const item of deque)`: the items, front to back. */
  [Symbol.iterator](): IterableIterator<V> {
    return this.valuesSync();
  }

  /** Closes the underlying cache. */
  close(): Promise<void> {
    return this.cache.close();
  }
  /** {@link close}, synchronously. */
  closeSync(): void {
    this.cache.closeSync();
  }
  /** `using deque = new Deque(dir)` closes it at the end of the scope. */
  [Symbol.dispose](): void {
    this.closeSync();
  }
  /** `await using deque = new Deque(dir)` closes it at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

// The methods installed from OPERATIONS, for the type checker.
export interface Deque<V> extends AsyncSurface<DequeMethods<V>>, SyncSurface<DequeMethods<V>> {}

export namespace Deque {
  /** Options of `new Deque(directory, options)`: the {@link Cache}'s, but the eviction policy, and `maxLength`. */
  export interface Options extends Omit<CacheOptions, 'evictionPolicy'> {
    /**
     * The most items kept: pushing beyond it drops items from the opposite end.
     * @default Infinity
     */
    maxLength?: number;
  }
}
