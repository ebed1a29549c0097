import type { Competitor, Store } from '../lib.js';

type AsyncIO = 'inline' | 'threadpool';

/** diskcache-ts from this repository's source; `asyncIO` picks how its async surface does I/O. */
export function diskcacheTs(asyncIO?: AsyncIO): Competitor {
  return {
    name: asyncIO ? `diskcache-ts-${asyncIO}` : 'diskcache-ts',
    label: asyncIO ? `diskcache-ts (asyncIO: '${asyncIO}')` : 'diskcache-ts',
    kind: 'ours',
    surfaces: asyncIO ? ['async'] : ['sync', 'async'],
    note: asyncIO
      ? `async surface with every file-system call on the libuv thread pool`
      : `default options ('auto' picks inline async I/O on this local disk); values are strings, stored raw`,
    async load() {
      const { Cache } = await import('../../src/index.js');
      return async (dir): Promise<Store> => {
        const cache = new Cache<string>(dir, asyncIO ? { asyncIO } : {});
        // `transact` is not implemented yet; once it exists, the batch scenario uses it.
        const t = cache as unknown as {
          transactSync?: (fn: (c: typeof cache) => void) => void;
          transact?: (fn: (c: typeof cache) => Promise<void>) => Promise<void>;
        };
        return {
          sync: {
            set: (k, v) => cache.setSync(k, v),
            get: (k) => cache.getSync(k),
            delete: (k) => cache.deleteSync(k),
            setMany: t.transactSync
              ? (entries) =>
                  t.transactSync?.((c) => {
                    for (const [k, v] of entries) c.setSync(k, v);
                  })
              : undefined,
          },
          async: {
            set: (k, v) => cache.set(k, v),
            get: (k) => cache.get(k),
            delete: (k) => cache.delete(k),
            setMany: t.transact
              ? (entries) =>
                  t.transact?.(async (c) => {
                    for (const [k, v] of entries) await c.set(k, v);
                  }) as Promise<void>
              : undefined,
          },
          close: () => cache.closeSync(),
        };
      };
    },
  };
}

export default diskcacheTs();
