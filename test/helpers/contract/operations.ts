import { describe, expect, it } from 'vitest';
import { expectArgumentError, expectBytes, expectCacheError, expectClean } from '../assertions.js';
import type { ContractContext } from '../contract.js';

export function operationTests(ctx: ContractContext): void {
  describe('get, set, getEntry, has', () => {
    it('misses on an empty cache, with or without a default', async () => {
      const cache = ctx.fresh();
      expect(await cache.get(0)).toBeUndefined();
      expect(await cache.get(1, 'dne')).toBe('dne');
      const fallback = {};
      expect(await cache.get(2, fallback)).toBe(fallback);
      expect(await cache.getEntry(0)).toBeUndefined();
      expect(await cache.has(0)).toBe(false);
    });

    it('stores, replaces and reads back', async () => {
      const cache = ctx.fresh();
      expect(await cache.set(0, 1)).toBe(true);
      expect(await cache.get(0)).toBe(1);
      expect(await cache.set(0, 'two')).toBe(true);
      expect(await cache.get(0)).toBe('two');
      expect(await cache.set(0, Buffer.alloc(100_000, 1))).toBe(true);
      expect(await cache.set(0, 2)).toBe(true);
      expect(await cache.get(0)).toBe(2);
      expect(await cache.count()).toBe(1);
      expect(await cache.has(0)).toBe(true);
      await expectClean(cache);
    });

    it('reports metadata with getEntry, times from the injected clock', async () => {
      const cache = ctx.fresh();
      const t = ctx.clock.now();
      await cache.set('k', 'v', { ttl: 5000, tag: 'number' });
      const entry = await cache.getEntry('k');
      expect(entry).toMatchObject({ key: 'k', value: 'v', expiresAt: t + 5000, tag: 'number', storedAt: t });
      expect(entry?.size).toBeGreaterThan(0);
      expect(await cache.volume()).toBe(entry?.size);
    });

    it('reports no expiry and no tag for a plain set, and set replaces both', async () => {
      const cache = ctx.fresh();
      await cache.set('k', 0, { ttl: 60_000, tag: 'old' });
      ctx.clock.advance(10);
      await cache.set('k', 1);
      expect(await cache.getEntry('k')).toMatchObject({
        value: 1,
        expiresAt: null,
        tag: null,
        storedAt: ctx.clock.now(),
      });
      await cache.set('k', 2, { ttl: null, tag: null });
      expect(await cache.getEntry('k')).toMatchObject({ value: 2, expiresAt: null, tag: null });
    });

    it('refuses python-diskcache write options and bad ones', async () => {
      const cache = ctx.fresh();
      await expectArgumentError(() => cache.set('k', 1, { expire: 1 } as never), [TypeError], /ttl/);
      await expectArgumentError(() => cache.add('k', 1, { expire: 1 } as never), [TypeError], /ttl/);
      await expectArgumentError(() => cache.touch('k', { expire: 1 } as never), [TypeError], /ttl/);
      await expectArgumentError(() => cache.set('k', 1, { ttl: '1000' } as never));
      await expectArgumentError(() => cache.set('k', 1, { ttl: Number.NaN }));
      await expectArgumentError(() => cache.set('k', 1, 'forever' as never), [TypeError]);
      await expectArgumentError(() => cache.expire('soon' as never));
      await expectArgumentError(() => cache.stats({ enable: 'yes' } as never));
      expect(await cache.count()).toBe(0);
    });
  });

  describe('add', () => {
    it('stores only when absent', async () => {
      const cache = ctx.fresh();
      expect(await cache.add(1, 1)).toBe(true);
      expect(await cache.add(1, 2)).toBe(false);
      expect(await cache.get(1)).toBe(1);
      expect(await cache.count()).toBe(1);
      await expectClean(cache);
    });

    it('keeps a large original when a second add loses', async () => {
      const cache = ctx.fresh();
      const key = Buffer.from('key');
      const first = Buffer.alloc(4 * 1024 * 1024, 1);
      expect(await cache.add(key, first)).toBe(true);
      expect(await cache.add(key, Buffer.alloc(8 * 1024 * 1024, 2))).toBe(false);
      expectBytes(await cache.get(key), first);
      expect(await cache.volume()).toBeLessThan(5 * 1024 * 1024);
      await expectClean(cache);
    });

    it('lets exactly one of several concurrent adds win', async () => {
      const cache = ctx.fresh();
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => cache.add('k', i)));
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await cache.get('k')).toBe(results.indexOf(true));
      expect(await cache.count()).toBe(1);
      await expectClean(cache);
    });
  });

  describe('delete', () => {
    it('removes a present key once', async () => {
      const cache = ctx.fresh();
      await cache.set(0, 0);
      await cache.set('0', 'zero');
      expect(await cache.delete(0)).toBe(true);
      expect(await cache.count()).toBe(1);
      expect(await cache.delete(0)).toBe(false);
      expect(await cache.get('0')).toBe('zero');
      await expectClean(cache);
    });

    it('reports false for a missing key', async () => {
      const cache = ctx.fresh();
      expect(await cache.delete('nothing')).toBe(false);
      expect(await cache.count()).toBe(0);
    });
  });

  describe('pop', () => {
    it('removes and returns a value', async () => {
      const cache = ctx.fresh();
      expect(await cache.incr('alpha')).toBe(1);
      expect(await cache.pop('alpha')).toBe(1);
      expect(await cache.get('alpha')).toBeUndefined();
      expect(await cache.count()).toBe(0);
      expect(await cache.volume()).toBe(0);
      await expectClean(cache);
    });

    it('returns the default for a missing key', async () => {
      const cache = ctx.fresh();
      expect(await cache.pop('dne')).toBeUndefined();
      expect(await cache.pop('dne', 'default')).toBe('default');
    });

    it('pops a 1 MiB string', async () => {
      const cache = ctx.fresh();
      const value = 'x'.repeat(1024 * 1024);
      await cache.set('big', value);
      expect(await cache.pop('big')).toBe(value);
      expect(await cache.count()).toBe(0);
    });

    it('gives the value to exactly one of several concurrent poppers', async () => {
      const cache = ctx.fresh();
      await cache.set('k', 'prize');
      const results = await Promise.all(Array.from({ length: 10 }, () => cache.pop('k', 'none')));
      expect(results.filter((r) => r === 'prize')).toHaveLength(1);
      expect(results.filter((r) => r === 'none')).toHaveLength(9);
      expect(await cache.count()).toBe(0);
      await expectClean(cache);
    });
  });

  describe('incr and decr', () => {
    it('starts a missing key at the default', async () => {
      const cache = ctx.fresh();
      expect(await cache.incr('n')).toBe(1);
      expect(await cache.incr('n')).toBe(2);
      expect(await cache.incr('n', 5)).toBe(7);
      expect(await cache.decr('n', 2)).toBe(5);
      expect(await cache.decr('n')).toBe(4);
      expect(await cache.get('n')).toBe(4);
      expect(await cache.incr('key', 1, 5)).toBe(6);
      expect(await cache.incr('key', 2)).toBe(8);
      expect(await cache.getEntry('key')).toMatchObject({ value: 8, expiresAt: null, tag: null });
      expect(await cache.decr('other', 1, 5)).toBe(4);
      expect(await cache.decr('other', 2)).toBe(2);
      expect(await cache.decr('negative')).toBe(-1);
      await expectClean(cache);
    });

    it('adds fractions', async () => {
      const cache = ctx.fresh();
      expect(await cache.incr('f', 0.5)).toBe(0.5);
      expect(await cache.incr('f', 0.25)).toBe(0.75);
    });

    it('counts in bigints', async () => {
      const cache = ctx.fresh();
      expect(await cache.incr('b', 1n, 0n)).toBe(1n);
      expect(await cache.incr('b', 10n)).toBe(11n);
      expect(await cache.incr('b')).toBe(12n);
      expect(await cache.decr('b', 2n)).toBe(10n);
      expect(await cache.get('b')).toBe(10n);
      await cache.set('huge', 2n ** 64n);
      expect(await cache.incr('huge')).toBe(2n ** 64n + 1n);
      expect(await cache.get('huge')).toBe(2n ** 64n + 1n);
    });

    it('throws EKEYMISSING for a missing key when the default is null, storing nothing', async () => {
      const cache = ctx.fresh();
      await expectCacheError(() => cache.incr('missing', 1, null), 'EKEYMISSING');
      await expectCacheError(() => cache.decr('missing', 1, null), 'EKEYMISSING');
      expect(await cache.has('missing')).toBe(false);
      expect(await cache.count()).toBe(0);
      await cache.set('present', 1);
      expect(await cache.incr('present', 1, null)).toBe(2);
    });

    it.each([
      ['a string', 'text'],
      ['a numeric string', '5'],
      ['an object', { n: 1 }],
      ['null', null],
    ])('throws ENOTNUMBER on %s, leaving it alone', async (_what, value) => {
      const cache = ctx.fresh();
      await cache.set('k', value);
      await expectCacheError(() => cache.incr('k'), 'ENOTNUMBER');
      await expectCacheError(() => cache.decr('k'), 'ENOTNUMBER');
      expect(await cache.get('k')).toEqual(value);
    });

    it('refuses a delta or default that is not a number', async () => {
      const cache = ctx.fresh();
      await expectArgumentError(() => cache.incr('k', '1' as never), [TypeError]);
      await expectArgumentError(() => cache.incr('k', 1, '0' as never), [TypeError]);
      expect(await cache.count()).toBe(0);
    });

    it('keeps the expiry and the tag', async () => {
      const cache = ctx.fresh();
      const t = ctx.clock.now();
      await cache.set('c', 1, { ttl: 5000, tag: 'counters' });
      ctx.clock.advance(100);
      expect(await cache.incr('c')).toBe(2);
      expect(await cache.getEntry('c')).toMatchObject({ value: 2, expiresAt: t + 5000, tag: 'counters' });
      expect(await cache.evict('counters')).toBe(1);
    });

    it('loses no increment among concurrent calls', async () => {
      const cache = ctx.fresh();
      const results = await Promise.all(Array.from({ length: 50 }, () => cache.incr('n')));
      expect([...results].sort((a, b) => Number(a) - Number(b))).toEqual(
        Array.from({ length: 50 }, (_, i) => i + 1),
      );
      expect(await cache.get('n')).toBe(50);
      expect(await cache.count()).toBe(1);
    });
  });
}
