import * as fs from 'node:fs';
import * as path from 'node:path';
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

describe('fanout.json, the shard count of a FanoutCache directory', () => {
  const tempDir = useTempDirs();

  it('is never followed when it is a link: the file it points to is left as it is', async () => {
    const dir = tempDir();
    const outside = path.join(tempDir(), 'precious.txt');
    fs.writeFileSync(outside, 'not the cache’s');
    fs.symlinkSync(outside, path.join(dir, 'fanout.json'));
    const fanout = new FanoutCache(dir, { shards: 2 });
    await fanout.set('k', 'v');
    await fanout.close();
    expect(fs.readFileSync(outside, 'utf8')).toBe('not the cache’s');
    expect(fs.lstatSync(path.join(dir, 'fanout.json')).isSymbolicLink()).toBe(false);
    expect(new FanoutCache(dir).shards).toHaveLength(2);
  });

  it('is rebuilt from the shard folders when it is damaged, so every key is found again', async () => {
    const dir = tempDir();
    const fanout = new FanoutCache(dir, { shards: 16 });
    const keys = Array.from({ length: 50 }, (_, i) => `key ${i}`);
    for (const key of keys) await fanout.set(key, key);
    await fanout.close();
    fs.writeFileSync(path.join(dir, 'fanout.json'), '{"shards":');
    const again = new FanoutCache(dir);
    expect(again.shards).toHaveLength(16);
    expect(await again.getMany(keys)).toEqual(keys);
    await again.close();
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'fanout.json'), 'utf8'))).toEqual({ shards: 16 });
  });

  it("is created once: a writer's leftover temp file does not make the directory foreign", async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'fanout.json.0123456789abcdef.tmp'), '{"shards":3}\n');
    const fanout = new FanoutCache(dir, { shards: 3 });
    expect(fanout.shards).toHaveLength(3);
    await fanout.close();
    expect(() => new FanoutCache(dir, { shards: 4 })).toThrow(/created with 3 shards/);
  });
});
