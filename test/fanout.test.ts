import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Cache, CacheError, FanoutCache, type FanoutOptions } from '../src/index.js';
import { registerContractSuites } from './helpers/contract.js';
import type { CacheLike } from './helpers/surface.js';
import { useTempDirs } from './helpers/tmp.js';

function withShards(options: unknown): FanoutOptions {
  // Options that are not an object go through as they are: the constructor must refuse them.
  return (
    options !== null && typeof options === 'object' ? { ...options, shards: 4 } : options
  ) as FanoutOptions;
}

// The contract suite, unchanged, over a FanoutCache of 4 shards.
registerContractSuites(
  'FanoutCache',
  (directory, options) => new FanoutCache(directory, withShards(options)) as unknown as CacheLike,
  { globalEviction: false },
);

describe('a FanoutCache directory opened as a Cache', () => {
  const tempDir = useTempDirs();

  it.each([false, true])(
    'is refused with EFANOUT, naming FanoutCache, and left as it is (readOnly: %s)',
    async (readOnly) => {
      const dir = tempDir();
      const fanout = new FanoutCache(dir, { shards: 3 });
      await fanout.set('k', 'v');
      await fanout.close();
      const before = fs.readdirSync(dir).sort();
      let error: unknown;
      try {
        new Cache(dir, { readOnly });
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(CacheError);
      expect((error as CacheError).code).toBe('EFANOUT');
      expect((error as CacheError).directory).toBe(fs.realpathSync(dir));
      expect((error as CacheError).message).toMatch(/is a FanoutCache directory .*new FanoutCache\(/);
      expect(fs.readdirSync(dir).sort()).toEqual(before);
      const again = new FanoutCache(dir);
      expect(await again.get('k')).toBe('v');
      await again.close();
    },
  );
});
