/**
 * Read-only media and `readOnly: true` (issue 12, item 7). On read-only media (a read-only bind
 * mount, or a file system whose every mutating primitive answers EROFS), and with `readOnly: true`
 * on any file system: the cache opens (also with options that differ from the stored ones, and
 * with a dead writer's leftovers in it), reads work on both surfaces (bookkeeping writes such as
 * LRU access times, statistics and moving a damaged entry aside are skipped), and every write fails
 * with a `CacheError` `'EROFS'`. With `readOnly: true`, nothing in the directory changes at all.
 */
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { constants, hostname } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Cache, CacheError, type CacheOptions } from '../src/index.js';
import {
  type AsyncFileSystem,
  type FileSystem,
  nodeFileSystem,
  type SyncFileSystem,
} from '../src/internal.js';
import { damageStoredValue } from './helpers/files.js';
import { useTempDirs } from './helpers/tmp.js';

const tempDir = useTempDirs();

const MUTATING = [
  'writeFile',
  'rename',
  'placeDirectory',
  'link',
  'unlink',
  'mkdir',
  'mkdirExclusive',
  'utimes',
  'rmdir',
  'openForUpdate',
  'writeAt',
  'syncFile',
] as const;

function erofs(syscall: string, file: unknown): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error(`EROFS: read-only file system, ${syscall}`);
  error.code = 'EROFS';
  error.errno = -constants.errno.EROFS;
  error.syscall = syscall;
  if (typeof file === 'string') error.path = file;
  return error;
}

/** node:fs as on a read-only mount: every primitive that would change something answers EROFS. */
function readOnlyMedia(): FileSystem {
  const sync: Record<string, unknown> = { ...nodeFileSystem.sync };
  const async: Record<string, unknown> = { ...nodeFileSystem.async };
  for (const name of MUTATING) {
    sync[name] = (file: unknown) => {
      throw erofs(name, file);
    };
    async[name] = async (file: unknown) => {
      throw erofs(name, file);
    };
  }
  return { sync: sync as unknown as SyncFileSystem, async: async as unknown as AsyncFileSystem };
}

/** The pid of a process that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await new Promise((resolve) => child.on('exit', resolve));
  return child.pid as number;
}

/**
 * A cache with LRU and statistics, entries, a damaged entry, and what a dead writer leaves (a private
 * directory with a temp file, and a committed journal).
 */
async function seed(dir: string): Promise<void> {
  const cache = new Cache(dir, { evictionPolicy: 'least-recently-used', statistics: true });
  cache.setSync('a', 'alpha');
  cache.setSync('n', 41);
  cache.setSync('damaged', 'will be damaged');
  cache.pushSync('job');
  cache.closeSync();
  // Damage one entry's value (its checksum no longer matches): a read of it is a miss.
  expect(damageStoredValue(dir, 'will be damaged')).toBe(1);
  const owner = `${hostTag()}~${await deadPid()}~zz9dead`;
  fs.mkdirSync(path.join(dir, 'tmp', owner), { recursive: true });
  fs.writeFileSync(path.join(dir, 'tmp', owner, 'x.1.tmp'), 'left by a dead writer');
  fs.mkdirSync(path.join(dir, 'journal'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'journal', `${owner}~1.json`), JSON.stringify({ writes: [], deletes: [] }));
}

function hostTag(): string {
  return (
    hostname()
      .replace(/[^A-Za-z0-9-]/g, '-')
      .slice(0, 64) || 'host'
  );
}

/** Every name below `dir` with its size, mtime and content, to tell whether anything changed. */
function snapshot(dir: string): string[] {
  const lines: string[] = [];
  const walk = (at: string) => {
    const info = fs.lstatSync(at);
    const name = path.relative(dir, at) || '.';
    if (info.isDirectory()) {
      lines.push(`${name}/ ${info.mtimeMs}`);
      for (const child of fs.readdirSync(at).sort()) walk(path.join(at, child));
    } else lines.push(`${name} ${info.size} ${info.mtimeMs} ${fs.readFileSync(at).toString('base64')}`);
  };
  walk(dir);
  return lines;
}

async function codeOf(call: () => unknown): Promise<string> {
  try {
    await call();
  } catch (error) {
    return error instanceof CacheError
      ? `CacheError ${error.code}`
      : `${(error as Error).name}: ${(error as Error).message}`;
  }
  return 'no error';
}

/** Reads work on both surfaces; every write fails with EROFS on both. */
async function expectReadOnly(dir: string, options: CacheOptions): Promise<void> {
  // Options that differ from the stored ones: they apply to this process, and are not stored.
  const cache = new Cache(dir, { ...options, sizeLimit: 5_000_000, statistics: true });
  expect(cache.options.sizeLimit).toBe(5_000_000);
  for (let round = 0; round < 2; round++) {
    expect(cache.getSync('a')).toBe('alpha');
    expect(await cache.get('a')).toBe('alpha');
    expect(cache.getSync('damaged')).toBeUndefined();
    expect(await cache.get('damaged')).toBeUndefined();
    expect(cache.getEntrySync('n')?.value).toBe(41);
    expect((await cache.getEntry('n'))?.value).toBe(41);
    expect(cache.hasSync('damaged')).toBe(false);
    expect(await cache.has('a')).toBe(true);
    expect(cache.getSync('missing')).toBeUndefined();
    expect([...cache.keysSync()].map(String)).toEqual(expect.arrayContaining(['500000000000000', 'a', 'n']));
    expect(cache.peekSync()?.[1]).toBe('job');
    expect(await cache.count()).toBe(4);
    expect(cache.statsSync()).toEqual({ hits: 0, misses: 0 });
    expect((await cache.check()).problems.length).toBeGreaterThan(0);
  }
  const writes: [string, () => unknown][] = [
    ['setSync', () => cache.setSync('b', 1)],
    ['set', () => cache.set('b', 1)],
    ['addSync', () => cache.addSync('c', 1)],
    ['add', () => cache.add('c', 1)],
    ['deleteSync', () => cache.deleteSync('a')],
    ['delete', () => cache.delete('a')],
    ['popSync', () => cache.popSync('a')],
    ['pop', () => cache.pop('a')],
    ['incrSync', () => cache.incrSync('n')],
    ['incr', () => cache.incr('n')],
    ['touchSync', () => cache.touchSync('a', { ttl: 1000 })],
    ['touch', () => cache.touch('a', { ttl: 1000 })],
    ['pushSync', () => cache.pushSync('more')],
    ['push', () => cache.push('more')],
    ['pullSync', () => cache.pullSync()],
    ['pull', () => cache.pull()],
    ['clearSync', () => cache.clearSync()],
    ['clear', () => cache.clear()],
    ['check({ fix: true })', () => cache.check({ fix: true })],
    ['transactSync', () => cache.transactSync((tx) => tx.setSync('t', 1))],
    ['transact', () => cache.transact((tx) => tx.set('t', 1))],
    [
      'setStream',
      () =>
        cache.setStream(
          's',
          (async function* () {
            yield Buffer.from('x');
          })(),
        ),
    ],
  ];
  for (const [name, write] of writes) expect.soft(await codeOf(write), name).toBe('CacheError EROFS');
  expect(cache.getSync('a')).toBe('alpha');
  await cache.close();
  expect(() => new Cache(dir, options).closeSync()).not.toThrow();
}

describe('readOnly: true', () => {
  it('opens any cache for reading only: reads work, writes fail with EROFS, nothing in the directory changes', async () => {
    const dir = tempDir();
    await seed(dir);
    const before = snapshot(dir);
    await expectReadOnly(dir, { readOnly: true });
    expect(snapshot(dir)).toEqual(before);
  });

  it('takes no lock: it reads while another process holds the transaction lock', async () => {
    const dir = tempDir();
    await seed(dir);
    const writer = new Cache(dir);
    await writer.transact(async () => {
      const reader = new Cache(dir, { readOnly: true, timeout: 0 });
      expect(reader.getSync('a')).toBe('alpha');
      reader.closeSync();
    });
    writer.closeSync();
  });

  it('leaves a damaged settings file alone and uses the options and defaults', async () => {
    const dir = tempDir();
    await seed(dir);
    fs.writeFileSync(path.join(dir, 'diskcache.json'), '{ damaged');
    const before = snapshot(dir);
    const cache = new Cache(dir, { readOnly: true });
    expect(cache.getSync('a')).toBe('alpha');
    expect(cache.options.evictionPolicy).toBe('least-recently-stored');
    cache.closeSync();
    expect(snapshot(dir)).toEqual(before);
  });

  it('refuses a missing directory (ENOTCACHE) without creating it, and a misspelled option', () => {
    const missing = path.join(tempDir(), 'missing');
    let error: unknown;
    try {
      new Cache(missing, { readOnly: true });
    } catch (caught) {
      error = caught;
    }
    expect((error as CacheError).code).toBe('ENOTCACHE');
    expect(fs.existsSync(missing)).toBe(false);
    expect(() => new Cache(tempDir(), { readonly: true } as CacheOptions)).toThrow(/did you mean readOnly/);
    expect(() => new Cache(tempDir(), { read_only: true } as CacheOptions)).toThrow(/did you mean readOnly/);
    expect(() => new Cache(tempDir(), { readOnly: 'yes' } as unknown as CacheOptions)).toThrow(TypeError);
  });
});

describe('read-only media', () => {
  it('a file system that answers EROFS to every change: the cache opens and reads, writes fail with EROFS', async () => {
    const dir = tempDir();
    await seed(dir);
    const before = snapshot(dir);
    await expectReadOnly(dir, { fileSystem: readOnlyMedia() });
    expect(snapshot(dir)).toEqual(before);
  });

  const root = process.getuid?.() === 0;
  it.skipIf(!root)(
    `a read-only bind mount (needs root: ${root ? 'running as root' : 'skipped, not root'})`,
    async () => {
      const source = tempDir();
      await seed(source);
      const mount = tempDir();
      execFileSync('mount', ['--bind', source, mount]);
      try {
        execFileSync('mount', ['-o', 'remount,bind,ro', mount]);
        const before = snapshot(source);
        await expectReadOnly(mount, {});
        await expectReadOnly(mount, { readOnly: true });
        expect(snapshot(source)).toEqual(before);
      } finally {
        execFileSync('umount', [mount]);
      }
    },
  );
});
