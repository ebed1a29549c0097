import { describe, expect, it } from 'vitest';
import { CacheError, type Key, MemoryCache } from '../src/index.js';

function manualClock(start = Date.UTC(2024, 0, 1)) {
  let now = start;
  return {
    now: () => now,
    advance(ms: number) {
      now += ms;
    },
  };
}

describe('MemoryCache', () => {
  it('gets, sets, adds, deletes and pops, on both surfaces', async () => {
    const cache = new MemoryCache<unknown>();
    expect(await cache.set('a', 1)).toBe(true);
    expect(cache.getSync('a')).toBe(1);
    expect(await cache.get('missing')).toBeUndefined();
    expect(cache.getSync('missing', 'dflt')).toBe('dflt');
    expect(await cache.add('a', 2)).toBe(false);
    expect(cache.addSync('b', 2)).toBe(true);
    expect(await cache.has('b')).toBe(true);
    expect(cache.deleteSync('b')).toBe(true);
    expect(await cache.delete('b')).toBe(false);
    expect(await cache.pop('a')).toBe(1);
    expect(cache.popSync('a', 'gone')).toBe('gone');
    expect(await cache.count()).toBe(0);
  });

  it('keeps keys of different types apart', () => {
    const cache = new MemoryCache();
    const keys: Key[] = [1, 1n, '1', Buffer.from('1')];
    keys.forEach((k, i) => {
      cache.setSync(k, i);
    });
    keys.forEach((k, i) => {
      expect(cache.getSync(k)).toBe(i);
    });
    expect(cache.getSync(new Uint8Array([0x31]))).toBe(3);
    expect(cache.countSync()).toBe(4);
    expect(() => cache.setSync({} as never, 1)).toThrow(TypeError);
  });

  it('holds values by reference, and tells a stored undefined from a miss', () => {
    const cache = new MemoryCache<unknown>();
    const value = { n: 1 };
    cache.setSync('obj', value);
    expect(cache.getSync('obj')).toBe(value);
    cache.setSync('u', undefined);
    expect(cache.getEntrySync('u')).toMatchObject({ key: 'u', value: undefined });
    expect(cache.getEntrySync('none')).toBeUndefined();
  });

  it('expires by the injected clock, with per-call and default ttl', async () => {
    const clock = manualClock();
    const cache = new MemoryCache<string>({ clock, ttl: 1000 });
    cache.setSync('default', 'x');
    cache.setSync('short', 'y', { ttl: 100, tag: 't' });
    cache.setSync('forever', 'z', { ttl: null });
    expect(cache.getEntrySync('short')).toMatchObject({
      expiresAt: clock.now() + 100,
      tag: 't',
      storedAt: clock.now(),
    });
    expect(cache.getEntrySync('forever')?.expiresAt).toBeNull();
    clock.advance(100);
    expect(cache.getSync('short')).toBeUndefined(); // expiresAt <= now: expired, as in Cache
    expect(cache.hasSync('default')).toBe(true);
    expect(cache.touchSync('default', { ttl: 5000 })).toBe(true);
    expect(cache.touchSync('short', { ttl: 5000 })).toBe(false);
    clock.advance(1000);
    expect(cache.getSync('default')).toBe('x');
    expect(cache.addSync('short', 'again')).toBe(true); // expired counts as absent
    expect(await cache.expire(clock.now() + 10_000)).toBe(2); // default and short (1000 ms default ttl)
    expect([...cache.keysSync()]).toEqual(['forever']);
  });

  it('counts expired entries until they are removed (as Cache does)', () => {
    const clock = manualClock();
    const cache = new MemoryCache({ clock });
    cache.setSync('a', 1, { ttl: 10 });
    cache.setSync('b', 2);
    clock.advance(20);
    expect(cache.countSync()).toBe(2);
    expect([...cache.entriesSync()]).toEqual([['b', 2]]);
    expect(cache.expireSync()).toBe(1);
    expect(cache.countSync()).toBe(1);
  });

  it('increments atomically in process, keeping expiry and tag', async () => {
    const clock = manualClock();
    const cache = new MemoryCache<unknown>({ clock });
    expect(await cache.incr('n')).toBe(1);
    expect(cache.incrSync('n', 5)).toBe(6);
    expect(await cache.decr('n', 2)).toBe(4);
    expect(cache.incrSync('m', 1, 10)).toBe(11);
    expect(cache.incrSync('big', 1n)).toBe(1n);
    expect(cache.incrSync('big', 2)).toBe(3n);
    cache.setSync('t', 1, { ttl: 100, tag: 'x' });
    cache.incrSync('t');
    expect(cache.getEntrySync('t')).toMatchObject({ value: 2, expiresAt: clock.now() + 100, tag: 'x' });
    expect(() => cache.incrSync('none', 1, null)).toThrow(expect.objectContaining({ code: 'EKEYMISSING' }));
    cache.setSync('s', 'text');
    expect(() => cache.incrSync('s')).toThrow(expect.objectContaining({ code: 'ENOTNUMBER' }));
    expect(() => cache.incrSync('n', 'x' as never)).toThrow(TypeError);
  });

  it('evicts the least recently used beyond maxEntries', () => {
    const cache = new MemoryCache<number>({ maxEntries: 3 });
    for (const k of 'abc') cache.setSync(k, 0);
    cache.getSync('a'); // a is now the most recently used
    cache.setSync('d', 0);
    expect([...cache.keysSync()].sort()).toEqual(['a', 'c', 'd']);
    expect(cache.countSync()).toBe(3);
  });

  it('evicts beyond maxBytes, and does not keep an entry larger than maxBytes', () => {
    const cache = new MemoryCache<Buffer>({ maxBytes: 1000 });
    for (let i = 0; i < 5; i++) cache.setSync(`k${i}`, Buffer.alloc(300));
    expect(cache.countSync()).toBe(3);
    expect(cache.volumeSync()).toBeLessThanOrEqual(1000);
    expect(cache.hasSync('k4')).toBe(true);
    cache.setSync('huge', Buffer.alloc(2000));
    expect(cache.hasSync('huge')).toBe(false);
    const sized = new MemoryCache<string>({ maxBytes: 10, sizeOf: () => 4 });
    for (const k of 'abcd') sized.setSync(k, 'x'.repeat(100));
    expect(sized.countSync()).toBe(2); // each entry: 4 + 1 byte of key
  });

  it('evicts by tag and clears', async () => {
    const cache = new MemoryCache();
    cache.setSync(1, 'a', { tag: 'odd' });
    cache.setSync(2, 'b', { tag: 'even' });
    cache.setSync(3, 'c', { tag: 'odd' });
    expect(await cache.evict('odd')).toBe(2);
    expect([...cache.keysSync()]).toEqual([2]);
    expect(cache.clearSync()).toBe(1);
    expect(await cache.count()).toBe(0);
  });

  it('iterates keys, values and entries from the most recently used, sync and async', async () => {
    const cache = new MemoryCache<number>();
    cache.setSync('a', 1);
    cache.setSync('b', 2);
    cache.getSync('a');
    expect([...cache]).toEqual(['a', 'b']);
    const keys: Key[] = [];
    for await (const k of cache) keys.push(k);
    expect(keys).toEqual(['a', 'b']);
    const values: number[] = [];
    for await (const v of cache.values()) values.push(v);
    expect(values).toEqual([1, 2]);
    const entries: [Key, number][] = [];
    for await (const e of cache.entries()) entries.push(e);
    expect(entries).toEqual([
      ['a', 1],
      ['b', 2],
    ]);
  });

  it('counts hits and misses while statistics are on', async () => {
    const cache = new MemoryCache({ statistics: true });
    cache.setSync('a', 1);
    for (let i = 0; i < 10; i++) cache.getSync('a');
    await cache.get('b');
    expect(await cache.stats({ reset: true })).toEqual({ hits: 10, misses: 1 });
    expect(cache.statsSync({ enable: false })).toEqual({ hits: 0, misses: 0 });
    cache.getSync('a');
    expect(cache.statsSync()).toEqual({ hits: 0, misses: 0 });
  });

  it('validates options, with hints for python names', () => {
    expect(() => new MemoryCache({ maxEntries: 0 })).toThrow(RangeError);
    expect(() => new MemoryCache({ maxBytes: 1.5 })).toThrow(RangeError);
    expect(() => new MemoryCache({ ttl: -1 })).toThrow(RangeError);
    expect(() => new MemoryCache({ max_entries: 1 } as never)).toThrow(/did you mean maxEntries/);
    expect(() => new MemoryCache({ expire: 1 } as never)).toThrow(/use ttl/);
    const cache = new MemoryCache();
    expect(() => cache.setSync('a', 1, { expire: 1 } as never)).toThrow(/use ttl/);
  });

  it('throws ECLOSED after close, and closes with using', async () => {
    const cache = new MemoryCache();
    await cache.close();
    expect(cache.closed).toBe(true);
    expect(() => cache.getSync('a')).toThrow(CacheError);
    await expect(cache.get('a')).rejects.toThrow(expect.objectContaining({ code: 'ECLOSED' }));
    let escaped: MemoryCache | undefined;
    {
      using scoped = new MemoryCache();
      scoped.setSync('a', 1);
      escaped = scoped;
    }
    expect(escaped.closed).toBe(true);
  });

  it('has the batch methods: getMany, setMany (own ttl and tag per object entry), deleteMany', async () => {
    const clock = manualClock();
    const cache = new MemoryCache<unknown>({ clock });
    expect(
      cache.setManySync([['a', 1], { key: 'b', value: 2, ttl: 1000, tag: 't' }, ['c', 3]], { tag: 'batch' }),
    ).toBe(true);
    expect(await cache.getMany(['a', 'b', 'missing', 'c'])).toEqual([1, 2, undefined, 3]);
    expect(cache.getEntrySync('a')?.tag).toBe('batch');
    expect(cache.getEntrySync('b')?.tag).toBe('t');
    clock.advance(1000);
    expect(cache.getManySync(['a', 'b'])).toEqual([1, undefined]);
    expect(await cache.deleteMany(['a', 'b', 'missing'])).toEqual([true, false, false]);
    expect(cache.countSync()).toBe(1);
    expect(() => cache.setManySync([['ok', 1], { key: 'k', value: 1, ttl: -1 }])).toThrow(RangeError);
    expect(() => cache.setManySync('no' as never)).toThrow(TypeError);
    expect(() => cache.getManySync([{} as never])).toThrow(TypeError);
    expect(cache.hasSync('ok')).toBe(false);
  });
});
