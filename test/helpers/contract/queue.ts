import { describe, expect, it } from 'vitest';
import type { Key } from '../../../src/index.js';
import { expectArgumentError, expectBytes, expectClean } from '../assertions.js';
import type { ContractContext } from '../contract.js';
import { keyId } from '../samples.js';

function isBefore(a: Key, b: Key): boolean {
  return (a as number | string) < (b as number | string);
}

export function queueTests(ctx: ContractContext): void {
  describe('queues: push, pull, peek', () => {
    it('pulls in FIFO order and empties the queue', async () => {
      const cache = ctx.fresh();
      for (let i = 0; i < 10; i++) await cache.push(i);
      expect(await cache.count()).toBe(10);
      for (let i = 0; i < 10; i++) expect((await cache.pull())?.[1]).toBe(i);
      expect(await cache.pull()).toBeUndefined();
      expect(await cache.count()).toBe(0);
      await expectClean(cache);
    });

    it('returns ordered integer keys, and reads back by key', async () => {
      const cache = ctx.fresh();
      const first = await cache.push('first value');
      const second = await cache.push('second value');
      const front = await cache.push('front value', { side: 'front' });
      for (const key of [first, second, front]) expect(Number.isInteger(key)).toBe(true);
      expect(isBefore(front, first) && isBefore(first, second)).toBe(true);
      expect(await cache.get(second)).toBe('second value');
      expect(await cache.peek()).toEqual([front, 'front value']);
      expect(await cache.peek({ side: 'back' })).toEqual([second, 'second value']);
      expect(await cache.pull({ side: 'back' })).toEqual([second, 'second value']);
      expect(await cache.count()).toBe(2);
    });

    it('names queues by prefix, with keys that sort in order', async () => {
      const cache = ctx.fresh();
      const keys: Key[] = [];
      for (let i = 0; i < 10; i++) keys.push(await cache.push(i, { prefix: 'key' }));
      for (const key of keys) expect(typeof key === 'string' && key.startsWith('key-')).toBe(true);
      expect([...keys].sort()).toEqual(keys);
      for (let i = 0; i < 10; i++) {
        const peeked = await cache.peek({ prefix: 'key' });
        expect(peeked).toEqual([keys[i], i]);
        expect(await cache.pull({ prefix: 'key' })).toEqual(peeked);
      }
      expect(await cache.count()).toBe(0);
      await expectClean(cache);
    });

    it('keeps queues and plain keys apart', async () => {
      const cache = ctx.fresh();
      await cache.set('plain', 'not queued');
      await cache.push('in a', { prefix: 'a' });
      await cache.push('in b', { prefix: 'b' });
      await cache.push('unnamed');
      expect((await cache.pull({ prefix: 'b' }))?.[1]).toBe('in b');
      expect(await cache.pull({ prefix: 'b' })).toBeUndefined();
      expect((await cache.pull())?.[1]).toBe('unnamed');
      expect(await cache.pull()).toBeUndefined();
      expect((await cache.peek({ prefix: 'a' }))?.[1]).toBe('in a');
      expect(await cache.get('plain')).toBe('not queued');
    });

    it('returns nothing from an empty queue', async () => {
      const cache = ctx.fresh();
      expect(await cache.pull()).toBeUndefined();
      expect(await cache.peek()).toBeUndefined();
      expect(await cache.pull({ prefix: 'none', side: 'back' })).toBeUndefined();
    });

    it('stores the ttl and tag of a pushed item', async () => {
      const cache = ctx.fresh();
      const key = await cache.push('test', { ttl: 10_000, tag: 'foo' });
      expect(await cache.getEntry(key)).toMatchObject({
        value: 'test',
        expiresAt: ctx.clock.now() + 10_000,
        tag: 'foo',
      });
      expect(await cache.evict('foo')).toBe(1);
    });

    it('skips expired items, removing them, as python-diskcache does', async () => {
      const cache = ctx.fresh({ cullLimit: 0 });
      for (let i = 0; i < 3; i++) await cache.push(i, { ttl: 100 });
      const live = await cache.push('live');
      ctx.clock.advance(200);
      expect(await cache.peek()).toEqual([live, 'live']);
      expect(await cache.count()).toBe(1);
      expect(await cache.pull()).toEqual([live, 'live']);
      expect(await cache.count()).toBe(0);
    });

    it('moves a 4 MiB value', async () => {
      const cache = ctx.fresh();
      const value = Buffer.alloc(4 * 1024 * 1024, 3);
      await cache.push(value);
      expectBytes((await cache.peek())?.[1], value);
      expect(await cache.count()).toBe(1);
      await expectClean(cache);
      expectBytes((await cache.pull())?.[1], value);
      expect(await cache.count()).toBe(0);
      await expectClean(cache);
    });

    it('gives each item to exactly one of many concurrent pullers', async () => {
      const cache = ctx.fresh();
      const pushed = await Promise.all(Array.from({ length: 20 }, (_, i) => cache.push(i)));
      expect(new Set(pushed.map(keyId)).size).toBe(20);
      const pulled = await Promise.all(Array.from({ length: 25 }, () => cache.pull()));
      const values = pulled.filter((item) => item !== undefined).map((item) => item[1] as number);
      expect(values.sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
      expect(await cache.count()).toBe(0);
    });

    it('refuses a bad prefix or side', async () => {
      const cache = ctx.fresh();
      await expectArgumentError(() => cache.push(1, { prefix: 7 as never }));
      await expectArgumentError(() => cache.push(1, { side: 'middle' as never }));
      await expectArgumentError(() => cache.pull({ side: 'middle' as never }));
      expect(await cache.count()).toBe(0);
    });
  });
}
