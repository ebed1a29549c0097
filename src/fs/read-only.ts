import { constants } from 'node:os';
import type { AsyncFileSystem, FileSystem, SyncFileSystem } from './backend.js';

/** The primitives that change the file system. */
const MUTATING: readonly (keyof SyncFileSystem)[] = [
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
];

function refused(name: string, path: unknown): NodeJS.ErrnoException {
  const where = typeof path === 'string' ? ` '${path}'` : '';
  const error: NodeJS.ErrnoException = new Error(
    `EROFS: the cache was opened with readOnly: true, ${name}${where}`,
  );
  error.code = 'EROFS';
  error.errno = -constants.errno.EROFS;
  error.syscall = name;
  if (typeof path === 'string') error.path = path;
  return error;
}

/**
 * `base` with every primitive that would change the file system failing with EROFS, as on a
 * read-only mount: the one mechanism behind `readOnly: true`.
 */
export function readOnlyFileSystem(base: FileSystem): FileSystem {
  const sync = { ...base.sync };
  const async = { ...base.async };
  for (const name of MUTATING) {
    (sync as Record<string, unknown>)[name] = (path: unknown) => {
      throw refused(name, path);
    };
    (async as Record<string, unknown>)[name] = async (path: unknown) => {
      throw refused(name, path);
    };
  }
  return { ...base, sync: sync as SyncFileSystem, async: async as AsyncFileSystem };
}
