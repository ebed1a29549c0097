/**
 * What a cache tells its listeners (`cache.events`): entries evicted, with the reason (size limit,
 * count limit, expiry, tag, clear); damaged entries moved aside; values refused for being larger
 * than `sizeLimit` alone. Both engines, both surfaces; FanoutCache passes on its shards' events.
 */
import { describe, expect, it } from 'vitest';
import { Cache, type DamagedEvent, type EvictEvent, FanoutCache, type RefusedEvent } from '../src/index.js';
import { manualClock } from './helpers/clock.js';
import { damageStoredValue } from './helpers/files.js';
import { useTempDirs } from './helpers/tmp.js';

function recorder(cache: Cache | FanoutCache) {
  const evicted: EvictEvent[] = [];
  const damaged: DamagedEvent[] = [];
  const refused: RefusedEvent[] = [];
  cache.events.on('evict', (e) => evicted.push(e));
  cache.events.on('damaged', (e) => damaged.push(e));
  cache.events.on('refused', (e) => refused.push(e));
  return { evicted, damaged, refused };
}

describe('events', () => {
  const tempDir = useTempDirs();

  it('tells evictions by the size limit and the count limit, with the key and its size', () => {
    const clock = manualClock();
    const cache = new Cache(tempDir(), { clock, maxEntries: 3, cullLimit: 1 });
    const { evicted } = recorder(cache);
    for (let i = 0; i < 5; i++) {
      clock.advance(1000);
      cache.setSync(i, Buffer.alloc(100));
    }
    expect(evicted.map((e) => [e.key, e.reason])).toEqual([
      [0, 'size'],
      [1, 'size'],
    ]);
    expect(evicted.every((e) => e.size > 100)).toBe(true);
    cache.closeSync();
  });

  it('tells expiry, evict(tag) and clear(), on the async surface too', async () => {
    const clock = manualClock();
    const cache = new Cache(tempDir(), { clock });
    const { evicted } = recorder(cache);
    await cache.set('old', 1, { ttl: 10 });
    await cache.set('tagged', 2, { tag: 't' });
    await cache.set('plain', 3);
    clock.advance(10);
    expect(await cache.expire()).toBe(1);
    expect(await cache.evict('t')).toBe(1);
    expect(cache.clearSync()).toBe(1);
    expect(evicted.map((e) => [e.key, e.reason])).toEqual([
      ['old', 'expired'],
      ['tagged', 'tag'],
      ['plain', 'clear'],
    ]);
    cache.closeSync();
  });

  it('tells a damaged entry moved aside', () => {
    const dir = tempDir();
    const cache = new Cache(dir);
    const { damaged } = recorder(cache);
    cache.setSync('k', 'a value long enough to damage');
    expect(damageStoredValue(dir, 'a value long enough to damage')).toBe(1);
    expect(cache.getSync('k')).toBeUndefined();
    expect(damaged).toHaveLength(1);
    expect(damaged[0]?.reason).toEqual(expect.any(String));
    cache.closeSync();
  });

  it('refuses a value larger than sizeLimit alone: not stored, the old one gone, told', async () => {
    const cache = new Cache(tempDir(), { sizeLimit: 10_000 });
    const { refused, evicted } = recorder(cache);
    cache.setSync('small', 1);
    cache.setSync('big', 'old');
    expect(cache.setSync('big', Buffer.alloc(20_000))).toBe(true);
    expect(cache.getSync('big')).toBeUndefined();
    expect(await cache.add('other', Buffer.alloc(20_000))).toBe(false);
    await cache.setMany([
      ['many', 'kept?'],
      ['many', Buffer.alloc(20_000)],
    ]);
    expect(cache.hasSync('many')).toBe(false);
    expect(refused.map((e) => e.key)).toEqual(['big', 'other', 'many']);
    expect(refused[0]).toMatchObject({ sizeLimit: 10_000 });
    expect((refused[0] as RefusedEvent).size).toBeGreaterThan(20_000);
    expect(cache.getSync('small')).toBe(1);
    expect(cache.countSync()).toBe(1);
    expect(evicted).toEqual([]);
    expect(cache.checkSync()).toEqual({ problems: [], fixed: 0 });
    cache.closeSync();
  });

  it('a cache whose policy never evicts (none) stores large values', () => {
    const cache = new Cache(tempDir(), { sizeLimit: 10, evictionPolicy: 'none' });
    const { refused } = recorder(cache);
    cache.setSync('k', Buffer.alloc(1000));
    expect(cache.hasSync('k')).toBe(true);
    expect(refused).toEqual([]);
    cache.closeSync();
  });

  it('FanoutCache tells its shards events while someone listens', () => {
    const clock = manualClock();
    const cache = new FanoutCache(tempDir(), { clock, shards: 4 });
    const evicted: EvictEvent[] = [];
    const listener = (e: EvictEvent) => evicted.push(e);
    cache.events.on('evict', listener);
    cache.setManySync(
      Array.from({ length: 20 }, (_, i) => [i, i] as const),
      { tag: 't' },
    );
    expect(cache.evictSync('t')).toBe(20);
    expect(evicted.map((e) => e.key).sort((a, b) => (a as number) - (b as number))).toEqual(
      Array.from({ length: 20 }, (_, i) => i),
    );
    cache.events.off('evict', listener);
    cache.setSync('x', 1, { tag: 't' });
    cache.evictSync('t');
    expect(evicted).toHaveLength(20);
    cache.closeSync();
  });
});
