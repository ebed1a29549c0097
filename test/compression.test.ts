import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { Cache, type CompressionName } from '../src/index.js';
import { makeTempDir, removeDir } from './helpers/tmp.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) removeDir(dir);
});
function open(compression: CompressionName, compressThreshold = 100): Cache {
  const dir = makeTempDir();
  dirs.push(dir);
  return new Cache(dir, { compression, compressThreshold });
}

const hasZstd = typeof (zlib as { zstdCompressSync?: unknown }).zstdCompressSync === 'function';
const available: CompressionName[] = ['gzip', 'brotli', 'lz4', ...(hasZstd ? (['zstd'] as const) : [])];

describe('compression', () => {
  for (const compression of available) {
    it(`${compression}: round-trips every kind of value and stores compressible ones smaller`, () => {
      const cache = open(compression);
      const text = 'a compressible sentence. '.repeat(2000);
      const values: unknown[] = [
        text,
        Buffer.from(text),
        { text, list: [1, 2, 3] },
        'short',
        Buffer.alloc(0),
      ];
      for (const [i, value] of values.entries()) cache.setSync(i, value);
      for (const [i, value] of values.entries()) expect(cache.getSync(i)).toEqual(value);
      expect(cache.getEntrySync(0)?.size).toBeLessThan(text.length / 4);
      expect(cache.checkSync().problems).toEqual([]);
    });

    it(`${compression}: keeps incompressible data as it is`, () => {
      const cache = open(compression);
      const noise = randomBytes(50_000);
      cache.setSync('noise', noise);
      expect(cache.getSync('noise')).toEqual(noise);
      // Stored plain: the value's bytes are in a file of the cache as they are.
      const files = (fs.readdirSync(cache.directory, { recursive: true }) as string[])
        .map((name) => path.join(cache.directory, name))
        .filter((file) => fs.lstatSync(file).isFile());
      const holds = files.some((file) => fs.readFileSync(file).includes(noise));
      expect(holds).toBe(true);
    });
  }

  it('reads entries written with any compression, whatever its own option', () => {
    const dir = makeTempDir();
    dirs.push(dir);
    const text = 'shared text '.repeat(1000);
    for (const [i, compression] of available.entries()) {
      const writer = new Cache(dir, { compression, compressThreshold: 10 });
      writer.setSync(i, text);
      writer.closeSync();
    }
    const reader = new Cache(dir, { compression: 'none' });
    for (const i of available.keys()) expect(reader.getSync(i)).toBe(text);
  });

  it('zstd is available only where zlib has it, and says so otherwise', () => {
    if (hasZstd) expect(() => open('zstd')).not.toThrow();
    else expect(() => open('zstd')).toThrow(/zstd/);
  });

  it('refuses an unknown compression', () => {
    expect(() => open('snappy' as CompressionName)).toThrow(RangeError);
  });
});
