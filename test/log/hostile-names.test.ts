/**
 * Names in a log cache that a co-tenant of a shared directory planted (docs/FORMAT.md "Trust
 * model"): a junk file, a folder, a FIFO or a symbolic link to a file outside, under the name of a
 * bucket's newest generation (or one past the last generation a header can hold) or of a blob file,
 * and `log/` or
 * `blobs/` replaced by a link to a folder outside. In every case the cache opens, no error but a
 * `CacheError` escapes, nothing outside the directory is read or written, and where the cache's own
 * files are intact, every process keeps reading what the others wrote.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Cache, CacheError } from '../../src/index.js';
import { useTempDirs } from '../helpers/tmp.js';
import { bucketName, keysInBucket } from './helpers/format.js';

const BUCKET = 0x05;
const [KEY, OTHER] = keysInBucket('hostile-', BUCKET, 2) as [string, string];

/** Every file below `dir` with its content, to tell whether anything changed. */
function snapshot(dir: string): string[] {
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .map((e) => {
      const at = path.join(e.parentPath, e.name);
      return e.isFile() ? `${at} ${fs.readFileSync(at, 'hex')}` : at;
    })
    .sort();
}

/** A folder outside the cache with a sentinel file, and a check that it is left as it was. */
function outside(root: string): { dir: string; unchanged: () => void } {
  const dir = path.join(root, 'outside');
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'sentinel'), 'do not touch');
  const before = snapshot(dir);
  return { dir, unchanged: () => expect(snapshot(dir)).toEqual(before) };
}

/** Runs `call`; any error must be a CacheError. */
async function onlyCacheErrors(call: () => unknown): Promise<unknown> {
  try {
    return await call();
  } catch (error) {
    expect(error, String(error)).toBeInstanceOf(CacheError);
    return undefined;
  }
}

describe('log engine: names planted in the directory', () => {
  const tempDir = useTempDirs();

  const plants: [string, (at: string, out: string) => void][] = [
    ['a junk file', (at) => fs.writeFileSync(at, 'junk, no bucket header')],
    ['a folder', (at) => fs.mkdirSync(at)],
    ['a FIFO', (at) => execFileSync('mkfifo', [at])],
    ['a link to a file outside', (at, out) => fs.symlinkSync(path.join(out, 'sentinel'), at)],
  ];
  const names = ['2', '4294967294', '4294967295', '9999999999'];

  for (const [what, plant] of plants) {
    it.each(names)(
      `${what} named as generation %s of a bucket: both processes read each other's writes`,
      async (generation) => {
        const root = tempDir();
        const dir = path.join(root, 'cache');
        const out = outside(root);
        const early = new Cache(dir, { engine: 'log' });
        let late: Cache | undefined;
        try {
          early.setSync(KEY, 'before');
          plant(path.join(dir, 'log', `${bucketName(BUCKET)}.${generation}`), out.dir);
          late = new Cache(dir);
          expect(late.getSync(KEY)).toBe('before');
          late.setSync(OTHER, 'from late');
          await late.set(KEY, 'late');
          expect(early.getSync(KEY)).toBe('late');
          expect(early.getSync(OTHER)).toBe('from late');
          early.setSync(KEY, 'early again');
          expect(await late.get(KEY)).toBe('early again');
          const fresh = new Cache(dir);
          expect(fresh.getSync(KEY)).toBe('early again');
          fresh.closeSync();
          await onlyCacheErrors(() => late?.checkSync({ fix: true }));
          expect(late.getSync(KEY)).toBe('early again');
          out.unchanged();
        } finally {
          early.closeSync();
          late?.closeSync();
        }
      },
    );
  }

  for (const [what, plant] of plants) {
    it(`${what} in the place of a blob file: a miss, nothing outside is touched, check({ fix: true }) clears it`, async () => {
      const root = tempDir();
      const dir = path.join(root, 'cache');
      const out = outside(root);
      const cache = new Cache(dir, { engine: 'log' });
      try {
        cache.setSync(KEY, Buffer.alloc(64 * 1024, 1));
        const [blob] = fs.readdirSync(path.join(dir, 'blobs'));
        const at = path.join(dir, 'blobs', blob as string);
        fs.rmSync(at);
        plant(at, out.dir);
        expect(cache.getSync(KEY)).toBeUndefined();
        expect(await cache.get(KEY)).toBeUndefined();
        expect(cache.hasSync(KEY)).toBe(false);
        await onlyCacheErrors(() => cache.checkSync({ fix: true }));
        expect(cache.checkSync().problems).toEqual([]);
        cache.setSync(KEY, 'written again');
        expect(cache.getSync(KEY)).toBe('written again');
        out.unchanged();
      } finally {
        cache.closeSync();
      }
    });
  }

  it.each([
    ['log', 'a link to a folder outside'],
    ['blobs', 'a link to a folder outside'],
    ['log', 'a file'],
    ['blobs', 'a file'],
  ])(
    '%s/ replaced by %s: nothing outside is touched, and after check({ fix: true }) it works',
    async (folder, by) => {
      const root = tempDir();
      const dir = path.join(root, 'cache');
      const out = outside(root);
      const early = new Cache(dir, { engine: 'log' });
      early.setSync(KEY, Buffer.alloc(64 * 1024, 1));
      early.closeSync();
      fs.renameSync(path.join(dir, folder), path.join(root, 'moved'));
      if (by === 'a file') fs.writeFileSync(path.join(dir, folder), 'not a folder');
      else fs.symlinkSync(out.dir, path.join(dir, folder));
      const cache = await onlyCacheErrors(() => new Cache(dir));
      if (cache instanceof Cache) {
        await onlyCacheErrors(() => cache.getSync(KEY));
        await onlyCacheErrors(() => cache.setSync(KEY, 'small'));
        await onlyCacheErrors(() => cache.set(OTHER, Buffer.alloc(64 * 1024, 2)));
        await onlyCacheErrors(() => cache.checkSync());
        await onlyCacheErrors(() => cache.checkSync({ fix: true }));
        await onlyCacheErrors(() => cache.clearSync());
        await onlyCacheErrors(() => cache.setSync(KEY, 'after the fix'));
        expect(await onlyCacheErrors(() => cache.getSync(KEY))).toBe('after the fix');
        cache.closeSync();
      }
      out.unchanged();
    },
  );
});
