import { join, relative, sep } from 'node:path';
import { CacheError } from '../errors.js';
import { io, type Op } from '../fs/runner.js';
import type { Layout } from './layout.js';

/** What directory handling needs to know about the store. */
export interface DirectorySettings {
  layout: Layout;
  dirMode: number;
  /**
   * Folders inside the cache found to be plain directories since this cache was opened (each open
   * checks again, so a folder replaced by a link meanwhile is caught).
   */
  plainDirectories: Set<string>;
}

/**
 * Whether every directory from just inside the cache directory down to `dir` exists and is a plain
 * directory, not a symbolic link. A shared cache directory is untrusted: a folder replaced by a link
 * must not lead the cache to read or write outside it. (The cache directory itself may be a link.)
 */
export function* isPlainInside(settings: DirectorySettings, dir: string): Op<boolean> {
  const plain = settings.plainDirectories;
  const base = settings.layout.directory;
  if (plain.has(dir) || dir === base) return true;
  const parts = relative(base, dir).split(sep);
  if (parts[0] === '..' || parts[0] === '') return false;
  let path = base;
  for (const part of parts) {
    path = join(path, part);
    if (plain.has(path)) continue;
    const info = yield* io('lstat', path);
    if (info === undefined || !info.isDirectory || info.isSymbolicLink) return false;
    plain.add(path);
  }
  return true;
}

/**
 * Creates `dir` inside the cache if needed, one folder at a time, refusing (before creating anything
 * under it) a folder that is a symbolic link or no directory.
 */
export function* ensureDirectory(settings: DirectorySettings, dir: string): Op<void> {
  const plain = settings.plainDirectories;
  const base = settings.layout.directory;
  if (plain.has(dir) || dir === base) return;
  const parts = relative(base, dir).split(sep);
  if (parts[0] === '..' || parts[0] === '') throw new RangeError(`diskcache-ts: ${dir} is outside ${base}`);
  let path = base;
  for (const part of parts) {
    path = join(path, part);
    if (plain.has(path)) continue;
    let info = yield* io('lstat', path);
    if (info === undefined) {
      // One folder at a time, not recursively: a recursive mkdir reports ENOENT on a read-only mount.
      yield* io('mkdirExclusive', path, settings.dirMode);
      info = yield* io('lstat', path);
    }
    if (info === undefined || !info.isDirectory || info.isSymbolicLink) {
      throw new CacheError(
        'EFORMAT',
        `${path} is not a plain directory (a symbolic link?); remove it with \`diskcache DIR check --fix\``,
        { path, directory: base },
      );
    }
    plain.add(path);
  }
}

/** Forgets what is known of `dir` and the folders below it (it was removed or replaced). */
export function forgetDirectory(settings: DirectorySettings, dir: string): void {
  const plain = settings.plainDirectories;
  plain.delete(dir);
  const below = dir + sep;
  for (const known of plain) if (known.startsWith(below)) plain.delete(known);
}

/**
 * Removes `path` and, if it is a plain directory, everything in it, never following a symbolic link
 * (a link is removed, not what it points to). Best effort: what cannot be removed stays.
 */
export function* removeTree(path: string, depth = 0): Op<void> {
  const info = yield* io('lstat', path);
  if (info === undefined) return;
  if (info.isDirectory && !info.isSymbolicLink && depth < 64) {
    for (const name of yield* io('readdir', path)) yield* removeTree(join(path, name), depth + 1);
    yield* io('rmdir', path);
    return;
  }
  try {
    yield* io('unlink', path);
  } catch {
    // Left in place; check() reports what remains.
  }
}
