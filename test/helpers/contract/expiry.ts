import { describe, expect, it } from 'vitest';
import { expectArgumentError, expectCacheError, expectClean } from '../assertions.js';
import type { ContractContext } from '../contract.js';
import { keyIds } from '../samples.js';
import { collect, type Surface } from '../surface.js';

async function expectInvisible(cache: Surface, key: string): Promise<void> {
  expect(await cache.get(key)).toBeUndefined();
  expect(await cache.get(key, 'default')).toBe('default');
  expect(await cache.has(key)).toBe(false);
  expect(await cache.getEntry(key)).toBeUndefined();
  expect(keyIds(await collect(cache.keys()))).not.toContain(`string:${key}`);
}

export function expiryTests(ctx: ContractContext): void {
  describe('expiry (injected clock)', () => {
    it.each([0, null, undefined])('stores an entry with ttl %s as never expiring', async (ttl) => {
      const cache = ctx.fresh({ cullLimit: 0 });
      expect(await cache.set('k', 'v', { ttl })).toBe(true);
      ctx.clock.advance(100 * 365 * 24 * 3600 * 1000);
      expect(await cache.getEntry('k')).toMatchObject({ value: 'v', expiresAt: null });
      expect(await cache.expire()).toBe(0);
      expect(await cache.count()).toBe(1);
      await expectClean(cache);
    });

    it.each([-1, -60_000, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY])(
      'refuses ttl %d with a RangeError, storing nothing',
      async (ttl) => {
        const cache = ctx.fresh({ cullLimit: 0 });
        await expectArgumentError(() => cache.set('k', 'v', { ttl }), [RangeError], /ttl/);
        await expectArgumentError(() => cache.add('k', 'v', { ttl }), [RangeError], /ttl/);
        expect(await cache.count()).toBe(0);
        await expectInvisible(cache, 'k');
        await expectClean(cache);
      },
    );

    it('an entry whose ttl has passed is invisible, counted until expire() removes it', async () => {
      const cache = ctx.fresh({ cullLimit: 0 });
      expect(await cache.set('k', 'v', { ttl: 1 })).toBe(true);
      ctx.clock.advance(1);
      await expectInvisible(cache, 'k');
      expect(await cache.count()).toBe(1);
      expect(await cache.expire()).toBe(1);
      expect(await cache.count()).toBe(0);
      expect(await cache.volume()).toBe(0);
      await expectClean(cache);
    });

    it('expires exactly when the ttl has elapsed', async () => {
      const cache = ctx.fresh();
      await cache.set('k', 'v', { ttl: 1000 });
      ctx.clock.advance(999);
      expect(await cache.get('k')).toBe('v');
      expect(await cache.has('k')).toBe(true);
      ctx.clock.advance(1);
      await expectInvisible(cache, 'k');
    });

    it('never expires without a ttl', async () => {
      const cache = ctx.fresh();
      await cache.set('none', 1);
      await cache.set('null', 2, { ttl: null });
      ctx.clock.advance(10 * 365 * 24 * 3600 * 1000);
      expect(await cache.get('none')).toBe(1);
      expect(await cache.get('null')).toBe(2);
      expect(await cache.expire()).toBe(0);
    });

    it('hides expired entries from iteration but counts them until expire()', async () => {
      const cache = ctx.fresh({ cullLimit: 0 });
      for (let i = 0; i < 10; i++) await cache.set(`expired ${i}`, i, { ttl: 1 });
      for (let i = 0; i < 5; i++) await cache.set(`live ${i}`, i);
      ctx.clock.advance(1);
      expect(await cache.count()).toBe(15);
      const live = Array.from({ length: 5 }, (_, i) => `live ${i}`);
      expect(keyIds(await collect(cache.keys()))).toEqual(keyIds(live));
      expect((await collect(cache.values())).sort()).toEqual([0, 1, 2, 3, 4]);
      expect((await collect(cache.entries())).map(([k]) => k).sort()).toEqual(live);
      expect(await cache.expire()).toBe(10);
      expect(await cache.count()).toBe(5);
      await expectClean(cache);
    });

    it('expire() removes what has expired by now, or by the time given', async () => {
      const cache = ctx.fresh({ cullLimit: 0 });
      const start = ctx.clock.now();
      for (let i = 1; i <= 100; i++) await cache.set(i, i, { ttl: i * 1000 });
      expect(await cache.count()).toBe(100);
      ctx.clock.advance(10_500);
      expect(await cache.expire()).toBe(10);
      expect(await cache.count()).toBe(90);
      expect(await cache.expire(start + 20_500)).toBe(10);
      expect(await cache.count()).toBe(80);
      expect(await cache.has(21)).toBe(true);
      expect(await cache.expire()).toBe(0);
      await expectClean(cache);
    });

    it('touch sets a new expiry on a live key only', async () => {
      const cache = ctx.fresh();
      await cache.set('k', 'v', { ttl: 60_000, tag: 't' });
      expect(await cache.touch('k', { ttl: null })).toBe(true);
      expect(await cache.getEntry('k')).toMatchObject({ value: 'v', expiresAt: null, tag: 't' });
      ctx.clock.advance(100);
      expect(await cache.touch('k', { ttl: 5000 })).toBe(true);
      expect((await cache.getEntry('k'))?.expiresAt).toBe(ctx.clock.now() + 5000);
      expect(await cache.touch('k', { ttl: 1 })).toBe(true);
      ctx.clock.advance(1);
      expect(await cache.has('k')).toBe(false);
      expect(await cache.touch('k')).toBe(false);
      expect(await cache.touch('missing', { ttl: 1000 })).toBe(false);
      expect(await cache.has('missing')).toBe(false);
    });

    it('touch without a ttl removes the expiry', async () => {
      const cache = ctx.fresh();
      await cache.set('k', 'v', { ttl: 1000 });
      expect(await cache.touch('k')).toBe(true);
      ctx.clock.advance(1_000_000);
      expect(await cache.get('k')).toBe('v');
    });

    it('add stores over an expired entry', async () => {
      const cache = ctx.fresh();
      expect(await cache.add(1, 1)).toBe(true);
      expect(await cache.add(1, 2)).toBe(false);
      expect(await cache.delete(1)).toBe(true);
      expect(await cache.add(1, 1, { ttl: 1 })).toBe(true);
      ctx.clock.advance(10);
      expect(await cache.add(1, 3)).toBe(true);
      expect(await cache.getEntry(1)).toMatchObject({ value: 3, expiresAt: null });
      expect(await cache.count()).toBe(1);
      await expectClean(cache);
    });

    it('set over an expired entry makes it live again', async () => {
      const cache = ctx.fresh();
      await cache.set('k', 'old', { ttl: 1 });
      ctx.clock.advance(1);
      await cache.set('k', 'new');
      expect(await cache.get('k')).toBe('new');
      expect(await cache.count()).toBe(1);
    });

    it('incr restarts an expired counter from the default, without expiry', async () => {
      const cache = ctx.fresh();
      await cache.set('key', 100, { ttl: 100 });
      ctx.clock.advance(120);
      expect(await cache.incr('key')).toBe(1);
      expect(await cache.getEntry('key')).toMatchObject({ value: 1, expiresAt: null });
      await cache.set('down', 100, { ttl: 100 });
      ctx.clock.advance(120);
      expect(await cache.decr('down')).toBe(-1);
      expect(await cache.count()).toBe(2);
    });

    it('incr with a null default throws EKEYMISSING on an expired key', async () => {
      const cache = ctx.fresh();
      await cache.set('key', 100, { ttl: 100 });
      ctx.clock.advance(100);
      await expectCacheError(() => cache.incr('key', 1, null), 'EKEYMISSING');
      await expectCacheError(() => cache.decr('key', 1, null), 'EKEYMISSING');
    });

    it('pop and delete do not return or report an expired entry', async () => {
      const cache = ctx.fresh();
      await cache.set('beta', 'value', { ttl: 10 });
      await cache.set('gamma', 'value', { ttl: 10 });
      ctx.clock.advance(10);
      expect(await cache.pop('beta', 'dne')).toBe('dne');
      expect(await cache.delete('gamma')).toBe(false);
      expect(await cache.pop('beta', 'dne')).toBe('dne');
    });
  });
}
