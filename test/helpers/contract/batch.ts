import { describe, expect, it } from 'vitest';
import type { Key } from '../../../src/index.js';
import { expectArgumentError, expectClean, expectTotals } from '../assertions.js';
import type { ContractContext } from '../contract.js';

/** Keys of every type, enough of them to fall into many buckets and shards. */
const KEYS: Key[] = [...Array.from({ length: 150 }, (_, i) => `key-${i}`), 7, 7n, '7', Buffer.from('7')];

export function batchTests(ctx: ContractContext): void {
  describe('batches: getMany, setMany, deleteMany', () => {
    it('setMany stores every entry and getMany reads them back in order, undefined for misses', async () => {
      const cache = ctx.fresh();
      expect(await cache.setMany(KEYS.map((key, i) => [key, { i }] as const))).toBe(true);
      const values = await cache.getMany([...KEYS, 'missing']);
      expect(values).toEqual([...KEYS.map((_, i) => ({ i })), undefined]);
      for (const [i, key] of [0, 149, 150, 153].map((i) => [i, KEYS[i] as Key] as const))
        expect(await cache.get(key)).toEqual({ i });
      await expectTotals(cache, KEYS);
      await expectClean(cache);
    });

    it('replaces entries, counting each key once; a key given twice ends with its last value', async () => {
      const cache = ctx.fresh();
      await cache.setMany(KEYS.map((key) => [key, 'old'] as const));
      await cache.setMany([
        ['key-1', 'first'],
        ['key-2', 'new'],
        ['key-1', 'last'],
      ]);
      expect(await cache.getMany(['key-1', 'key-2', 'key-3'])).toEqual(['last', 'new', 'old']);
      await expectTotals(cache, KEYS);
      await expectClean(cache);
    });

    it('applies the batch options, and each object entry its own ttl and tag', async () => {
      const cache = ctx.fresh();
      const start = ctx.clock.now();
      await cache.setMany(
        [
          ['a', 1],
          { key: 'b', value: 2, ttl: 5000 },
          { key: 'c', value: 3, ttl: null, tag: 'own' },
          { key: 'd', value: 4 },
        ],
        { ttl: 1000, tag: 'batch' },
      );
      expect(await cache.getEntry('a')).toMatchObject({ expiresAt: start + 1000, tag: 'batch' });
      expect(await cache.getEntry('b')).toMatchObject({ expiresAt: start + 5000, tag: 'batch' });
      expect(await cache.getEntry('c')).toMatchObject({ expiresAt: null, tag: 'own' });
      expect(await cache.getEntry('d')).toMatchObject({ expiresAt: start + 1000, tag: 'batch' });
      ctx.clock.advance(1000);
      expect(await cache.getMany(['a', 'b', 'c', 'd'])).toEqual([undefined, 2, 3, undefined]);
      expect(await cache.evict('batch')).toBe(3);
    });

    it('deleteMany removes each key and counts the live ones removed', async () => {
      const cache = ctx.fresh({ cullLimit: 0 });
      await cache.setMany(KEYS.map((key) => [key, 1] as const));
      await cache.set('expired', 1, { ttl: 1 });
      ctx.clock.advance(1);
      const gone = KEYS.slice(0, 100);
      expect(await cache.deleteMany([...gone, 'expired', 'missing', 'key-0'])).toEqual([
        ...gone.map(() => true),
        false,
        false,
        false,
      ]);
      expect(await cache.getMany(gone)).toEqual(gone.map(() => undefined));
      await expectTotals(cache, KEYS.slice(100));
      expect(await cache.deleteMany([])).toEqual([]);
      await expectClean(cache);
    });

    it('empty batches do nothing', async () => {
      const cache = ctx.fresh();
      expect(await cache.getMany([])).toEqual([]);
      expect(await cache.setMany([])).toBe(true);
      expect(await cache.deleteMany([])).toEqual([]);
      expect(await cache.count()).toBe(0);
    });

    it('refuses a bad argument with a TypeError or RangeError before writing anything', async () => {
      const cache = ctx.fresh();
      const bad: unknown[] = [
        'not an array',
        [
          ['ok', 1],
          ['bad key', 1, 'extra'],
        ],
        [['ok', 1], { key: 'k', value: 1, expire: 5 }],
        [['ok', 1], { value: 1 }],
        [
          ['ok', 1],
          [{}, 1],
        ],
        [['ok', 1], { key: 'k', value: 1, ttl: -1 }],
        [['ok', 1], 5],
      ];
      for (const entries of bad) {
        await expectArgumentError(() => cache.setMany(entries as never));
      }
      await expectArgumentError(() => cache.setMany([['ok', 1]], { ttl: Number.NaN }));
      await expectArgumentError(() => cache.getMany('k' as never));
      await expectArgumentError(() => cache.getMany([{} as never]));
      await expectArgumentError(() => cache.deleteMany([null as never]));
      // A FanoutCache checks each shard's share just before that shard writes it.
      if (ctx.traits.globalEviction) expect(await cache.count()).toBe(0);
    });
  });
}
