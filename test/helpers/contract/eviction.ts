import { describe, expect, it } from 'vitest';
import type { CacheOptions } from '../../../src/index.js';
import { expectBytes, expectClean, expectTotals } from '../assertions.js';
import type { ContractContext } from '../contract.js';
import { collect, type Surface } from '../surface.js';

const VALUE = Buffer.alloc(1000, 1);

/**
 * Opens a cache that only `cull()` evicts from, stores keys 0…9 (equal sizes, one clock tick apart),
 * and returns the cache and the size of one entry.
 */
async function tenEntries(ctx: ContractContext, options: CacheOptions): Promise<[Surface, number]> {
  const dir = ctx.tempDir();
  const cache = ctx.openAt(dir, { cullLimit: 0, ...options });
  for (let i = 0; i < 10; i++) {
    ctx.clock.advance(1000);
    await cache.set(i, VALUE);
  }
  const size = (await cache.volume()) / 10;
  expect(Number.isInteger(size)).toBe(true);
  return [cache, size];
}

/** Reopens `cache`'s directory with a size limit of `entries` and a half entries. */
async function withLimit(
  ctx: ContractContext,
  cache: Surface,
  size: number,
  entries: number,
): Promise<Surface> {
  await cache.close();
  return ctx.openAt(cache.directory, { sizeLimit: Math.floor((entries + 0.5) * size) });
}

async function liveKeys(cache: Surface): Promise<number[]> {
  return ((await collect(cache.keys())) as number[]).sort((a, b) => a - b);
}

/** Where each shard evicts within its share: `cull()` brings the whole cache within the limit. */
async function expectUnderLimitPerShard(cache: Surface): Promise<void> {
  expect(await cache.cull()).toBeGreaterThan(0);
  expect(await cache.volume()).toBeLessThanOrEqual(cache.options.sizeLimit);
  await expectClean(cache);
}

export function evictionTests(ctx: ContractContext): void {
  describe('peekItem', () => {
    it('returns nothing for an empty cache', async () => {
      const cache = ctx.fresh();
      expect(await cache.peekItem()).toBeUndefined();
      expect(await cache.peekItem({ last: false })).toBeUndefined();
    });

    it('returns the most and the least recently stored entry', async () => {
      const cache = ctx.fresh();
      for (const [i, key] of ['a', 'b', 'c'].entries()) {
        ctx.clock.advance(10);
        await cache.set(key, i);
      }
      expect(await cache.peekItem()).toEqual(['c', 2]);
      expect(await cache.peekItem({ last: true })).toEqual(['c', 2]);
      expect(await cache.peekItem({ last: false })).toEqual(['a', 0]);
      ctx.clock.advance(10);
      await cache.set('a', 'again');
      expect(await cache.peekItem()).toEqual(['a', 'again']);
      expect(await cache.peekItem({ last: false })).toEqual(['b', 1]);
      expect(await cache.count()).toBe(3);
    });

    it('skips expired entries', async () => {
      const cache = ctx.fresh();
      await cache.set('old', 1);
      ctx.clock.advance(10);
      await cache.set('new', 2, { ttl: 5 });
      ctx.clock.advance(10);
      expect(await cache.peekItem()).toEqual(['old', 1]);
    });
  });

  describe('cull', () => {
    it('returns 0 and keeps everything under the size limit', async () => {
      const [cache] = await tenEntries(ctx, {});
      expect(await cache.cull()).toBe(0);
      expect(await cache.count()).toBe(10);
    });

    it('removes expired entries even under the size limit', async () => {
      const cache = ctx.fresh({ cullLimit: 0 });
      await cache.set('a', 1, { ttl: 1 });
      await cache.set('b', 2, { ttl: 1 });
      ctx.clock.advance(1);
      await cache.set('c', 3);
      expect(await cache.cull()).toBe(2);
      await expectTotals(cache, ['c']);
    });

    it('evicts the least recently stored first by default, until under the limit', async () => {
      const [filled, size] = await tenEntries(ctx, {});
      ctx.clock.advance(1000);
      await filled.set(3, VALUE);
      const cache = await withLimit(ctx, filled, size, 6);
      await cache.get(0);
      expect(await cache.volume()).toBeGreaterThan(cache.options.sizeLimit);
      if (!ctx.traits.globalEviction) return expectUnderLimitPerShard(cache);
      expect(await cache.cull()).toBe(4);
      expect(await liveKeys(cache)).toEqual([3, 5, 6, 7, 8, 9]);
      expect(await cache.volume()).toBeLessThanOrEqual(cache.options.sizeLimit);
      await expectTotals(cache, [3, 5, 6, 7, 8, 9]);
      await expectClean(cache);
    });

    it("evicts the least recently used first with 'least-recently-used'", async () => {
      const [filled, size] = await tenEntries(ctx, { evictionPolicy: 'least-recently-used' });
      const cache = await withLimit(ctx, filled, size, 6);
      for (const key of [0, 1, 7, 8, 9]) {
        ctx.clock.advance(1000);
        expectBytes(await cache.get(key), VALUE);
      }
      if (!ctx.traits.globalEviction) return expectUnderLimitPerShard(cache);
      expect(await cache.cull()).toBe(4);
      expect(await liveKeys(cache)).toEqual([0, 1, 6, 7, 8, 9]);
      await expectClean(cache);
    });

    it("evicts the least frequently used first with 'least-frequently-used'", async () => {
      const [filled, size] = await tenEntries(ctx, { evictionPolicy: 'least-frequently-used' });
      const cache = await withLimit(ctx, filled, size, 6);
      for (const [key, reads] of [
        [0, 5],
        [1, 4],
        [7, 3],
        [8, 2],
        [9, 1],
      ]) {
        for (let i = 0; i < (reads as number); i++) await cache.get(key as number);
      }
      if (!ctx.traits.globalEviction) return expectUnderLimitPerShard(cache);
      expect(await cache.cull()).toBe(4);
      const survivors = await liveKeys(cache);
      expect(survivors).toHaveLength(6);
      expect(survivors).toEqual(expect.arrayContaining([0, 1, 7, 8, 9]));
      await expectClean(cache);
    });

    it("evicts nothing with 'none', staying over the limit", async () => {
      const [filled, size] = await tenEntries(ctx, { evictionPolicy: 'none' });
      const cache = await withLimit(ctx, filled, size, 6);
      expect(await cache.cull()).toBe(0);
      expect(await cache.count()).toBe(10);
      expect(await cache.volume()).toBeGreaterThan(cache.options.sizeLimit);
      expectBytes(await cache.get(0), VALUE);
    });
  });

  describe('eviction on write', () => {
    it('keeps the volume near the size limit, evicting the oldest', async () => {
      const [filled, size] = await tenEntries(ctx, {});
      await filled.close();
      const cache = ctx.openAt(filled.directory, { sizeLimit: Math.floor(10.5 * size), cullLimit: 2 });
      for (let i = 10; i < 30; i++) {
        ctx.clock.advance(1000);
        await cache.set(i, VALUE);
        if (ctx.traits.globalEviction) expect(await cache.count()).toBeLessThanOrEqual(11);
      }
      if (!ctx.traits.globalEviction) {
        // Each shard keeps within its share: the total stays within the limit plus one entry per shard.
        expect(await cache.volume()).toBeLessThanOrEqual(cache.options.sizeLimit + 4 * size);
        return expectClean(cache);
      }
      const survivors = await liveKeys(cache);
      expect(survivors.length).toBeGreaterThanOrEqual(10);
      expect(survivors).toEqual(
        Array.from({ length: survivors.length }, (_, i) => 30 - survivors.length + i),
      );
      await expectClean(cache);
    });

    it('evicts nothing on write with cullLimit 0', async () => {
      const [filled, size] = await tenEntries(ctx, {});
      const cache = await withLimit(ctx, filled, size, 6);
      await cache.set(10, VALUE);
      expect(await cache.count()).toBe(11);
    });

    it('removes expired entries on write, up to cullLimit, as python-diskcache does', async () => {
      const dir = ctx.tempDir();
      const first = ctx.openAt(dir, { cullLimit: 0 });
      for (let i = 0; i < 10; i++) await first.set(i, i, { ttl: 1 });
      for (let i = 10; i < 15; i++) await first.set(i, i);
      expect(await first.count()).toBe(15);
      await first.close();
      ctx.clock.advance(10);
      const cache = ctx.openAt(dir, { cullLimit: 10 });
      if (!ctx.traits.globalEviction) {
        // A write culls expired entries in its own shard: once every shard was written, none is left.
        for (let i = 15; i < 55; i++) await cache.set(i, i);
        expect(await cache.count()).toBe(45);
        return;
      }
      await cache.set(15, 15);
      expect(await cache.count()).toBe(6);
    });
  });

  describe('maxEntries', () => {
    it('a write that finds count() over maxEntries evicts by the policy, cullLimit at a time', async () => {
      const cache = ctx.fresh({ maxEntries: 5, cullLimit: 1 });
      for (let i = 0; i < 10; i++) {
        ctx.clock.advance(1000);
        await cache.set(i, VALUE);
        if (ctx.traits.globalEviction) expect(await cache.count()).toBeLessThanOrEqual(5);
      }
      if (ctx.traits.globalEviction) expect(await liveKeys(cache)).toEqual([5, 6, 7, 8, 9]);
      else expect(await cache.count()).toBeLessThanOrEqual(cache.options.maxEntries);
      await expectClean(cache);
    });

    it('cull() evicts until count() is within maxEntries, oldest first', async () => {
      const [cache] = await tenEntries(ctx, { maxEntries: 3 });
      expect(await cache.count()).toBe(10);
      expect(await cache.cull()).toBeGreaterThanOrEqual(7);
      if (ctx.traits.globalEviction) expect(await liveKeys(cache)).toEqual([7, 8, 9]);
      expect(await cache.count()).toBeLessThanOrEqual(cache.options.maxEntries);
      await expectClean(cache);
    });

    it('is stored in the directory like sizeLimit; 0 means no limit', async () => {
      const dir = ctx.tempDir();
      const cache = ctx.openAt(dir, { maxEntries: 40 });
      expect(cache.options.maxEntries).toBeGreaterThanOrEqual(40);
      await cache.close();
      const again = ctx.openAt(dir);
      expect(again.options.maxEntries).toBeGreaterThanOrEqual(40);
      await again.close();
      expect(ctx.fresh().options.maxEntries).toBe(0);
    });

    it.each([-1, 1.5, Number.NaN, '10'])('refuses maxEntries %s', (maxEntries) => {
      expect(() => ctx.fresh({ maxEntries: maxEntries as number })).toThrow(
        typeof maxEntries === 'number' && !Number.isNaN(maxEntries) ? RangeError : TypeError,
      );
    });
  });
}
