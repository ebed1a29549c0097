/**
 * Torn and foreign bytes in a bucket file of the log engine: a partial record (what a crash in the
 * middle of an append, or a short write on a full disk, leaves), bytes that are no record at all,
 * and a whole record whose CRC does not match. None of them is ever served; the records after them
 * are still read, and written; `check()` reports the bytes skipped and `check({ fix: true })`
 * compacts them away. A planted record naming a blob outside `blobs/` is never followed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Cache } from '../../src/index.js';
import { startChild } from '../helpers/children.js';
import { useTempDirs } from '../helpers/tmp.js';
import { entryBytes } from '../stress/helpers/forge.js';
import { keyHash } from '../stress/helpers/layout.js';
import {
  blobRecord,
  bucketName,
  bucketOf,
  currentFile,
  generations,
  keysInBucket,
  putRecord,
  readBucketFile,
} from './helpers/format.js';

const BUCKET = 0x2a;
const [K, L, M] = keysInBucket('torn-', BUCKET, 3) as [string, string, string];
/** A child given this long for one write: far more than a write takes, and bounded. */
const WRITE_LIMIT_MS = 10_000;

/** A new log cache holding K = 'old' (and a key in every other bucket, so that they are all there). */
function seeded(dir: string): void {
  const cache = new Cache(dir, { engine: 'log' });
  cache.setSync(K, 'old');
  cache.closeSync();
}

/** Reads `key` in a cache opened for that read alone. */
function freshGet(dir: string, key: string): unknown {
  const cache = new Cache(dir);
  try {
    return cache.getSync(key);
  } finally {
    cache.closeSync();
  }
}

function freshCheck(dir: string, fix = false): string[] {
  const cache = new Cache(dir);
  try {
    return cache.checkSync({ fix }).problems;
  } finally {
    cache.closeSync();
  }
}

/**
 * Sets `key` to `value` (sync, then async) in a child process that is given {@link WRITE_LIMIT_MS}:
 * a write that never returns fails the test instead of hanging it.
 */
async function childSet(dir: string, key: string, value: string): Promise<void> {
  const worker = startChild('stress', 'ops', [dir, JSON.stringify([['set', key, value]])], WRITE_LIMIT_MS);
  const result = (await worker.result()) as { results: string[] };
  expect(result.results).toEqual(['setSync: ok true', 'set: ok true']);
}

/** The bucket file's bytes after the seeded records, as check({ fix }) must leave them: no junk, no foreign bytes. */
function expectClean(file: string, absent: Buffer): void {
  const parsed = readBucketFile(file);
  expect(parsed.magic).toBe('DCLOG001');
  expect(parsed.bucket).toBe(BUCKET);
  expect(parsed.junk).toBe(0);
  expect(fs.readFileSync(file).includes(absent)).toBe(false);
}

describe('log engine: torn and foreign bytes in a bucket file', () => {
  const tempDir = useTempDirs();

  it('the keys are in the bucket the format says', () => {
    for (const key of [K, L, M]) expect(bucketOf(key)).toBe(BUCKET);
    const dir = tempDir();
    seeded(dir);
    const file = currentFile(dir, BUCKET);
    expect(path.basename(file)).toBe(`${bucketName(BUCKET)}.1`);
    const { records, junk } = readBucketFile(file);
    expect(junk).toBe(0);
    expect(records.map((r) => r.hash)).toContain(keyHash(K));
  });

  it('a record with a bad CRC is never served; later records are read; check reports it and fix compacts it away', async () => {
    const dir = tempDir();
    seeded(dir);
    const file = currentFile(dir, BUCKET);
    const forged = putRecord(K, entryBytes(K, 'forged-value'));
    // One bit of the payload flipped: magic and length check, the CRC does not.
    const bad = Buffer.from(forged);
    bad[bad.length - 3] = (bad[bad.length - 3] as number) ^ 0x01;
    // …followed by a valid record planted with it: read by a reader that reads both at once.
    fs.appendFileSync(file, Buffer.concat([bad, putRecord(M, entryBytes(M, 'planted'))]));

    expect(freshGet(dir, K)).toBe('old');
    expect(freshGet(dir, M)).toBe('planted');
    await childSet(dir, L, 'later');
    expect(freshGet(dir, L)).toBe('later');
    expect(freshGet(dir, K)).toBe('old');

    // (The planted record is an entry the counters never heard of: check reports that too.)
    const problems = freshCheck(dir).filter((p) => p.startsWith('log/'));
    expect(problems).toEqual([
      expect.stringContaining(`log/${bucketName(BUCKET)}.1: ${bad.length} bytes that are no intact record`),
    ]);
    freshCheck(dir, true);
    expect(freshCheck(dir)).toEqual([]);
    expect(generations(dir, BUCKET)).toEqual([2]);
    expectClean(currentFile(dir, BUCKET), bad.subarray(52));
    expect([freshGet(dir, K), freshGet(dir, L), freshGet(dir, M)]).toEqual(['old', 'later', 'planted']);
  });

  it('foreign bytes (no record at all) are skipped; a record planted after them and a later write are read', async () => {
    const dir = tempDir();
    seeded(dir);
    const file = currentFile(dir, BUCKET);
    const garbage = Buffer.from('these bytes are no record of the log engine\n'.repeat(8));
    fs.appendFileSync(file, Buffer.concat([garbage, putRecord(M, entryBytes(M, 'planted'))]));

    expect(freshGet(dir, K)).toBe('old');
    expect(freshGet(dir, M)).toBe('planted');
    await childSet(dir, L, 'later');
    expect(freshGet(dir, L)).toBe('later');

    // (The planted record is an entry the counters never heard of: check reports that too.)
    const problems = freshCheck(dir).filter((p) => p.startsWith('log/'));
    expect(problems).toEqual([
      expect.stringContaining(
        `log/${bucketName(BUCKET)}.1: ${garbage.length} bytes that are no intact record`,
      ),
    ]);
    freshCheck(dir, true);
    expect(freshCheck(dir)).toEqual([]);
    expectClean(currentFile(dir, BUCKET), garbage);
    expect([freshGet(dir, K), freshGet(dir, L), freshGet(dir, M)]).toEqual(['old', 'later', 'planted']);
  });

  // The first bytes of a record whose length field promises more than follows: what a crash in the
  // middle of an append leaves at a bucket's end. A record missing only its last bytes has its
  // promise kept by the next append; one cut after 100 bytes of a ~20 KiB entry promises far more
  // bytes than a later small record brings.
  it.each([
    ['a record missing its last 20 bytes', 'x'.repeat(40), -20],
    ['a 20 KiB record cut after 100 bytes', 'y'.repeat(20_000), 100],
  ])(
    'the torn first bytes of %s at the end are never served, and later writes go through and are read',
    async (_what, value, cut) => {
      const dir = tempDir();
      seeded(dir);
      const file = currentFile(dir, BUCKET);
      const record = putRecord(K, entryBytes(K, value));
      const torn = record.subarray(0, cut);
      fs.appendFileSync(file, torn);

      expect(freshGet(dir, K)).toBe('old');
      // A later write to the same bucket must return (and be read), whatever the torn record promised.
      await childSet(dir, L, 'later');
      expect(freshGet(dir, L)).toBe('later');
      expect(freshGet(dir, K)).toBe('old');

      expect(freshCheck(dir)).toEqual([
        expect.stringContaining(
          `log/${bucketName(BUCKET)}.1: ${torn.length} bytes that are no intact record`,
        ),
      ]);
      freshCheck(dir, true);
      expect(freshCheck(dir)).toEqual([]);
      expectClean(currentFile(dir, BUCKET), torn);
      expect([freshGet(dir, K), freshGet(dir, L)]).toEqual(['old', 'later']);
    },
  );

  it('a torn record left at the end is reported by check() and removed by check({ fix: true })', async () => {
    const dir = tempDir();
    seeded(dir);
    const file = currentFile(dir, BUCKET);
    const torn = putRecord(K, entryBytes(K, 'z'.repeat(20_000))).subarray(0, 100);
    fs.appendFileSync(file, torn);

    expect(freshGet(dir, K)).toBe('old');
    expect(freshCheck(dir)).toEqual([
      expect.stringContaining(`log/${bucketName(BUCKET)}.1: ${torn.length} bytes that are no intact record`),
    ]);
    freshCheck(dir, true);
    expect(freshCheck(dir)).toEqual([]);
    expectClean(currentFile(dir, BUCKET), torn);
    await childSet(dir, L, 'later');
    expect([freshGet(dir, K), freshGet(dir, L)]).toEqual(['old', 'later']);
  });

  it('a planted record naming a blob outside blobs/ (../, or a link) is never followed', async () => {
    const parent = tempDir();
    const dir = path.join(parent, 'cache');
    seeded(dir);
    // A valid entry of K, outside the cache directory: what following the record would serve.
    const outside = path.join(parent, 'outside.blob');
    const outsideBytes = entryBytes(K, 'outside');
    fs.writeFileSync(outside, outsideBytes);
    const file = currentFile(dir, BUCKET);

    fs.appendFileSync(file, blobRecord(K, '../../outside.blob', outsideBytes.length));
    expect(freshGet(dir, K)).toBeUndefined();
    // A blob name of the engine's own form that is a symbolic link to the outside file.
    fs.mkdirSync(path.join(dir, 'blobs'), { recursive: true });
    fs.symlinkSync(outside, path.join(dir, 'blobs', 'planted-link.blob'));
    fs.appendFileSync(file, blobRecord(L, 'planted-link.blob', outsideBytes.length));
    expect(freshGet(dir, L)).toBeUndefined();

    const cache = new Cache(dir);
    try {
      expect([...cache.valuesSync()]).not.toContain('outside');
      expect(await cache.get(K)).toBeUndefined();
      expect(await cache.get(L)).toBeUndefined();
      cache.checkSync({ fix: true });
      expect(cache.checkSync().problems).toEqual([]);
      cache.setSync(K, 'new');
      cache.setSync(L, 'new');
      expect([cache.getSync(K), cache.getSync(L)]).toEqual(['new', 'new']);
      cache.deleteSync(K);
      cache.deleteSync(L);
      expect(cache.checkSync().problems).toEqual([]);
    } finally {
      cache.closeSync();
    }
    // The outside file was never written, moved or removed.
    expect(fs.readFileSync(outside).equals(outsideBytes)).toBe(true);
  });
});
