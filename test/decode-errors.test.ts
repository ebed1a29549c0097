/**
 * Entries whose checksums are valid but whose value its codec cannot decode (planted by a co-tenant
 * of a shared directory, or written by a broken writer): every read is a miss (the entry is moved
 * aside) or a `CacheError` `'ECODEC'`, never a raw error, and iteration skips them and goes on.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Cache, type Codec, Deque } from '../src/index.js';
import { isStored, rewriteStoredEntry } from './helpers/stored.js';
import { useTempDirs } from './helpers/tmp.js';
import { reseal } from './stress/helpers/forge.js';
import { keyHash } from './stress/helpers/layout.js';

/** Value kinds of docs/FORMAT.md (byte 8 of an entry). */
const KIND = { structured: 3, json: 4, float64: 5 } as const;

/** Payloads that pass every checksum but that the entry's value kind cannot decode. */
const UNDECODABLE: { what: string; kind: number; payload: Buffer }[] = [
  { what: 'malformed v8 data', kind: KIND.structured, payload: Buffer.from([0xff, 0x0f, 0x6f, 0x22, 0x7f]) },
  { what: 'malformed JSON', kind: KIND.json, payload: Buffer.from('{"unfinished": [1, 2', 'utf8') },
  { what: 'a 3-byte float', kind: KIND.float64, payload: Buffer.from([1, 2, 3]) },
  { what: 'an unknown value kind', kind: 0x7e, payload: Buffer.from('whatever') },
];

/** Stores `payload` as the bytes of `key`, then relabels the entry's value kind (checksums kept valid); returns the key hash. */
function plant(cache: Cache, dir: string, key: string | number, kind: number, payload: Buffer): string {
  cache.setSync(key, payload);
  const hash = typeof key === 'string' ? keyHash(key) : numberKeyHash(key);
  rewriteStoredEntry(dir, hash, (entry) => {
    entry[8] = kind;
    reseal(entry);
  });
  return hash;
}

/** The key hash of a number key: SHA-256 of type byte 2 and the big-endian float64. */
function numberKeyHash(key: number): string {
  const bytes = Buffer.alloc(9);
  bytes[0] = 2;
  bytes.writeDoubleBE(key, 1);
  return createHash('sha256').update(bytes).digest('hex').slice(0, 32);
}

function corruptFiles(dir: string): string[] {
  try {
    return fs.readdirSync(path.join(dir, 'corrupt'));
  } catch {
    return [];
  }
}

/** The sync and async surfaces of the calls under test, as promises. */
const SURFACES = {
  sync: {
    get: async (c: Cache, k: string, d?: unknown) => c.getSync(k, d),
    getEntry: async (c: Cache, k: string) => c.getEntrySync(k),
    has: async (c: Cache, k: string) => c.hasSync(k),
    pop: async (c: Cache, k: string, d?: unknown) => c.popSync(k, d),
    incr: async (c: Cache, k: string) => c.incrSync(k, 1),
    entries: async (c: Cache) => [...c.entriesSync()],
    values: async (c: Cache) => [...c.valuesSync()],
    peekItem: async (c: Cache) => c.peekItemSync(),
    pull: async (c: Cache) => c.pullSync({ prefix: 'q' }),
    peek: async (c: Cache) => c.peekSync({ prefix: 'q' }),
  },
  async: {
    get: (c: Cache, k: string, d?: unknown) => c.get(k, d),
    getEntry: (c: Cache, k: string) => c.getEntry(k),
    has: (c: Cache, k: string) => c.has(k),
    pop: (c: Cache, k: string, d?: unknown) => c.pop(k, d),
    incr: (c: Cache, k: string) => c.incr(k, 1),
    entries: async (c: Cache) => {
      const all: unknown[] = [];
      for await (const entry of c.entries()) all.push(entry);
      return all;
    },
    values: async (c: Cache) => {
      const all: unknown[] = [];
      for await (const value of c.values()) all.push(value);
      return all;
    },
    peekItem: (c: Cache) => c.peekItem(),
    pull: (c: Cache) => c.pull({ prefix: 'q' }),
    peek: (c: Cache) => c.peek({ prefix: 'q' }),
  },
};

describe.each(Object.entries(SURFACES))('values that do not decode (%s)', (surface, call) => {
  const tempDir = useTempDirs();

  describe.each(UNDECODABLE)('$what', ({ kind, payload }) => {
    it('get is a miss that moves the entry aside, then a plain miss', async () => {
      const dir = tempDir();
      const cache = new Cache(dir);
      const hash = plant(cache, dir, 'bad', kind, payload);
      expect(await call.get(cache, 'bad', 'default')).toBe('default');
      expect(isStored(dir, hash)).toBe(false);
      expect(corruptFiles(dir)).toHaveLength(1);
      expect(await call.get(cache, 'bad', 'default')).toBe('default');
      expect(cache.countSync()).toBe(0);
      cache.closeSync();
    });

    it('check() reports it, and check({ fix: true }) moves it aside', async () => {
      const dir = tempDir();
      const cache = new Cache(dir);
      cache.setSync('good', 'fine');
      const hash = plant(cache, dir, 'bad', kind, payload);
      const report = surface === 'sync' ? cache.checkSync() : await cache.check();
      expect(report.problems).toEqual(expect.arrayContaining([expect.stringMatching(/undecodable entry/)]));
      const fixed = surface === 'sync' ? cache.checkSync({ fix: true }) : await cache.check({ fix: true });
      expect(fixed.fixed).toBeGreaterThanOrEqual(1);
      expect(isStored(dir, hash)).toBe(false);
      expect(corruptFiles(dir)).toHaveLength(1);
      expect(cache.checkSync().problems).toEqual([]);
      expect(cache.getSync('good')).toBe('fine');
      cache.closeSync();
    });

    it('has, getEntry, pop and incr see no entry', async () => {
      const dir = tempDir();
      const cache = new Cache(dir);
      const hash = plant(cache, dir, 'h', kind, payload);
      expect(await call.has(cache, 'h')).toBe(false);
      expect(isStored(dir, hash)).toBe(false);
      plant(cache, dir, 'a', kind, payload);
      expect(await call.getEntry(cache, 'a')).toBeUndefined();
      plant(cache, dir, 'b', kind, payload);
      expect(await call.pop(cache, 'b', 'gone')).toBe('gone');
      expect(cache.hasSync('b')).toBe(false);
      plant(cache, dir, 'c', kind, payload);
      expect(await call.incr(cache, 'c')).toBe(1);
      expect(cache.getSync('c')).toBe(1);
      cache.closeSync();
    });

    it('entries(), values() and peekItem() skip it and go on', async () => {
      const dir = tempDir();
      let now = Date.now();
      const cache = new Cache(dir, { clock: { now: () => ++now } });
      for (const key of ['k1', 'k2', 'k3', 'k4']) cache.setSync(key, `value of ${key}`);
      plant(cache, dir, 'bad', kind, payload);
      const entries = (await call.entries(cache)) as [string, unknown][];
      expect(entries.map(([key]) => key).sort()).toEqual(['k1', 'k2', 'k3', 'k4']);
      expect(((await call.values(cache)) as string[]).sort()).toEqual(
        ['k1', 'k2', 'k3', 'k4'].map((k) => `value of ${k}`),
      );
      // The newest entry is the bad one: peekItem passes over it to the newest good one.
      expect(await call.peekItem(cache)).toEqual(['k4', 'value of k4']);
      cache.closeSync();
    });

    it.each(['peek', 'pull'] as const)('a queue passes over an undecodable item (%s)', async (method) => {
      const dir = tempDir();
      const cache = new Cache(dir);
      const first = cache.pushSync('first', { prefix: 'q' }) as string;
      cache.pushSync('second', { prefix: 'q' });
      plant(cache, dir, first, kind, payload);
      expect(await call[method](cache)).toEqual([expect.any(String), 'second']);
      expect(cache.hasSync(first)).toBe(false);
      cache.closeSync();
    });
  });

  it('a custom codec whose decode throws makes a miss, not its raw error', async () => {
    const dir = tempDir();
    const picky: Codec = {
      name: 'picky',
      encode: (value) => Buffer.from(JSON.stringify(value), 'utf8'),
      decode(bytes) {
        const value = JSON.parse(Buffer.from(bytes).toString('utf8'));
        if (value === 'poison') throw new Error('picky cannot read this');
        return value;
      },
    };
    const cache = new Cache(dir, { codec: picky });
    cache.setSync('good', 'fine');
    cache.setSync('bad', 'poison');
    expect(await call.get(cache, 'bad', 'default')).toBe('default');
    expect(corruptFiles(dir)).toHaveLength(1);
    cache.setSync('bad', 'poison');
    expect(await call.entries(cache)).toEqual([['good', 'fine']]);
    cache.closeSync();
  });

  it('iteration skips an entry of a codec this reader lacks, while get says ECODEC', async () => {
    const dir = tempDir();
    const other: Codec = {
      name: 'other',
      encode: (value) => Buffer.from(JSON.stringify(value), 'utf8'),
      decode: (bytes) => JSON.parse(Buffer.from(bytes).toString('utf8')),
    };
    const writer = new Cache(dir, { codec: other });
    writer.setSync('theirs', { mine: false });
    writer.closeSync();
    const reader = new Cache(dir, { codec: 'structured' });
    reader.setSync('ours', 'plain');
    expect(await call.entries(reader)).toEqual([['ours', 'plain']]);
    await expect(call.get(reader, 'theirs')).rejects.toMatchObject({ name: 'CacheError', code: 'ECODEC' });
    reader.closeSync();
  });

  it('a Deque passes over an undecodable item', async () => {
    const dir = tempDir();
    const deque = new Deque<string>(dir);
    deque.pushSync('one');
    deque.pushSync('two');
    // The deque's items are the entries of its one queue; make the oldest one undecodable.
    const reader = new Cache(dir);
    const [key] = reader.peekSync() as [number, unknown];
    plant(reader, dir, key, KIND.json, Buffer.from('{', 'utf8'));
    expect(surface === 'sync' ? deque.popFrontSync() : await deque.popFront()).toBe('two');
    reader.closeSync();
    deque.closeSync();
  });
});
