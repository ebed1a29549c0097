import { join } from 'node:path';
import type { Competitor, Store } from '../lib.js';

const betterSqlite3: Competitor = {
  name: 'better-sqlite3',
  pkg: 'better-sqlite3',
  label: 'better-sqlite3 (local disk only)',
  kind: 'local-only',
  surfaces: ['sync'],
  note: 'not network-filesystem safe (SQLite locking, WAL shared memory); one table, WAL with synchronous=NORMAL as python-diskcache configures SQLite; batch is one transaction',
  async load() {
    const { default: Database } = await import('better-sqlite3');
    return async (dir): Promise<Store> => {
      const db = new Database(join(dir, 'cache.sqlite'));
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.exec('CREATE TABLE IF NOT EXISTS cache (key TEXT PRIMARY KEY, value BLOB)');
      const put = db.prepare('INSERT OR REPLACE INTO cache (key, value) VALUES (?, ?)');
      const read = db.prepare<[string], { value: string }>('SELECT value FROM cache WHERE key = ?');
      const remove = db.prepare('DELETE FROM cache WHERE key = ?');
      const putMany = db.transaction((entries: readonly (readonly [string, string])[]) => {
        for (const [k, v] of entries) put.run(k, v);
      });
      return {
        sync: {
          set: (k, v) => void put.run(k, v),
          get: (k) => read.get(k)?.value,
          delete: (k) => void remove.run(k),
          setMany: (entries) => putMany(entries),
        },
        close: () => void db.close(),
      };
    };
  },
};

export default betterSqlite3;
