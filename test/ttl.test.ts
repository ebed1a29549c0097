/**
 * Time to live as Node caches mean it (lru-cache, Keyv, cache-manager): `ttl` in milliseconds;
 * `0`, `null` and `undefined` never expire; negative, `NaN` and infinite values are a `RangeError`;
 * a per-instance default `ttl` (never stored in the directory) applies to writes without one.
 * The same rule on `Cache`, `FanoutCache`, `MemoryCache`, the Keyv adapter, memoize, queues,
 * streams, `touch` and the lock recipes.
 */
import { Readable } from 'node:stream';
import Keyv from 'keyv';
import { describe, expect, it } from 'vitest';
import { KeyvDiskCache } from '../src/adapters/keyv.js';
import { Cache, FanoutCache, Lock, MemoryCache } from '../src/index.js';
import { manualClock } from './helpers/clock.js';
import { useTempDirs } from './helpers/tmp.js';

const YEAR = 365 * 24 * 3600 * 1000;
const BAD_TTLS = [-1, -0.5, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];

describe('ttl', () => {
  const tempDir = useTempDirs();

  describe.each(['Cache', 'FanoutCache'] as const)('%s', (kind) => {
    const open = (options: { ttl?: number | null } = {}, clock = manualClock()) => {
      const dir = tempDir();
      const cache =
        kind === 'Cache'
          ? new Cache(dir, { clock, ...options })
          : new FanoutCache(dir, { clock, shards: 2, ...options });
      return { cache, clock, dir };
    };

    it('ttl 0, null and undefined never expire', async () => {
      const { cache, clock } = open();
      await cache.set('zero', 1, { ttl: 0 });
      cache.setSync('null', 2, { ttl: null });
      await cache.set('undefined', 3, { ttl: undefined });
      await cache.set('none', 4);
      expect(await cache.add('added', 5, { ttl: 0 })).toBe(true);
      clock.advance(10 * YEAR);
      expect(await cache.get('zero')).toBe(1);
      expect(cache.getSync('null')).toBe(2);
      expect(await cache.get('undefined')).toBe(3);
      expect(await cache.get('none')).toBe(4);
      expect(await cache.get('added')).toBe(5);
      expect((await cache.getEntry('zero'))?.expiresAt).toBeNull();
      cache.closeSync();
    });

    it('a positive ttl expires the entry after that many milliseconds', async () => {
      const { cache, clock } = open();
      const before = clock.now();
      await cache.set('k', 'v', { ttl: 1500 });
      expect((await cache.getEntry('k'))?.expiresAt).toBe(before + 1500);
      clock.advance(1499);
      expect(await cache.get('k')).toBe('v');
      clock.advance(1);
      expect(await cache.get('k')).toBeUndefined();
      cache.closeSync();
    });

    it.each(BAD_TTLS)('ttl %s is a RangeError on every writing method', async (ttl) => {
      const { cache } = open();
      await cache.set('live', 1);
      await expect(cache.set('k', 1, { ttl })).rejects.toThrow(RangeError);
      expect(() => cache.setSync('k', 1, { ttl })).toThrow(RangeError);
      await expect(cache.add('k', 1, { ttl })).rejects.toThrow(RangeError);
      await expect(cache.touch('live', { ttl })).rejects.toThrow(RangeError);
      await expect(cache.push(1, { ttl })).rejects.toThrow(RangeError);
      if (cache instanceof Cache) {
        await expect(cache.setStream('k', Readable.from([Buffer.from('x')]), { ttl })).rejects.toThrow(
          RangeError,
        );
      }
      expect(await cache.has('k')).toBe(false);
      expect((await cache.getEntry('live'))?.expiresAt).toBeNull();
      cache.closeSync();
    });

    it('a ttl that is not a number is a TypeError', async () => {
      const { cache } = open();
      await expect(cache.set('k', 1, { ttl: '5' as unknown as number })).rejects.toThrow(TypeError);
      expect(() => cache.setSync('k', 1, { ttl: 5n as unknown as number })).toThrow(TypeError);
      cache.closeSync();
    });

    it('touch with ttl 0 makes a live entry never expire', async () => {
      const { cache, clock } = open();
      await cache.set('k', 'v', { ttl: 1000 });
      expect(await cache.touch('k', { ttl: 0 })).toBe(true);
      clock.advance(10 * YEAR);
      expect(await cache.get('k')).toBe('v');
      cache.closeSync();
    });

    it('the default ttl applies to writes without one; 0 and null override it', async () => {
      const { cache, clock } = open({ ttl: 1000 });
      const start = clock.now();
      await cache.set('default', 1);
      cache.setSync('undefined', 2, { ttl: undefined });
      await cache.set('zero', 3, { ttl: 0 });
      await cache.set('null', 4, { ttl: null });
      await cache.set('own', 5, { ttl: 5000 });
      expect(await cache.add('added', 6)).toBe(true);
      const pushed = await cache.push('item');
      if (cache instanceof Cache) await cache.setStream('stream', Readable.from([Buffer.from('s')]));
      expect((await cache.getEntry('default'))?.expiresAt).toBe(start + 1000);
      expect(cache.options.ttl).toBe(1000);
      clock.advance(1000);
      expect(await cache.get('default')).toBeUndefined();
      expect(await cache.get('undefined')).toBeUndefined();
      expect(await cache.get('added')).toBeUndefined();
      expect(await cache.get(pushed)).toBeUndefined();
      expect(await cache.has('stream')).toBe(false);
      expect(await cache.get('zero')).toBe(3);
      expect(await cache.get('null')).toBe(4);
      expect(await cache.get('own')).toBe(5);
      cache.closeSync();
    });

    it('touch without a ttl gives the entry the default ttl again', async () => {
      const { cache, clock } = open({ ttl: 1000 });
      await cache.set('k', 'v');
      clock.advance(900);
      expect(await cache.touch('k')).toBe(true);
      clock.advance(900);
      expect(await cache.get('k')).toBe('v');
      clock.advance(100);
      expect(await cache.get('k')).toBeUndefined();
      cache.closeSync();
    });

    it('the default ttl belongs to the instance: it is not stored in the directory', async () => {
      const { cache, clock, dir } = open({ ttl: 1000 });
      cache.closeSync();
      const again = kind === 'Cache' ? new Cache(dir, { clock }) : new FanoutCache(dir, { clock });
      expect(again.options.ttl).toBeNull();
      await again.set('k', 'v');
      clock.advance(10 * YEAR);
      expect(await again.get('k')).toBe('v');
      again.closeSync();
    });

    it.each([...BAD_TTLS, 'soon'])('a default ttl of %s is refused', (ttl) => {
      const expected = typeof ttl === 'number' ? RangeError : TypeError;
      expect(() => open({ ttl: ttl as number })).toThrow(expected);
    });

    it('a default ttl of 0 or null means never', async () => {
      for (const ttl of [0, null]) {
        const { cache, clock } = open({ ttl });
        await cache.set('k', 'v');
        clock.advance(10 * YEAR);
        expect(await cache.get('k')).toBe('v');
        expect(cache.options.ttl).toBeNull();
        cache.closeSync();
      }
    });

    it('memoize without a ttl uses the default; with ttl 0 it caches for good', async () => {
      const { cache, clock } = open({ ttl: 1000 });
      let calls = 0;
      const byDefault = cache.memoize(async (x: number) => x + ++calls, { name: 'default' });
      const forGood = cache.memoize(async (x: number) => x + ++calls, { name: 'zero', ttl: 0 });
      await byDefault(1);
      await forGood(1);
      expect(calls).toBe(2);
      clock.advance(500);
      await byDefault(1);
      await forGood(1);
      expect(calls).toBe(2);
      clock.advance(600);
      await byDefault(1);
      await forGood(1);
      expect(calls).toBe(3);
      expect(() => cache.memoize(async () => 1, { name: 'bad', ttl: -5 })).toThrow(RangeError);
      cache.closeSync();
    });
  });

  it('the remaining time of an entry is its expiresAt minus now (getEntry)', async () => {
    const clock = manualClock();
    const cache = new Cache(tempDir(), { clock });
    await cache.set('k', 'v', { ttl: 60_000 });
    clock.advance(15_000);
    const entry = await cache.getEntry('k');
    expect((entry?.expiresAt as number) - clock.now()).toBe(45_000);
    cache.closeSync();
  });

  describe('MemoryCache', () => {
    it('follows the same rule', () => {
      const clock = manualClock();
      const cache = new MemoryCache({ clock, ttl: 1000 });
      cache.setSync('default', 1);
      cache.setSync('zero', 2, { ttl: 0 });
      cache.setSync('null', 3, { ttl: null });
      for (const ttl of BAD_TTLS) expect(() => cache.setSync('bad', 4, { ttl })).toThrow(RangeError);
      clock.advance(1000);
      expect(cache.getSync('default')).toBeUndefined();
      expect(cache.getSync('zero')).toBe(2);
      expect(cache.getSync('null')).toBe(3);
      for (const ttl of BAD_TTLS) expect(() => new MemoryCache({ ttl })).toThrow(RangeError);
      expect(() => new MemoryCache({ ttl: 0 })).not.toThrow();
    });
  });

  describe('KeyvDiskCache', () => {
    it('takes a default ttl, used when Keyv passes none', async () => {
      const clock = manualClock(Date.now());
      const store = new KeyvDiskCache({ directory: tempDir(), ttl: 1000, clock, keyvVersion: 5 });
      await store.set('default', 'a');
      await store.set('own', 'b', 5000);
      expect(store.cache.options.ttl).toBe(1000);
      clock.advance(1000);
      expect(await store.get('default')).toBeUndefined();
      expect(await store.get('own')).toBe('b');
      await store.disconnect();
    });

    it('ttl 0 never expires, through Keyv and given to the adapter directly', async () => {
      const clock = manualClock(Date.now());
      const store = new KeyvDiskCache({ directory: tempDir(), clock });
      const keyv = new Keyv({ store });
      await keyv.set('k', 'v', 0);
      await store.set('direct', 'v', 0);
      clock.advance(10 * YEAR);
      expect(await store.get('direct')).toBe('v');
      // Keyv 5 stores the key under its namespace, 'keyv'.
      expect(await store.cache.getEntry('keyv:k')).toMatchObject({ expiresAt: null });
      expect(await store.cache.expire()).toBe(0);
      await store.disconnect();
    });
  });

  describe('lock recipes', () => {
    it('a lock with ttl 0 never expires; a negative ttl is a RangeError', async () => {
      const cache = new Cache(tempDir());
      expect(() => new Lock(cache, 'k', { ttl: -1 })).toThrow(RangeError);
      const lock = new Lock(cache, 'k', { ttl: 0 });
      await lock.acquire();
      expect((await cache.getEntry('k'))?.expiresAt).toBeNull();
      await lock.release();
      cache.closeSync();
    });
  });
});
