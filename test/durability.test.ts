/**
 * `durability: 'fsync'` (README, options): a write also survives power loss. Watched through a
 * counting file system: before a call returns, every file it wrote is flushed (an entry file written
 * with fsync, or a bucket file synced after its append) and so is every folder in which it placed or
 * removed a name (an entry file linked or renamed into place, a bucket file or blob file created, a
 * journal, an entry removed by a transaction). With `'normal'` nothing is flushed.
 */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Cache, type CacheOptions } from '../src/index.js';
import { type Call, countingFileSystem } from './helpers/counting-fs.js';
import { isEntryFile } from './helpers/files.js';
import { asyncSurface, type Surface, syncSurface } from './helpers/surface.js';
import { useTempDirs } from './helpers/tmp.js';

/** A value large enough to get a file of its own on the `log` engine (a blob). */
const LARGE = 'x'.repeat(100 * 1024);

/** The primitive's name, the same on both surfaces. */
const primitive = (call: Call) => call.name.replace(/Sync$/, '');

/** How a call reads in a failure message: its name and its paths relative to the cache directory. */
function shown(dir: string, call: Call): string {
  const args = call.args.map((a) => (typeof a === 'string' ? path.relative(dir, a) : typeof a));
  return `${call.name}(${args.join(', ')})`;
}

/** The folders in which `call` places or removes a name that must survive power loss, if any. */
function namesPlaced(dir: string, call: Call): string[] {
  const op = primitive(call);
  const target = op === 'link' || op === 'rename' ? call.args[1] : op === 'unlink' ? call.args[0] : undefined;
  if (typeof target !== 'string') return [];
  // The writer's private folder holds temp files only; a removal matters only for entry files.
  if (path.relative(dir, target).split(path.sep)[0] === 'tmp') return [];
  if (op === 'unlink' && !isEntryFile(target)) return [];
  return [path.dirname(target)];
}

/** The steps of `trace` that are not flushed by a later step (or by themselves). */
function unflushed(dir: string, trace: readonly Call[]): string[] {
  const problems: string[] = [];
  trace.forEach((call, i) => {
    const later = trace.slice(i + 1);
    const op = primitive(call);
    if (op === 'writeFile' && (call.args[2] as { fsync?: boolean }).fsync !== true) {
      problems.push(`${shown(dir, call)} without fsync`);
    }
    if (op === 'append' && !later.some((c) => primitive(c) === 'syncFile' && c.args[0] === call.args[0])) {
      problems.push(`${shown(dir, call)} not followed by syncFile of that file`);
    }
    for (const folder of namesPlaced(dir, call)) {
      if (!later.some((c) => primitive(c) === 'fsyncDir' && c.args[0] === folder))
        problems.push(`${shown(dir, call)} not followed by fsyncDir(${path.relative(dir, folder)})`);
    }
  });
  return problems;
}

/** The steps of `trace` that flush something to stable storage. */
function flushes(trace: readonly Call[]): Call[] {
  return trace.filter((call) => {
    const op = primitive(call);
    if (op === 'writeFile') return (call.args[2] as { fsync?: boolean }).fsync === true;
    return op === 'syncFile' || op === 'fsyncDir';
  });
}

/** A write to make on a fresh cache, after `setup` (which is not watched). */
interface Write {
  setup?: (cache: Surface) => Promise<unknown>;
  write: (cache: Surface) => Promise<unknown>;
}

const WRITES: [name: string, Write][] = [
  ['set of a new key (the first write of the cache)', { write: (c) => c.set('k', 1) }],
  ['set over an existing key', { setup: (c) => c.set('k', 1), write: (c) => c.set('k', 2) }],
  ['set of a large value', { setup: (c) => c.set('k', 1), write: (c) => c.set('big', LARGE) }],
  ['add', { setup: (c) => c.set('k', 1), write: (c) => c.add('new', 1) }],
  ['incr of a new counter', { setup: (c) => c.set('k', 1), write: (c) => c.incr('n', 1) }],
  ['incr of an existing counter', { setup: (c) => c.incr('n', 1), write: (c) => c.incr('n', 1) }],
  ['push', { setup: (c) => c.set('k', 1), write: (c) => c.push('item') }],
  [
    "a transaction's commit",
    {
      setup: (c) => c.set('gone', 1),
      write: async (c) => {
        const cache = c.target;
        if (c.kind === 'async') {
          await cache.transact(async (tx) => {
            await tx.set('a', 1);
            await tx.set('big', LARGE);
            await tx.delete('gone');
          });
        } else {
          cache.transactSync((tx) => {
            tx.setSync('a', 1);
            tx.setSync('big', LARGE);
            tx.deleteSync('gone');
          });
        }
      },
    },
  ],
];

const SURFACES: [string, (cache: Cache) => Surface][] = [
  ['async', asyncSurface],
  ['sync', syncSurface],
];

describe.each(SURFACES)('durability, %s surface', (_kind, surface) => {
  const tempDir = useTempDirs();

  /** The calls `write` makes on a fresh cache with these options, after its setup. */
  async function traceOf(step: Write, options: CacheOptions): Promise<{ dir: string; trace: Call[] }> {
    const counting = countingFileSystem();
    const dir = tempDir();
    const cache = surface(new Cache(dir, { ...options, fileSystem: counting.fileSystem }));
    try {
      await step.setup?.(cache);
      counting.trace.length = 0;
      await step.write(cache);
      return { dir, trace: [...counting.trace] };
    } finally {
      await cache.close();
    }
  }

  it.each(WRITES)(
    "'fsync': %s flushes every file it wrote and every folder it changed",
    async (_name, step) => {
      const { dir, trace } = await traceOf(step, { durability: 'fsync' });
      expect(unflushed(dir, trace)).toEqual([]);
      expect(flushes(trace).length).toBeGreaterThan(0);
    },
  );

  it.each(WRITES)("'normal': %s flushes nothing", async (_name, step) => {
    const { dir, trace } = await traceOf(step, { durability: 'normal' });
    expect(flushes(trace).map((call) => shown(dir, call))).toEqual([]);
  });
});
