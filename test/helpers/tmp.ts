import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach } from 'vitest';

/**
 * Where test directories are made: `DISKCACHE_TEST_ROOT` if set (for example a network-filesystem
 * mount, see `scripts/netfs/run.sh`), else the system temp directory.
 */
export function testRoot(): string {
  const root = process.env.DISKCACHE_TEST_ROOT;
  return root === undefined || root === '' ? os.tmpdir() : root;
}

/**
 * The same directory as seen through a second mount of the same export (another "host"), from
 * `DISKCACHE_TEST_OTHER_ROOT`; `undefined` when no second mount is configured. `dir` must lie under
 * {@link testRoot}.
 */
export function onOtherMount(dir: string): string | undefined {
  const other = process.env.DISKCACHE_TEST_OTHER_ROOT;
  if (other === undefined || other === '') return undefined;
  const relative = path.relative(testRoot(), dir);
  if (relative.startsWith('..') || path.isAbsolute(relative))
    throw new Error(`${dir} is not under ${testRoot()}`);
  return path.join(other, relative);
}

/**
 * A new empty directory named `<prefix>XXXXXX` under `root` ({@link testRoot} unless given); remove
 * it with {@link removeDir}, or let {@link useTempDirs} or {@link withTempDir} do it.
 */
export function makeTempDir(prefix = 'dct-', root = testRoot()): string {
  return fs.mkdtempSync(path.join(root, prefix));
}

/** Removes a directory made by {@link makeTempDir}, whatever is in it. */
export function removeDir(dir: string): void {
  // Network clients keep a removed file that is still open as a hidden file for a moment.
  fs.rmSync(dir, { recursive: true, force: true, maxRetries: 10 });
}

/**
 * Runs `body` with a new empty directory (see {@link makeTempDir}) and removes it once `body` is
 * done, however it ends; a promise returned by `body` is waited for first.
 */
export function withTempDir<T>(prefix: string, body: (dir: string) => T): T {
  const dir = makeTempDir(prefix);
  let result: T;
  try {
    result = body(dir);
  } catch (error) {
    removeDir(dir);
    throw error;
  }
  if (result instanceof Promise) return result.finally(() => removeDir(dir)) as T;
  removeDir(dir);
  return result;
}

/**
 * Registers an `afterEach` that removes every directory handed out during the test, and returns the
 * function that hands them out. Call it at the top of a `describe` block.
 */
export function useTempDirs(prefix?: string): () => string {
  const made: string[] = [];
  afterEach(() => {
    for (const dir of made.splice(0)) removeDir(dir);
  });
  return () => {
    const dir = makeTempDir(prefix);
    made.push(dir);
    return dir;
  };
}
