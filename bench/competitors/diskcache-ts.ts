import type { Competitor, Store } from '../lib.js';

type AsyncIO = 'inline' | 'threadpool';

/** diskcache-ts from this repository's source; `asyncIO` picks how its async surface does I/O. */
export function diskcacheTs(asyncIO?: AsyncIO): Competitor {
  return {
    name: asyncIO ? `diskcache-ts-${asyncIO}` : 'diskcache-ts',
    label: asyncIO ? `diskcache-ts (asyncIO: '${asyncIO}')` : 'diskcache-ts',
    kind: 'ours',
    surfaces: asyncIO ? ['async'] : ['sync', 'async'],
    only: asyncIO ? ['set-1k', 'set-100k', 'get-hit', 'get-miss', 'delete'] : undefined,
    note: asyncIO
      ? `async surface with every file-system call on the libuv thread pool`
      : `default options ('auto' picks inline async I/O on this local disk); values are strings, stored raw`,
    async load() {
      const { Cache } = await import('../../src/index.js');
      return async (dir): Promise<Store> => {
        const cache = new Cache<string>(dir, asyncIO ? { asyncIO } : {});
        return {
          sync: {
            set: (k, v) => cache.setSync(k, v),
            get: (k) => cache.getSync(k),
            delete: (k) => cache.deleteSync(k),
            setMany: (entries) =>
              cache.transactSync((c) => {
                for (const [k, v] of entries) c.setSync(k, v);
              }),
          },
          async: {
            set: (k, v) => cache.set(k, v),
            get: (k) => cache.get(k),
            delete: (k) => cache.delete(k),
            setMany: (entries) =>
              cache.transact(async (c) => {
                for (const [k, v] of entries) await c.set(k, v);
              }),
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
