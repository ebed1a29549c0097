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
  'openForAppend',
  'append',
  'writeAt',
  'syncFile',
];

/** Why writes are refused: the code and message of the error they fail with. */
export interface Refusal {
  code: string;
  message: string;
}

const READ_ONLY: Refusal = { code: 'EROFS', message: 'the cache was opened with readOnly: true' };

/** The error a primitive `name` on `path` fails with when writes are refused for `reason`. */
export function refused(name: string, path: unknown, reason: Refusal = READ_ONLY): NodeJS.ErrnoException {
  const where = typeof path === 'string' ? ` '${path}'` : '';
  const error: NodeJS.ErrnoException = new Error(`${reason.code}: ${reason.message}, ${name}${where}`);
  error.code = reason.code;
  error.errno = -constants.errno.EROFS;
  error.syscall = name;
  if (typeof path === 'string') error.path = path;
  return error;
}

/**
 * `base` with every primitive that would change the file system failing with EROFS, as on a
 * read-only mount: the one mechanism behind `readOnly: true`.
 */
export function readOnlyFileSystem(base: FileSystem, reason: Refusal = READ_ONLY): FileSystem {
  const sync = { ...base.sync };
  const async = { ...base.async };
  for (const name of MUTATING) {
    (sync as Record<string, unknown>)[name] = (path: unknown) => {
      throw refused(name, path, reason);
    };
    (async as Record<string, unknown>)[name] = async (path: unknown) => {
      throw refused(name, path, reason);
    };
  }
  return { ...base, sync: sync as SyncFileSystem, async: async as AsyncFileSystem };
}
