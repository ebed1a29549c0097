/**
 * A hostile cache directory: it may be shared with others who can write to it (DESIGN.md rule 6).
 * Symlinks in place of the cache's folders and files (shard folders and entry or lock files of the
 * `files` engine; bucket files, blobs, compaction locks, `log/` and `blobs/` of the `log` engine),
 * pointing outside; FIFOs; headers that claim 2^40-byte lengths; junk files and deep junk folders;
 * journals that name paths outside; lock records of dead owners. In every case: nothing crashes
 * (only `CacheError`s, and reads are misses), nothing outside the cache directory is read or written
 * (an outside directory with sentinel files is compared before and after; FIFOs outside tell reads,
 * as opening one blocks), no huge allocation happens, and the bad entries are misses that `check()`
 * reports and `check({ fix: true })` clears. Each case runs on the engine new caches get in this run
 * (`DISKCACHE_ENGINE`); a case about one engine's own files runs on that engine only.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, type ExpectStatic, it } from 'vitest';
import { Cache, CacheError } from '../../src/index.js';
import { inScratch, type StartStress } from '../helpers/children.js';
import { engineOfNewCaches } from '../helpers/stored.js';
import { makeTempDir } from '../helpers/tmp.js';
import {
  blobRecord,
  bucketName,
  bucketOf,
  currentFile,
  encodeRecord,
  fileHeader,
  generations,
  Kind,
  keysInBucket,
  keysInDistinctBuckets,
  putRecord,
  readBucketFile,
} from '../log/helpers/format.js';
import { entryBytes, reseal } from './helpers/forge.js';
import { deadPid, entryPath, HOST, keyHash, keyInShard, lockPath } from './helpers/layout.js';
import { makeOutside, snapshot } from './helpers/outside.js';
import './helpers/watchdog.js';

const ENGINE = engineOfNewCaches(makeTempDir);

/** Runs `call`; a `CacheError` is an acceptable answer to a hostile directory, anything else a crash. */
function attempt(crashes: string[], what: string, call: () => unknown): unknown {
  try {
    return call();
  } catch (error) {
    if (!(error instanceof CacheError))
      crashes.push(`${what} threw ${(error as Error)?.stack ?? String(error)}`);
    return error;
  }
}

async function attemptAsync(crashes: string[], what: string, call: () => Promise<unknown>): Promise<unknown> {
  try {
    return await call();
  } catch (error) {
    if (!(error instanceof CacheError))
      crashes.push(`${what} threw ${(error as Error)?.stack ?? String(error)}`);
    return error;
  }
}

/** Opens the cache; the hostile content must not stop it from opening (a shared directory is not its own). */
function open(crashes: string[], dir: string, options: { timeout?: number } = {}): Cache {
  const cache = attempt(crashes, 'opening', () => new Cache(dir, options));
  if (!(cache instanceof Cache)) throw new Error(`opening the cache failed: ${(cache as Error)?.message}`);
  return cache;
}

function mkfifo(file: string): void {
  execFileSync('mkfifo', [file]);
}

function backdate(file: string, ms = 60_000): void {
  const then = new Date(Date.now() - ms);
  fs.lutimesSync(file, then, then);
}

/** The dead owner tag of a writer that is gone: `host~pid~nonce`. */
async function deadOwner(): Promise<string> {
  return `${HOST}~${await deadPid()}~zz9dead`;
}

/** A cache directory `<root>/cache` (holding `entries`) and a directory `<root>/outside` beside it. */
function setup(root: string, entries: Record<string, string> = {}): { dir: string; outside: string } {
  const dir = path.join(root, 'cache');
  const cache = new Cache(dir);
  for (const [key, value] of Object.entries(entries)) cache.setSync(key, value);
  cache.closeSync();
  return { dir, outside: makeOutside(root) };
}

/** The current bucket file of `key`'s bucket in a log cache (a read makes the first one). */
function bucketFileOf(cache: Cache, dir: string, key: string): string {
  cache.hasSync(key);
  return currentFile(dir, bucketOf(key));
}

/** Appends `records` (or any bytes) to the bucket file of `key`, as a co-tenant can. */
function appendToBucket(cache: Cache, dir: string, key: string, ...records: Buffer[]): void {
  fs.appendFileSync(bucketFileOf(cache, dir, key), Buffer.concat(records));
}

/** The name (in `blobs/`) of the blob file that the newest blob record of `key` names. */
function blobOf(dir: string, key: string): string {
  const hash = keyHash(key);
  const blob = readBucketFile(currentFile(dir, bucketOf(key)))
    .records.filter((r) => r.hash === hash && r.kind === Kind.Blob)
    .at(-1);
  if (blob === undefined) throw new Error(`no blob record of ${key}`);
  return blob.payload.toString('utf8', 4);
}

/**
 * Whether `check()` reported `name`, or an operation already set it aside into `corrupt/` (as
 * `<name>.<token>.corrupt`): then it is no longer the cache's problem.
 */
function reportedOrSetAside(dir: string, problems: readonly string[] | undefined, name: string): boolean {
  if (problems?.some((p) => p.includes(name))) return true;
  const corrupt = path.join(dir, 'corrupt');
  return fs.existsSync(corrupt) && fs.readdirSync(corrupt).some((n) => n.startsWith(`${name}.`));
}

/** A lock record (payload: u32 pid, f64 time queued, host) of another writer, as the format has it. */
function lockRecord(
  key: string,
  holder: { pid: number; since: number; host: string } | 'no payload',
): Buffer {
  let payload = Buffer.alloc(0);
  if (holder !== 'no payload') {
    payload = Buffer.alloc(12);
    payload.writeUInt32LE(holder.pid, 0);
    payload.writeDoubleLE(holder.since, 4);
    payload = Buffer.concat([payload, Buffer.from(holder.host)]);
  }
  return encodeRecord({
    kind: Kind.Lock,
    hash: keyHash(key),
    payload,
    writer: 'dead00000000beef',
    sequence: 7,
  });
}

/** Opens the cache and expects that to have crashed nothing; returns the cache and the crash list. */
function openCleanly(
  expect: ExpectStatic,
  dir: string,
  options: { timeout?: number } = {},
): { crashes: string[]; cache: Cache } {
  const crashes: string[] = [];
  const cache = open(crashes, dir, options);
  expect(crashes).toEqual([]);
  return { crashes, cache };
}

/** `check()`, as the report whose problems the cases look through. */
function checkReport(crashes: string[], cache: Cache): { problems: string[] } {
  return attempt(crashes, 'check', () => cache.checkSync()) as { problems: string[] };
}

/** The answers every key of `keys` must give as a miss: `get` (sync and async), then `also`'s. */
async function expectMisses(
  expect: ExpectStatic,
  crashes: string[],
  cache: Cache,
  keys: readonly string[],
  also: readonly ('getEntry' | 'has')[] = [],
): Promise<void> {
  for (const key of keys) {
    expect
      .soft(
        attempt(crashes, `get ${key}`, () => cache.getSync(key)),
        key,
      )
      .toBeUndefined();
    expect.soft(await attemptAsync(crashes, `get ${key}`, () => cache.get(key)), key).toBeUndefined();
    if (also.includes('getEntry'))
      expect
        .soft(
          attempt(crashes, `getEntry ${key}`, () => cache.getEntrySync(key)),
          key,
        )
        .toBeUndefined();
    if (also.includes('has'))
      expect
        .soft(
          attempt(crashes, `has ${key}`, () => cache.hasSync(key)),
          key,
        )
        .toBe(false);
  }
}

/** That `check()`'s problems name each key of `keys` (by `nameOf` it, as the report does). */
function expectReported(
  expect: ExpectStatic,
  problems: readonly string[] | undefined,
  keys: readonly string[],
  nameOf: (key: string) => string,
): void {
  for (const key of keys) {
    const name = nameOf(key);
    expect
      .soft(
        problems?.some((p) => p.includes(name)),
        `check() reports ${key}`,
      )
      .toBe(true);
  }
}

/** `check({ fix: true })`, after which `check()` finds nothing. */
function expectFixed(expect: ExpectStatic, crashes: string[], cache: Cache): void {
  attempt(crashes, 'check({ fix: true })', () => cache.checkSync({ fix: true }));
  expect.soft(attempt(crashes, 'check', () => cache.checkSync())).toEqual({ problems: [], fixed: 0 });
}

/** Nothing crashed, and the outside directory is as `before` (its snapshot) had it. */
function expectHarmless(expect: ExpectStatic, crashes: string[], outside: string, before: string[]): void {
  expect.soft(crashes).toEqual([]);
  expect.soft(snapshot(outside), 'the outside directory changed').toEqual(before);
}

/** That `incr` of each key went through at once (a first increment), past whatever locks it. */
function expectIncrsGoThrough(
  expect: ExpectStatic,
  crashes: string[],
  cache: Cache,
  keys: readonly string[],
): void {
  for (const key of keys) {
    const started = performance.now();
    const got = attempt(crashes, `incr ${key}`, () => cache.incrSync(key));
    expect.soft(got, `incr ${key} went through (took ${Math.round(performance.now() - started)} ms)`).toBe(1);
  }
}

/** Measures memory now; the function returned expects no huge allocation since (and no crash). */
function watchMemory(expect: ExpectStatic, crashes: string[]): () => void {
  const memory = process.memoryUsage();
  return () => {
    const grown = process.memoryUsage();
    expect.soft(crashes).toEqual([]);
    expect.soft(grown.arrayBuffers - memory.arrayBuffers).toBeLessThan(64 * 2 ** 20);
    expect.soft(grown.rss - memory.rss).toBeLessThan(256 * 2 ** 20);
  };
}

/** `check({ fix: true })` without `attempt`, then a clean `check()` and `neighbour` still there. */
function expectFixedKeeping(expect: ExpectStatic, cache: Cache, neighbour: string): void {
  cache.checkSync({ fix: true });
  expect.soft(cache.checkSync()).toEqual({ problems: [], fixed: 0 });
  expect.soft(cache.getSync(neighbour)).toBe('mine');
}

/**
 * Runs `calls` (`[op, key?, value?]`) in a child killed after 10 s (a reader that opens a FIFO blocks
 * for good), and expects each op's sync then async answer as `answers` (`[op, answer, async
 * answer if another]`) has them;
 * `check`'s answer is only `ok`. The outside directory must be as `before`.
 */
async function expectOpsInChild(
  expect: ExpectStatic,
  spawn: StartStress,
  dir: string,
  calls: readonly (readonly unknown[])[],
  answers: readonly (readonly [op: string, answer: string, asyncAnswer?: string])[],
  outside: string,
  before: string[],
): Promise<void> {
  const child = spawn('ops', [dir, JSON.stringify(calls)], 10_000);
  const { results } = (await child.result()) as { results: string[] };
  const expected = answers.flatMap(([op, answer, asyncAnswer = answer]) =>
    op === 'check'
      ? [expect.stringMatching(/^checkSync: ok /), expect.stringMatching(/^check: ok /)]
      : [`${op}Sync: ${answer}`, `${op}: ${asyncAnswer}`],
  );
  expect.soft(results).toEqual(expected);
  expect.soft(snapshot(outside)).toEqual(before);
}

/**
 * Writes of every kind to the keys named (`then` after them), a listing and `check()`, whose report
 * it returns; only crashes count.
 */
async function exerciseWrites(
  crashes: string[],
  cache: Cache,
  keys: { set: string; setAsync: [string, unknown]; incr: string; add: string; delete: string; pop: string },
  then: () => void = () => {},
): Promise<{ problems: string[] }> {
  attempt(crashes, 'set', () => cache.setSync(keys.set, 'value'));
  await attemptAsync(crashes, 'set', () => cache.set(...keys.setAsync));
  attempt(crashes, 'incr', () => cache.incrSync(keys.incr));
  attempt(crashes, 'add', () => cache.addSync(keys.add, 1));
  attempt(crashes, 'delete', () => cache.deleteSync(keys.delete));
  attempt(crashes, 'pop', () => cache.popSync(keys.pop));
  then();
  attempt(crashes, 'keys', () => [...cache.keysSync()]);
  return checkReport(crashes, cache);
}

/** Writes over four linked keys: `incr` of the first, `set` of the second, `delete`, `pop`. */
function writeOverLinks(crashes: string[], cache: Cache, keys: readonly string[]): void {
  attempt(crashes, 'set over a link', () => cache.setSync(keys[1] as string, 'new'));
  attempt(crashes, 'delete of a link', () => cache.deleteSync(keys[2] as string));
  attempt(crashes, 'incr of a link', () => cache.incrSync(keys[0] as string));
  attempt(crashes, 'pop of a link', () => cache.popSync(keys[3] as string));
}

/**
 * A dead writer's leftovers: `staged` files in its private directory, and its journal `~<n>.json`
 * (`journal`, as JSON). Returns the writer's owner tag.
 */
async function plantDeadWriter(
  dir: string,
  staged: Record<string, string | Buffer>,
  journal?: { content: (owner: string) => unknown; n?: number },
): Promise<string> {
  const owner = await deadOwner();
  fs.mkdirSync(path.join(dir, 'tmp', owner), { recursive: true });
  for (const [name, content] of Object.entries(staged))
    fs.writeFileSync(path.join(dir, 'tmp', owner, name), content);
  if (journal !== undefined) {
    fs.mkdirSync(path.join(dir, 'journal'), { recursive: true });
    fs.writeFileSync(
      path.join(dir, 'journal', `${owner}~${journal.n ?? 1}.json`),
      JSON.stringify(journal.content(owner)),
    );
  }
  return owner;
}

/**
 * Junk of either engine's cache: at the top level (not the cache's files; they must be left alone)
 * and among the cache's own folders (`tmp/`, `journal/`, `counters/`, `queues/`). Returns the
 * writer, the 40 levels of a deep folder, and the top-level junk's content.
 */
async function plantJunk(dir: string) {
  const write = (relative: string, content: string | Buffer) => {
    const file = path.join(dir, relative);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content);
  };
  const deep = Array.from({ length: 40 }, (_, i) => `d${i}`).join('/');
  write('junk.bin', Buffer.alloc(10_000, 7));
  write(`deep/${deep}/file`, 'deep junk');
  write('diskcache.json.bak', '{ not json');
  write('tmp/not-a-directory', 'junk');
  write('tmp/not-an-owner/file', 'junk');
  write('journal/junk.json', '{ not json');
  write(`journal/${await deadOwner()}~1.json`, '{ "writes": "nope" }');
  write('counters/junk.delta', 'junk');
  write('queues/junk.state', 'junk');
  const topLevel = (): string[] =>
    ['junk.bin', 'diskcache.json.bak', `deep/${deep}/file`].map((f) =>
      fs.readFileSync(path.join(dir, f), 'hex'),
    );
  return { write, deep, topLevel };
}

/**
 * Opens a cache that `plantJunk` (and its engine's own junk) went into, and uses it around the junk
 * entries (misses) with `counted` (a first `incr`) and `more`; expects `keys` listed and no crash.
 * Returns the cache and the report of `check()`.
 */
async function exerciseJunkCache(
  expect: ExpectStatic,
  dir: string,
  counted: string,
  keys: readonly string[],
  more: (crashes: string[], cache: Cache) => void = () => {},
): Promise<{ crashes: string[]; cache: Cache; report: { problems: string[] } }> {
  const { crashes, cache } = openCleanly(expect, dir, { timeout: 10_000 });
  attempt(crashes, 'set', () => cache.setSync('a', 1));
  expect.soft(attempt(crashes, 'get', () => cache.getSync('a'))).toBe(1);
  await expectMisses(expect, crashes, cache, ['junk-entry', 'empty-entry', 'misnamed', 'dir-entry']);
  expect.soft(attempt(crashes, `incr ${counted}`, () => cache.incrSync(counted))).toBe(1);
  attempt(crashes, 'push', () => cache.pushSync('item'));
  attempt(crashes, 'pull', () => cache.pullSync());
  more(crashes, cache);
  const listed = attempt(crashes, 'keys', () => [...cache.keysSync()].map(String).sort());
  expect.soft(listed).toEqual(keys);
  attempt(crashes, 'count', () => cache.countSync());
  const report = checkReport(crashes, cache);
  expect.soft(crashes).toEqual([]);
  return { crashes, cache, report };
}

// Concurrent: several cases wait (for a lock timeout, or a child hung on a FIFO).
describe.concurrent('a hostile cache directory', () => {
  it.runIf(ENGINE === 'files')(
    'files engine: a shard folder that is a symlink to a directory outside is neither read nor written through',
    ({ expect }) =>
      inScratch('shard-link', async (root) => {
        const { dir, outside } = setup(root);
        // The outside directory holds a valid entry for a key of shard "ab", under its entry name.
        const planted = keyInShard('planted-', 'ab');
        fs.writeFileSync(path.join(outside, keyHash(planted)), entryBytes(planted, 'from outside'));
        fs.mkdirSync(path.join(dir, 'entries'), { recursive: true });
        fs.symlinkSync(outside, path.join(dir, 'entries', 'ab'));
        // A dead writer's journal that deletes the planted entry and renames a file into the shard.
        const intoShard = path.relative(dir, entryPath(dir, keyInShard('moved-', 'ab')));
        await plantDeadWriter(
          dir,
          { 'x.tmp': entryBytes(keyInShard('moved-', 'ab'), 'moved') },
          {
            content: (owner) => ({
              writes: [[`tmp/${owner}/x.tmp`, intoShard]],
              deletes: [{ path: path.relative(dir, entryPath(dir, planted)) }],
            }),
          },
        );
        const before = snapshot(outside);

        const { crashes, cache } = openCleanly(expect, dir, { timeout: 3_000 });
        const fresh = keyInShard('fresh-', 'ab');
        expect.soft(attempt(crashes, 'get', () => cache.getSync(planted))).toBeUndefined();
        expect.soft(await attemptAsync(crashes, 'get', () => cache.get(planted))).toBeUndefined();
        expect.soft(attempt(crashes, 'has', () => cache.hasSync(planted))).toBe(false);
        const report = await exerciseWrites(crashes, cache, {
          set: fresh,
          setAsync: [keyInShard('fresh2-', 'ab'), 'value'],
          incr: keyInShard('count-', 'ab'),
          add: keyInShard('add-', 'ab'),
          delete: planted,
          pop: planted,
        });
        expectHarmless(expect, crashes, outside, before);
        expect
          .soft(
            report.problems.some((p) => p.includes(path.join('entries', 'ab'))),
            'check() reports the linked shard',
          )
          .toBe(true);
        expectFixed(expect, crashes, cache);
        attempt(crashes, 'set after the fix', () => cache.setSync(fresh, 'value'));
        expect.soft(attempt(crashes, 'get after the fix', () => cache.getSync(fresh))).toBe('value');
        cache.closeSync();
        expectHarmless(expect, crashes, outside, before);
      }),
  );

  it.runIf(ENGINE === 'log')(
    'log engine: log/ and blobs/ that are symlinks to folders outside holding a valid bucket file and blob are neither read nor written through',
    ({ expect }) =>
      inScratch('log-link', async (root) => {
        const { dir, outside } = setup(root);
        // Outside: the bucket files and blob of a cache that holds values for these keys.
        const [planted, big] = keysInDistinctBuckets('planted-', 2) as [string, string];
        const first = new Cache(dir);
        first.setSync(planted, 'from outside');
        first.setSync(big, Buffer.alloc(64 * 1024, 7));
        first.closeSync();
        for (const folder of ['log', 'blobs']) {
          fs.renameSync(path.join(dir, folder), path.join(outside, folder));
          fs.symlinkSync(path.join(outside, folder), path.join(dir, folder));
        }
        // A dead writer's committed transaction, which would append to the planted key's bucket.
        const journal = { records: [putRecord(planted, entryBytes(planted, 'journal')).toString('base64')] };
        await plantDeadWriter(
          dir,
          { [`${keyHash(big)}.1.tmp`]: entryBytes(big, 'staged') },
          { content: () => journal },
        );
        const before = snapshot(outside);

        const { crashes, cache } = openCleanly(expect, dir, { timeout: 3_000 });
        expect.soft(snapshot(outside), 'opening changed the outside directory').toEqual(before);
        for (const key of [planted, big]) {
          const got = attempt(crashes, `get ${key}`, () => cache.getSync(key));
          expect.soft(got === undefined || got === 'journal', `get ${key}: ${String(got)}`).toBe(true);
          expect.soft(await attemptAsync(crashes, 'get', () => cache.get(key))).not.toBe('from outside');
        }
        expect.soft(attempt(crashes, 'has', () => cache.hasSync(big))).toBe(false);
        const report = await exerciseWrites(
          crashes,
          cache,
          {
            set: 'fresh',
            setAsync: ['fresh2', Buffer.alloc(64 * 1024, 1)],
            incr: 'count',
            add: 'add',
            delete: planted,
            pop: big,
          },
          () =>
            attempt(crashes, 'transact', () =>
              cache.transactSync((tx) => tx.setSync(planted, 'in a transaction')),
            ),
        );
        expectHarmless(expect, crashes, outside, before);
        for (const folder of ['log', 'blobs']) {
          expect
            .soft(
              report.problems.some((p) => p.startsWith(`${folder}:`)),
              `check() reports the linked ${folder}/`,
            )
            .toBe(true);
        }
        expectFixed(expect, crashes, cache);
        attempt(crashes, 'set after the fix', () => cache.setSync('fresh', 'after'));
        attempt(crashes, 'set after the fix', () => cache.setSync('big', Buffer.alloc(64 * 1024, 2)));
        expect.soft(attempt(crashes, 'get after the fix', () => cache.getSync('fresh'))).toBe('after');
        cache.closeSync();
        const reopened = open(crashes, dir);
        expect.soft(reopened.getSync('fresh')).toBe('after');
        expect.soft(reopened.getSync('big')).toEqual(Buffer.alloc(64 * 1024, 2));
        expect.soft(reopened.getSync(planted)).not.toBe('from outside');
        reopened.closeSync();
        expectHarmless(expect, crashes, outside, before);
      }),
  );

  it.runIf(ENGINE === 'files')(
    'files engine: entry files that are symlinks to files outside are misses, reported and removed by check',
    ({ expect }) =>
      inScratch('entry-link', async (root) => {
        const { dir, outside } = setup(root);
        const cache = new Cache(dir);
        cache.setSync('neighbour', 'mine');
        const link = (key: string, target: string) => {
          fs.mkdirSync(path.dirname(entryPath(dir, key)), { recursive: true });
          fs.symlinkSync(target, entryPath(dir, key));
        };
        fs.writeFileSync(path.join(outside, 'valid-entry'), entryBytes('linked-valid', 'from outside'));
        link('linked-valid', path.join(outside, 'valid-entry'));
        link('linked-sentinel', path.join(outside, 'sentinel'));
        link('linked-dangling', path.join(outside, 'missing'));
        link('linked-dir', outside);
        const before = snapshot(outside);

        const crashes: string[] = [];
        const report = checkReport(crashes, cache);
        const keys = ['linked-valid', 'linked-sentinel', 'linked-dangling', 'linked-dir'];
        expectReported(expect, report.problems, keys, (key) => path.relative(dir, entryPath(dir, key)));
        await expectMisses(expect, crashes, cache, keys, ['getEntry']);
        writeOverLinks(crashes, cache, ['linked-valid', 'linked-sentinel', 'linked-dangling', 'linked-dir']);
        expectHarmless(expect, crashes, outside, before);
        expectFixed(expect, crashes, cache);
        expect.soft(cache.getSync('neighbour')).toBe('mine');
        cache.closeSync();
        expectHarmless(expect, crashes, outside, before);
      }),
  );

  it.runIf(ENGINE === 'log')(
    'log engine: bucket files and blob files that are symlinks to files outside (valid ones, the sentinel, nothing, a folder) are misses',
    ({ expect }) =>
      inScratch('bucket-link', async (root) => {
        const { dir, outside } = setup(root);
        const keys = keysInDistinctBuckets('linked-', 9);
        const inBuckets = keys.slice(0, 4);
        const inBlobs = keys.slice(4, 8);
        const neighbour = keys[8] as string;
        const first = new Cache(dir);
        for (const key of inBuckets) first.setSync(key, 'from outside');
        for (const key of inBlobs) first.setSync(key, Buffer.alloc(64 * 1024, 9));
        first.setSync(neighbour, 'mine');
        first.closeSync();
        const targets = ['valid', path.join(outside, 'sentinel'), path.join(outside, 'missing'), outside];
        const link = (file: string, target: string, valid: string) => {
          if (target === 'valid') {
            fs.renameSync(file, path.join(outside, valid));
            target = path.join(outside, valid);
          } else fs.rmSync(file);
          fs.symlinkSync(target, file);
        };
        inBuckets.forEach((key, i) => {
          link(currentFile(dir, bucketOf(key)), targets[i] as string, 'valid-bucket');
        });
        const blobNames = inBlobs.map((key) => blobOf(dir, key));
        blobNames.forEach((name, i) => {
          link(path.join(dir, 'blobs', name), targets[i] as string, 'valid.blob');
        });
        const before = snapshot(outside);

        const crashes: string[] = [];
        const cache = open(crashes, dir);
        const report = checkReport(crashes, cache);
        inBuckets.forEach((key) => {
          const name = path.basename(currentFile(dir, bucketOf(key)));
          expect
            .soft(reportedOrSetAside(dir, report.problems, name), `check() reports log/${name}`)
            .toBe(true);
        });
        expectReported(expect, report.problems, inBlobs, keyHash);
        await expectMisses(expect, crashes, cache, [...inBuckets, ...inBlobs], ['getEntry', 'has']);
        for (const keys of [inBuckets, inBlobs]) writeOverLinks(crashes, cache, keys);
        expectHarmless(expect, crashes, outside, before);
        expectFixed(expect, crashes, cache);
        expect.soft(cache.getSync(neighbour)).toBe('mine');
        expect.soft(cache.getSync(inBuckets[1] as string)).toBe('new');
        expect.soft(cache.getSync(inBlobs[1] as string)).toBe('new');
        cache.closeSync();
        expectHarmless(expect, crashes, outside, before);
      }),
  );

  it.runIf(ENGINE === 'files')(
    'files engine: lock files that are symlinks outside are not followed, and do not block the key',
    ({ expect }) =>
      inScratch('lock-link', async (root) => {
        const { dir, outside } = setup(root);
        const cache = new Cache(dir, { timeout: 7_000 });
        fs.utimesSync(
          path.join(outside, 'sentinel'),
          new Date(Date.now() - 60_000),
          new Date(Date.now() - 60_000),
        );
        const link = (key: string, target: string) => {
          fs.mkdirSync(path.dirname(lockPath(dir, key)), { recursive: true });
          fs.symlinkSync(target, lockPath(dir, key));
          backdate(lockPath(dir, key)); // older than the 5 s given to an unreadable lock
        };
        link('to-sentinel', path.join(outside, 'sentinel'));
        link('to-nothing', path.join(outside, 'missing'));
        link('to-dir', outside);
        const before = snapshot(outside);

        const crashes: string[] = [];
        expectIncrsGoThrough(expect, crashes, cache, ['to-sentinel', 'to-nothing', 'to-dir']);
        expectHarmless(expect, crashes, outside, before);
        expectFixed(expect, crashes, cache);
        cache.closeSync();
        expect.soft(snapshot(outside), 'the outside directory changed').toEqual(before);
      }),
  );

  it.runIf(ENGINE === 'log')(
    'log engine: lock records of dead or expired holders do not block the key, and compaction locks that are symlinks outside are not followed',
    ({ expect }) =>
      inScratch('lock-records', async (root) => {
        const { dir, outside } = setup(root);
        const cache = new Cache(dir, { timeout: 7_000 });
        const [dead, expired, empty, ...compacted] = keysInDistinctBuckets('locked-', 6) as string[];
        // At the head of each key's lock queue: a holder that is gone, one queued two hours ago on
        // another host (past any lease), and a lock record without a payload.
        appendToBucket(
          cache,
          dir,
          dead as string,
          lockRecord(dead as string, { pid: await deadPid(), since: Date.now(), host: HOST }),
        );
        appendToBucket(
          cache,
          dir,
          expired as string,
          lockRecord(expired as string, { pid: 1, since: Date.now() - 7_200_000, host: 'elsewhere' }),
        );
        appendToBucket(cache, dir, empty as string, lockRecord(empty as string, 'no payload'));
        // The compaction locks of three buckets: links to a file, a folder and nothing outside.
        const targets = [path.join(outside, 'sentinel'), outside, path.join(outside, 'missing')];
        compacted.forEach((key, i) => {
          cache.setSync(key, 'kept');
          appendToBucket(
            cache,
            dir,
            key,
            Buffer.from('bytes that are no record, for check({ fix: true }) to compact away'),
          );
          const lock = path.join(dir, 'log', `${bucketName(bucketOf(key))}.lock`);
          fs.symlinkSync(targets[i] as string, lock);
          backdate(lock);
        });
        const before = snapshot(outside);

        const crashes: string[] = [];
        expectIncrsGoThrough(expect, crashes, cache, [dead, expired, empty] as string[]);
        expectHarmless(expect, crashes, outside, before);
        expectFixed(expect, crashes, cache);
        for (const key of compacted) {
          expect.soft(generations(dir, bucketOf(key)), `bucket of ${key} compacted`).toEqual([2]);
          expect.soft(cache.getSync(key)).toBe('kept');
        }
        expect.soft(await attemptAsync(crashes, 'incr', () => cache.incr(dead as string))).toBe(2);
        cache.closeSync();
        expectHarmless(expect, crashes, outside, before);
      }),
  );

  it.runIf(ENGINE === 'files')(
    'files engine: FIFOs in place of entries, and symlinks to FIFOs outside, neither hang nor fail readers (nothing opens them)',
    ({ expect }) =>
      inScratch('fifo', async (root, spawn) => {
        const { dir, outside } = setup(root);
        mkfifo(path.join(outside, 'fifo'));
        const place = (file: string) => fs.mkdirSync(path.dirname(file), { recursive: true });
        place(entryPath(dir, 'fifo-entry'));
        mkfifo(entryPath(dir, 'fifo-entry'));
        place(entryPath(dir, 'fifo-link'));
        fs.symlinkSync(path.join(outside, 'fifo'), entryPath(dir, 'fifo-link'));
        place(lockPath(dir, 'fifo-lock'));
        fs.symlinkSync(path.join(outside, 'fifo'), lockPath(dir, 'fifo-lock'));
        backdate(lockPath(dir, 'fifo-lock'));
        const before = snapshot(outside);

        // The bad entries are misses; the other keys' operations and check() are not disturbed by them.
        await expectOpsInChild(
          expect,
          spawn,
          dir,
          [
            ['get', 'fifo-entry'],
            ['get', 'fifo-link'],
            ['has', 'fifo-link'],
            ['incr', 'fifo-lock'],
            ['check'],
          ],
          [
            ['get', 'ok undefined'],
            ['get', 'ok undefined'],
            ['has', 'ok false'],
            ['incr', 'ok 1', 'ok 2'],
            ['check', 'ok'],
          ],
          outside,
          before,
        );
      }),
    60_000,
  );

  it.runIf(ENGINE === 'log')(
    'log engine: FIFOs in place of a bucket file or a blob, and symlinks to FIFOs outside, neither hang nor fail readers',
    ({ expect }) =>
      inScratch('log-fifo', async (root, spawn) => {
        const { dir, outside } = setup(root);
        mkfifo(path.join(outside, 'fifo'));
        const [inFifo, inLink, blobFifo, blobLink, neighbour] = keysInDistinctBuckets('fifo-', 5) as string[];
        const first = new Cache(dir);
        first.setSync(inFifo as string, 'mine');
        first.setSync(inLink as string, 'mine');
        first.setSync(blobFifo as string, Buffer.alloc(64 * 1024, 3));
        first.setSync(blobLink as string, Buffer.alloc(64 * 1024, 4));
        first.closeSync();
        const replace = (file: string, by: 'fifo' | 'link') => {
          fs.rmSync(file);
          if (by === 'fifo') mkfifo(file);
          else fs.symlinkSync(path.join(outside, 'fifo'), file);
        };
        replace(currentFile(dir, bucketOf(inFifo as string)), 'fifo');
        replace(currentFile(dir, bucketOf(inLink as string)), 'link');
        replace(path.join(dir, 'blobs', blobOf(dir, blobFifo as string)), 'fifo');
        replace(path.join(dir, 'blobs', blobOf(dir, blobLink as string)), 'link');
        const before = snapshot(outside);

        await expectOpsInChild(
          expect,
          spawn,
          dir,
          [
            ['get', inFifo],
            ['get', inLink],
            ['get', blobFifo],
            ['has', blobLink],
            ['incr', inLink],
            ['set', neighbour, 'value'],
            ['check'],
          ],
          [
            ['get', 'ok undefined'],
            ['get', 'ok undefined'],
            ['get', 'ok undefined'],
            ['has', 'ok false'],
            ['incr', 'ok 1', 'ok 2'],
            ['set', 'ok true'],
            ['check', 'ok'],
          ],
          outside,
          before,
        );
        const cache = new Cache(dir);
        cache.checkSync({ fix: true });
        expect.soft(cache.checkSync()).toEqual({ problems: [], fixed: 0 });
        expect.soft(cache.getSync(neighbour as string)).toBe('value');
        cache.closeSync();
      }),
    60_000,
  );

  it.runIf(ENGINE === 'files')(
    'files engine: headers claiming 2^40-byte lengths, and a sparse 1 TiB file, are misses without huge allocations',
    ({ expect }) =>
      inScratch('huge', async (root) => {
        const { dir } = setup(root);
        const options = { compression: 'gzip', compressThreshold: 100 } as const;
        const cache = new Cache(dir, options);
        cache.setSync('neighbour', 'mine');
        const plant = (key: string, edit: (bytes: Buffer) => void) => {
          const bytes = entryBytes(key, 'x'.repeat(5_000), options);
          edit(bytes);
          fs.mkdirSync(path.dirname(entryPath(dir, key)), { recursive: true });
          fs.writeFileSync(entryPath(dir, key), reseal(bytes));
        };
        plant('value-length', (b) => b.writeDoubleLE(2 ** 40, 40));
        plant('raw-length', (b) => b.writeDoubleLE(2 ** 40, 48)); // compressed: raw length may differ
        plant('key-length', (b) => b.writeUInt32LE(0xffffffff, 12));
        plant('tag-length', (b) => b.writeUInt32LE(0xffffffff, 16));
        plant('codec-length', (b) => b.writeUInt16LE(0xffff, 10));
        const sparse = entryPath(dir, 'sparse');
        fs.mkdirSync(path.dirname(sparse), { recursive: true });
        fs.writeFileSync(sparse, entryBytes('sparse', 'x'.repeat(5_000), options).subarray(0, 64));
        fs.truncateSync(sparse, 2 ** 40);
        const keys = ['value-length', 'raw-length', 'key-length', 'tag-length', 'codec-length', 'sparse'];

        const crashes: string[] = [];
        const expectNoHugeAllocation = watchMemory(expect, crashes);
        const report = checkReport(crashes, cache);
        expectReported(expect, report.problems, keys, (key) => path.relative(dir, entryPath(dir, key)));
        await expectMisses(expect, crashes, cache, keys, ['has']);
        expectNoHugeAllocation();
        expectFixedKeeping(expect, cache, 'neighbour');
        cache.closeSync();
      }),
  );

  it.runIf(ENGINE === 'log')(
    'log engine: records whose entry claims 2^40-byte lengths (every CRC valid), a record claiming 4 GiB, a blob record claiming a 4 GiB entry and a sparse 1 TiB blob are misses without huge allocations',
    ({ expect }) =>
      inScratch('log-huge', async (root) => {
        const { dir } = setup(root);
        const options = { compression: 'gzip', compressThreshold: 100 } as const;
        const cache = new Cache(dir, options);
        cache.setSync('neighbour', 'mine');
        const entry = (key: string, edit: (bytes: Buffer) => void = () => {}) => {
          const bytes = entryBytes(key, 'x'.repeat(5_000), options);
          edit(bytes);
          return reseal(bytes);
        };
        // Entries in records (the record's CRC made valid over the edited entry).
        const edits: [string, (b: Buffer) => void][] = [
          ['value-length', (b) => b.writeDoubleLE(2 ** 40, 40)],
          ['raw-length', (b) => b.writeDoubleLE(2 ** 40, 48)],
          ['key-length', (b) => b.writeUInt32LE(0xffffffff, 12)],
          ['tag-length', (b) => b.writeUInt32LE(0xffffffff, 16)],
          ['codec-length', (b) => b.writeUInt16LE(0xffff, 10)],
        ];
        for (const [key, edit] of edits) appendToBucket(cache, dir, key, putRecord(key, entry(key, edit)));
        // A record header claiming 4 GiB (the most a u32 length can say), then a record after it.
        const claiming = putRecord('record-length', entry('record-length'));
        claiming.writeUInt32LE(0xffffffff, 4);
        const after = keysInBucket('after-', bucketOf('record-length'), 1)[0] as string;
        appendToBucket(cache, dir, 'record-length', claiming, putRecord(after, entry(after)));
        // Blob records: one claiming a 4 GiB entry of a blob whose header claims 2^40 bytes, one of a sparse 1 TiB blob.
        fs.mkdirSync(path.join(dir, 'blobs'), { recursive: true });
        fs.writeFileSync(
          path.join(dir, 'blobs', 'planted~1.blob'),
          entry('blob-size', (b) => b.writeDoubleLE(2 ** 40, 40)),
        );
        appendToBucket(cache, dir, 'blob-size', blobRecord('blob-size', 'planted~1.blob', 0xffffffff));
        const sparse = path.join(dir, 'blobs', 'sparse~1.blob');
        fs.writeFileSync(sparse, entry('sparse').subarray(0, 64));
        fs.truncateSync(sparse, 2 ** 40);
        appendToBucket(cache, dir, 'sparse', blobRecord('sparse', 'sparse~1.blob', 64));
        const keys = [...edits.map(([key]) => key), 'blob-size', 'sparse'];

        const crashes: string[] = [];
        const expectNoHugeAllocation = watchMemory(expect, crashes);
        const report = checkReport(crashes, cache);
        expectReported(expect, report.problems, keys, keyHash);
        const bucket = `log/${path.basename(currentFile(dir, bucketOf('record-length')))}`;
        expect
          .soft(
            report.problems?.some((p) => p.startsWith(`${bucket}:`)),
            `check() reports ${bucket}`,
          )
          .toBe(true);
        await expectMisses(expect, crashes, cache, [...keys, 'record-length'], ['has']);
        attempt(crashes, 'count', () => cache.countSync());
        attempt(crashes, 'volume', () => cache.volume());
        expect.soft(attempt(crashes, 'get after it', () => cache.getSync(after))).toBe('x'.repeat(5_000));
        expectNoHugeAllocation();
        expectFixedKeeping(expect, cache, 'neighbour');
        cache.setSync('record-length', 'written');
        expect.soft(cache.getSync('record-length')).toBe('written');
        cache.closeSync();
      }),
  );

  it.runIf(ENGINE === 'files')(
    'files engine: junk files and deep junk folders, inside entries/ and at the top level, break nothing',
    ({ expect }) =>
      inScratch('junk', async (root) => {
        const { dir } = setup(root);
        const { write, deep, topLevel } = await plantJunk(dir);
        // Inside entries/: junk the cache must survive, report and set aside.
        const shard = (key: string) => path.relative(dir, path.dirname(entryPath(dir, key)));
        write('entries/README', 'junk at the top of entries/');
        write('entries/zz/whatever', 'a folder that is not a shard');
        write(`entries/${keyHash('x').slice(0, 2)}/deep/${deep}/file`, 'deep junk in a shard');
        write(`${shard('junk-entry')}/notes.txt`, 'junk in a shard');
        write(
          path.relative(dir, entryPath(dir, 'junk-entry')),
          Buffer.from('random bytes that are no entry'),
        );
        write(path.relative(dir, entryPath(dir, 'empty-entry')), Buffer.alloc(0));
        write(path.relative(dir, entryPath(dir, 'misnamed')), entryBytes('someone-else', 'not yours'));
        fs.mkdirSync(entryPath(dir, 'dir-entry'), { recursive: true });
        write(
          path.join(path.relative(dir, entryPath(dir, 'dir-entry')), 'inner'),
          'a folder named like an entry',
        );
        write(`${path.relative(dir, lockPath(dir, 'junk-lock'))}`, 'not a lock record');
        backdate(lockPath(dir, 'junk-lock'));
        const before = topLevel();

        const { crashes, cache, report } = await exerciseJunkCache(expect, dir, 'junk-lock', [
          'a',
          'junk-lock',
        ]);
        // A bad entry that a read already set aside (in corrupt/) is no longer the cache's problem.
        const setAside = fs.existsSync(path.join(dir, 'corrupt'))
          ? fs.readdirSync(path.join(dir, 'corrupt')).join(' ')
          : '';
        for (const junk of ['zz', 'deep', 'notes.txt', 'misnamed', 'dir-entry']) {
          const name = junk === 'misnamed' || junk === 'dir-entry' ? keyHash(junk) : junk;
          expect
            .soft(
              report.problems.some((p) => p.includes(name)) ||
                (junk === 'dir-entry' && setAside.includes(name)),
              `check() reports ${junk} (or a read set it aside)`,
            )
            .toBe(true);
        }
        expectFixed(expect, crashes, cache);
        expect.soft(cache.getSync('a')).toBe(1);
        cache.closeSync();
        expect.soft(crashes).toEqual([]);
        expect.soft(topLevel(), 'the top-level junk (not the cache’s) was changed').toEqual(before);
      }),
  );

  it.runIf(ENGINE === 'log')(
    'log engine: junk files and deep junk folders in log/ and blobs/, junk records in a bucket, and junk at the top level break nothing',
    ({ expect }) =>
      inScratch('log-junk', async (root) => {
        const { dir } = setup(root);
        const { write, deep, topLevel } = await plantJunk(dir);
        // Inside log/ and blobs/: junk the cache must survive, report and set aside.
        write('log/README', 'junk at the top of log/');
        write(`log/deep/${deep}/file`, 'deep junk in log/');
        write('log/zz.1', 'named almost like a bucket file');
        write('log/05.1.bak', 'a copy of a bucket file');
        write('blobs/notes.txt', 'junk in blobs/');
        write(`blobs/deep/${deep}/file`, 'deep junk in blobs/');
        write('blobs/folder.blob/inner', 'a folder named like a blob');
        backdate(path.join(dir, 'blobs', 'folder.blob'), 120_000); // past the age of an orphan blob
        // Bucket 3f at generation 2, and a folder under the name of its generation 1.
        write('log/3f.2', fileHeader(0x3f, 2));
        write('log/3f.1/inner', 'a folder named like an old generation');
        // Inside bucket files: bytes that are no record, an empty entry, an entry of another key
        // under this key's hash, and a blob record naming a folder.
        const first = new Cache(dir);
        appendToBucket(first, dir, 'junk-entry', Buffer.from('random bytes that are no entry'));
        appendToBucket(first, dir, 'empty-entry', putRecord('empty-entry', Buffer.alloc(0)));
        const misnamed = entryBytes('someone-else', 'not yours');
        appendToBucket(
          first,
          dir,
          'misnamed',
          encodeRecord({ kind: Kind.Put, hash: keyHash('misnamed'), payload: misnamed }),
        );
        appendToBucket(first, dir, 'dir-entry', blobRecord('dir-entry', 'folder.blob', 100));
        first.closeSync();
        const before = topLevel();

        const { crashes, cache, report } = await exerciseJunkCache(
          expect,
          dir,
          'counted',
          ['a', 'big', 'counted'],
          (crashes, cache) =>
            attempt(crashes, 'set a blob', () => cache.setSync('big', Buffer.alloc(64 * 1024, 5))),
        );
        const junkBucket = path.basename(currentFile(dir, bucketOf('junk-entry')));
        for (const junk of [
          'log/README',
          'log/deep',
          'log/zz.1',
          'log/05.1.bak',
          'blobs/notes.txt',
          'blobs/deep',
          'blobs/folder.blob',
          'log/3f.1',
          `log/${junkBucket}: `,
          keyHash('misnamed'),
          keyHash('empty-entry'),
          // (The blob record naming a folder is gone with its first read: a folder is not kept aside.)
        ]) {
          expect
            .soft(
              reportedOrSetAside(dir, report.problems, junk),
              `check() reports ${junk} (or a read set it aside)`,
            )
            .toBe(true);
        }
        expectFixed(expect, crashes, cache);
        expect.soft(cache.getSync('a')).toBe(1);
        expect.soft(cache.getSync('big')).toEqual(Buffer.alloc(64 * 1024, 5));
        cache.closeSync();
        expect.soft(crashes).toEqual([]);
        expect.soft(topLevel(), 'the top-level junk (not the cache’s) was changed').toEqual(before);
      }),
  );

  it('a folder inside a dead writer’s private directory does not stop the cache from opening', ({ expect }) =>
    inScratch('dead-folder', async (root) => {
      const { dir } = setup(root);
      const owner = await deadOwner();
      fs.mkdirSync(path.join(dir, 'tmp', owner, 'folder'), { recursive: true });
      fs.writeFileSync(path.join(dir, 'tmp', owner, 'folder', 'file'), 'junk');
      fs.writeFileSync(path.join(dir, 'tmp', owner, 'x.tmp'), 'temp file');
      const { crashes, cache } = openCleanly(expect, dir);
      expect.soft(attempt(crashes, 'set', () => cache.setSync('k', 1))).toBe(true);
      expectFixed(expect, crashes, cache);
      cache.closeSync();
      expect.soft(crashes).toEqual([]);
    }));

  it('a journal naming paths outside the directory is not followed', ({ expect }) =>
    inScratch('journal', async (root) => {
      const { dir, outside } = setup(root, { kept: 'mine' });
      const up = path.relative(dir, outside); // ../outside
      await plantDeadWriter(
        dir,
        { 'x.tmp': 'a file of the dead writer' },
        {
          content: (owner) => ({
            writes: [
              [`tmp/${owner}/x.tmp`, `${up}/written`],
              [`tmp/${owner}/x.tmp`, `../../${path.basename(outside)}/written`],
              [`${up}/sentinel`, path.relative(dir, entryPath(dir, 'stolen'))],
              [`${up}/sub/nested`, `${up}/moved`],
              [path.join(outside, 'sentinel'), path.join(outside, 'absolute')],
            ],
            deletes: [
              { path: `${up}/sentinel` },
              { path: `entries/../../${path.basename(outside)}/sub/nested` },
              { path: path.join(outside, 'sentinel') },
            ],
          }),
        },
      );
      const before = snapshot(outside);

      const { crashes, cache: reopened } = openCleanly(expect, dir);
      expect.soft(snapshot(outside), 'the outside directory changed').toEqual(before);
      expect.soft(reopened.getSync('stolen')).toBeUndefined();
      expect.soft(reopened.getSync('kept')).toBe('mine');
      expectFixed(expect, crashes, reopened);
      expect.soft(fs.readdirSync(path.join(dir, 'journal'))).toEqual([]);
      reopened.closeSync();
      expectHarmless(expect, crashes, outside, before);
    }));

  it.runIf(ENGINE === 'log')(
    'log engine: a dead writer’s journal whose blob records name files outside, and its staged debris, are not followed',
    ({ expect }) =>
      inScratch('log-journal', async (root) => {
        const { dir, outside } = setup(root, { kept: 'mine' });
        const up = path.relative(path.join(dir, 'blobs'), outside); // ../../outside
        const stolen = (owner: string) => ({
          'stolen-up': `${up}/sentinel`,
          'stolen-nested': `${up}/sub/nested`,
          'stolen-absolute': path.join(outside, 'sentinel'),
          'stolen-private': `../tmp/${owner}/${keyHash('staged')}.1.tmp`,
          'stolen-dir': `${up}`,
        });
        // What a writer killed in the middle of a commit leaves: a staged blob and its journal's temp file.
        const staged = {
          [`${keyHash('staged')}.1.tmp`]: entryBytes('staged', 'x'),
          'journal.2.tmp': '{ "records": [',
        };
        const owner = await plantDeadWriter(dir, staged, {
          n: 3,
          content: (owner) => {
            const records = [
              ...Object.entries(stolen(owner)).map(([key, name]) => blobRecord(key, name, 14)),
              putRecord('from-journal', entryBytes('from-journal', 'committed')),
            ];
            return { records: records.map((r) => r.toString('base64')) };
          },
        });
        const before = snapshot(outside);

        const { crashes, cache: reopened } = openCleanly(expect, dir);
        expect.soft(snapshot(outside), 'the outside directory changed').toEqual(before);
        // The committed transaction is completed; its blob records name no blob file of the cache.
        expect.soft(reopened.getSync('from-journal')).toBe('committed');
        expect.soft(reopened.getSync('kept')).toBe('mine');
        const report = checkReport(crashes, reopened);
        const keys = Object.keys(stolen(owner));
        expectReported(expect, report.problems, keys, keyHash);
        await expectMisses(expect, crashes, reopened, keys);
        attempt(crashes, 'set over', () => reopened.setSync('stolen-up', 'new'));
        attempt(crashes, 'delete', () => reopened.deleteSync('stolen-nested'));
        attempt(crashes, 'pop', () => reopened.popSync('stolen-absolute'));
        expect.soft(snapshot(outside), 'the outside directory changed').toEqual(before);
        expectFixed(expect, crashes, reopened);
        expect.soft(fs.readdirSync(path.join(dir, 'journal'))).toEqual([]);
        expect
          .soft(fs.existsSync(path.join(dir, 'tmp', owner)), 'the dead writer’s debris is removed')
          .toBe(false);
        expect.soft(reopened.getSync('stolen-up')).toBe('new');
        reopened.closeSync();
        expectHarmless(expect, crashes, outside, before);
      }),
  );

  describe('a folder of the cache replaced by a symlink to a directory outside is not written through', () => {
    const folders = ['tmp/<dead writer>', 'tmp', 'journal', 'counters', 'corrupt', 'queues'];
    // The engine's own folders: a files cache's entries/, a log cache's log/ and blobs/.
    folders.push(...(ENGINE === 'files' ? ['entries'] : ['log', 'blobs']));
    for (const folder of folders) {
      it(folder, ({ expect }) =>
        inScratch(`folder-${folder.replace(/\W/g, '')}`, async (root) => {
          const { dir, outside } = setup(root);
          const target = folder === 'tmp/<dead writer>' ? path.join('tmp', await deadOwner()) : folder;
          fs.rmSync(path.join(dir, target), { recursive: true, force: true });
          fs.mkdirSync(path.dirname(path.join(dir, target)), { recursive: true });
          fs.symlinkSync(outside, path.join(dir, target));
          const before = snapshot(outside);

          // Refusing to open (with a CacheError) is an acceptable answer to a compromised layout.
          const crashes: string[] = [];
          const cache = attempt(crashes, 'opening', () => new Cache(dir, { timeout: 5_000 })) as Cache;
          expect.soft(crashes).toEqual([]);
          expect
            .soft(snapshot(outside), `opening changed the outside directory through ${folder}`)
            .toEqual(before);
          if (!(cache instanceof Cache)) return;
          attempt(crashes, 'set', () => cache.setSync('k', 'v'));
          attempt(crashes, 'get', () => cache.getSync('k'));
          attempt(crashes, 'incr', () => cache.incrSync('n'));
          attempt(crashes, 'push', () => cache.pushSync('item'));
          attempt(crashes, 'pull', () => cache.pullSync());
          attempt(crashes, 'transact', () => cache.transactSync((tx) => tx.setSync('t', 1)));
          attempt(crashes, 'set of a large value', () => cache.setSync('big', Buffer.alloc(64 * 1024, 1)));
          // A corrupt entry, which a read moves to corrupt/ (planted only where no link leads outside).
          if (ENGINE === 'files') {
            const bad = entryPath(dir, 'bad');
            if (fs.existsSync(path.dirname(bad)) || folder !== 'entries') {
              fs.mkdirSync(path.dirname(bad), { recursive: true });
              fs.writeFileSync(bad, 'garbage');
            }
          } else {
            attempt(crashes, 'has', () => cache.hasSync('bad'));
            const log = fs.lstatSync(path.join(dir, 'log'), { throwIfNoEntry: false });
            if (log?.isDirectory() === true && generations(dir, bucketOf('bad')).length > 0)
              fs.appendFileSync(currentFile(dir, bucketOf('bad')), putRecord('bad', Buffer.from('garbage')));
          }
          attempt(crashes, 'get of a corrupt entry', () => cache.getSync('bad'));
          attempt(crashes, 'delete', () => cache.deleteSync('k'));
          attempt(crashes, 'check({ fix: true })', () => cache.checkSync({ fix: true }));
          attempt(crashes, 'close', () => cache.closeSync());
          attempt(crashes, 'reopening', () => new Cache(dir).closeSync());
          expect.soft(crashes).toEqual([]);
          expect.soft(snapshot(outside), `the outside directory changed through ${folder}`).toEqual(before);
        }),
      );
    }
  });
});
