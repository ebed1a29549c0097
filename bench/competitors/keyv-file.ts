import { join } from 'node:path';
import type { Competitor, Store } from '../lib.js';

const keyvFile: Competitor = {
  name: 'keyv-file',
  pkg: 'keyv-file',
  label: 'keyv + keyv-file',
  kind: 'file-peer',
  surfaces: ['async'],
  opsCap: { default: 1_000, 'set-100k': 50 },
  note: 'one JSON file rewritten whole on every write; writeDelay: 0 so that an awaited set resolves once written (the default 100 ms delay makes each awaited set take 100 ms); setMany is Keyv’s Promise.all of sets (one coalesced rewrite)',
  async load() {
    const { Keyv } = await import('keyv');
    const { KeyvFile } = await import('keyv-file');
    return async (dir): Promise<Store> => {
      const keyv = new Keyv<string>({
        store: new KeyvFile({ filename: join(dir, 'keyv.json'), writeDelay: 0 }),
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

export default keyvFile;
