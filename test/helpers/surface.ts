import type { Cache, CacheOptions, Key } from '../../src/index.js';
import type { CacheMethods } from '../../src/internal.js';

/** The public shape of a cache: what `Cache` offers, and what every variant (FanoutCache, …) must offer. */
export type CacheLike = Pick<Cache, keyof Cache>;

/** Opens a cache variant on `directory`; the contract suite runs over any such factory. */
export type CacheFactory = (directory: string, options?: CacheOptions) => CacheLike;

/** The name of one operation of {@link CacheMethods}. */
export type MethodName = keyof CacheMethods<unknown>;

/** The arguments of each operation. */
export type MethodArgs<K extends MethodName> = Parameters<CacheMethods<unknown>[K]>;

/**
 * One valid call of every operation. Typed as a complete record, so that an operation added to
 * `CacheMethods` fails the type check here until the contract suite calls it.
 */
export const SAMPLE_CALLS: { [K in MethodName]: MethodArgs<K> } = {
  get: ['k'],
  getEntry: ['k'],
  set: ['k', 1],
  add: ['k', 1],
  has: ['k'],
  delete: ['k'],
  getMany: [['k']],
  setMany: [[['k', 1]]],
  deleteMany: [['k']],
  pop: ['k'],
  incr: ['n'],
  decr: ['n'],
  touch: ['k', { ttl: 1000 }],
  clear: [],
  expire: [],
  evict: ['t'],
  cull: [],
  push: ['v'],
  pull: [],
  peek: [],
  peekItem: [{ last: true }],
  count: [],
  volume: [],
  stats: [],
  check: [],
};

/** Every operation name, from {@link SAMPLE_CALLS}. */
export const METHOD_NAMES = Object.keys(SAMPLE_CALLS) as MethodName[];

/** Every operation as a Promise-returning function. */
export type SurfaceMethods = {
  [K in MethodName]: (...args: MethodArgs<K>) => Promise<ReturnType<CacheMethods<unknown>[K]>>;
};

/**
 * The calls the contract suite makes, the same for both surfaces: the async surface passes them to
 * `name()`, the sync surface to `nameSync()` (wrapping results in Promises), so that one test body
 * checks both.
 */
export interface Surface extends SurfaceMethods {
  /** `'async'` or `'sync'`. */
  readonly kind: 'async' | 'sync';
  /** The cache object under test. */
  readonly target: CacheLike;
  readonly directory: string;
  readonly options: CacheLike['options'];
  keys(): AsyncIterable<Key>;
  values(): AsyncIterable<unknown>;
  entries(): AsyncIterable<[Key, unknown]>;
  /** `close()` or `closeSync()`. */
  close(): Promise<void>;
  /** `[Symbol.asyncDispose]()` or `[Symbol.dispose]()`. */
  dispose(): Promise<void>;
}

/** Opens a cache and presents one of its surfaces. */
export type SurfaceFactory = (directory: string, options?: CacheOptions) => Surface;

type AnyMethod = (...args: unknown[]) => unknown;

function method(target: CacheLike, name: string): AnyMethod {
  const fn = (target as unknown as Record<string, unknown>)[name];
  if (typeof fn !== 'function') throw new Error(`the cache has no method ${name}`);
  return (fn as AnyMethod).bind(target);
}

function isThenable(value: unknown): boolean {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

/** Runs a synchronous method, refusing a Promise result (which the wrapper would otherwise hide). */
function callSync(target: CacheLike, name: string, args: unknown[]): Promise<unknown> {
  return new Promise((resolve) => {
    const result = method(target, name)(...args);
    if (isThenable(result)) throw new Error(`${name}() returned a Promise`);
    resolve(result);
  });
}

/** Checks that an async method returns a Promise (a synchronous throw becomes a rejection). */
function callAsync(target: CacheLike, name: string, args: unknown[]): Promise<unknown> {
  return new Promise((resolve) => {
    const result = method(target, name)(...args);
    if (!isThenable(result)) throw new Error(`${name}() did not return a Promise`);
    resolve(result);
  });
}

async function* fromSync<T>(iterable: Iterable<T>): AsyncGenerator<T> {
  if (typeof (iterable as { [Symbol.iterator]?: unknown })[Symbol.iterator] !== 'function') {
    throw new Error('a …Sync iteration method did not return an Iterable');
  }
  yield* iterable;
}

function checkedAsync<T>(iterable: AsyncIterable<T>): AsyncIterable<T> {
  if (typeof iterable?.[Symbol.asyncIterator] !== 'function') {
    throw new Error('an async iteration method did not return an AsyncIterable');
  }
  return iterable;
}

/** The async surface of a cache: `get()`, `set()`, … and `keys()` as async iterables. */
export function asyncSurface(target: CacheLike): Surface {
  const ops = Object.fromEntries(
    METHOD_NAMES.map((name) => [name, (...args: unknown[]) => callAsync(target, name, args)]),
  ) as unknown as SurfaceMethods;
  return {
    ...ops,
    kind: 'async',
    target,
    directory: target.directory,
    get options() {
      return target.options;
    },
    keys: () => checkedAsync(target.keys()),
    values: () => checkedAsync(target.values()),
    entries: () => checkedAsync(target.entries()),
    close: () => target.close(),
    dispose: () => target[Symbol.asyncDispose](),
  };
}

/** The sync surface of a cache: `getSync()`, `setSync()`, … wrapped in Promises, `keysSync()` as iterables. */
export function syncSurface(target: CacheLike): Surface {
  const ops = Object.fromEntries(
    METHOD_NAMES.map((name) => [name, (...args: unknown[]) => callSync(target, `${name}Sync`, args)]),
  ) as unknown as SurfaceMethods;
  return {
    ...ops,
    kind: 'sync',
    target,
    directory: target.directory,
    get options() {
      return target.options;
    },
    keys: () => fromSync(target.keysSync()),
    values: () => fromSync(target.valuesSync()),
    entries: () => fromSync(target.entriesSync()),
    close: async () => {
      const result: unknown = target.closeSync();
      if (isThenable(result)) throw new Error('closeSync() returned a Promise');
    },
    dispose: async () => {
      const result: unknown = target[Symbol.dispose]();
      if (isThenable(result)) throw new Error('[Symbol.dispose]() returned a Promise');
    },
  };
}

/** A {@link SurfaceFactory} presenting `factory`'s caches through `surface`. */
export function surfaceFactory(
  factory: CacheFactory,
  surface: (target: CacheLike) => Surface,
): SurfaceFactory {
  return (directory, options) => surface(factory(directory, options));
}

/** Everything an async iterable yields. */
export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}
