/**
 * Second copies of one idea that drifted apart from the first: each behaviour here is owned by one
 * place, and every path that needs it goes through that place, on either engine (an entry is forged
 * in its entry file or in its log record alike, see helpers/stored.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import * as zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { Cache, type CompressionName, FanoutCache } from '../src/index.js';
import { startNode } from './helpers/children.js';
import { rewriteStoredEntry } from './helpers/stored.js';
import { useTempDirs } from './helpers/tmp.js';
import { reseal } from './stress/helpers/forge.js';
import { keyHash } from './stress/helpers/layout.js';

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

/** A compressible value of `size` bytes. */
function compressible(size: number): Buffer {
  const text = 'diskcache-ts streams compressed entries; '.repeat(Math.ceil(size / 41));
  return Buffer.from(text.slice(0, size), 'utf8');
}

/** node:zlib has zstd from Node 22.15 / 23.8 on. */
const HAS_ZSTD = typeof (zlib as unknown as { zstdCompressSync?: unknown }).zstdCompressSync === 'function';

describe('createReadStream inflates every compression the compression module knows', () => {
  const tempDir = useTempDirs();
  const methods: CompressionName[] = ['gzip', 'brotli', 'lz4', ...(HAS_ZSTD ? (['zstd'] as const) : [])];

  it.each(methods)('%s', async (compression) => {
    const cache = new Cache(tempDir(), { compression, compressThreshold: 16 });
    const value = compressible(300_000);
    cache.setSync('big', value);
    // Stored compressed: the entry file is much smaller than the value.
    const stored = cache.getEntrySync('big');
    expect(stored?.size).toBeLessThan(value.length / 4);
    const stream = await cache.createReadStream('big');
    expect(stream).toBeDefined();
    expect((await collect(stream as Readable)).equals(value)).toBe(true);
    await cache.close();
  });

  it.each(['gzip', 'lz4'] as const)(
    'a %s entry that inflates past its recorded length is an error on the stream',
    async (compression) => {
      const dir = tempDir();
      const cache = new Cache(dir, { compression, compressThreshold: 16 });
      cache.setSync('big', compressible(100_000));
      rewriteStoredEntry(dir, keyHash('big'), (bytes) => {
        bytes.writeDoubleLE(1000, 48); // the raw length the header records
        reseal(bytes);
      });
      const stream = await cache.createReadStream('big');
      await expect(collect(stream as Readable)).rejects.toMatchObject({ code: 'EFORMAT' });
      await cache.close();
    },
  );

  it.skipIf(HAS_ZSTD)('zstd is refused up front where node:zlib lacks it (this Node.js)', () => {
    expect(() => new Cache(tempDir(), { compression: 'zstd' })).toThrow(RangeError);
  });
});

describe('setStream recovers like set when the private temp folder is removed', () => {
  const tempDir = useTempDirs();

  it('writes after tmp/<owner>/ was removed behind its back', async () => {
    const dir = tempDir();
    const cache = new Cache(dir);
    const temp = path.join(dir, 'tmp');
    /** Removes the private folders in tmp/; how many there were. */
    const removePrivateFolders = () => {
      const names = fs.readdirSync(temp);
      for (const name of names) fs.rmSync(path.join(temp, name), { recursive: true });
      return names.length;
    };
    // Large enough to be written to a temp file first on either engine (a blob, on log).
    const large = Buffer.alloc(40_000, 7);
    cache.setSync('first', large);
    expect(removePrivateFolders(), 'set made no private folder').toBeGreaterThan(0);
    expect(await cache.setStream('streamed', Readable.from([Buffer.from('one '), 'two']))).toBe(true);
    expect(cache.getSync('streamed')).toEqual(Buffer.from('one two'));
    expect(removePrivateFolders(), 'setStream made no private folder').toBeGreaterThan(0);
    expect(cache.setSync('plain', large)).toBe(true);
    expect(cache.getSync('plain')).toEqual(large);
    expect(cache.getSync('first')).toEqual(large);
    await cache.close();
  });
});

describe('FanoutCache routes queue calls by their options, never by the value', () => {
  const tempDir = useTempDirs();

  it('push({ prefix: "jobs", n: 1 }) goes to the default queue, and pull() finds it', async () => {
    const fanout = new FanoutCache(tempDir(), { shards: 8 });
    const job = { prefix: 'jobs', n: 1 };
    const key = await fanout.push(job);
    expect(await fanout.pull()).toEqual([key, job]);
    const keySync = fanout.pushSync(job);
    expect(fanout.pullSync()).toEqual([keySync, job]);
    await fanout.close();
  });

  it('an item pushed to a named queue is found by get, peek and pull on that queue', async () => {
    const fanout = new FanoutCache(tempDir(), { shards: 8 });
    const key = await fanout.push({ prefix: 'other', n: 2 }, { prefix: 'jobs' });
    expect(await fanout.get(key)).toEqual({ prefix: 'other', n: 2 });
    const defaultKey = fanout.pushSync('plain');
    expect(fanout.getSync(defaultKey)).toBe('plain');
    expect(fanout.peekSync({ prefix: 'jobs' })).toEqual([key, { prefix: 'other', n: 2 }]);
    expect(await fanout.pull({ prefix: 'jobs' })).toEqual([key, { prefix: 'other', n: 2 }]);
    expect(await fanout.pull({ prefix: 'jobs' })).toBeUndefined();
    await fanout.close();
  });
});

describe('the child-process harness', () => {
  it('has read every line printed to its stdout by the time it reports the child gone', async () => {
    // The child exits at once; a process it started still holds its stdout and prints the last
    // line a moment later. At 'exit' that line is not there yet; at 'close' it has been read.
    const script = [
      "const { spawn } = require('node:child_process');",
      "console.log(JSON.stringify('first'));",
      `spawn(process.execPath, ['-e', "setTimeout(() => console.log(JSON.stringify('last')), 300)"], { stdio: ['ignore', 'inherit', 'inherit'] }).unref();`,
    ].join('\n');
    const child = startNode(['-e', script], 30_000, 'printer');
    expect(await child.result()).toBe('last');
    expect(child.messages).toEqual(['first', 'last']);
  });
});
