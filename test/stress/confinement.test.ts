/**
 * The cache never reaches outside its directory through a symbolic link that another user of a
 * shared directory plants, or swaps in while the cache is open: every path it deletes, writes,
 * renames or reads is checked at the moment of the operation (docs/FORMAT.md, "Trust model").
 * Outside directories hold sentinel files and are compared before and after every scenario; where
 * they hold a forged entry under the name the cache would read, the cache must never return it.
 * The scenarios about shard folders are the `files` engine's; their `log` counterparts swap `log/`,
 * `blobs/`, a bucket file, a blob file and `journal/`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, type ExpectStatic, expect as expectOutside, it } from 'vitest';
import { Cache, CacheError, Deque, FanoutCache, Index } from '../../src/index.js';
import { inScratch } from '../helpers/children.js';
import { engineOfNewCaches } from '../helpers/stored.js';
import { makeTempDir } from '../helpers/tmp.js';
import { bucketOf, currentFile, Kind, keysInBucket, readBucketFile } from '../log/helpers/format.js';
import { entryBytes } from './helpers/forge.js';
import { deadPid, entryPath, keyHash, keyInShard, lockPath, writeLock } from './helpers/layout.js';
import { makeOutside, snapshot } from './helpers/outside.js';
import './helpers/watchdog.js';

const ENGINE = engineOfNewCaches(makeTempDir);

/** A value large enough for a file of its own (a blob, on log). */
const LARGE = Buffer.alloc(40_000, 1);

/** Every shard folder name, `00` … `ff`. */
const SHARDS = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Replaces the folder `folder` by a symbolic link to `target` (the folder's content is moved away). */
function swapForLink(folder: string, target: string): void {
  if (fs.existsSync(folder))
    fs.renameSync(folder, `${folder}.moved-away-${Math.random().toString(36).slice(2)}`);
  fs.mkdirSync(path.dirname(folder), { recursive: true });
  fs.symlinkSync(target, folder);
}

/** Runs `call`, collecting anything it throws that is not a `CacheError` (an answer allowed to a hostile directory). */
async function attempt(crashes: string[], what: string, call: () => unknown): Promise<void> {
  try {
    await call();
  } catch (error) {
    if (!(error instanceof CacheError)) crashes.push(`${what}: ${(error as Error)?.stack ?? String(error)}`);
  }
}

/** Every public operation of a `Cache` on `keys`, on the sync and the async surface. */
async function everyOperation(crashes: string[], cache: Cache, keys: readonly string[]): Promise<void> {
  const run = (what: string, call: () => unknown) => attempt(crashes, what, call);
  for (const key of keys) {
    await run('set', () => cache.set(key, 'v'));
    await run('setSync', () => cache.setSync(key, 'v'));
    await run('get', () => cache.get(key));
    await run('getSync', () => cache.getSync(key));
    await run('has', () => cache.has(key));
    await run('add', () => cache.add(`${key}-added`, 1));
    await run('addSync', () => cache.addSync(`${key}-added-sync`, 1));
    await run('incr', () => cache.incr(`${key}-n`));
    await run('incrSync', () => cache.incrSync(`${key}-n`));
    await run('touch', () => cache.touch(key, { ttl: 60_000 }));
    await run('touchSync', () => cache.touchSync(key, { ttl: 60_000 }));
    await run('pop', () => cache.pop(`${key}-added`));
    await run('popSync', () => cache.popSync(`${key}-added-sync`));
    await run('delete', () => cache.delete(key));
    await run('deleteSync', () => cache.deleteSync(`${key}-n`));
    await run('setStream', async () => {
      const { Readable } = await import('node:stream');
      await cache.setStream(`${key}-stream`, Readable.from([Buffer.from('streamed')]));
    });
    await run('createReadStream', async () => {
      const stream = await cache.createReadStream(`${key}-stream`);
      if (stream !== undefined) for await (const _ of stream) void _;
    });
    await run('set with tag', () => cache.set(`${key}-tagged`, 1, { tag: 't', ttl: 1 }));
    await run('set large (a blob, on log)', () => cache.set(`${key}-large`, Buffer.alloc(40_000, 1)));
    await run('getSync large', () => cache.getSync(`${key}-large`));
  }
  // Dead bytes past the live ones in one bucket: a compaction, on log.
  await run('overwrites', () => {
    for (let i = 0; i < 80; i++) cache.setSync(`${keys[0]}-churn`, Buffer.alloc(1024, i));
  });
  await run('push', () => cache.push('job', { prefix: 'q' }));
  await run('pushSync', () => cache.pushSync('job', { prefix: 'q' }));
  await run('pull', () => cache.pull({ prefix: 'q' }));
  await run('pullSync', () => cache.pullSync({ prefix: 'q' }));
  await run('transact', () => cache.transact((tx) => tx.setSync('in-tx', 1)));
  await run('transactSync', () => cache.transactSync((tx) => tx.setSync('in-tx-sync', 1)));
  await run('keys', async () => {
    for await (const _ of cache.keys()) void _;
  });
  await run('entriesSync', () => [...cache.entriesSync()]);
  await run('evict', () => cache.evict('t'));
  await run('evictSync', () => cache.evictSync('t'));
  await run('expire', () => cache.expire());
  await run('expireSync', () => cache.expireSync());
  await run('cull', () => cache.cull());
  await run('cullSync', () => cache.cullSync());
  await run('check', () => cache.check());
  await run('checkSync fix', () => cache.checkSync({ fix: true }));
  await run('clear', () => cache.clear());
  await run('clearSync', () => cache.clearSync());
}

/**
 * A victim cache (`<root>/victim`, 400 tagged entries that expire at once) and an attacker cache
 * (`<root>/attacker`, 400 tagged entries of its own) beside it; with `large`, blobs among both.
 */
function victimAndAttacker(root: string, { large = false } = {}): { victimDir: string; attackerDir: string } {
  const victimDir = path.join(root, 'victim');
  const victim = new Cache(victimDir);
  for (let i = 0; i < 400; i++) victim.setSync(`victim-${i}`, `value ${i}`, { tag: 't', ttl: 1 });
  if (large) for (let i = 0; i < 4; i++) victim.setSync(`victim-large-${i}`, LARGE, { tag: 't', ttl: 1 });
  victim.closeSync();
  const attackerDir = path.join(root, 'attacker');
  const attacker = new Cache(attackerDir);
  for (let i = 0; i < 400; i++) attacker.setSync(`own-${i}`, 'x'.repeat(100), { tag: 't' });
  if (large) attacker.setSync('own-large', LARGE, { tag: 't' });
  attacker.closeSync();
  return { victimDir, attackerDir };
}

type Call = readonly [what: string, call: () => unknown];

/** The operations that remove entries in bulk (cull, evict, expire, check with a fix, clear), on both surfaces. */
function cleanUps(cache: Cache): Call[] {
  return [
    ['cullSync', () => cache.cullSync()],
    ['cull', () => cache.cull()],
    ['evictSync', () => cache.evictSync('t')],
    ['evict', () => cache.evict('t')],
    ['expireSync', () => cache.expireSync()],
    ['expire', () => cache.expire()],
    ['checkSync fix', () => cache.checkSync({ fix: true })],
    ['clearSync', () => cache.clearSync()],
    ['clear', () => cache.clear()],
  ];
}

/**
 * Runs `calls` on `cache`, expecting the victim cache at `victimDir` as `before` had it after each;
 * then `after`, closes the cache and expects no crash.
 */
async function expectVictimWhole(
  expect: ExpectStatic,
  cache: Cache,
  victimDir: string,
  before: string[],
  calls: readonly Call[],
  after: () => void = () => {},
): Promise<void> {
  const crashes: string[] = [];
  for (const [what, call] of calls) {
    await attempt(crashes, what, call);
    expect(snapshot(victimDir), `after ${what}`).toEqual(before);
  }
  after();
  cache.closeSync();
  expect(crashes).toEqual([]);
}

describe.concurrent('confinement to the cache directory', () => {
  it.runIf(ENGINE === 'files')(
    "cull, evict, expire, clear and check of a cache whose shard folders link to another cache's shards leave the other cache whole",
    ({ expect }) =>
      inScratch('shards-to-other-cache', async (root) => {
        const { victimDir, attackerDir } = victimAndAttacker(root);
        const before = snapshot(victimDir);
        for (const shard of SHARDS) {
          swapForLink(path.join(attackerDir, 'entries', shard), path.join(victimDir, 'entries', shard));
        }
        const cache = new Cache(attackerDir, { sizeLimit: 1 });
        await expectVictimWhole(expect, cache, victimDir, before, cleanUps(cache));
      }),
  );

  it('breaking a stale lock whose folder is a symbolic link never removes the owner file it points to', ({
    expect,
  }) =>
    inScratch('lock-links', async (root) => {
      const dir = path.join(root, 'cache');
      const setup = new Cache(dir);
      setup.setSync('k', 1);
      setup.pushSync('x');
      setup.closeSync();
      const log = path.join(dir, 'log');
      // An outside folder that looks like a lock of a dead holder of this host.
      const outside = makeOutside(root);
      writeLock(outside, { pid: await deadPid() });
      const before = snapshot(outside);
      const queueLocks = fs.readdirSync(path.join(dir, 'queues')).filter((name) => name.endsWith('.state'));
      // The key's lock folder (files), or every bucket's compaction lock (log: key locks are records).
      const locks = [
        ...(ENGINE === 'files'
          ? [lockPath(dir, 'k')]
          : fs.readdirSync(log).map((name) => path.join(log, `${name.slice(0, 2)}.lock`))),
        path.join(dir, 'transact.lock'),
        path.join(dir, 'counters', 'fold.lock'),
        ...queueLocks.map((name) => path.join(dir, 'queues', name.replace(/\.state$/, '.lock'))),
      ];
      for (const lock of locks) fs.symlinkSync(outside, lock);
      const crashes: string[] = [];
      const cache = new Cache(dir, { timeout: 2_000 });
      await attempt(crashes, 'incrSync', () => cache.incrSync('k'));
      await attempt(crashes, 'incr', () => cache.incr('k'));
      await attempt(crashes, 'touch', () => cache.touch('k', { ttl: 60_000 }));
      await attempt(crashes, 'pop', () => cache.pop('k'));
      await attempt(crashes, 'transactSync', () => cache.transactSync((tx) => tx.setSync('t', 1)));
      await attempt(crashes, 'push', () => cache.push('y'));
      await attempt(crashes, 'pullSync', () => cache.pullSync());
      await attempt(crashes, 'overwrites (a compaction, on log)', () => {
        for (let i = 0; i < 80; i++) cache.setSync('k', Buffer.alloc(1024, i));
      });
      await attempt(crashes, 'checkSync fix', () => cache.checkSync({ fix: true }));
      await attempt(crashes, 'close', () => cache.close());
      expect(snapshot(outside)).toEqual(before);
      expect(crashes).toEqual([]);
    }));

  it.runIf(ENGINE === 'files')(
    'a shard folder swapped for a symbolic link while the cache is open is neither written, read nor streamed through',
    ({ expect }) =>
      inScratch('swap-while-open', async (root) => {
        const dir = path.join(root, 'cache');
        const outside = makeOutside(root);
        const planted = keyInShard('planted-', 'ab');
        // A valid entry outside, under the name the key's entry has.
        fs.writeFileSync(path.join(outside, keyHash(planted)), entryBytes(planted, 'forged'));
        const cache = new Cache(dir);
        const resident = keyInShard('resident-', 'ab');
        cache.setSync(resident, 'mine');
        cache.setSync(planted, 'real');
        await cache.setStream(
          `${planted}`,
          (await import('node:stream')).Readable.from([Buffer.from('real')]),
        );
        expect(cache.getSync(resident)).toBe('mine');
        swapForLink(path.dirname(entryPath(dir, resident)), outside);
        const before = snapshot(outside);

        expect(cache.getSync(planted)).toBeUndefined();
        expect(await cache.get(planted)).toBeUndefined();
        expect(await cache.createReadStream(planted)).toBeUndefined();
        const crashes: string[] = [];
        await everyOperation(crashes, cache, [planted, resident, keyInShard('other-', 'ab')]);
        expect(snapshot(outside)).toEqual(before);
        expect(crashes).toEqual([]);
        cache.closeSync();
      }),
  );

  it.runIf(ENGINE === 'log')(
    "cull, evict, expire, clear and check of a cache whose log/ and blobs/ link to another cache's leave the other cache whole, and never read it",
    ({ expect }) =>
      inScratch('log-to-other-cache', async (root) => {
        const { victimDir, attackerDir } = victimAndAttacker(root, { large: true });
        const before = snapshot(victimDir);
        swapForLink(path.join(attackerDir, 'log'), path.join(victimDir, 'log'));
        swapForLink(path.join(attackerDir, 'blobs'), path.join(victimDir, 'blobs'));
        const cache = new Cache(attackerDir, { sizeLimit: 1 });
        const reads: unknown[] = [];
        await expectVictimWhole(
          expect,
          cache,
          victimDir,
          before,
          [
            ['getSync', () => reads.push(cache.getSync('victim-1'), cache.getSync('victim-large-1'))],
            ['get', async () => reads.push(await cache.get('victim-2'), await cache.get('victim-large-2'))],
            ...cleanUps(cache),
            ['set', () => cache.set('victim-3', 'overwritten')],
            ['setSync large', () => cache.setSync('victim-large-3', Buffer.alloc(40_000, 9))],
            ['deleteSync', () => cache.deleteSync('victim-4')],
          ],
          () => expect(reads.filter((value) => value !== undefined)).toEqual([]),
        );
      }),
  );

  describe.runIf(ENGINE === 'log')(
    'a part of a log cache swapped for a symbolic link while the cache is open is neither written, read nor streamed through',
    () => {
      const BUCKET = 0x2a;
      const [planted, resident, large, other] = keysInBucket('swapped-', BUCKET, 4) as [
        string,
        string,
        string,
        string,
      ];
      const FORGED = Buffer.alloc(40_000, 0xf0);

      /** The name of the blob file that the current record of `key` names, in the log cache at `dir`. */
      function blobOf(dir: string, key: string): string {
        let name: string | undefined;
        for (const record of readBucketFile(currentFile(dir, bucketOf(key))).records) {
          if (record.hash !== keyHash(key)) continue;
          name = record.kind === Kind.Blob ? record.payload.toString('utf8', 4) : undefined;
        }
        if (name === undefined) throw new Error(`${key} has no blob in ${dir}`);
        return name;
      }

      const TARGETS = ['log/', 'blobs/', 'the bucket file', 'the blob file', 'journal/'] as const;

      it.each(TARGETS)('%s', (target) =>
        inScratch('log-swap-while-open', async (root) => {
          const dir = path.join(root, 'cache');
          const cache = new Cache(dir);
          cache.setSync(resident, 'mine');
          cache.setSync(planted, 'real');
          cache.setSync(large, LARGE);
          cache.transactSync((tx) => tx.setSync(other, 'real'));
          // The same keys, forged, in another log cache: its files go outside under the names of ours.
          const forgeDir = path.join(root, 'forge');
          const forge = new Cache(forgeDir, { engine: 'log' });
          forge.setSync(resident, 'forged');
          forge.setSync(planted, 'forged');
          forge.setSync(large, FORGED);
          forge.setSync(other, 'forged');
          forge.closeSync();
          const bucketFile = currentFile(dir, BUCKET);
          const forgedBucket = fs.readFileSync(currentFile(forgeDir, BUCKET));
          const blob = blobOf(dir, large);
          const forgedBlob = fs.readFileSync(path.join(forgeDir, 'blobs', blobOf(forgeDir, large)));
          const outside = makeOutside(root);
          fs.writeFileSync(path.join(outside, path.basename(bucketFile)), forgedBucket);
          fs.writeFileSync(path.join(outside, blob), forgedBlob);
          const linked = {
            'log/': [path.join(dir, 'log'), outside],
            'blobs/': [path.join(dir, 'blobs'), outside],
            'the bucket file': [bucketFile, path.join(outside, path.basename(bucketFile))],
            'the blob file': [path.join(dir, 'blobs', blob), path.join(outside, blob)],
            'journal/': [path.join(dir, 'journal'), outside],
          }[target] as [string, string];
          swapForLink(...linked);
          const before = snapshot(outside);

          const crashes: string[] = [];
          const reads: unknown[] = [];
          /** What `cache` reads of the keys, on both surfaces and as a stream (none may be forged). */
          const readAll = async (from: Cache) => {
            for (const key of [resident, planted, large, other]) {
              await attempt(crashes, `getSync ${key}`, () => reads.push(from.getSync(key)));
              await attempt(crashes, `get ${key}`, async () => reads.push(await from.get(key)));
            }
            await attempt(crashes, 'createReadStream', async () => {
              const stream = await from.createReadStream(large);
              if (stream !== undefined) reads.push(Buffer.concat(await stream.toArray()));
            });
          };
          await readAll(cache);
          await everyOperation(crashes, cache, [planted, resident, other]);
          // A process that opens the cache after the swap.
          await attempt(crashes, 'open again', async () => {
            const again = new Cache(dir);
            await readAll(again);
            await everyOperation(crashes, again, [planted, large]);
            again.closeSync();
          });
          cache.closeSync();
          const forged = reads.filter(
            (value) => value === 'forged' || (Buffer.isBuffer(value) && value.equals(FORGED)),
          );
          expectOutside(forged, 'a forged entry outside was read').toEqual([]);
          expectOutside(snapshot(outside)).toEqual(before);
          expectOutside(crashes).toEqual([]);
        }),
      );
    },
  );

  it('every operation of Cache, FanoutCache, Deque and Index, with every folder of the cache swapped for a link outside, leaves the outside untouched', ({
    expect,
  }) =>
    inScratch('all-folders', async (root) => {
      const dir = path.join(root, 'cache');
      const fanoutDir = path.join(root, 'fanout');
      const cache = new Cache(dir);
      const fanout = new FanoutCache(fanoutDir, { shards: 2 });
      const deque = new Deque(path.join(root, 'deque'));
      const index = new Index(path.join(root, 'index'));
      const keys = ['a', 'b', keyInShard('c-', '00')];
      // Everything the cache creates exists once before the swap.
      for (const key of keys) {
        cache.setSync(key, 1);
        cache.incrSync(`${key}-n`);
        fanout.setSync(key, 1);
        index.setSync(key, 1);
      }
      cache.setSync('large', Buffer.alloc(40_000, 1)); // blobs/, on log
      cache.pushSync('x', { prefix: 'q' });
      cache.transactSync((tx) => tx.setSync('t', 1));
      deque.pushSync('d');
      const outsides: string[] = [];
      /** The cache directories at or below `at` (a FanoutCache or an Index holds several). */
      const cacheRoots = (at: string): string[] =>
        fs.existsSync(path.join(at, 'diskcache.json'))
          ? [at]
          : fs
              .readdirSync(at)
              .filter((name) => fs.lstatSync(path.join(at, name)).isDirectory())
              .flatMap((name) => cacheRoots(path.join(at, name)));
      const linkOutside = (folder: string) => {
        const out = makeOutside(root, `out-${outsides.length}`);
        outsides.push(out);
        swapForLink(folder, out);
      };
      for (const cacheDir of [dir, fanoutDir, path.join(root, 'deque'), path.join(root, 'index')]) {
        for (const rootDir of cacheRoots(cacheDir)) {
          for (const name of fs.readdirSync(rootDir)) {
            const folder = path.join(rootDir, name);
            if (!fs.lstatSync(folder).isDirectory()) continue;
            if (name === 'entries')
              for (const shard of fs.readdirSync(folder)) linkOutside(path.join(folder, shard));
            linkOutside(folder);
          }
        }
      }
      const before = outsides.map((out) => snapshot(out));
      const crashes: string[] = [];
      await everyOperation(crashes, cache, keys);
      for (const key of keys) {
        await attempt(crashes, 'fanout set', () => fanout.set(key, 2));
        await attempt(crashes, 'fanout get', () => fanout.getSync(key));
        await attempt(crashes, 'fanout incr', () => fanout.incr(`${key}-n`));
        await attempt(crashes, 'fanout delete', () => fanout.deleteSync(key));
        await attempt(crashes, 'index set', () => index.set(key, 2));
        await attempt(crashes, 'index get', () => index.getSync(key));
        await attempt(crashes, 'index pop', () => index.popSync(key));
      }
      await attempt(crashes, 'fanout push', () => fanout.push('j'));
      await attempt(crashes, 'fanout pull', () => fanout.pull());
      await attempt(crashes, 'fanout clear', () => fanout.clear());
      await attempt(crashes, 'fanout cull', () => fanout.cullSync());
      await attempt(crashes, 'deque push', () => deque.push('e'));
      await attempt(crashes, 'deque popFront', () => deque.popFrontSync());
      await attempt(crashes, 'deque clear', () => deque.clearSync());
      await attempt(crashes, 'index clear', () => index.clear());
      for (const closable of [cache, fanout, deque, index])
        await attempt(crashes, 'close', () => closable.close());
      expect(outsides.map((out) => snapshot(out))).toEqual(before);
      expect(crashes).toEqual([]);
    }));
});
