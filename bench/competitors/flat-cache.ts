import type { Competitor, Store } from '../lib.js';

const flatCache: Competitor = {
  name: 'flat-cache',
  pkg: 'flat-cache',
  label: 'flat-cache',
  kind: 'file-peer',
  surfaces: ['sync'],
  opsCap: { default: 1_000, 'set-100k': 50 },
  note: 'whole cache held in memory and written to one JSON file by save(); each set and delete is followed by save() so that it is on disk when it returns; a batch is setKey × 100 then one save()',
  async load() {
    const { FlatCache } = await import('flat-cache');
    return async (dir): Promise<Store> => {
      const cache = new FlatCache({ cacheDir: dir, cacheId: 'cache.json' });
      cache.load();
      return {
        sync: {
          set(k, v) {
            cache.setKey(k, v);
            cache.save();
          },
          get: (k) => cache.getKey<string>(k),
          delete(k) {
            cache.removeKey(k);
            cache.save();
          },
          setMany(entries) {
            for (const [k, v] of entries) cache.setKey(k, v);
            cache.save();
          },
        },
        close() {},
      };
    };
  },
};

export default flatCache;
