/**
 * `volume()` and `sizeLimit` count the space the disk takes (issue #14 item 6), on the engine of the
 * run (`DISKCACHE_ENGINE=files`, or the default `log` on a local disk): compared with a du-like sum
 * of `stat.blocks * 512` over the whole cache directory (and `du -sk` where there is one).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Cache } from '../src/index.js';
import { engineOf } from './helpers/stored.js';
import { useTempDirs } from './helpers/tmp.js';

/** The dead bytes a log cache's buckets may keep whatever its volume: 64 buckets too short to compact. */
const BUCKET_SLACK = 64 * 64 * 1024;

/** What `du` counts: the blocks of every file and folder in `dir`, in bytes. */
function diskUsage(dir: string): number {
  const info = fs.lstatSync(dir);
  let total = info.blocks * 512;
  if (info.isDirectory()) for (const name of fs.readdirSync(dir)) total += diskUsage(path.join(dir, name));
  return total;
}

/** `du -sk dir` in bytes, or `undefined` where there is no `du`. */
function du(dir: string): number | undefined {
  try {
    return Number(execFileSync('du', ['-sk', dir]).toString().split('\t')[0]) * 1024;
  } catch {
    return undefined;
  }
}

/** Asserts that `volume` is within `tolerance` of what the disk usage of `dir` is. */
function expectNearDisk(volume: number, dir: string, tolerance = 0.1): void {
  const used = diskUsage(dir);
  expect(Math.abs(volume - used) / used, `volume ${volume}, disk ${used}`).toBeLessThanOrEqual(tolerance);
  const measured = du(dir);
  if (measured !== undefined) {
    expect(Math.abs(volume - measured) / measured, `volume ${volume}, du ${measured}`).toBeLessThanOrEqual(
      tolerance,
    );
  }
}

/**
 * How many entries of `size` bytes make the directory's fixed cost (its folders, the `files`
 * engine's shard folders, the unfilled last block of each bucket file) small beside them.
 */
function entriesOf(engine: 'files' | 'log', size: number): number {
  if (size >= 64 * 1024) return 100;
  if (size >= 4096) return engine === 'files' ? 3000 : 1000;
  return engine === 'files' ? 6000 : 20_000;
}

describe('volume() counts what the disk takes', () => {
  const tempDir = useTempDirs();

  for (const size of [1, 200, 5 * 1024, 100 * 1024]) {
    it(`within 10% of du for ${size}-byte values`, () => {
      const dir = tempDir();
      const cache = new Cache(dir, { codec: 'raw', sizeLimit: 2 ** 40 });
      const n = entriesOf(engineOf(dir), size);
      const value = Buffer.alloc(size, 1);
      for (let i = 0; i < n; i++) cache.setSync(i, value);
      expectNearDisk(cache.volumeSync(), dir);
      expect(cache.checkSync().problems).toEqual([]);
      cache.closeSync();
    });
  }

  it('after overwrites, deletes and clear', () => {
    const dir = tempDir();
    const cache = new Cache(dir, { codec: 'raw', sizeLimit: 2 ** 40 });
    const engine = engineOf(dir);
    // The log engine's bounds below are loose: fewer entries do.
    const n = engine === 'files' ? entriesOf(engine, 200) : 5000;
    for (let i = 0; i < n; i++) cache.setSync(i, Buffer.alloc(200, 1));
    for (let i = 0; i < n; i++) cache.setSync(i, Buffer.alloc(200, 2));
    const overwritten = cache.volumeSync();
    for (let i = 0; i < n; i += 2) cache.deleteSync(i);
    const halved = cache.volumeSync();
    expect(halved).toBeCloseTo(overwritten / 2, -4);
    if (engine === 'files') {
      expectNearDisk(halved, dir);
    } else {
      // Live bytes only: replaced and deleted records stay in their bucket until it compacts,
      // which it does once they pass the live ones and the file is 64 KiB long: du is between
      // volume() and twice it, plus at most 64 KiB for each of the 64 buckets.
      const used = diskUsage(dir);
      expect(used).toBeGreaterThanOrEqual(halved * 0.95);
      expect(used).toBeLessThanOrEqual(halved * 2.1 + BUCKET_SLACK);
    }
    expect(cache.checkSync().problems).toEqual([]);
    cache.clearSync();
    expect(cache.volumeSync()).toBe(0);
    // What stays: the folders (a folder does not shrink) and, in a log cache, the dead records of
    // buckets too short to compact (below 64 KiB each).
    expect(diskUsage(dir)).toBeLessThan(engine === 'files' ? 2 * 2 ** 20 : BUCKET_SLACK + 2 ** 20);
    expect(cache.checkSync().problems).toEqual([]);
    cache.closeSync();
  });

  it('sizeLimit keeps the disk usage near the limit', () => {
    const dir = tempDir();
    const probe = new Cache(dir);
    const engine = engineOf(dir);
    probe.closeSync();
    // 200-byte values: a block each on the files engine, a record each on the log engine.
    const sizeLimit = engine === 'files' ? 16 * 2 ** 20 : 2 * 2 ** 20;
    const n = engine === 'files' ? 6000 : 10_000;
    const cache = new Cache(dir, { codec: 'raw', sizeLimit });
    for (let i = 0; i < n; i++) cache.setSync(i, Buffer.alloc(200, 1));
    expect(cache.volumeSync()).toBeLessThanOrEqual(sizeLimit);
    const used = diskUsage(dir);
    if (engine === 'files') {
      expect(Math.abs(used - sizeLimit) / sizeLimit, `disk ${used}`).toBeLessThanOrEqual(0.1);
    } else {
      // Evicted entries leave dead records until their bucket compacts (see above).
      expect(used, `disk ${used}`).toBeGreaterThanOrEqual(sizeLimit * 0.9);
      expect(used, `disk ${used}`).toBeLessThanOrEqual(sizeLimit * 2.1 + BUCKET_SLACK);
    }
    expect(cache.checkSync().problems).toEqual([]);
    cache.closeSync();
  });

  it('evict events report the size as volume() counts it', () => {
    const dir = tempDir();
    const cache = new Cache(dir, { codec: 'raw' });
    const sizes: number[] = [];
    cache.events.on('evict', (e) => sizes.push(e.size));
    cache.setSync('a', Buffer.alloc(200, 1));
    const volume = cache.volumeSync();
    cache.clearSync();
    expect(sizes).toEqual([volume]);
    cache.closeSync();
  });
});

describe('a directory whose counters count plain bytes (written by an earlier version)', () => {
  const tempDir = useTempDirs();

  /**
   * Makes `dir` look as an earlier version left it: no `allocationUnit` in the settings file, and
   * counters holding the entries' plain sizes (`volume`), as a base with no delta files.
   */
  function makeOld(dir: string, count: number, volume: number): void {
    const settingsPath = path.join(dir, 'diskcache.json');
    const file = JSON.parse(fs.readFileSync(settingsPath, 'utf8'));
    delete file.settings.allocationUnit;
    fs.writeFileSync(settingsPath, JSON.stringify(file));
    const counters = path.join(dir, 'counters');
    for (const name of fs.readdirSync(counters)) fs.rmSync(path.join(counters, name), { recursive: true });
    fs.writeFileSync(
      path.join(counters, 'base.json'),
      JSON.stringify({ count, volume, hits: 0, misses: 0, lastFolded: '' }),
    );
  }

  function written(dir: string, n: number): number {
    const cache = new Cache(dir, { codec: 'raw' });
    for (let i = 0; i < n; i++) cache.setSync(i, Buffer.alloc(200, 1));
    const volume = cache.volumeSync();
    cache.closeSync();
    return volume;
  }

  it('is recounted once by a writable open, which marks the new counting', () => {
    const dir = tempDir();
    const volume = written(dir, 500);
    makeOld(dir, 500, 500 * 280);
    const cache = new Cache(dir);
    expect(cache.countSync()).toBe(500);
    expect(cache.volumeSync()).toBe(volume);
    expect(cache.checkSync().problems).toEqual([]);
    cache.closeSync();
    const settings = JSON.parse(fs.readFileSync(path.join(dir, 'diskcache.json'), 'utf8')).settings;
    expect(settings.allocationUnit).toBeGreaterThanOrEqual(512);
  });

  it('opens read-only as it is, writing nothing', () => {
    const dir = tempDir();
    written(dir, 50);
    makeOld(dir, 50, 50 * 280);
    const before = fs.readFileSync(path.join(dir, 'diskcache.json'), 'utf8');
    const cache = new Cache(dir, { readOnly: true });
    expect(cache.getSync(7)).toEqual(Buffer.alloc(200, 1));
    expect(cache.volumeSync()).toBe(50 * 280);
    cache.closeSync();
    expect(fs.readFileSync(path.join(dir, 'diskcache.json'), 'utf8')).toBe(before);
  });
});
