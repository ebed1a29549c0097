import type { Competitor, Store } from '../lib.js';

const lruCache: Competitor = {
  name: 'lru-cache',
  pkg: 'lru-cache',
  label: 'lru-cache (memory only)',
  kind: 'memory',
  surfaces: ['sync'],
  memoryOnly: true,
  note: 'memory only, nothing persisted: the reference for an in-process memory tier',
  async load() {
    const { LRUCache } = await import('lru-cache');
    return async (): Promise<Store> => {
      const cache = new LRUCache<string, string>({ max: 1_000_000 });
      return {
        sync: {
          set: (k, v) => void cache.set(k, v),
          get: (k) => cache.get(k),
          delete: (k) => void cache.delete(k),
        },
        close() {},
      };
    };
  },
};

export default lruCache;
