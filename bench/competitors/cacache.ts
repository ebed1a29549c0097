import type { Competitor, Store } from '../lib.js';

const cacache: Competitor = {
  name: 'cacache',
  pkg: 'cacache',
  label: 'cacache',
  kind: 'file-peer',
  opsCap: { default: 2_000 },
  surfaces: ['async'],
  note: 'npm’s content-addressable cache; delete is rm.entry (appends a tombstone to the index; content stays until verify); no batch API',
  async load() {
    const lib = (await import('cacache')).default;
    return async (dir): Promise<Store> => ({
      async: {
        set: (k, v) => lib.put(dir, k, v),
        get: (k) =>
          lib.get(dir, k).then(
            (r) => r.data,
            (error: NodeJS.ErrnoException) => {
              if (error.code === 'ENOENT') return undefined;
              throw error;
            },
          ),
        delete: (k) => lib.rm.entry(dir, k),
      },
      close() {},
    });
  },
};

export default cacache;
