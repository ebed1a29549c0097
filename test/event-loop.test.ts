/**
 * The async surface never starves the event loop (issue 19): during long chains of async calls on
 * the inline path, `setImmediate` and timer callbacks keep running. The turns are counted against
 * the work done (a lower bound that holds on any machine, however fast or slow), never timed.
 */
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { Cache } from '../src/index.js';
import { useTempDirs } from './helpers/tmp.js';

/** Counts the turns of the event loop (`setImmediate` callbacks) and the timer callbacks until stopped. */
function countTurns(): () => { turns: number; timers: number } {
  let running = true;
  let turns = 0;
  let timers = 0;
  const turn = () => {
    turns++;
    if (running) setImmediate(turn);
  };
  let timer = setTimeout(function tick() {
    timers++;
    timer = setTimeout(tick, 0);
  }, 0);
  setImmediate(turn);
  return () => {
    running = false;
    clearTimeout(timer);
    return { turns, timers };
  };
}

/** At most this many operations (or entries iterated) between two turns: far more than the budget allows. */
const PER_TURN = 100;

describe('the event loop turns during long chains of async calls', () => {
  const tempDir = useTempDirs();

  it.each(['auto', 'inline'] as const)('2,000 sequential awaited sets (asyncIO %s)', async (asyncIO) => {
    const cache = new Cache(tempDir(), { asyncIO });
    const value = 'x'.repeat(1024);
    const stop = countTurns();
    for (let i = 0; i < 2000; i++) await cache.set(`k${i}`, value);
    const { turns, timers } = stop();
    expect(turns).toBeGreaterThanOrEqual(2000 / PER_TURN);
    expect(timers).toBeGreaterThanOrEqual(1);
    await cache.close();
  });

  it('2,000 concurrent sets, then 2,000 concurrent gets', async () => {
    const cache = new Cache(tempDir());
    const value = 'x'.repeat(1024);
    let stop = countTurns();
    await Promise.all(Array.from({ length: 2000 }, (_, i) => cache.set(`k${i}`, value)));
    let seen = stop();
    expect(seen.turns).toBeGreaterThanOrEqual(2000 / PER_TURN);
    expect(seen.timers).toBeGreaterThanOrEqual(1);
    stop = countTurns();
    const values = await Promise.all(Array.from({ length: 2000 }, (_, i) => cache.get(`k${i}`)));
    seen = stop();
    expect(values.every((v) => v === value)).toBe(true);
    expect(seen.turns).toBeGreaterThanOrEqual(2000 / PER_TURN);
    await cache.close();
  });

  it('a keys() iteration over 20,000 entries, and clear() of them', async () => {
    const cache = new Cache(tempDir());
    for (let i = 0; i < 20_000; i++) cache.setSync(i, i);
    let stop = countTurns();
    let keys = 0;
    for await (const _ of cache.keys()) keys++;
    let seen = stop();
    expect(keys).toBe(20_000);
    expect(seen.turns).toBeGreaterThanOrEqual(20_000 / PER_TURN);
    expect(seen.timers).toBeGreaterThanOrEqual(1);
    stop = countTurns();
    expect(await cache.clear()).toBe(20_000);
    seen = stop();
    expect(seen.turns).toBeGreaterThanOrEqual(20_000 / PER_TURN);
    await cache.close();
  }, 120_000);

  it('a short burst does not wait for a turn: one get resolves before a pending setImmediate', async () => {
    const cache = new Cache(tempDir());
    await cache.set('k', 1);
    await new Promise((resolve) => setImmediate(resolve));
    let turned = false;
    setImmediate(() => {
      turned = true;
    });
    expect(await cache.get('k')).toBe(1);
    expect(await cache.has('k')).toBe(true);
    expect(turned).toBe(false);
    await cache.close();
  });

  it.each(['inline', 'threadpool'] as const)(
    'async methods make no synchronous fsync, and compress and inflate large values off the loop (%s)',
    async (asyncIO) => {
      const cache = new Cache(tempDir(), { asyncIO, durability: 'fsync', compression: 'gzip' });
      const value = 'compressible '.repeat(100_000);
      const calls: string[] = [];
      const originals = new Map<string, unknown>();
      const spy = (module: Record<string, unknown>, name: string) => {
        const original = module[name] as (...args: unknown[]) => unknown;
        originals.set(name, original);
        module[name] = (...args: unknown[]) => {
          calls.push(name);
          return original(...args);
        };
      };
      spy(fs as unknown as Record<string, unknown>, 'fsyncSync');
      spy(zlib as unknown as Record<string, unknown>, 'gzipSync');
      spy(zlib as unknown as Record<string, unknown>, 'gunzipSync');
      syncBuiltinESMExports();
      try {
        await cache.set('big', value);
        expect(await cache.get('big')).toBe(value);
        for await (const _ of cache.values());
      } finally {
        (fs as unknown as Record<string, unknown>).fsyncSync = originals.get('fsyncSync');
        (zlib as unknown as Record<string, unknown>).gzipSync = originals.get('gzipSync');
        (zlib as unknown as Record<string, unknown>).gunzipSync = originals.get('gunzipSync');
        syncBuiltinESMExports();
      }
      expect(calls).toEqual([]);
      // The sync surface still does its work synchronously (the spies saw nothing only because the async one does not).
      expect(cache.getSync('big')).toBe(value);
      await cache.close();
    },
  );
});
