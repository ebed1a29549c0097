import { join } from 'node:path';
import type { Competitor, Store } from '../lib.js';

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'ENOENT';
}

/**
 * The raw file-system floor: one file per key, written to a temp name and renamed into place,
 * read with `readFile`, removed with `unlink`. No header, checksum, hashing or bookkeeping.
 */
const floor: Competitor = {
  name: 'fs-floor',
  label: 'raw fs floor',
  kind: 'floor',
  surfaces: ['sync', 'async'],
  note: 'writeFileSync(temp) + renameSync / readFileSync / unlinkSync, and the fs.promises forms; one flat directory',
  async load() {
    const fs = await import('node:fs');
    const fsp = fs.promises;
    return async (dir): Promise<Store> => {
      let seq = 0;
      const temp = (k: string) => join(dir, `${k}.${process.pid}.${seq++}.tmp`);
      const at = (k: string) => join(dir, k);
      return {
        sync: {
          set(k, v) {
            const t = temp(k);
            fs.writeFileSync(t, v);
            fs.renameSync(t, at(k));
          },
          get(k) {
            try {
              return fs.readFileSync(at(k));
            } catch (error) {
              if (isMissing(error)) return undefined;
              throw error;
            }
          },
          delete(k) {
            try {
              fs.unlinkSync(at(k));
            } catch (error) {
              if (!isMissing(error)) throw error;
            }
          },
        },
        async: {
          async set(k, v) {
            const t = temp(k);
            await fsp.writeFile(t, v);
            await fsp.rename(t, at(k));
          },
          get: (k) =>
            fsp.readFile(at(k)).catch((error) => {
              if (isMissing(error)) return undefined;
              throw error;
            }),
          delete: (k) =>
            fsp.unlink(at(k)).catch((error) => {
              if (!isMissing(error)) throw error;
            }),
        },
        close() {},
      };
    };
  },
};

export default floor;
