import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Cache } from '../src/index.js';
import { makeTempDir, removeDir } from './helpers/tmp.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) removeDir(dir);
});
function open(): Cache {
  const dir = makeTempDir();
  dirs.push(dir);
  return new Cache(dir);
}

function leftovers(cache: Cache): string[] {
  const list = (sub: string) => {
    try {
      return readdirSync(join(cache.directory, sub), { recursive: true }).map(String);
    } catch {
      return [];
    }
  };
  return [...list('journal'), ...list('tmp').filter((name) => name.includes('.'))];
}

describe('transact', () => {
  it('makes the writes visible together when fn returns, and returns its result', async () => {
    const cache = open();
    await cache.set('gone', 1);
    const outside = new Cache(cache.directory);
    const result = await cache.transact(async (tx) => {
      await tx.set('a', 1);
      await tx.set('b', 2, { tag: 't' });
      await tx.delete('gone');
      expect(await tx.get('a')).toBe(1); // reads see the transaction's own writes
      expect(await tx.has('gone')).toBe(false);
      expect(await outside.get('a')).toBeUndefined(); // others see nothing yet
      expect(await outside.get('gone')).toBe(1);
      return (await tx.incr('n', 5)) as number;
    });
    expect(result).toBe(5);
    expect([
      await outside.get('a'),
      await outside.get('b'),
      await outside.get('gone'),
      await outside.get('n'),
    ]).toEqual([1, 2, undefined, 5]);
    expect(await cache.count()).toBe(3);
    expect((await cache.check()).problems).toEqual([]);
    expect(leftovers(cache)).toEqual([]);
    outside.closeSync();
  });

  it('keeps nothing when fn throws', () => {
    const cache = open();
    cache.setSync('k', 'before');
    expect(() =>
      cache.transactSync((tx) => {
        tx.setSync('k', 'during');
        tx.setSync('new', 1);
        tx.deleteSync('k');
        throw new Error('abort');
      }),
    ).toThrow('abort');
    expect(cache.getSync('k')).toBe('before');
    expect(cache.hasSync('new')).toBe(false);
    expect(cache.countSync()).toBe(1);
    expect(leftovers(cache)).toEqual([]);
  });

  it('runs nested calls in the same transaction, and refuses a Promise in transactSync', () => {
    const cache = open();
    cache.transactSync((tx) => tx.transactSync((inner) => inner.setSync('x', 1)));
    expect(cache.getSync('x')).toBe(1);
    expect(() => cache.transactSync(() => Promise.resolve(1) as never)).toThrow(TypeError);
    expect(cache.getSync('x')).toBe(1);
  });

  it('serialises transactions: read-modify-write inside them loses no update', async () => {
    const cache = open();
    await cache.set('total', 0);
    await Promise.all(
      Array.from({ length: 20 }, () =>
        cache.transact(async (tx) => {
          const total = (await tx.get('total')) as number;
          await new Promise((resolve) => setTimeout(resolve, 1));
          await tx.set('total', total + 1);
        }),
      ),
    );
    expect(await cache.get('total')).toBe(20);
  });
});
