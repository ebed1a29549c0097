import type { Competitor, Store } from '../lib.js';

const fileSystemCache: Competitor = {
  name: 'file-system-cache',
  pkg: 'file-system-cache',
  label: 'file-system-cache',
  kind: 'file-peer',
  opsCap: { default: 3_000 },
  surfaces: ['sync', 'async'],
  note: 'one JSON file per key (sha1 of the key), written in place; no sync delete; batch is its async save(items)',
  async load() {
    const { FileSystemCache } = await import('file-system-cache');
    return async (dir): Promise<Store> => {
      const cache = new FileSystemCache({ basePath: dir });
      return {
        sync: {
          set: (k, v) => void cache.setSync(k, v),
          get: (k) => cache.getSync(k),
        },
        async: {
          set: (k, v) => cache.set(k, v),
          get: (k) => cache.get(k),
          delete: (k) => cache.remove(k),
          setMany: (entries) => cache.save(entries.map(([key, value]) => ({ key, value }))),
        },
        close() {},
      };
    };
  },
};

export default fileSystemCache;
