import { join } from 'node:path';
import type { Competitor, Store } from '../lib.js';

const cacheManager: Competitor = {
  name: 'cache-manager',
  pkg: 'cache-manager',
  label: 'cache-manager + keyv-file',
  kind: 'file-peer',
  opsCap: { default: 2_000 },
  surfaces: ['async'],
  note: 'cache-manager 7 over Keyv with a keyv-file store in separatedFile mode (one file per key, written in place), writeDelay: 0; batch is mset',
  async load() {
    const { createCache } = await import('cache-manager');
    const { Keyv } = await import('keyv');
    const { KeyvFile } = await import('keyv-file');
    return async (dir): Promise<Store> => {
      const store = new KeyvFile({ filename: join(dir, 'entries'), separatedFile: true, writeDelay: 0 });
      const cache = createCache({ stores: [new Keyv({ store })] });
      return {
        async: {
          set: (k, v) => cache.set(k, v),
          get: (k) => cache.get<string>(k),
          delete: (k) => cache.del(k),
          setMany: (entries) => cache.mset(entries.map(([key, value]) => ({ key, value }))),
        },
        close: () => cache.disconnect(),
      };
    };
  },
};

export default cacheManager;
