import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Key } from '../../../src/index.js';
import { expectArgumentError, expectClean, expectTotals } from '../assertions.js';
import type { ContractContext } from '../contract.js';
import { bucketFiles, entryFiles } from '../files.js';
import { keyId, keyIds } from '../samples.js';
import { collect } from '../surface.js';

export function bookkeepingTests(ctx: ContractContext): void {
  describe('count and volume', () => {
    it('are zero on an empty cache', async () => {
      const cache = ctx.fresh();
      expect(await cache.count()).toBe(0);
      expect(await cache.volume()).toBe(0);
    });

    it('follow set, replace, add, incr, touch, delete, pop and clear', async () => {
      const cache = ctx.fresh();
      await cache.set('a', 'a');
      await cache.set('b', 'b');
      await cache.set('c', Buffer.alloc(10_000));
      await expectTotals(cache, ['a', 'b', 'c']);
      await cache.set('b', 'b'.repeat(50_000));
      await expectTotals(cache, ['a', 'b', 'c']);
      await cache.set('c', 1);
      await expectTotals(cache, ['a', 'b', 'c']);
      await cache.add('d', { d: 1 });
      await cache.add('d', 'loses');
      await cache.incr('e');
      await cache.incr('e', 1000);
      await cache.touch('a', { ttl: 60_000 });
      await expectTotals(cache, ['a', 'b', 'c', 'd', 'e']);
      await cache.delete('a');
      await cache.delete('a');
      await expectTotals(cache, ['b', 'c', 'd', 'e']);
      await cache.pop('b');
      await cache.pop('b');
      await expectTotals(cache, ['c', 'd', 'e']);
      expect(await cache.clear()).toBe(3);
      await expectTotals(cache, []);
      await expectClean(cache);
    });

    it('are shared by instances on the same directory', async () => {
      const dir = ctx.tempDir();
      const a = ctx.openAt(dir);
      const b = ctx.openAt(dir);
      await a.set('a', 'x'.repeat(1000));
      await b.set('b', 'y'.repeat(2000));
      expect(await a.count()).toBe(2);
      expect(await b.volume()).toBe(await a.volume());
      await expectTotals(a, ['a', 'b']);
    });
  });

  describe('clear', () => {
    it('removes every entry and returns how many', async () => {
      const cache = ctx.fresh();
      for (let i = 0; i < 100; i++) await cache.set(i, i);
      expect(await cache.clear()).toBe(100);
      expect(await cache.count()).toBe(0);
      expect(await cache.volume()).toBe(0);
      expect(await collect(cache.keys())).toEqual([]);
      expect(await cache.clear()).toBe(0);
      await expectClean(cache);
    });

    it('counts expired entries too', async () => {
      const cache = ctx.fresh({ cullLimit: 0 });
      for (let i = 0; i < 10; i++) await cache.set(i, i);
      for (let i = 10; i < 15; i++) await cache.set(i, i, { ttl: 1 });
      ctx.clock.advance(1);
      expect(await cache.clear()).toBe(15);
      expect(await cache.count()).toBe(0);
    });
  });

  describe('tags and evict', () => {
    it('returns tags of every key type unchanged', async () => {
      const cache = ctx.fresh();
      const tags: Key[] = ['zero', 1234, 5.67, Buffer.from('three'), 7n, ''];
      for (const [i, tag] of tags.entries()) await cache.set(i, i, { tag });
      for (const [i, tag] of tags.entries()) {
        const entry = await cache.getEntry(i);
        expect(keyId(entry?.tag)).toBe(keyId(tag));
      }
      expect(Buffer.isBuffer((await cache.getEntry(3))?.tag)).toBe(true);
    });

    it('evicts the entries with a tag', async () => {
      const cache = ctx.fresh();
      const colors = ['red', 'blue', 'yellow'];
      for (let i = 0; i < 90; i++) await cache.set(i, i, { tag: colors[i % 3] });
      expect(await cache.evict('red')).toBe(30);
      expect(await cache.count()).toBe(60);
      expect(await cache.has(0)).toBe(false);
      expect(await cache.has(1)).toBe(true);
      expect(await cache.evict('red')).toBe(0);
      expect(await cache.evict('green')).toBe(0);
      await expectClean(cache);
    });

    it('tells tags of different types apart', async () => {
      const cache = ctx.fresh();
      const tags: Key[] = [1, '1', 1n, Buffer.from('1')];
      for (const tag of tags) await cache.set(keyId(tag), 'v', { tag });
      for (const [i, tag] of tags.entries()) {
        expect(await cache.evict(tag)).toBe(1);
        expect(await cache.has(keyId(tag))).toBe(false);
        for (const other of tags.slice(i + 1)) expect(await cache.has(keyId(other))).toBe(true);
      }
      expect(await cache.count()).toBe(0);
    });

    it('evicts expired entries with the tag too, as python-diskcache does', async () => {
      const cache = ctx.fresh({ cullLimit: 0 });
      await cache.set('a', 1, { tag: 'x' });
      await cache.set('b', 2, { tag: 'x', ttl: 1 });
      ctx.clock.advance(1);
      await cache.set('c', 3, { tag: 'y' });
      expect(await cache.evict('x')).toBe(2);
      expect(await cache.count()).toBe(1);
    });

    it('is not confused by a value equal to the tag', async () => {
      const cache = ctx.fresh();
      await cache.set('tagged', 'red', { tag: 'blue' });
      await cache.set('untagged', 'blue');
      expect(await cache.evict('red')).toBe(0);
      expect(await cache.evict('blue')).toBe(1);
      expect(await cache.get('untagged')).toBe('blue');
    });

    it('refuses a tag that is not a key type', async () => {
      const cache = ctx.fresh();
      await expectArgumentError(() => cache.set('k', 1, { tag: {} as never }), [TypeError]);
      await expectArgumentError(() => cache.evict(true as never), [TypeError]);
      expect(await cache.count()).toBe(0);
    });
  });

  describe('iteration', () => {
    it('yields nothing for an empty cache', async () => {
      const cache = ctx.fresh();
      expect(await collect(cache.keys())).toEqual([]);
      expect(await collect(cache.values())).toEqual([]);
      expect(await collect(cache.entries())).toEqual([]);
    });

    it('yields every live key once, with values and entries in the same order', async () => {
      const cache = ctx.fresh();
      const keys: Key[] = ['a', 'b', 'c', 'd', 'e', 'f', 1, 2n, Buffer.from('g')];
      for (const key of keys) await cache.set(key, keyId(key));
      const listed = await collect(cache.keys());
      expect(keyIds(listed)).toEqual(keyIds(keys));
      expect(await collect(cache.values())).toEqual(listed.map(keyId));
      expect(await collect(cache.entries())).toEqual(listed.map((key) => [key, keyId(key)]));
    });

    it('can stop early and go on working', async () => {
      const cache = ctx.fresh();
      for (let i = 0; i < 20; i++) await cache.set(i, i);
      let seen = 0;
      for await (const _ of cache.keys()) {
        if (++seen === 3) break;
      }
      expect(seen).toBe(3);
      await cache.set('after', 1);
      expect(await collect(cache.keys())).toHaveLength(21);
    });
  });

  describe('check', () => {
    it('finds nothing after normal use', async () => {
      const cache = ctx.fresh({ cullLimit: 0 });
      for (let i = 0; i < 20; i++) await cache.set(i, 'x'.repeat(i * 100), { tag: i % 2 });
      await cache.set('big', Buffer.alloc(200_000));
      await cache.delete(3);
      await cache.pop(4);
      await cache.add(5, 'no');
      await cache.add('new', 'yes');
      await cache.incr('counter');
      await cache.touch(6, { ttl: 1 });
      ctx.clock.advance(1);
      await cache.expire();
      await cache.evict(1);
      await expectClean(cache);
      await cache.clear();
      await expectClean(cache);
    });

    it('reports and repairs counters after an entry vanished behind its back', async () => {
      const cache = ctx.fresh();
      for (let i = 0; i < 10; i++) await cache.set(i, `value ${i}`);
      if (cache.options.engine === 'log') {
        // Records vanish: a bucket file that holds some of them is cut back to its header.
        const buckets = bucketFiles(cache.directory).filter((f) => fs.statSync(f).size > 16);
        expect(buckets.length).toBeGreaterThan(0);
        fs.truncateSync(buckets[0] as string, 16);
      } else {
        const files = entryFiles(cache.directory);
        expect(files).toHaveLength(10);
        fs.unlinkSync(files[0] as string);
        fs.unlinkSync(files[1] as string);
      }
      expect(await cache.count()).toBe(10);

      const report = await cache.check();
      expect(report.problems.length).toBeGreaterThan(0);
      expect(report.fixed).toBe(0);
      expect(await cache.count()).toBe(10);

      const repair = await cache.check({ fix: true });
      expect(repair.problems.length).toBeGreaterThan(0);
      expect(repair.fixed).toBeGreaterThan(0);
      await expectClean(cache);
      const live = await collect(cache.keys());
      if (cache.options.engine === 'log') expect(live.length).toBeLessThan(10);
      else expect(live).toHaveLength(8);
      await expectTotals(cache, live);
    });
  });

  describe('statistics', () => {
    it('counts nothing while off (the default)', async () => {
      const cache = ctx.fresh();
      await cache.set('k', 1);
      await cache.get('k');
      await cache.get('missing');
      expect(await cache.stats()).toEqual({ hits: 0, misses: 0 });
    });

    it('counts hits and misses of get, and resets them', async () => {
      const cache = ctx.fresh({ statistics: true });
      await cache.set('k', 1);
      await cache.set('expired', 1, { ttl: 1 });
      ctx.clock.advance(1);
      for (let i = 0; i < 3; i++) await cache.get('k');
      await cache.get('missing');
      await cache.get('expired');
      expect(await cache.stats()).toEqual({ hits: 3, misses: 2 });
      expect(await cache.stats({ reset: true })).toEqual({ hits: 3, misses: 2 });
      expect(await cache.stats()).toEqual({ hits: 0, misses: 0 });
      await cache.get('k');
      expect(await cache.stats()).toEqual({ hits: 1, misses: 0 });
    });

    it('turns on and off with stats({ enable }), persisted for later opens', async () => {
      const dir = ctx.tempDir();
      const cache = ctx.openAt(dir);
      await cache.set('k', 1);
      expect(await cache.stats({ enable: true })).toEqual({ hits: 0, misses: 0 });
      await cache.get('k');
      await cache.get('missing');
      expect(await cache.stats()).toEqual({ hits: 1, misses: 1 });
      const later = ctx.openAt(dir);
      expect(later.options.statistics).toBe(true);
      await later.get('k');
      expect(await cache.stats()).toEqual({ hits: 2, misses: 1 });
      await cache.stats({ enable: false });
      await cache.get('k');
      expect(await cache.stats()).toEqual({ hits: 2, misses: 1 });
      await later.close();
      expect(ctx.openAt(dir).options.statistics).toBe(false);
    });

    it('shows stats({ enable }) in options', async () => {
      const cache = ctx.fresh();
      await cache.stats({ enable: true });
      expect(cache.options.statistics).toBe(true);
    });
  });
}
