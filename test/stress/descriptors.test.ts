/**
 * File descriptors (issue 12, item 5): no descriptor outlives its operation or `close()`, and a cache
 * bounds the files it has open at once, so that a flood of concurrent operations completes under the
 * default limit of 1,024 open files on every path (inline, thread pool, values over 64 KiB, streams).
 * Descriptors are counted in /proc/self/fd (Linux).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { BUCKET_COUNT } from '../../src/engine/log/log-store.js';
import { Cache } from '../../src/index.js';
import { startChild } from '../helpers/children.js';
import { withTempDir } from '../helpers/tmp.js';
import { writeLock } from './helpers/layout.js';

const hasProc = fs.existsSync('/proc/self/fd');

/** Descriptors this process has open now. */
function openDescriptors(): number {
  return fs.readdirSync('/proc/self/fd').length;
}

/** Runs `body` with a new empty directory, removed afterwards. */
function inDirectory(label: string, body: (dir: string) => Promise<void>): Promise<void> {
  return withTempDir(`dct-stress-${label}-`, body);
}

/** Descriptors the runtime itself may open or close meanwhile (its own pipes and timers). */
const SLACK = 3;

describe.skipIf(!hasProc)('descriptors', () => {
  it('2,000 caches opened, used and closed one after another leave no descriptor open (sync and async)', async () => {
    await inDirectory('fd-cycles', async (dir) => {
      const before = openDescriptors();
      for (let i = 0; i < 1000; i++) {
        const cache = new Cache(dir);
        cache.setSync(`k${i}`, i);
        expect(cache.getSync(`k${i}`)).toBe(i);
        cache.closeSync();
      }
      for (let i = 0; i < 1000; i++) {
        const cache = new Cache(dir);
        // Concurrent first writes: each would open the counters file.
        await Promise.all([cache.set(`k${i}`, i), cache.set(`j${i}`, i)]);
        expect(await cache.get(`k${i}`)).toBe(i);
        await cache.close();
      }
      expect(openDescriptors() - before).toBeLessThanOrEqual(SLACK);
      const cache = new Cache(dir);
      expect(cache.countSync()).toBe(2000);
      cache.closeSync();
    });
  });

  it('close() closes the counters file while another process holds the counters fold lock', async () => {
    await inDirectory('fd-fold-held', async (dir) => {
      writeLock(path.join(dir, 'counters', 'fold.lock'), { pid: process.pid });
      const before = openDescriptors();
      for (let i = 0; i < 100; i++) {
        const cache = new Cache(dir);
        i % 2 === 0 ? cache.setSync(`k${i}`, i) : await cache.set(`k${i}`, i);
        i % 2 === 0 ? cache.closeSync() : await cache.close();
      }
      expect(openDescriptors() - before).toBeLessThanOrEqual(SLACK);
      const cache = new Cache(dir);
      expect(cache.countSync()).toBe(100);
      cache.closeSync();
    });
  });

  it.each(['inline', 'threadpool'] as const)(
    '500 concurrent first sets on a new cache (%s) open the counters file once and close() closes it',
    async (asyncIO) => {
      await inDirectory('fd-first', async (dir) => {
        const before = openDescriptors();
        const cache = new Cache(dir, { asyncIO });
        await Promise.all(Array.from({ length: 500 }, (_, i) => cache.set(`k${i}`, i)));
        // While open: the counters delta file and, on the log engine, its bucket files; nothing else.
        const buckets = cache.options.engine === 'log' ? BUCKET_COUNT : 0;
        expect(openDescriptors() - before).toBeLessThanOrEqual(1 + buckets + SLACK);
        expect(await cache.count()).toBe(500);
        await cache.close();
        expect(openDescriptors() - before).toBeLessThanOrEqual(SLACK);
        const again = new Cache(dir);
        expect(again.countSync()).toBe(500);
        again.closeSync();
      });
    },
  );

  it('a read stream holds its descriptor only until it is read or destroyed', async () => {
    await inDirectory('fd-streams', async (dir) => {
      const cache = new Cache(dir);
      await cache.set('bytes', Buffer.alloc(200_000, 7));
      await cache.set('other', 1); // the counters file is open from here on
      const before = openDescriptors();
      const read = await cache.createReadStream('bytes');
      let length = 0;
      for await (const chunk of read ?? []) length += (chunk as Buffer).length;
      expect(length).toBe(200_000);
      const dropped = await cache.createReadStream('bytes');
      dropped?.destroy();
      await new Promise((resolve) => setImmediate(resolve));
      await cache.setStream('streamed', Readable.from([Buffer.alloc(100_000, 1)]));
      expect(openDescriptors() - before).toBeLessThanOrEqual(SLACK);
      await cache.close();
    });
  });

  it.each(['inline', 'threadpool', 'large', 'streams'] as const)(
    '20,000 concurrent mixed operations (%s) complete correctly under ulimit -n 1024',
    async (route) => {
      await inDirectory(`fd-flood-${route}`, async (dir) => {
        const total = 20_000;
        const flood = startChild('stress', 'flood', [dir, route, total], 170_000, { openFiles: 1024 });
        const result = (await flood.result()) as { failures: string[]; count: unknown };
        expect(result.failures).toEqual([]);
        expect(result.count).toBe(total / 2);
      });
    },
    180_000,
  );
});
