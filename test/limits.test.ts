/**
 * A write refuses what the entry format cannot read back: a key or a tag over the 16 MiB that a
 * reader accepts is a `RangeError` before anything is written, on every writing method.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { Cache } from '../src/index.js';
import { makeTempDir, removeDir } from './helpers/tmp.js';

const LIMIT = 16 * 1024 * 1024;
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) removeDir(dir);
});

function open(): { cache: Cache; dir: string } {
  const dir = makeTempDir();
  dirs.push(dir);
  return { cache: new Cache(dir), dir };
}

/** Every file below `dir/entries` and `dir/tmp`. */
function files(dir: string): string[] {
  return ['entries', 'tmp'].flatMap((top) => {
    const at = path.join(dir, top);
    return fs.existsSync(at)
      ? (fs.readdirSync(at, { recursive: true }) as string[]).filter((f) =>
          fs.statSync(path.join(at, f)).isFile(),
        )
      : [];
  });
}

describe('keys and tags the format cannot hold', () => {
  const huge = 'k'.repeat(LIMIT + 1);
  const writes: [string, (cache: Cache) => unknown][] = [
    ['setSync', (c) => c.setSync(huge, 1)],
    ['set', (c) => c.set(huge, 1)],
    ['addSync', (c) => c.addSync(huge, 1)],
    ['add', (c) => c.add(huge, 1)],
    ['incrSync', (c) => c.incrSync(huge)],
    ['setStream', (c) => c.setStream(huge, Readable.from([Buffer.from('x')]))],
    ['setSync with a huge tag', (c) => c.setSync('k', 1, { tag: huge })],
    ['set with a huge tag', (c) => c.set('k', 1, { tag: huge })],
    ['pushSync with a huge prefix', (c) => c.pushSync(1, { prefix: huge })],
  ];
  for (const [what, write] of writes) {
    it(`${what} is a RangeError and writes nothing`, async () => {
      const { cache, dir } = open();
      await expect(Promise.resolve().then(() => write(cache))).rejects.toThrow(RangeError);
      expect(cache.countSync()).toBe(0);
      expect(files(dir)).toEqual([]);
      expect(cache.checkSync().problems).toEqual([]);
      cache.closeSync();
    });
  }

  it('a key of exactly 16 MiB is stored and read back', () => {
    const { cache } = open();
    const key = 'k'.repeat(LIMIT);
    cache.setSync(key, 'v', { tag: 't'.repeat(LIMIT) });
    expect(cache.getSync(key)).toBe('v');
    expect(cache.checkSync().problems).toEqual([]);
    cache.closeSync();
  });
});
