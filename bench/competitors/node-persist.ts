import type { Competitor, Store } from '../lib.js';

const nodePersist: Competitor = {
  name: 'node-persist',
  pkg: 'node-persist',
  label: 'node-persist',
  kind: 'file-peer',
  opsCap: { default: 3_000 },
  surfaces: ['async'],
  note: 'default options: one JSON file per key (written in place, not renamed), writes through its write queue; no batch API',
  async load() {
    const { default: persist } = await import('node-persist');
    return async (dir): Promise<Store> => {
      const storage = persist.create({ dir });
      await storage.init();
      return {
        async: {
          set: (k, v) => storage.setItem(k, v),
          get: (k) => storage.getItem(k),
          delete: (k) => storage.removeItem(k),
        },
        close() {},
      };
    };
  },
};

export default nodePersist;
