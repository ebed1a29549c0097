/**
 * Which engine a cache gets: a directory written before engines existed (no `engine` in
 * diskcache.json) opens as `files`; an engine option that differs from the stored engine is a
 * `CacheError` 'EOPTION'; `DISKCACHE_ENGINE` decides what 'auto' picks for a new cache (and nothing
 * else); `indexLimit` is validated, and a tiny one still reads every key right.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Cache, CacheError } from '../../src/index.js';
import { useTempDirs } from '../helpers/tmp.js';
import { entryPath } from '../stress/helpers/layout.js';
import { BUCKET_COUNT, bucketOf, generations } from './helpers/format.js';

const SETTINGS = 'diskcache.json';

function withoutEngineField(dir: string): void {
  const file = path.join(dir, SETTINGS);
  const json = JSON.parse(fs.readFileSync(file, 'utf8')) as { settings: Record<string, unknown> };
  expect(json.settings.engine).toBe('files');
  delete json.settings.engine;
  fs.writeFileSync(file, JSON.stringify(json, null, 2));
}

function storedEngine(dir: string): unknown {
  return (JSON.parse(fs.readFileSync(path.join(dir, SETTINGS), 'utf8')) as { settings: { engine?: unknown } })
    .settings.engine;
}

function openError(dir: string, options: ConstructorParameters<typeof Cache>[1]): unknown {
  try {
    new Cache(dir, options).closeSync();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('log engine: choosing the engine', () => {
  const tempDir = useTempDirs();
  const savedEnv = process.env.DISKCACHE_ENGINE;
  afterEach(() => {
    if (savedEnv === undefined) delete process.env.DISKCACHE_ENGINE;
    else process.env.DISKCACHE_ENGINE = savedEnv;
  });

  it("a new cache on a local disk is 'log' by default, and stores it", () => {
    delete process.env.DISKCACHE_ENGINE;
    const dir = tempDir();
    const cache = new Cache(dir);
    cache.setSync('k', 'v');
    expect(cache.options.engine).toBe('log');
    cache.closeSync();
    expect(storedEngine(dir)).toBe('log');
    expect(fs.existsSync(path.join(dir, 'log'))).toBe(true);
    expect(fs.existsSync(entryPath(dir, 'k'))).toBe(false);
  });

  it("a directory of today's format, without an engine in diskcache.json, opens as 'files' with its entries", () => {
    const dir = tempDir();
    const old = new Cache(dir, { engine: 'files' });
    for (let i = 0; i < 20; i++) old.setSync(`k${i}`, { i });
    old.closeSync();
    withoutEngineField(dir);
    expect(fs.existsSync(path.join(dir, 'log'))).toBe(false);

    process.env.DISKCACHE_ENGINE = 'log'; // changes nothing for an existing cache
    const cache = new Cache(dir);
    try {
      expect(cache.options.engine).toBe('files');
      for (let i = 0; i < 20; i++) expect(cache.getSync(`k${i}`)).toEqual({ i });
      cache.setSync('new', 1);
      expect(fs.existsSync(entryPath(dir, 'new'))).toBe(true);
      expect(cache.checkSync().problems).toEqual([]);
    } finally {
      cache.closeSync();
    }
    expect(fs.existsSync(path.join(dir, 'log'))).toBe(false);
    // An explicit 'files' agrees with it; 'log' does not.
    expect(openError(dir, { engine: 'files' })).toBeUndefined();
    const error = openError(dir, { engine: 'log' });
    expect(error).toBeInstanceOf(CacheError);
    expect((error as CacheError).code).toBe('EOPTION');
  });

  it("an engine option that differs from the stored one is CacheError 'EOPTION', and changes nothing", () => {
    for (const [made, other] of [
      ['log', 'files'],
      ['files', 'log'],
    ] as const) {
      const dir = tempDir();
      const cache = new Cache(dir, { engine: made });
      cache.setSync('k', made);
      cache.closeSync();
      const before = fs.readFileSync(path.join(dir, SETTINGS));
      const error = openError(dir, { engine: other });
      expect(error, `${made} opened as ${other}`).toBeInstanceOf(CacheError);
      expect((error as CacheError).code).toBe('EOPTION');
      expect(fs.readFileSync(path.join(dir, SETTINGS)).equals(before)).toBe(true);
      // 'auto', the same engine, and no option at all open it as it is.
      for (const options of [{ engine: 'auto' as const }, { engine: made }, {}]) {
        const again = new Cache(dir, options);
        expect(again.options.engine).toBe(made);
        expect(again.getSync('k')).toBe(made);
        again.closeSync();
      }
    }
  });

  it("DISKCACHE_ENGINE=files makes 'auto' pick files for a new cache; an explicit engine wins over it", () => {
    process.env.DISKCACHE_ENGINE = 'files';
    const auto = tempDir();
    const cache = new Cache(auto);
    cache.setSync('k', 1);
    expect(cache.options.engine).toBe('files');
    cache.closeSync();
    expect(storedEngine(auto)).toBe('files');
    expect(fs.existsSync(entryPath(auto, 'k'))).toBe(true);

    const explicit = tempDir();
    const log = new Cache(explicit, { engine: 'log' });
    expect(log.options.engine).toBe('log');
    log.closeSync();

    process.env.DISKCACHE_ENGINE = 'log';
    const forcedLog = tempDir();
    const other = new Cache(forcedLog, { engine: 'auto' });
    expect(other.options.engine).toBe('log');
    other.closeSync();
    // Once created, the stored engine holds whatever the variable says.
    const reopened = new Cache(auto);
    expect(reopened.options.engine).toBe('files');
    expect(reopened.getSync('k')).toBe(1);
    reopened.closeSync();
  });

  it('indexLimit must be a positive integer', () => {
    const dir = tempDir();
    for (const bad of [0, -1, 1.5, 10.25]) {
      expect(() => new Cache(dir, { indexLimit: bad }), String(bad)).toThrow(RangeError);
    }
    for (const bad of [Number.NaN, '10' as unknown as number]) {
      expect(() => new Cache(dir, { indexLimit: bad }), String(bad)).toThrow(TypeError);
    }
    const ok = new Cache(dir, { engine: 'log', indexLimit: 1 });
    expect(ok.options.engine).toBe('log');
    ok.closeSync();
  });

  it('a log cache with indexLimit 10 reads every key right across all the buckets, with writes from another cache', () => {
    const dir = tempDir();
    const writer = new Cache(dir, { engine: 'log' });
    const keys = Array.from({ length: 600 }, (_, i) => `key-${i}`);
    expect(new Set(keys.map(bucketOf)).size).toBe(BUCKET_COUNT);
    for (const key of keys) writer.setSync(key, `${key}:1`);

    const small = new Cache(dir, { indexLimit: 10 });
    try {
      for (const key of keys) expect(small.getSync(key)).toBe(`${key}:1`);
      // Another process's view (here: another cache) changes the keys; the forgotten buckets are read again.
      for (const [i, key] of keys.entries()) {
        if (i % 3 === 0) writer.deleteSync(key);
        else if (i % 3 === 1) writer.setSync(key, `${key}:2`);
      }
      const expected = (i: number, key: string) =>
        i % 3 === 0 ? undefined : i % 3 === 1 ? `${key}:2` : `${key}:1`;
      for (const [i, key] of keys.entries()) expect(small.getSync(key), key).toBe(expected(i, key));
      // Its own writes, in random bucket order, read back through the bounded index.
      for (const [i, key] of keys.entries()) if (i % 5 === 0) small.setSync(key, `${key}:3`);
      for (const [i, key] of [...keys.entries()].reverse()) {
        expect(small.getSync(key), key).toBe(i % 5 === 0 ? `${key}:3` : expected(i, key));
        expect(writer.getSync(key), key).toBe(i % 5 === 0 ? `${key}:3` : expected(i, key));
      }
      const live = keys.filter((_, i) => i % 3 !== 0 || i % 5 === 0).length;
      expect([...small.keysSync()].length).toBe(live);
      expect(small.countSync()).toBe(live);
      expect(small.checkSync().problems).toEqual([]);
    } finally {
      small.closeSync();
      writer.closeSync();
    }
    for (let b = 0; b < BUCKET_COUNT; b++) expect(generations(dir, b)).toEqual([1]);
  });
});
