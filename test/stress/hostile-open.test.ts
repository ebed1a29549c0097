/**
 * Opening a directory that is not (only) the cache's own, and a cache whose metadata another tenant
 * damaged or planted (issue 12, items 1, 3 and 8):
 * - a cache is never created in a non-empty directory that has no settings file, and `''` is no
 *   directory; recovery, `check` and `clear` remove only names in the formats the cache creates;
 * - no single damaged or planted file (settings file, journal of a dead writer, a top-level folder
 *   replaced by a link or a file) makes the cache unopenable or unwritable: each is moved aside or
 *   restored, reported by `check()` and by a process warning; every error escaping opening is a
 *   `CacheError`; codec, policy and compression names are looked up only among known names;
 * - `check({ fix: true })` removes the locks that dead holders leave outside the shard folders.
 * Each case runs on the engine new caches get in this run (`DISKCACHE_ENGINE`), with the names of
 * that engine's own folders (`entries/` of the `files` engine, `log/` and `blobs/` of the `log` one).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Cache, CacheError, Deque, FanoutCache, Index } from '../../src/index.js';
import { inScratch } from '../helpers/children.js';
import { engineOfNewCaches } from '../helpers/stored.js';
import { makeTempDir } from '../helpers/tmp.js';
import { bucketName, encodeRecord, fileHeader, Kind, putRecord } from '../log/helpers/format.js';
import { FaultyFileSystem } from './helpers/faulty-fs.js';
import { entryBytes } from './helpers/forge.js';
import { deadPid, entryPath, HOST, keyHash, writeLock } from './helpers/layout.js';
import { makeOutside, snapshot } from './helpers/outside.js';
import './helpers/watchdog.js';

const ENGINE = engineOfNewCaches(makeTempDir);

/** The warnings the process emitted during a test (process.emitWarning delivers them on a later tick). */
const warnings: { name: string; code?: string; message: string }[] = [];
const onWarning = (warning: Error & { code?: string }) => {
  warnings.push({ name: warning.name, code: warning.code, message: warning.message });
};
beforeEach(() => {
  warnings.length = 0;
  process.on('warning', onWarning);
});
afterEach(() => {
  process.off('warning', onWarning);
});

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Every file below `dir` with its content (links and special files by kind), for "nothing was lost". */
function contents(dir: string): string[] {
  const found: string[] = [];
  const walk = (at: string) => {
    const info = fs.lstatSync(at);
    if (info.isDirectory()) for (const name of fs.readdirSync(at)) walk(path.join(at, name));
    else if (info.isFile()) found.push(fs.readFileSync(at, 'utf8'));
  };
  walk(dir);
  return found.sort();
}

function write(dir: string, relative: string, content: string | Buffer): void {
  const file = path.join(dir, relative);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
}

/** Creates the cache `<root>/cache` holding `value` under `key`, closed again; returns its path. */
function cacheHolding(root: string, key: string, value: string): string {
  const dir = path.join(root, 'cache');
  const first = new Cache(dir);
  first.setSync(key, value);
  first.closeSync();
  return dir;
}

/** A dead writer's owner tag, `host~pid~nonce`. */
async function deadOwner(): Promise<string> {
  return `${HOST}~${await deadPid()}~zz9dead`;
}

function codeOf(call: () => unknown): string {
  try {
    call();
  } catch (error) {
    return error instanceof CacheError ? `CacheError ${error.code}` : `${(error as Error).name}`;
  }
  return 'no error';
}

/** Writes, reads and read-modify-writes through both surfaces; the answers, in order. */
async function exercise(cache: Cache): Promise<unknown[]> {
  return [
    cache.setSync('s', 'sync'),
    await cache.set('a', 'async'),
    cache.getSync('s'),
    await cache.get('a'),
    cache.incrSync('n'),
    await cache.incr('n'),
    cache.pushSync('q1'),
    await cache.push('q2'),
    cache.pullSync()?.[1],
    (await cache.pull())?.[1],
    cache.transactSync((tx) => tx.setSync('t', 1)),
    cache.cullSync(),
    await cache.cull(),
  ];
}

const EXERCISED = [
  true,
  true,
  'sync',
  'async',
  1,
  2,
  500_000_000_000_000,
  500_000_000_000_001,
  'q1',
  'q2',
  true,
  0,
  0,
];

describe('opening a directory that is not a cache', () => {
  it('refuses a non-empty directory without a settings file (EFOREIGN) and touches nothing in it', () =>
    inScratch('foreign', async (root) => {
      const dir = path.join(root, 'mine');
      write(dir, 'tmp/notes.txt', 'my notes');
      write(dir, 'journal/2026-12-01.md', '# my journal');
      write(dir, 'report.pdf', 'a report');
      const before = snapshot(dir);
      for (const open of [
        () => new Cache(dir),
        () => new Cache(dir, { readOnly: true }),
        () => new Deque(dir),
        () => new FanoutCache(dir),
        () => new Index(dir),
      ]) {
        let error: unknown;
        try {
          open();
        } catch (caught) {
          error = caught;
        }
        expect.soft(error).toBeInstanceOf(CacheError);
        expect.soft((error as CacheError).code).toBe('EFOREIGN');
        expect.soft((error as CacheError).message).toMatch(/not empty/);
      }
      expect(snapshot(dir)).toEqual(before);
    }));

  it("'' is no directory: a TypeError, and the working directory is not touched", () => {
    const before = fs.readdirSync(process.cwd()).sort();
    expect(() => new Cache('')).toThrow(TypeError);
    expect(() => new Deque('')).toThrow(TypeError);
    expect(() => new FanoutCache('')).toThrow(TypeError);
    expect(() => new Index('')).toThrow(TypeError);
    expect(fs.readdirSync(process.cwd()).sort()).toEqual(before);
  });

  it('opens an empty directory, and one holding only what a cache being created leaves', () =>
    inScratch('creating', async (root) => {
      const empty = path.join(root, 'empty');
      fs.mkdirSync(empty);
      const cache = new Cache(empty);
      expect(cache.setSync('k', 1)).toBe(true);
      cache.closeSync();
      // Another process is creating the cache: its private directory is there, the settings file not yet.
      const creating = path.join(root, 'creating');
      write(creating, `tmp/${HOST}~${process.pid}~zz9live/diskcache.json.1.tmp`, '{}');
      const second = new Cache(creating);
      expect(await second.set('k', 2)).toBe(true);
      expect(await second.get('k')).toBe(2);
      second.closeSync();
    }));

  it('recovery, clear and check({ fix: true }) remove no file whose name is not in the cache’s formats', () =>
    inScratch('own-names', async (root) => {
      const dir = cacheHolding(root, 'kept', 'value');
      const owner = await deadOwner();
      const planted = {
        'tmp/notes.txt': 'notes in tmp',
        'tmp/not-an-owner/file': 'a folder in tmp',
        [`tmp/${owner}/folder/file`]: 'a folder in a dead writer’s directory',
        [`tmp/${owner}/photo.jpg`]: 'a photo in a dead writer’s directory',
        'journal/2026-12-01.md': 'journal of a person',
        'counters/notes.txt': 'notes in counters',
        'queues/notes.txt': 'notes in queues',
        'unrelated.txt': 'at the top level',
      };
      if (ENGINE === 'files') {
        planted['entries/README'] = 'readme in entries';
        planted['entries/zz/whatever'] = 'a folder that is no shard';
        planted[`entries/${keyHash('x').slice(0, 2)}/notes.txt`] = 'notes in a shard';
        planted[`entries/${keyHash('x').slice(0, 2)}/${'a'.repeat(31)}.lock`] = 'a file named like a lock';
        // A folder named like an entry, with a file in it.
        planted[`${path.relative(dir, entryPath(dir, 'folder-entry'))}/inside`] =
          'in a folder named like an entry';
      } else {
        planted['log/README'] = 'readme in log';
        planted['log/zz/whatever'] = 'a folder that is no bucket file';
        planted['log/05.1.bak'] = 'named almost like a bucket file';
        planted['log/05.7/inside'] = 'in a folder named like an old generation';
        write(dir, 'log/05.9', fileHeader(5, 9)); // (bucket 05's file, at generation 9)
        planted['blobs/notes.txt'] = 'notes in blobs';
        planted['blobs/folder.blob/inside'] = 'in a folder named like a blob';
      }
      for (const [file, content] of Object.entries(planted)) write(dir, file, content);
      write(dir, `tmp/${owner}/x.1.tmp`, 'a temp file of the dead writer');

      const cache = new Cache(dir);
      const report = cache.checkSync();
      for (const file of Object.keys(planted).filter((f) => f !== 'unrelated.txt')) {
        const name = file.includes(owner) ? path.basename(file) : file.split('/').slice(0, 2).join('/');
        expect
          .soft(
            report.problems.some((p) => p.includes(name)),
            `check() reports ${file}`,
          )
          .toBe(true);
      }
      expect(cache.clearSync()).toBe(1);
      await cache.check({ fix: true });
      cache.checkSync({ fix: true });
      expect(cache.checkSync()).toEqual({ problems: [], fixed: 0 });
      cache.closeSync();
      new Cache(dir).closeSync();
      // Nothing planted was lost (what check set aside is in corrupt/), and the dead writer's temp file is gone.
      const left = contents(dir);
      for (const content of Object.values(planted)) expect.soft(left, content).toContain(content);
      expect(left).not.toContain('a temp file of the dead writer');
      expect(fs.readFileSync(path.join(dir, 'unrelated.txt'), 'utf8')).toBe('at the top level');
    }));
});

describe('a damaged or planted settings file', () => {
  const damages: Record<string, (dir: string, outside: string) => void> = {
    truncated: (dir) => {
      const file = path.join(dir, 'diskcache.json');
      fs.writeFileSync(file, fs.readFileSync(file).subarray(0, 20));
    },
    'bit-flipped': (dir) => {
      const file = path.join(dir, 'diskcache.json');
      const bytes = fs.readFileSync(file);
      bytes[2] = (bytes[2] as number) ^ 0x40;
      fs.writeFileSync(file, bytes);
    },
    'random bytes': (dir) =>
      fs.writeFileSync(path.join(dir, 'diskcache.json'), Buffer.from([0xff, 0x00, 0x13, 0x37, 0x80])),
    empty: (dir) => fs.writeFileSync(path.join(dir, 'diskcache.json'), ''),
    'JSON null': (dir) => fs.writeFileSync(path.join(dir, 'diskcache.json'), 'null'),
    'a JSON array': (dir) => fs.writeFileSync(path.join(dir, 'diskcache.json'), '[1,2]'),
    'settings: null': (dir) =>
      fs.writeFileSync(
        path.join(dir, 'diskcache.json'),
        JSON.stringify({ format: 'diskcache-ts', version: 1, shards: 256, settings: null }),
      ),
    'shards: 3': (dir) =>
      fs.writeFileSync(
        path.join(dir, 'diskcache.json'),
        JSON.stringify({ format: 'diskcache-ts', version: 1, shards: 3, settings: {} }),
      ),
    'a FIFO': (dir) => {
      fs.rmSync(path.join(dir, 'diskcache.json'));
      execFileSync('mkfifo', [path.join(dir, 'diskcache.json')]);
    },
    'a directory': (dir) => {
      fs.rmSync(path.join(dir, 'diskcache.json'));
      fs.mkdirSync(path.join(dir, 'diskcache.json', 'inner'), { recursive: true });
    },
    'a symlink to a file outside': (dir, outside) => {
      fs.rmSync(path.join(dir, 'diskcache.json'));
      fs.symlinkSync(path.join(outside, 'sentinel'), path.join(dir, 'diskcache.json'));
    },
  };
  for (const [damage, apply] of Object.entries(damages)) {
    it(`${damage}: moved aside, rewritten from the options, reported; the cache works`, () =>
      inScratch('settings', async (root) => {
        const dir = path.join(root, 'cache');
        const outside = makeOutside(root);
        const first = new Cache(dir, { sizeLimit: 123_456 });
        first.setSync('old', 'entry');
        first.closeSync();
        apply(dir, outside);
        const before = snapshot(outside);

        const cache = new Cache(dir, { cullLimit: 7 });
        expect(cache.options.cullLimit).toBe(7);
        expect(await exercise(cache)).toEqual(EXERCISED);
        expect(cache.getSync('old')).toBe('entry');
        const stored = JSON.parse(fs.readFileSync(path.join(dir, 'diskcache.json'), 'utf8'));
        expect(stored).toMatchObject({ format: 'diskcache-ts', version: 1, shards: 256 });
        expect(stored.settings.cullLimit).toBe(7);
        expect(fs.readdirSync(path.join(dir, 'corrupt')).some((n) => n.startsWith('diskcache.json'))).toBe(
          true,
        );
        const report = cache.checkSync();
        expect(report.problems.some((p) => p.includes('diskcache.json'))).toBe(true);
        await tick();
        expect(
          warnings.some((w) => w.code === 'DISKCACHE_REPAIRED' && w.message.includes('diskcache.json')),
        ).toBe(true);
        cache.closeSync();
        expect(new Cache(dir).options.cullLimit).toBe(7);
        expect(snapshot(outside)).toEqual(before);
      }));
  }

  it('a settings file of another program (another format) is refused (EFOREIGN), and left as it is', () =>
    inScratch('other-format', async (root) => {
      const dir = path.join(root, 'cache');
      fs.mkdirSync(dir);
      const other = JSON.stringify({ format: 'something-else', version: 1 });
      fs.writeFileSync(path.join(dir, 'diskcache.json'), other);
      expect(codeOf(() => new Cache(dir))).toBe('CacheError EFOREIGN');
      expect(fs.readdirSync(dir)).toEqual(['diskcache.json']);
      expect(fs.readFileSync(path.join(dir, 'diskcache.json'), 'utf8')).toBe(other);
    }));

  it('a settings file of a newer format is refused with a CacheError, and left as it is', () =>
    inScratch('newer', async (root) => {
      const dir = path.join(root, 'cache');
      new Cache(dir).closeSync();
      const newer = JSON.stringify({ format: 'diskcache-ts', version: 2, shards: 256, settings: {} });
      fs.writeFileSync(path.join(dir, 'diskcache.json'), newer);
      expect(codeOf(() => new Cache(dir))).toBe('CacheError EFORMAT');
      expect(fs.readFileSync(path.join(dir, 'diskcache.json'), 'utf8')).toBe(newer);
    }));

  const absurd: Record<string, Record<string, unknown>> = {
    'eviction policy "bogus"': { evictionPolicy: 'bogus' },
    'eviction policy "__proto__"': { evictionPolicy: '__proto__' },
    'eviction policy "toString"': { evictionPolicy: 'toString' },
    'codec null': { codec: null },
    'compression "bogus"': { compression: 'bogus' },
    'compression "__proto__"': { compression: '__proto__' },
    'compression "toString"': { compression: 'toString' },
    'a negative timeout': { timeout: -5 },
    'a fractional cullLimit': { cullLimit: 1.5 },
    'statistics "yes"': { statistics: 'yes' },
    'durability "never"': { durability: 'never' },
  };
  for (const [what, settings] of Object.entries(absurd)) {
    it(`${what}: replaced by the default, reported; opening and every write work`, () =>
      inScratch('absurd', async (root) => {
        const dir = path.join(root, 'cache');
        new Cache(dir, { sizeLimit: 10_000_000 }).closeSync();
        const file = path.join(dir, 'diskcache.json');
        const stored = JSON.parse(fs.readFileSync(file, 'utf8'));
        Object.assign(stored.settings, settings);
        fs.writeFileSync(file, JSON.stringify(stored));

        const cache = new Cache(dir);
        expect(await exercise(cache)).toEqual(EXERCISED);
        const name = Object.keys(settings)[0] as string;
        expect((cache.options as unknown as Record<string, unknown>)[name]).not.toEqual(settings[name]);
        expect(cache.options.sizeLimit).toBe(10_000_000);
        expect(cache.checkSync().problems.some((p) => p.includes(name))).toBe(true);
        await tick();
        expect(warnings.some((w) => w.code === 'DISKCACHE_REPAIRED')).toBe(true);
        cache.closeSync();
        const rewritten = JSON.parse(fs.readFileSync(file, 'utf8'));
        expect(rewritten.settings[name]).not.toEqual(settings[name]);
        expect(rewritten.settings.sizeLimit).toBe(10_000_000);
      }));
  }

  it('a stored codec that is no built-in one (even "__proto__") is a custom codec’s name: writes use the default codec', () =>
    inScratch('custom-codec', async (root) => {
      for (const name of ['__proto__', 'toString', 'constructor']) {
        const dir = path.join(root, name);
        new Cache(dir).closeSync();
        const file = path.join(dir, 'diskcache.json');
        const stored = JSON.parse(fs.readFileSync(file, 'utf8'));
        stored.settings.codec = name;
        fs.writeFileSync(file, JSON.stringify(stored));
        const cache = new Cache(dir);
        expect(await exercise(cache)).toEqual(EXERCISED);
        cache.setSync('o', { a: [1n] });
        expect(await cache.get('o')).toEqual({ a: [1n] });
        cache.closeSync();
      }
    }));

  it('codec, policy and compression options are looked up only among known names (RangeError)', () =>
    inScratch('names', async (root) => {
      const dir = path.join(root, 'cache');
      for (const options of [
        { codec: '__proto__' },
        { codec: 'toString' },
        { codec: 'constructor' },
        { evictionPolicy: 'toString' },
        { compression: 'toString' },
        { compression: '__proto__' },
        { compression: 'hasOwnProperty' },
      ]) {
        expect
          .soft(
            codeOf(() => new Cache(dir, options as never)),
            JSON.stringify(options),
          )
          .toBe('RangeError');
      }
    }));

  it('an error of the file system while opening is a CacheError with its code', () =>
    inScratch('open-error', async (root) => {
      const dir = path.join(root, 'cache');
      new Cache(dir).closeSync();
      const faulty = new FaultyFileSystem();
      faulty.arm({ primitive: 'readFile', nth: 1, code: 'EACCES', mode: 'persistent' });
      expect(codeOf(() => new Cache(dir, { fileSystem: faulty.fileSystem }))).toBe('CacheError EACCES');
      faulty.arm({ primitive: 'readdir', nth: 1, code: 'EIO', mode: 'persistent' });
      expect(codeOf(() => new Cache(dir, { fileSystem: faulty.fileSystem }))).toMatch(
        /^(CacheError EIO|no error)$/,
      );
    }));
});

/** A log engine's delete record of `key`. */
const delete_ = (key: string) => encodeRecord({ kind: Kind.Delete, hash: keyHash(key) });

describe('a malformed journal of a dead writer', () => {
  const journals: Record<string, (dir: string, owner: string) => unknown> = {
    'writes: [null]': () => ({ writes: [null], deletes: [] }),
    'deletes: [null]': () => ({ writes: [], deletes: [null] }),
    'writes of numbers': () => ({ writes: [[1, 2]], deletes: [] }),
    'not JSON': () => '{ "writes": [',
    'JSON null': () => null,
    'a delete naming a folder': (dir) => {
      const folder = entryPath(dir, 'folder-entry');
      write(dir, path.join(path.relative(dir, folder), 'inside'), 'a file in a folder named like an entry');
      return { writes: [], deletes: [{ path: path.relative(dir, folder) }] };
    },
    'a write whose target is a non-empty folder': (dir, owner) => {
      const folder = entryPath(dir, 'folder-target');
      write(dir, path.join(path.relative(dir, folder), 'inside'), 'a file in the target folder');
      write(dir, `tmp/${owner}/y.1.tmp`, entryBytes('folder-target', 'value'));
      return { writes: [[`tmp/${owner}/y.1.tmp`, path.relative(dir, folder)]], deletes: [] };
    },
    'a delete naming the settings file': () => ({ writes: [], deletes: [{ path: 'diskcache.json' }] }),
    'a write over the settings file': (dir, owner) => {
      write(dir, `tmp/${owner}/z.1.tmp`, 'not settings');
      return { writes: [[`tmp/${owner}/z.1.tmp`, 'diskcache.json']], deletes: [] };
    },
    // The log engine's journal (a files cache finds no record of its own in any).
    'records: [null]': () => ({ records: [null] }),
    'records: "nope"': () => ({ records: 'nope' }),
    'a record that is no log record': () => ({ records: [Buffer.from('not a record').toString('base64')] }),
    'a record with a bad CRC': () => {
      const record = putRecord('kept', entryBytes('kept', 'forged'));
      record[60] = (record[60] as number) ^ 1;
      return { records: [record.toString('base64')] };
    },
    'two records in one string': () => {
      const records = [putRecord('kept', entryBytes('kept', 'forged')), delete_('kept')];
      return { records: [Buffer.concat(records).toString('base64')] };
    },
  };
  for (const [what, make] of Object.entries(journals)) {
    it(`${what}: moved aside and reported; the cache opens and works`, () =>
      inScratch('journal', async (root) => {
        const dir = cacheHolding(root, 'kept', 'mine');
        const owner = await deadOwner();
        const journal = make(dir, owner);
        write(
          dir,
          `journal/${owner}~1.json`,
          typeof journal === 'string' ? journal : JSON.stringify(journal),
        );
        // What the journal's steps could have lost (the files a case planted in entries/).
        const before = fs.existsSync(path.join(dir, 'entries')) ? contents(path.join(dir, 'entries')) : [];

        const cache = new Cache(dir);
        expect(fs.readdirSync(path.join(dir, 'journal'))).toEqual([]);
        expect(fs.readdirSync(path.join(dir, 'corrupt')).some((n) => n.includes(owner))).toBe(true);
        expect(JSON.parse(fs.readFileSync(path.join(dir, 'diskcache.json'), 'utf8')).format).toBe(
          'diskcache-ts',
        );
        expect(cache.getSync('kept')).toBe('mine');
        expect(await exercise(cache)).toEqual(EXERCISED);
        for (const content of before) expect.soft(contents(dir)).toContain(content);
        expect(cache.checkSync().problems.some((p) => p.includes(`${owner}~1.json`))).toBe(true);
        await tick();
        expect(warnings.some((w) => w.code === 'DISKCACHE_REPAIRED' && w.message.includes(owner))).toBe(true);
        cache.closeSync();
      }));
  }
});

describe('a top-level folder replaced by a link or a file', () => {
  const folders = ['tmp', 'counters', 'journal', 'queues', 'corrupt', 'entries'];
  // A log cache's own folders too (its bucket files and blobs are open or named meanwhile).
  if (ENGINE === 'log') folders.push('log', 'blobs');
  for (const folder of folders) {
    for (const by of ['a symlink to a folder outside', 'a plain file']) {
      it(`${folder} replaced by ${by}: check({ fix: true }) restores it and reports it`, () =>
        inScratch('top-level', async (root) => {
          const dir = cacheHolding(root, 'k', 'v');
          const outside = makeOutside(root);
          fs.rmSync(path.join(dir, folder), { recursive: true, force: true });
          if (by === 'a plain file') fs.writeFileSync(path.join(dir, folder), 'a file in place of a folder');
          else fs.symlinkSync(outside, path.join(dir, folder));
          const before = snapshot(outside);

          // Opening restores the folder, and reports it.
          const cache = new Cache(dir, { timeout: 5_000 });
          expect(fs.lstatSync(path.join(dir, folder)).isDirectory()).toBe(true);
          expect(cache.checkSync().problems.some((p) => p.startsWith(`${folder}:`))).toBe(true);
          if (by === 'a plain file') expect(contents(dir)).toContain('a file in place of a folder');
          // The same damage done while the cache is open: check() reports it, check({ fix: true }) repairs it.
          fs.rmSync(path.join(dir, folder), { recursive: true, force: true });
          if (by === 'a plain file') fs.writeFileSync(path.join(dir, folder), 'planted while open');
          else fs.symlinkSync(outside, path.join(dir, folder));
          expect(cache.checkSync().problems.some((p) => p.startsWith(`${folder}:`))).toBe(true);
          const fixed = cache.checkSync({ fix: true });
          expect(fixed.problems.some((p) => p.startsWith(`${folder}:`))).toBe(true);
          expect(fs.lstatSync(path.join(dir, folder)).isDirectory()).toBe(true);
          expect(await exercise(cache)).toEqual(EXERCISED);
          expect(cache.checkSync()).toEqual({ problems: [], fixed: 0 });
          // What it wrote after the repair is there for every process, not only in its own view.
          const other = new Cache(dir);
          expect.soft(other.getSync('s')).toBe('sync');
          expect.soft(await other.get('t')).toBe(1);
          other.closeSync();
          await tick();
          expect(warnings.some((w) => w.code === 'DISKCACHE_REPAIRED' && w.message.includes(folder))).toBe(
            true,
          );
          cache.closeSync();
          expect(snapshot(outside)).toEqual(before);
          if (by === 'a plain file') expect(contents(dir)).toContain('planted while open');
        }));
    }
  }
});

describe('locks left by dead holders outside the shard folders', () => {
  it('check({ fix: true }) removes counters/fold.lock, queue locks and transact.lock of dead holders', () =>
    inScratch('dead-locks', async (root) => {
      const dir = path.join(root, 'cache');
      const first = new Cache(dir);
      first.pushSync('item', { prefix: 'jobs' });
      first.closeSync();
      const queueLocks = () =>
        fs.readdirSync(path.join(dir, 'queues')).filter((name) => name.endsWith('.lock'));
      const dead = await deadPid();
      writeLock(path.join(dir, 'transact.lock'), { pid: dead });
      writeLock(path.join(dir, 'counters', 'fold.lock'), { pid: dead });
      const state = fs.readdirSync(path.join(dir, 'queues')).find((name) => name.endsWith('.state'));
      writeLock(path.join(dir, 'queues', `${(state as string).slice(0, 32)}.lock`), { pid: dead });
      // A live holder's lock (this process, through another owner tag it knows nothing of, on another host) stays.
      writeLock(path.join(dir, 'queues', `${'f'.repeat(32)}.lock`), { pid: process.pid, host: 'elsewhere' });

      const cache = new Cache(dir, { timeout: 200 });
      const report = cache.checkSync();
      for (const lock of ['transact.lock', 'counters/fold.lock', 'queues/']) {
        expect
          .soft(
            report.problems.some((p) => p.startsWith(lock) && p.includes('lock')),
            lock,
          )
          .toBe(true);
      }
      const fixed = await cache.check({ fix: true });
      expect(fixed.fixed).toBeGreaterThanOrEqual(3);
      expect(fs.existsSync(path.join(dir, 'transact.lock'))).toBe(false);
      expect(fs.existsSync(path.join(dir, 'counters', 'fold.lock'))).toBe(false);
      expect(queueLocks()).toEqual([`${'f'.repeat(32)}.lock`]);
      expect(cache.checkSync().problems).toEqual([]);
      // With a lock timeout of 200 ms, these would fail if the dead holders' locks were still there.
      expect(cache.transactSync((tx) => tx.setSync('t', 1))).toBe(true);
      expect(cache.pullSync({ prefix: 'jobs' })?.[1]).toBe('item');
      cache.closeSync();
    }));
});

describe.runIf(ENGINE === 'log')('log engine: compaction locks left by dead holders', () => {
  it('check({ fix: true }) removes a dead compactor’s log/<bucket>.lock and leaves a live one’s', () =>
    inScratch('dead-compactor', async (root) => {
      const dir = cacheHolding(root, 'k', 'v');
      const dead = path.join(dir, 'log', `${bucketName(0x11)}.lock`);
      const live = path.join(dir, 'log', `${bucketName(0x12)}.lock`);
      writeLock(dead, { pid: await deadPid() });
      // A live holder's lock (this process, through another owner tag, on another host) stays.
      writeLock(live, { pid: process.pid, host: 'elsewhere' });

      const cache = new Cache(dir, { timeout: 200 });
      const report = cache.checkSync();
      expect(report.problems.filter((p) => p.startsWith('log/'))).toEqual([
        expect.stringMatching(/^log\/11\.lock: stale lock/),
      ]);
      await cache.check({ fix: true });
      expect(fs.existsSync(dead)).toBe(false);
      expect(fs.readFileSync(path.join(live, 'owner'), 'utf8')).toContain('elsewhere');
      expect(cache.checkSync()).toEqual({ problems: [], fixed: 0 });
      expect(cache.getSync('k')).toBe('v');
      cache.closeSync();
    }));
});
