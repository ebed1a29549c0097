import { join } from 'node:path';
import type { Competitor, Store } from '../lib.js';

const lmdb: Competitor = {
  name: 'lmdb',
  pkg: 'lmdb',
  label: 'lmdb (local disk only)',
  kind: 'local-only',
  opsCap: { default: 3_000 },
  surfaces: ['sync', 'async'],
  note: 'not network-filesystem safe (mmap and lock file); default options, so every putSync/removeSync is its own commit flushed to disk; get is synchronous on both surfaces (memory-mapped reads); async writes are batched by lmdb and resolve at commit',
  async load() {
    const { open } = await import('lmdb');
    return async (dir): Promise<Store> => {
      const db = open<string, string>({ path: join(dir, 'db') });
      return {
        sync: {
          set: (k, v) => db.putSync(k, v),
          get: (k) => db.get(k),
          delete: (k) => void db.removeSync(k),
          setMany: (entries) =>
            db.transactionSync(() => {
              for (const [k, v] of entries) db.putSync(k, v);
            }),
        },
        async: {
          set: (k, v) => db.put(k, v),
          get: (k) => db.get(k),
          delete: (k) => db.remove(k),
          setMany: (entries) =>
            db.transaction(() => {
              for (const [k, v] of entries) db.putSync(k, v);
            }),
        },
        close: () => db.close(),
      };
    };
  },
};

export default lmdb;
