import { join } from 'node:path';
import type { Competitor, Store } from '../lib.js';

const keyvSqlite: Competitor = {
  name: 'keyv-sqlite',
  pkg: '@keyv/sqlite',
  label: 'keyv + @keyv/sqlite (local disk only)',
  kind: 'local-only',
  opsCap: { default: 500, 'cold-open': 2_000, 'disk-usage': 2_000 },
  surfaces: ['async'],
  note: 'not network-filesystem safe (SQLite locking); sqlite3 driver with SQLite’s defaults (rollback journal, synchronous=FULL: every write is flushed to disk); setMany is Keyv’s Promise.all of sets (no transaction)',
  async load() {
    const { Keyv } = await import('keyv');
    const { default: KeyvSqlite } = await import('@keyv/sqlite');
    return async (dir): Promise<Store> => {
      const keyv = new Keyv<string>({
        store: new KeyvSqlite({ uri: `sqlite://${join(dir, 'keyv.sqlite')}` }),
      });
      return {
        async: {
          set: (k, v) => keyv.set(k, v),
          get: (k) => keyv.get(k),
          delete: (k) => keyv.delete(k),
          setMany: (entries) => keyv.setMany(entries.map(([key, value]) => ({ key, value }))),
        },
        close: () => keyv.disconnect(),
      };
    };
  },
};

export default keyvSqlite;
