import { join } from 'node:path';
import type { LockOptions } from '../coordination/lock.js';
import { withLock } from '../coordination/lock.js';
import { io, type Op } from '../fs/runner.js';
import { isPlainInside } from '../store/directories.js';
import {
  claim,
  discard,
  flushFolder,
  linkIfAbsent,
  moveToCorrupt,
  type Published,
  publish,
  readEntry,
  readHeader,
  removeIf,
  type StoreSettings,
  update,
  writeTemp,
} from '../store/entries.js';
import { allocated } from '../store/footprint.js';
import { SHARD_COUNT, shardFileKind } from '../store/layout.js';
import { oneByOne, type Slots } from './slots.js';

const MISSING = { state: 'missing' } as const;

/**
 * The `files` engine: each entry is a file of its own, published by link or rename from a private
 * temp file; key locks are lock folders; access records are the file's modification time. An entry
 * takes its file's size rounded up to `allocationUnit`. (An entry
 * whose shard directory is not a plain directory, such as a symbolic link planted in a shared
 * directory, is missing to the file system the store runs on: see `fs/confined.ts`.)
 */
export function filesSlots(store: StoreSettings, lock: LockOptions, allocationUnit: number): Slots {
  function* writeEntry(path: string, chunks: readonly Uint8Array[]): Op<Published> {
    return yield* publish(store, yield* writeTemp(store, path, chunks), path, chunks);
  }
  return {
    engine: 'files',
    groups: SHARD_COUNT,
    // A file takes whole allocation units.
    footprint: (entryBytes) => allocated(entryBytes, allocationUnit),
    read: (path) => readEntry(path),
    *version(path) {
      const info = yield* io('stat', path);
      return info && { id: `${info.ino}:${info.size}:${info.mtimeMs}:${info.ctimeMs}`, size: info.size };
    },
    readHeader: (path) => readHeader(path),
    write: writeEntry,
    publish: (temp, path) => publish(store, temp, path),
    writeMany: (items) => oneByOne(items, ({ path, chunks }) => writeEntry(path, chunks)),
    removeMany: (paths) => oneByOne(paths, (path) => io('unlink', path)),
    *writeIfAbsent(path, chunks) {
      const temp = yield* writeTemp(store, path, chunks);
      let linked: boolean | undefined;
      try {
        linked = yield* linkIfAbsent(store, temp, path);
      } catch (error) {
        yield* discard(temp);
        throw error;
      }
      if (linked === true) {
        yield* flushFolder(store, path);
        return { created: true, replacedSize: 0 };
      }
      yield* discard(temp);
      return linked;
    },
    remove: (path) => io('unlink', path),
    *discard(path) {
      // Only entry files go: a folder (or anything else) named like an entry is check()'s to set aside.
      const info = yield* io('lstat', path);
      if (info === undefined || !info.isFile || !(yield* io('unlink', path))) return undefined;
      return info.size;
    },
    *take(path) {
      const claimed = yield* claim(store, path);
      if (claimed === undefined) return MISSING;
      const found = yield* readEntry(claimed);
      if (found.state === 'corrupt') yield* moveToCorrupt(store, claimed);
      else yield* io('unlink', claimed);
      return found;
    },
    removeIf: (path, shouldRemove, verify) => removeIf(store, path, shouldRemove, verify),
    update: (path, rewrite) =>
      update(store, path, function* (entry) {
        const chunks = yield* rewrite(entry);
        return chunks === undefined ? undefined : yield* writeTemp(store, path, chunks);
      }),
    exclusive: (path, body) => withLock(`${path}.lock`, lock, body),
    *list(group) {
      const dir = store.layout.shard(group);
      if (!(yield* isPlainInside(store, dir))) return [];
      return (yield* io('readdir', dir))
        .filter((name) => shardFileKind(name) === 'entry')
        .sort()
        .map((name) => join(dir, name));
    },
    *placeOf(path) {
      return { file: path, offset: 0 };
    },
    *recordAccess(path, value) {
      yield* io('utimes', path, value, value);
    },
    *accessOf(path) {
      return (yield* io('stat', path))?.mtimeMs;
    },
  };
}
