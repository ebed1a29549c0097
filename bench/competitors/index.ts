import type { Competitor } from '../lib.js';
import appendFloor from './append-floor.js';
import betterSqlite3 from './better-sqlite3.js';
import cacache from './cacache.js';
import cacheManager from './cache-manager.js';
import diskcache, { diskcacheTs } from './diskcache-ts.js';
import fileSystemCache from './file-system-cache.js';
import flatCache from './flat-cache.js';
import floor from './floor.js';
import keyvFile from './keyv-file.js';
import keyvSqlite from './keyv-sqlite.js';
import lmdb from './lmdb.js';
import lruCache from './lru-cache.js';
import nodePersist from './node-persist.js';
import pythonDiskcache from './python-diskcache.js';

/** Every competitor, in table order. diskcache-ts is the baseline of the ratios (see run.ts `--baseline`). */
export const COMPETITORS: Competitor[] = [
  diskcache,
  diskcacheTs({ engine: 'log' }),
  diskcacheTs({ engine: 'files' }),
  diskcacheTs({ asyncIO: 'threadpool' }),
  floor,
  appendFloor,
  pythonDiskcache,
  cacache,
  keyvFile,
  flatCache,
  nodePersist,
  fileSystemCache,
  cacheManager,
  keyvSqlite,
  lmdb,
  betterSqlite3,
  lruCache,
];

/** The subset that `--quick` runs. */
export const QUICK = ['diskcache-ts', 'fs-floor', 'file-system-cache', 'lmdb', 'better-sqlite3'];

export function competitor(name: string): Competitor {
  const found = COMPETITORS.find((c) => c.name === name);
  if (!found)
    throw new Error(`unknown competitor ${name}; known: ${COMPETITORS.map((c) => c.name).join(', ')}`);
  return found;
}
