import type { CacheOptions, Cache as CacheType } from '../../src/index.js';
import { type Competitor, noteOnce, type Store } from '../lib.js';

type AsyncIO = 'inline' | 'threadpool';
type Engine = 'log' | 'files';

interface Variant {
  /** How its async surface does I/O (a variant that runs only the single-key scenarios). */
  asyncIO?: AsyncIO;
  /** The storage engine (`engine` option), for the side-by-side of the engines. */
  engine?: Engine;
}

type CacheClass = typeof CacheType;

/**
 * Opens with `options`; a build that predates the `engine` option rejects it as unknown: then the
 * cache opens without it (the store it has) and the trial says so in its notes.
 */
function openCache(Cache: CacheClass, dir: string, options: Record<string, unknown>): CacheType<string> {
  const { engine } = options;
  try {
    const cache = new Cache<string>(dir, options as CacheOptions);
    const inForce = (cache.options as { engine?: string }).engine;
    if (engine !== undefined && inForce !== engine)
      noteOnce(`engine '${engine}' asked, '${inForce ?? 'none'}' in force (this build ignores the option)`);
    return cache;
  } catch (error) {
    if (engine === undefined || !/unknown .*option "engine"/.test(String((error as Error)?.message)))
      throw error;
    const { engine: _, ...rest } = options;
    noteOnce(`engine '${engine}' not run: this build has no engine option (ran its only store)`);
    return new Cache<string>(dir, rest as CacheOptions);
  }
}

/** diskcache-ts from this repository's source; `asyncIO` picks how its async surface does I/O, `engine` the store. */
export function diskcacheTs({ asyncIO, engine }: Variant = {}): Competitor {
  const suffix = asyncIO ?? engine;
  return {
    name: suffix ? `diskcache-ts-${suffix}` : 'diskcache-ts',
    label: asyncIO
      ? `diskcache-ts (asyncIO: '${asyncIO}')`
      : engine
        ? `diskcache-ts (engine: '${engine}')`
        : 'diskcache-ts',
    kind: 'ours',
    surfaces: asyncIO ? ['async'] : ['sync', 'async'],
    only: asyncIO ? ['set-1k', 'set-100k', 'get-hit', 'get-miss', 'delete'] : undefined,
    note: asyncIO
      ? `async surface with every file-system call on the libuv thread pool`
      : engine
        ? `engine: '${engine}', other options default; values are strings, stored raw`
        : `default options ('auto' picks inline async I/O and the engine for this local disk); values are strings, stored raw`,
    async load() {
      const { Cache } = await import('../../src/index.js');
      return async (dir): Promise<Store> => {
        const cache = openCache(Cache, dir, {
          ...(asyncIO ? { asyncIO } : {}),
          ...(engine ? { engine } : {}),
        });
        return {
          sync: {
            set: (k, v) => cache.setSync(k, v),
            get: (k) => cache.getSync(k),
            delete: (k) => cache.deleteSync(k),
            setMany: (entries) =>
              cache.transactSync((c) => {
                for (const [k, v] of entries) c.setSync(k, v);
              }),
            add: (k, v) => cache.addSync(k, v),
            incr: (k, delta) => Number(cache.incrSync(k, delta)),
          },
          async: {
            set: (k, v) => cache.set(k, v),
            get: (k) => cache.get(k),
            delete: (k) => cache.delete(k),
            setMany: (entries) =>
              cache.transact(async (c) => {
                for (const [k, v] of entries) await c.set(k, v);
              }),
            add: (k, v) => cache.add(k, v),
            incr: async (k, delta) => Number(await cache.incr(k, delta)),
          },
          // Plain sets load faster than transactions, whose journal adds work per write.
          fill(entries) {
            for (const [k, v] of entries) cache.setSync(k, v);
          },
          close: () => cache.closeSync(),
        };
      };
    },
  };
}

export default diskcacheTs();
