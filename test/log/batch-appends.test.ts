/**
 * A batch on the log engine costs about one append per bucket: `setMany` and `deleteMany` write the
 * records of the keys of one bucket with one `append`, whatever the number of keys.
 */
import { describe, expect, it } from 'vitest';
import { Cache } from '../../src/index.js';
import { countingFileSystem } from '../helpers/counting-fs.js';
import { useTempDirs } from '../helpers/tmp.js';

const BUCKETS = 64;
const KEYS = Array.from({ length: 1000 }, (_, i) => `key-${i}`);

describe('log engine: batches', () => {
  const tempDir = useTempDirs();

  it.each(['sync', 'async'] as const)(
    'setMany and deleteMany append once per bucket (%s)',
    async (surface) => {
      const counting = countingFileSystem();
      const cache = new Cache(tempDir(), { engine: 'log', fileSystem: counting.fileSystem });
      cache.setSync('warm', 1); // the buckets' files exist: what follows only appends
      cache.getManySync(KEYS);
      const appends = () => counting.calls.filter((name) => name.startsWith('append')).length;

      const before = appends();
      const entries = KEYS.map((key, i) => [key, i] as const);
      if (surface === 'sync') cache.setManySync(entries);
      else await cache.setMany(entries);
      expect(appends() - before).toBeLessThanOrEqual(BUCKETS);
      expect(cache.getManySync(KEYS)).toEqual(KEYS.map((_, i) => i));

      const between = appends();
      const deleted = surface === 'sync' ? cache.deleteManySync(KEYS) : await cache.deleteMany(KEYS);
      expect(deleted).toEqual(KEYS.map(() => true));
      expect(appends() - between).toBeLessThanOrEqual(BUCKETS);
      expect(cache.countSync()).toBe(1);
      expect(cache.checkSync()).toEqual({ problems: [], fixed: 0 });
      cache.closeSync();
    },
  );
});
