import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { Cache, CacheError } from '../src/index.js';
import { makeTempDir, removeDir } from './helpers/tmp.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) removeDir(dir);
});
function open(options = {}): Cache {
  const dir = makeTempDir();
  dirs.push(dir);
  return new Cache(dir, options);
}

/** `count` chunks of 64 KiB, each filled with a byte derived from `seed` and its index. */
async function* chunks(count: number, seed: number, failAt = -1): AsyncGenerator<Buffer> {
  for (let i = 0; i < count; i++) {
    if (i === failAt) throw new Error('source failed');
    yield Buffer.alloc(64 * 1024, (seed + i) % 256);
  }
}

async function digest(stream: Readable): Promise<{ sha: string; length: number }> {
  const hash = createHash('sha256');
  let length = 0;
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    length += (chunk as Buffer).length;
  }
  return { sha: hash.digest('hex'), length };
}

async function expected(count: number, seed: number): Promise<{ sha: string; length: number }> {
  return digest(Readable.from(chunks(count, seed)));
}

function privateFiles(cache: Cache): string[] {
  const tmp = join(cache.directory, 'tmp');
  try {
    return readdirSync(tmp).flatMap((owner) => readdirSync(join(tmp, owner)));
  } catch {
    return [];
  }
}

describe('large values as streams', () => {
  it('round-trips a stream, and reads it back with get() and as a stream', async () => {
    const cache = open();
    expect(await cache.setStream('big', Readable.from(chunks(8, 1)), { tag: 't', ttl: 60_000 })).toBe(true);
    const stream = await cache.createReadStream('big');
    expect(stream).toBeDefined();
    expect(await digest(stream as Readable)).toEqual(await expected(8, 1));
    const whole = (await cache.get('big')) as Buffer;
    expect(whole.length).toBe(8 * 64 * 1024);
    expect((await cache.getEntry('big'))?.tag).toBe('t');
    expect(await cache.count()).toBe(1);
    expect((await cache.check()).problems).toEqual([]);
  });

  it('streams 200 MiB in both directions with bounded memory', async () => {
    const cache = open();
    const count = 3200; // 200 MiB
    const before = process.memoryUsage().rss;
    let peak = before;
    const sample = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 5);
    try {
      await cache.setStream('huge', Readable.from(chunks(count, 7)));
      const read = await digest((await cache.createReadStream('huge')) as Readable);
      expect(read.length).toBe(count * 64 * 1024);
    } finally {
      clearInterval(sample);
    }
    // Holding the value would take 200 MiB; streaming must stay far below that.
    expect(peak - before).toBeLessThan(100 * 1024 * 1024);
    expect(await cache.volume()).toBeGreaterThan(count * 64 * 1024);
  }, 120_000);

  it('leaves no entry and no temp file when the source fails half way', async () => {
    const cache = open();
    await cache.set('k', 'old');
    await expect(cache.setStream('k', Readable.from(chunks(10, 3, 5)))).rejects.toThrow('source failed');
    expect(await cache.get('k')).toBe('old');
    expect(privateFiles(cache)).toEqual([]);
    await expect(cache.setStream('new', Readable.from(chunks(10, 3, 5)))).rejects.toThrow('source failed');
    expect(await cache.has('new')).toBe(false);
    expect(await cache.count()).toBe(1);
    expect((await cache.check()).problems).toEqual([]);
  });

  it('gives concurrent readers the old or the new value, whole', async () => {
    const cache = open();
    await cache.setStream('k', Readable.from(chunks(32, 1)));
    const old = await expected(32, 1);
    const next = await expected(32, 2);
    const reading = (await cache.createReadStream('k')) as Readable;
    const writing = cache.setStream('k', Readable.from(chunks(32, 2)));
    const readers = Array.from({ length: 4 }, async () => {
      const stream = await cache.createReadStream('k');
      return digest(stream as Readable);
    });
    const seen = [await digest(reading), ...(await Promise.all(readers))];
    await writing;
    for (const result of seen) expect([old.sha, next.sha]).toContain(result.sha);
    expect(await digest((await cache.createReadStream('k')) as Readable)).toEqual(next);
  });

  it('inflates a compressed value, and refuses values that are not bytes', async () => {
    const cache = open({ compression: 'gzip', compressThreshold: 10 });
    const text = 'abc'.repeat(10_000);
    await cache.set('text', text);
    const stream = (await cache.createReadStream('text')) as Readable;
    const parts: Buffer[] = [];
    for await (const chunk of stream) parts.push(chunk as Buffer);
    expect(Buffer.concat(parts).toString('utf8')).toBe(text);
    await cache.set('object', { a: 1 });
    await expect(cache.createReadStream('object')).rejects.toBeInstanceOf(CacheError);
    expect(await cache.createReadStream('missing')).toBeUndefined();
    await expect(cache.setStream('x', 42 as never)).rejects.toBeInstanceOf(TypeError);
  });
});
