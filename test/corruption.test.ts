/**
 * Corrupt entries, on both engines: every operation on a damaged entry neither throws nor returns it,
 * a read moves it aside, and `check({ fix: true })` leaves the cache clean. On the `log` engine a
 * co-tenant's damage of a record is written at the record's own length with a valid record CRC (so
 * that only the entry's own checks can tell); the damage that changes a length is the files engine's
 * (a log record cut short or grown is test/log/torn-bytes.test.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Cache, type CacheOptions, type Key } from '../src/index.js';
import { expectClean, expectTotals } from './helpers/assertions.js';
import {
  KEY_LENGTH_AT,
  RAW_LENGTH_AT,
  resealHeader,
  VALUE_LENGTH_AT,
  valueOffset,
} from './helpers/entry-bytes.js';
import { corruptFiles, entryFiles, listFiles, newEntryFiles } from './helpers/files.js';
import { keyIds } from './helpers/samples.js';
import { engineOfNewCaches, isStored, readStoredEntry, replaceStoredEntry } from './helpers/stored.js';
import { asyncSurface, collect, type Surface, syncSurface } from './helpers/surface.js';
import { makeTempDir, removeDir } from './helpers/tmp.js';
import { entryPath, keyHash } from './stress/helpers/layout.js';

const ENGINE = engineOfNewCaches(makeTempDir);

/** Deterministic garbage. */
function garbage(length: number, seed = 1): Buffer {
  const bytes = Buffer.alloc(length);
  let x = seed;
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    bytes[i] = x >>> 24;
  }
  return bytes;
}

interface Corruption {
  what: string;
  /** The bad bytes to put in place of the victim's entry file. */
  corrupt(bytes: Buffer, others: Buffer[]): Buffer;
  /** Options and victim value, when the corruption needs particular ones. */
  options?: CacheOptions;
  value?: unknown;
  /** The bytes are a valid entry of another key: a miss, but not necessarily moved aside by reads. */
  misplaced?: boolean;
  /** The bad bytes are as long as the entry (damage that a log record can take in place). */
  sameLength?: boolean;
}

const CORRUPTIONS: Corruption[] = [
  { what: 'truncated to half', corrupt: (b) => b.subarray(0, Math.floor(b.length / 2)) },
  { what: 'truncated by one byte', corrupt: (b) => b.subarray(0, b.length - 1) },
  { what: 'truncated inside the header', corrupt: (b) => b.subarray(0, 10) },
  { what: 'emptied', corrupt: () => Buffer.alloc(0) },
  { what: 'grown by a byte', corrupt: (b) => Buffer.concat([b, Buffer.from([0])]) },
  { what: 'flipped byte in the value', sameLength: true, corrupt: (b) => flip(b, b.length - 1) },
  { what: 'flipped byte in the fixed header', sameLength: true, corrupt: (b) => flip(b, 24) },
  { what: 'flipped byte in the key', sameLength: true, corrupt: (b) => flip(b, 64) },
  { what: 'garbage of the same length', sameLength: true, corrupt: (b) => garbage(b.length) },
  { what: 'garbage after the right magic', corrupt: (b) => Buffer.concat([b.subarray(0, 8), garbage(200)]) },
  {
    what: 'sealed header: 2^40-byte value',
    sameLength: true,
    corrupt: (b) => resealHeader(withDouble(b, VALUE_LENGTH_AT, 2 ** 40)),
  },
  {
    what: 'sealed header: 4 GiB key',
    sameLength: true,
    corrupt: (b) => {
      const copy = Buffer.from(b);
      copy.writeUInt32LE(0xffffffff, KEY_LENGTH_AT);
      return copy;
    },
  },
  {
    what: 'sealed header: 2^40-byte raw value',
    sameLength: true,
    options: { compression: 'gzip' },
    value: 'compressible '.repeat(1000),
    corrupt: (b) => resealHeader(withDouble(b, RAW_LENGTH_AT, 2 ** 40)),
  },
  {
    what: 'sealed header: 10-byte raw value',
    sameLength: true,
    options: { compression: 'gzip' },
    value: 'compressible '.repeat(1000),
    corrupt: (b) => resealHeader(withDouble(b, RAW_LENGTH_AT, 10)),
  },
  {
    what: "another key's entry",
    sameLength: true,
    corrupt: (_b, others) => others[0] as Buffer,
    misplaced: true,
  },
];

/** A clock that moves one second on every reading, so that every write has its own time. */
function tickingClock(): { now(): number } {
  let now = Date.UTC(2024, 0, 1);
  return { now: () => (now += 1000) };
}

function flip(bytes: Buffer, at: number): Buffer {
  const copy = Buffer.from(bytes);
  copy[at] = (copy[at] as number) ^ 0x5a;
  return copy;
}

function withDouble(bytes: Buffer, at: number, value: number): Buffer {
  const copy = Buffer.from(bytes);
  copy.writeDoubleLE(value, at);
  return copy;
}

const OTHERS: [Key, unknown][] = [
  ['a', 'value a'],
  [1, { one: 1 }],
  [2n, [2]],
  [Buffer.from('b'), Buffer.from('value b')],
];
const VICTIM = 'victim';

/** What each operation must do on the corrupt entry; `reads` are those that must move it aside. */
const OPERATIONS: { what: string; reads?: boolean; run(cache: Surface): Promise<void> }[] = [
  { what: 'get', reads: true, run: async (c) => expect(await c.get(VICTIM)).toBeUndefined() },
  {
    what: 'get with a default',
    reads: true,
    run: async (c) => expect(await c.get(VICTIM, 'dflt')).toBe('dflt'),
  },
  { what: 'getEntry', reads: true, run: async (c) => expect(await c.getEntry(VICTIM)).toBeUndefined() },
  { what: 'has', reads: true, run: async (c) => expect(await c.has(VICTIM)).toBe(false) },
  { what: 'pop', reads: true, run: async (c) => expect(await c.pop(VICTIM, 'dflt')).toBe('dflt') },
  {
    what: 'set',
    run: async (c) => {
      expect(await c.set(VICTIM, 'new')).toBe(true);
      expect(await c.get(VICTIM)).toBe('new');
    },
  },
  {
    what: 'add',
    run: async (c) => {
      expect(await c.add(VICTIM, 'new')).toBe(true);
      expect(await c.get(VICTIM)).toBe('new');
    },
  },
  { what: 'incr', run: async (c) => expect(await c.incr(VICTIM)).toBe(1) },
  { what: 'touch', run: async (c) => expect(await c.touch(VICTIM, { ttl: 1000 })).toBe(false) },
  {
    what: 'delete',
    run: async (c) => {
      expect(typeof (await c.delete(VICTIM))).toBe('boolean');
      expect(await c.has(VICTIM)).toBe(false);
    },
  },
  {
    // A key whose header is intact may still be listed (python-diskcache iterates without reading
    // values), but never twice, and no value may come from a bad entry.
    what: 'keys, values and entries',
    run: async (c) => {
      const others = keyIds(OTHERS.map(([k]) => k));
      const keys = keyIds(await collect(c.keys()));
      expect(keys).toEqual([...new Set(keys)]);
      expect(keys.filter((k) => k !== keyIds([VICTIM])[0])).toEqual(others);
      const values = await collect(c.values());
      expect(values).toHaveLength(OTHERS.length);
      for (const [, value] of OTHERS) expect(values).toContainEqual(value);
      const entries = await collect(c.entries());
      expect(keyIds(entries.map(([k]) => k))).toEqual(others);
    },
  },
  {
    // The victim is the most recently stored entry: a bad one must not hide the next.
    what: 'peekItem',
    run: async (c) => expect(await c.peekItem()).toEqual(OTHERS[OTHERS.length - 1]),
  },
  {
    what: 'expire, evict and cull',
    run: async (c) => void [await c.expire(), await c.evict('unused tag'), await c.cull()],
  },
  {
    what: 'check',
    run: async (c) => {
      const report = await c.check();
      expect(report.problems.length).toBeGreaterThan(0);
      expect(report.fixed).toBe(0);
    },
  },
];

/**
 * Both surfaces run the same operation bodies, so the async surface runs the operations that read
 * (whose I/O differs most between the surfaces) and the sync surface runs all of them.
 */
const SURFACES = [
  [
    'async',
    asyncSurface,
    OPERATIONS.filter((o) => o.reads || o.what.startsWith('keys') || o.what === 'check'),
  ],
  ['sync', syncSurface, OPERATIONS],
] as const;

describe.each(SURFACES)('corrupt entry files (%s surface)', (_surface, surface, operations) => {
  let dir: string;
  let cache: Surface;
  const open = (options?: CacheOptions) => {
    cache = surface(new Cache(dir, { clock: tickingClock(), ...options }));
    return cache;
  };

  beforeEach(() => {
    dir = makeTempDir();
  });
  afterEach(async () => {
    await cache?.close().catch(() => {});
    removeDir(dir);
  });

  /** Stores the others and the victim; puts the corrupt bytes in the place of the victim's entry; returns them. */
  async function corruptVictim(corruption: Corruption): Promise<{ bad: Buffer }> {
    open(corruption.options);
    // The entry of another key, as long as the victim's (a key and a value of the same lengths).
    await cache.set('victin', 'victim value');
    const other = readStoredEntry(dir, keyHash('victin'));
    await cache.delete('victin');
    for (const [key, value] of OTHERS) await cache.set(key, value, { tag: 't' });
    await cache.set(VICTIM, corruption.value ?? 'victim value');
    const bad = corruption.corrupt(readStoredEntry(dir, keyHash(VICTIM)), [other]);
    replaceStoredEntry(dir, keyHash(VICTIM), bad);
    return { bad };
  }

  async function expectOthersIntact(): Promise<void> {
    for (const [key, value] of OTHERS) expect(await cache.get(key)).toEqual(value);
  }

  // On the log engine, the damage that keeps the entry's length (see the top of this file).
  const corruptions = CORRUPTIONS.filter((c) => ENGINE === 'files' || c.sameLength === true);
  describe.each(corruptions)('$what', (corruption) => {
    it.each(operations)('$what neither throws nor returns the bad entry', async (operation) => {
      const { bad } = await corruptVictim(corruption);
      await operation.run(cache);
      await expectOthersIntact();

      if (operation.reads && !corruption.misplaced) {
        expect(isStored(dir, keyHash(VICTIM))).toBe(false);
        const aside = corruptFiles(dir);
        expect(aside).toHaveLength(1);
        // The entry file, or the record that held the entry.
        const kept = fs.readFileSync(aside[0] as string);
        expect(kept.subarray(kept.length - bad.length).equals(bad)).toBe(true);
      }

      const repair = await cache.check({ fix: true });
      expect(repair.fixed).toBeLessThanOrEqual(repair.problems.length);
      await expectClean(cache);
      const live = await collect(cache.keys());
      await expectTotals(cache, live);
      await expectOthersIntact();
    });
  });

  // Entry files cut short, sparse and renamed: the files engine's (a log's: test/log/torn-bytes.test.ts).
  const onEntryFiles = it.runIf(ENGINE === 'files');

  onEntryFiles(
    'reports nothing left after check({ fix: true }) on many corrupt entries at once',
    async () => {
      open();
      for (let i = 0; i < 40; i++) await cache.set(i, `value ${i}`.repeat(i + 1));
      const files = entryFiles(dir);
      for (const [i, file] of files.entries()) {
        if (i % 4 === 0) fs.truncateSync(file, 5);
        if (i % 4 === 1) fs.writeFileSync(file, flip(fs.readFileSync(file), 70));
      }
      const report = await cache.check();
      expect(report.problems.length).toBeGreaterThanOrEqual(20);
      const repair = await cache.check({ fix: true });
      expect(repair.fixed).toBeGreaterThanOrEqual(20);
      await expectClean(cache);
      expect(await cache.count()).toBe(20);
      expect(corruptFiles(dir)).toHaveLength(20);
      for (let i = 0; i < 40; i++) {
        const got = await cache.get(i);
        if (got !== undefined) expect(got).toBe(`value ${i}`.repeat(i + 1));
      }
      expect((await collect(cache.values())).length).toBe(20);
    },
  );

  onEntryFiles(
    'misses, without throwing, on a sparse 2^40-byte entry file with a consistent header',
    async () => {
      const file = entryPath(dir, VICTIM);
      await corruptVictim({
        what: 'sparse',
        corrupt: (b) => {
          const forged = withDouble(b, VALUE_LENGTH_AT, 2 ** 40 - valueOffset(b));
          return resealHeader(forged).subarray(0, valueOffset(b));
        },
      });
      fs.truncateSync(file, 2 ** 40);
      expect(await cache.get(VICTIM)).toBeUndefined();
      expect(await cache.has(VICTIM)).toBe(false);
      await expectOthersIntact();
      await cache.check({ fix: true });
      await expectClean(cache);
      expect(await cache.count()).toBe(OTHERS.length);
    },
  );

  it('repairs the counters after they were tampered with', async () => {
    open();
    for (const [key, value] of OTHERS) await cache.set(key, value);
    const volume = await cache.volume();
    await cache.close();
    const base = listFiles(path.join(dir, 'counters')).find((f) => path.basename(f) === 'base.json');
    expect(base).toBeDefined();
    fs.writeFileSync(base as string, JSON.stringify({ count: 999, volume: 1, hits: 0, misses: 0 }));

    open();
    expect(await cache.count()).not.toBe(OTHERS.length);
    const report = await cache.check();
    expect(report.problems.length).toBeGreaterThan(0);
    expect((await cache.check({ fix: true })).fixed).toBeGreaterThan(0);
    await expectClean(cache);
    expect(await cache.count()).toBe(OTHERS.length);
    expect(await cache.volume()).toBe(volume);

    await cache.close();
    fs.writeFileSync(base as string, 'not json at all');
    open();
    await cache.check({ fix: true });
    await expectClean(cache);
    expect(await cache.count()).toBe(OTHERS.length);
  });

  onEntryFiles('reports and moves aside an entry renamed to another name, and unknown files', async () => {
    open();
    for (const [key, value] of OTHERS) await cache.set(key, value);
    const [file] = await newEntryFiles(dir, () => cache.set(VICTIM, 'v'));
    const shard = path.dirname(file as string);
    fs.renameSync(file as string, path.join(shard, '0'.repeat(32)));
    fs.writeFileSync(path.join(shard, 'notes.txt'), 'hello');
    expect(await cache.get(VICTIM)).toBeUndefined();
    const report = await cache.check();
    expect(report.problems.length).toBeGreaterThanOrEqual(2);
    await cache.check({ fix: true });
    await expectClean(cache);
    await expectOthersIntact();
    await expectTotals(
      cache,
      OTHERS.map(([k]) => k),
    );
  });
});
