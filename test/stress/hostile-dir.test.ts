import '../helpers/files-engine.js';
/**
 * A hostile cache directory: it may be shared with others who can write to it (DESIGN.md rule 6).
 * Symlinks in place of shard folders, top-level folders and entry or lock files, pointing outside;
 * FIFOs; headers that claim 2^40-byte lengths; junk files and deep junk folders; journals that
 * name paths outside. In every case: nothing crashes (only `CacheError`s, and reads are misses),
 * nothing outside the cache directory is read or written (an outside directory with sentinel files
 * is compared before and after; FIFOs outside tell reads, as opening one blocks), no huge allocation
 * happens, and the bad entries are misses that `check()` reports and `check({ fix: true })` clears.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'vitest';
import { Cache, CacheError } from '../../src/index.js';
import { inScratch } from './helpers/children.js';
import { entryBytes, reseal } from './helpers/forge.js';
import { deadPid, entryPath, HOST, keyHash, keyInShard, lockPath } from './helpers/layout.js';
import { makeOutside, snapshot } from './helpers/outside.js';
import './helpers/watchdog.js';

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

/** A cache directory `<root>/cache` and a directory `<root>/outside` beside it. */
function setup(root: string): { dir: string; outside: string } {
  const dir = path.join(root, 'cache');
  new Cache(dir).closeSync();
  return { dir, outside: makeOutside(root) };
}

// Concurrent: several cases wait (for a lock timeout, or a child hung on a FIFO).
describe.concurrent('a hostile cache directory', () => {
  it('a shard folder that is a symlink to a directory outside is neither read nor written through', ({
    expect,
  }) =>
    inScratch('shard-link', async (root) => {
      const { dir, outside } = setup(root);
      // The outside directory holds a valid entry for a key of shard "ab", under its entry name.
      const planted = keyInShard('planted-', 'ab');
      fs.writeFileSync(path.join(outside, keyHash(planted)), entryBytes(planted, 'from outside'));
      fs.mkdirSync(path.join(dir, 'entries'), { recursive: true });
      fs.symlinkSync(outside, path.join(dir, 'entries', 'ab'));
      // A dead writer's journal that deletes the planted entry and renames a file into the shard.
      const owner = await deadOwner();
      fs.mkdirSync(path.join(dir, 'tmp', owner), { recursive: true });
      fs.writeFileSync(
        path.join(dir, 'tmp', owner, 'x.tmp'),
        entryBytes(keyInShard('moved-', 'ab'), 'moved'),
      );
      fs.mkdirSync(path.join(dir, 'journal'));
      const intoShard = path.relative(dir, entryPath(dir, keyInShard('moved-', 'ab')));
      fs.writeFileSync(
        path.join(dir, 'journal', `${owner}~1.json`),
        JSON.stringify({
          writes: [[`tmp/${owner}/x.tmp`, intoShard]],
          deletes: [{ path: path.relative(dir, entryPath(dir, planted)) }],
        }),
      );
      const before = snapshot(outside);

      const crashes: string[] = [];
      const cache = open(crashes, dir, { timeout: 3_000 });
      expect(crashes).toEqual([]);
      const fresh = keyInShard('fresh-', 'ab');
      expect.soft(attempt(crashes, 'get', () => cache.getSync(planted))).toBeUndefined();
      expect.soft(await attemptAsync(crashes, 'get', () => cache.get(planted))).toBeUndefined();
      expect.soft(attempt(crashes, 'has', () => cache.hasSync(planted))).toBe(false);
      attempt(crashes, 'set', () => cache.setSync(fresh, 'value'));
      await attemptAsync(crashes, 'set', () => cache.set(keyInShard('fresh2-', 'ab'), 'value'));
      attempt(crashes, 'incr', () => cache.incrSync(keyInShard('count-', 'ab')));
      attempt(crashes, 'add', () => cache.addSync(keyInShard('add-', 'ab'), 1));
      attempt(crashes, 'delete', () => cache.deleteSync(planted));
      attempt(crashes, 'pop', () => cache.popSync(planted));
      attempt(crashes, 'keys', () => [...cache.keysSync()]);
      const report = attempt(crashes, 'check', () => cache.checkSync()) as { problems: string[] };
      expect.soft(snapshot(outside), 'the outside directory changed').toEqual(before);
      expect.soft(crashes).toEqual([]);
      expect
        .soft(
          report.problems.some((p) => p.includes(path.join('entries', 'ab'))),
          'check() reports the linked shard',
        )
        .toBe(true);
      attempt(crashes, 'check({ fix: true })', () => cache.checkSync({ fix: true }));
      expect.soft(attempt(crashes, 'check', () => cache.checkSync())).toEqual({ problems: [], fixed: 0 });
      attempt(crashes, 'set after the fix', () => cache.setSync(fresh, 'value'));
      expect.soft(attempt(crashes, 'get after the fix', () => cache.getSync(fresh))).toBe('value');
      cache.closeSync();
      expect.soft(crashes).toEqual([]);
      expect.soft(snapshot(outside), 'the outside directory changed').toEqual(before);
    }));

  it('entry files that are symlinks to files outside are misses, reported and removed by check', ({
    expect,
  }) =>
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
      const report = attempt(crashes, 'check', () => cache.checkSync()) as { problems: string[] };
      for (const key of ['linked-valid', 'linked-sentinel', 'linked-dangling', 'linked-dir']) {
        const name = path.relative(dir, entryPath(dir, key));
        expect
          .soft(
            report.problems?.some((p) => p.includes(name)),
            `check() reports ${key}`,
          )
          .toBe(true);
      }
      for (const key of ['linked-valid', 'linked-sentinel', 'linked-dangling', 'linked-dir']) {
        expect
          .soft(
            attempt(crashes, `get ${key}`, () => cache.getSync(key)),
            key,
          )
          .toBeUndefined();
        expect.soft(await attemptAsync(crashes, `get ${key}`, () => cache.get(key)), key).toBeUndefined();
        expect
          .soft(
            attempt(crashes, `getEntry ${key}`, () => cache.getEntrySync(key)),
            key,
          )
          .toBeUndefined();
      }
      attempt(crashes, 'set over a link', () => cache.setSync('linked-sentinel', 'new'));
      attempt(crashes, 'delete of a link', () => cache.deleteSync('linked-dangling'));
      attempt(crashes, 'incr of a link', () => cache.incrSync('linked-valid'));
      attempt(crashes, 'pop of a link', () => cache.popSync('linked-dir'));
      expect.soft(crashes).toEqual([]);
      expect.soft(snapshot(outside), 'the outside directory changed').toEqual(before);
      attempt(crashes, 'check({ fix: true })', () => cache.checkSync({ fix: true }));
      expect.soft(attempt(crashes, 'check', () => cache.checkSync())).toEqual({ problems: [], fixed: 0 });
      expect.soft(cache.getSync('neighbour')).toBe('mine');
      cache.closeSync();
      expect.soft(crashes).toEqual([]);
      expect.soft(snapshot(outside), 'the outside directory changed').toEqual(before);
    }));

  it('lock files that are symlinks outside are not followed, and do not block the key', ({ expect }) =>
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
      for (const key of ['to-sentinel', 'to-nothing', 'to-dir']) {
        const started = performance.now();
        const got = attempt(crashes, `incr ${key}`, () => cache.incrSync(key));
        expect
          .soft(got, `incr ${key} went through (took ${Math.round(performance.now() - started)} ms)`)
          .toBe(1);
      }
      expect.soft(crashes).toEqual([]);
      expect.soft(snapshot(outside), 'the outside directory changed').toEqual(before);
      attempt(crashes, 'check({ fix: true })', () => cache.checkSync({ fix: true }));
      expect.soft(attempt(crashes, 'check', () => cache.checkSync())).toEqual({ problems: [], fixed: 0 });
      cache.closeSync();
      expect.soft(snapshot(outside), 'the outside directory changed').toEqual(before);
    }));

  it(
    'FIFOs in place of entries, and symlinks to FIFOs outside, neither hang nor fail readers (nothing opens them)',
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

        // In a child: a reader that opens a FIFO blocks for good, and is killed after 10 s.
        const calls = [
          ['get', 'fifo-entry'],
          ['get', 'fifo-link'],
          ['has', 'fifo-link'],
          ['incr', 'fifo-lock'],
          ['check'],
        ];
        const child = spawn('ops', [dir, JSON.stringify(calls)], 10_000);
        const { results } = (await child.result()) as { results: string[] };
        // The bad entries are misses; the other keys' operations and check() are not disturbed by them.
        expect
          .soft(results)
          .toEqual([
            'getSync: ok undefined',
            'get: ok undefined',
            'getSync: ok undefined',
            'get: ok undefined',
            'hasSync: ok false',
            'has: ok false',
            'incrSync: ok 1',
            'incr: ok 2',
            expect.stringMatching(/^checkSync: ok /),
            expect.stringMatching(/^check: ok /),
          ]);
        expect.soft(snapshot(outside)).toEqual(before);
      }),
    60_000,
  );

  it('headers claiming 2^40-byte lengths, and a sparse 1 TiB file, are misses without huge allocations', ({
    expect,
  }) =>
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
      const memory = process.memoryUsage();
      const report = attempt(crashes, 'check', () => cache.checkSync()) as { problems: string[] };
      for (const key of keys) {
        const name = path.relative(dir, entryPath(dir, key));
        expect
          .soft(
            report.problems?.some((p) => p.includes(name)),
            `check() reports ${key}`,
          )
          .toBe(true);
      }
      for (const key of keys) {
        expect
          .soft(
            attempt(crashes, `get ${key}`, () => cache.getSync(key)),
            key,
          )
          .toBeUndefined();
        expect.soft(await attemptAsync(crashes, `get ${key}`, () => cache.get(key)), key).toBeUndefined();
        expect
          .soft(
            attempt(crashes, `has ${key}`, () => cache.hasSync(key)),
            key,
          )
          .toBe(false);
      }
      const grown = process.memoryUsage();
      expect.soft(crashes).toEqual([]);
      expect.soft(grown.arrayBuffers - memory.arrayBuffers).toBeLessThan(64 * 2 ** 20);
      expect.soft(grown.rss - memory.rss).toBeLessThan(256 * 2 ** 20);
      cache.checkSync({ fix: true });
      expect.soft(cache.checkSync()).toEqual({ problems: [], fixed: 0 });
      expect.soft(cache.getSync('neighbour')).toBe('mine');
      cache.closeSync();
    }));

  it('junk files and deep junk folders, inside entries/ and at the top level, break nothing', ({ expect }) =>
    inScratch('junk', async (root) => {
      const { dir } = setup(root);
      const write = (relative: string, content: string | Buffer) => {
        const file = path.join(dir, relative);
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, content);
      };
      const deep = Array.from({ length: 40 }, (_, i) => `d${i}`).join('/');
      // Top level: not the cache's files; they must be left alone.
      write('junk.bin', Buffer.alloc(10_000, 7));
      write(`deep/${deep}/file`, 'deep junk');
      write('diskcache.json.bak', '{ not json');
      // Inside entries/: junk the cache must survive, report and set aside.
      const shard = (key: string) => path.relative(dir, path.dirname(entryPath(dir, key)));
      write('entries/README', 'junk at the top of entries/');
      write('entries/zz/whatever', 'a folder that is not a shard');
      write(`entries/${keyHash('x').slice(0, 2)}/deep/${deep}/file`, 'deep junk in a shard');
      write(`${shard('junk-entry')}/notes.txt`, 'junk in a shard');
      write(path.relative(dir, entryPath(dir, 'junk-entry')), Buffer.from('random bytes that are no entry'));
      write(path.relative(dir, entryPath(dir, 'empty-entry')), Buffer.alloc(0));
      write(path.relative(dir, entryPath(dir, 'misnamed')), entryBytes('someone-else', 'not yours'));
      fs.mkdirSync(entryPath(dir, 'dir-entry'), { recursive: true });
      write(
        path.join(path.relative(dir, entryPath(dir, 'dir-entry')), 'inner'),
        'a folder named like an entry',
      );
      write(`${path.relative(dir, lockPath(dir, 'junk-lock'))}`, 'not a lock record');
      backdate(lockPath(dir, 'junk-lock'));
      // Junk among the cache's own folders.
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
      const before = topLevel();

      const crashes: string[] = [];
      const cache = open(crashes, dir, { timeout: 10_000 });
      expect(crashes).toEqual([]);
      attempt(crashes, 'set', () => cache.setSync('a', 1));
      expect.soft(attempt(crashes, 'get', () => cache.getSync('a'))).toBe(1);
      for (const key of ['junk-entry', 'empty-entry', 'misnamed', 'dir-entry']) {
        expect
          .soft(
            attempt(crashes, `get ${key}`, () => cache.getSync(key)),
            key,
          )
          .toBeUndefined();
        expect.soft(await attemptAsync(crashes, `get ${key}`, () => cache.get(key)), key).toBeUndefined();
      }
      expect.soft(attempt(crashes, 'incr junk-lock', () => cache.incrSync('junk-lock'))).toBe(1);
      attempt(crashes, 'push', () => cache.pushSync('item'));
      attempt(crashes, 'pull', () => cache.pullSync());
      const keys = attempt(crashes, 'keys', () => [...cache.keysSync()].map(String).sort());
      expect.soft(keys).toEqual(['a', 'junk-lock']);
      attempt(crashes, 'count', () => cache.countSync());
      const report = attempt(crashes, 'check', () => cache.checkSync()) as { problems: string[] };
      expect.soft(crashes).toEqual([]);
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
      attempt(crashes, 'check({ fix: true })', () => cache.checkSync({ fix: true }));
      expect.soft(attempt(crashes, 'check', () => cache.checkSync())).toEqual({ problems: [], fixed: 0 });
      expect.soft(cache.getSync('a')).toBe(1);
      cache.closeSync();
      expect.soft(crashes).toEqual([]);
      expect.soft(topLevel(), 'the top-level junk (not the cache’s) was changed').toEqual(before);
    }));

  it('a folder inside a dead writer’s private directory does not stop the cache from opening', ({ expect }) =>
    inScratch('dead-folder', async (root) => {
      const { dir } = setup(root);
      const owner = await deadOwner();
      fs.mkdirSync(path.join(dir, 'tmp', owner, 'folder'), { recursive: true });
      fs.writeFileSync(path.join(dir, 'tmp', owner, 'folder', 'file'), 'junk');
      fs.writeFileSync(path.join(dir, 'tmp', owner, 'x.tmp'), 'temp file');
      const crashes: string[] = [];
      const cache = open(crashes, dir);
      expect(crashes).toEqual([]);
      expect.soft(attempt(crashes, 'set', () => cache.setSync('k', 1))).toBe(true);
      attempt(crashes, 'check({ fix: true })', () => cache.checkSync({ fix: true }));
      expect.soft(attempt(crashes, 'check', () => cache.checkSync())).toEqual({ problems: [], fixed: 0 });
      cache.closeSync();
      expect.soft(crashes).toEqual([]);
    }));

  it('a journal naming paths outside the directory is not followed', ({ expect }) =>
    inScratch('journal', async (root) => {
      const { dir, outside } = setup(root);
      const cache = new Cache(dir);
      cache.setSync('kept', 'mine');
      cache.closeSync();
      const owner = await deadOwner();
      fs.mkdirSync(path.join(dir, 'tmp', owner), { recursive: true });
      fs.writeFileSync(path.join(dir, 'tmp', owner, 'x.tmp'), 'a file of the dead writer');
      const up = path.relative(dir, outside); // ../outside
      fs.mkdirSync(path.join(dir, 'journal'), { recursive: true });
      fs.writeFileSync(
        path.join(dir, 'journal', `${owner}~1.json`),
        JSON.stringify({
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
      );
      const before = snapshot(outside);

      const crashes: string[] = [];
      const reopened = open(crashes, dir);
      expect(crashes).toEqual([]);
      expect.soft(snapshot(outside), 'the outside directory changed').toEqual(before);
      expect.soft(reopened.getSync('stolen')).toBeUndefined();
      expect.soft(reopened.getSync('kept')).toBe('mine');
      attempt(crashes, 'check({ fix: true })', () => reopened.checkSync({ fix: true }));
      expect.soft(attempt(crashes, 'check', () => reopened.checkSync())).toEqual({ problems: [], fixed: 0 });
      expect.soft(fs.readdirSync(path.join(dir, 'journal'))).toEqual([]);
      reopened.closeSync();
      expect.soft(crashes).toEqual([]);
      expect.soft(snapshot(outside), 'the outside directory changed').toEqual(before);
    }));

  describe('a folder of the cache replaced by a symlink to a directory outside is not written through', () => {
    const folders = ['tmp/<dead writer>', 'tmp', 'journal', 'counters', 'corrupt', 'queues', 'entries'];
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
          // A corrupt entry, which a read moves to corrupt/.
          const bad = entryPath(dir, 'bad');
          if (fs.existsSync(path.dirname(bad)) || folder !== 'entries') {
            fs.mkdirSync(path.dirname(bad), { recursive: true });
            fs.writeFileSync(bad, 'garbage');
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
