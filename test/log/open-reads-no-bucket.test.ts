/**
 * Opening a log cache reads no bucket: through a file system that records every primitive with the
 * path it is about (a descriptor's calls with the path it was opened on), no bucket file is opened,
 * read, appended to or even stat'ed until the first operation on a key, and then only that key's
 * bucket is.
 */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Cache } from '../../src/index.js';
import {
  type AsyncFileSystem,
  type FileSystem,
  nodeFileSystem,
  type SyncFileSystem,
} from '../../src/internal.js';
import { useTempDirs } from '../helpers/tmp.js';
import { BUCKET_COUNT, bucketName, bucketOf } from './helpers/format.js';

/** A file system that records `<primitive> <path>` for every call, a descriptor's by the path it was opened on. */
function tracingFileSystem(root: string): { fileSystem: FileSystem; calls: string[] } {
  const calls: string[] = [];
  const fds = new Map<number, string>();
  const where = (arg: unknown) =>
    typeof arg === 'string' ? arg : typeof arg === 'number' ? (fds.get(arg) ?? `fd ${arg}`) : '';
  const note = (name: string, args: unknown[], result: unknown) => {
    if (name.startsWith('open') && typeof result === 'number') fds.set(result, String(args[0]));
    calls.push(`${name} ${path.relative(root, where(args[0]))}`);
  };
  const wrapSync = (target: SyncFileSystem): SyncFileSystem =>
    Object.fromEntries(
      Object.entries(target).map(([name, fn]) => [
        name,
        (...args: unknown[]) => {
          const result = (fn as (...a: unknown[]) => unknown).apply(target, args);
          note(name, args, result);
          return result;
        },
      ]),
    ) as unknown as SyncFileSystem;
  const wrapAsync = (target: AsyncFileSystem): AsyncFileSystem =>
    Object.fromEntries(
      Object.entries(target).map(([name, fn]) => [
        name,
        async (...args: unknown[]) => {
          const result = await (fn as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          note(name, args, result);
          return result;
        },
      ]),
    ) as unknown as AsyncFileSystem;
  return {
    fileSystem: { sync: wrapSync(nodeFileSystem.sync), async: wrapAsync(nodeFileSystem.async) },
    calls,
  };
}

const BUCKET_FILE = /^log\/[0-9a-f]{2}\.[0-9]+$/;

/** The calls about a bucket file. */
const bucketCalls = (calls: readonly string[]) =>
  calls.filter((c) => BUCKET_FILE.test(c.split(' ')[1] ?? ''));

describe('log engine: opening reads no bucket', () => {
  const tempDir = useTempDirs();

  function filled(): string {
    const dir = tempDir();
    const cache = new Cache(dir, { engine: 'log' });
    for (let i = 0; i < 500; i++) cache.setSync(`k${i}`, `v${i}`);
    cache.transactSync((tx) => {
      for (let i = 0; i < 10; i++) tx.setSync(`t${i}`, i);
    });
    cache.incrSync('n');
    cache.closeSync();
    return dir;
  }

  for (const how of ['sync', 'async'] as const) {
    it(`no bucket file is touched before the first ${how} get, then only the key's bucket`, async () => {
      const dir = filled();
      const { fileSystem, calls } = tracingFileSystem(dir);
      const cache = new Cache(dir, { fileSystem, asyncIO: 'threadpool' });
      try {
        expect(cache.options.engine).toBe('log');
        expect(calls.length).toBeGreaterThan(0); // the tracing sees the open
        expect(bucketCalls(calls)).toEqual([]);
        calls.length = 0;
        const key = 'k7';
        expect(how === 'sync' ? cache.getSync(key) : await cache.get(key)).toBe('v7');
        const touched = new Set(bucketCalls(calls).map((c) => c.split(' ')[1]));
        expect([...touched]).toEqual([`log/${bucketName(bucketOf(key))}.1`]);
        expect(bucketCalls(calls).some((c) => c.startsWith('readAt '))).toBe(true);
      } finally {
        cache.closeSync();
      }
    });
  }

  it('count, volume and the options are answered without any bucket file', () => {
    const dir = filled();
    const { fileSystem, calls } = tracingFileSystem(dir);
    const cache = new Cache(dir, { fileSystem });
    try {
      expect(cache.countSync()).toBe(511);
      expect(cache.volumeSync()).toBeGreaterThan(0);
      expect(bucketCalls(calls)).toEqual([]);
      // Every bucket is there to be read, once asked for.
      for (let i = 0; i < 500; i++) expect(cache.getSync(`k${i}`)).toBe(`v${i}`);
      expect(new Set(bucketCalls(calls).map((c) => c.split(' ')[1])).size).toBe(BUCKET_COUNT);
    } finally {
      cache.closeSync();
    }
  });
});
