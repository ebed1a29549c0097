import { afterEach, describe, expect, it, vi } from 'vitest';
import { FanoutCache, Index } from '../src/index.js';
import { nodeFileSystem } from '../src/internal.js';
import { makeTempDir, removeDir } from './helpers/tmp.js';

/**
 * The constructors that check a directory before opening the caches in it (`Index`, `FanoutCache`)
 * retry a transient error as every cache operation does: a network client answers EBUSY for a while.
 */
const dirs: string[] = [];
afterEach(() => {
  vi.restoreAllMocks();
  for (const dir of dirs.splice(0)) removeDir(dir);
});

/** Makes the real file system's `readdir` of `dir` fail with EBUSY `times` times, then work. */
function busyReaddir(dir: string, times: number): { failed: () => number } {
  const readdir = nodeFileSystem.sync.readdir;
  let failed = 0;
  vi.spyOn(nodeFileSystem.sync, 'readdir').mockImplementation((path) => {
    if (path === dir && failed < times) {
      failed++;
      throw Object.assign(new Error(`EBUSY: resource busy, scandir '${path}'`), { code: 'EBUSY' });
    }
    return readdir(path);
  });
  return { failed: () => failed };
}

describe('a constructor meeting a busy directory', () => {
  it.each([
    ['Index', (dir: string) => new Index(dir)],
    ['FanoutCache', (dir: string) => new FanoutCache(dir, { shards: 2 })],
  ])('%s retries a transient error of its directory check', async (_name, open) => {
    const dir = makeTempDir('dct-open-retries-');
    dirs.push(dir);
    const busy = busyReaddir(dir, 2);
    const opened = open(dir);
    expect(busy.failed()).toBe(2);
    await opened.close();
  });
});
