import { join } from 'node:path';
import type { LockOptions } from '../coordination/lock.js';
import { withLock } from '../coordination/lock.js';
import type { Entry, EntryHeader } from '../format/entry.js';
import { io, type Op } from '../fs/runner.js';
import { isPlainInside } from './directories.js';
import {
  claim,
  discard,
  flushFolder,
  linkIfAbsent,
  moveToCorrupt,
  type Published,
  publish,
  type ReadResult,
  type Removal,
  type RemoveVerdict,
  readEntry,
  readHeader,
  removeIf,
  type StoreSettings,
  type Updated,
  update,
  writeTemp,
} from './entries.js';
import { allocated } from './footprint.js';
import { SHARD_COUNT, shardFileKind } from './layout.js';
import type { LogStore } from './log/log-store.js';

/** The storage engines: one file per entry, or records appended to bucket files. */
export type EngineName = 'files' | 'log';

/**
 * The one interface between the cache's operations and the engine that stores entries: every read,
 * write, removal, key lock, listing and access record goes through it. An entry is named by its path
 * in the `files` layout (`entries/<2 hex>/<key hash>`), whatever the engine: the `log` engine reads
 * only the key hash from it. Implemented by the `files` engine ({@link filesSlots}), the `log`
 * engine ({@link logSlots}), and wrapped by the memory tier and by transactions (which stage writes).
 */
export interface Slots {
  /** Which engine stores the entries. */
  readonly engine: EngineName;
  /**
   * The bytes the disk takes for one stored entry of `entryBytes` bytes (the size of its entry
   * file) in this engine: what `count`/`volume` add for it when it is stored and subtract when it
   * goes, so that `volume()` follows what `du` says of the directory. A function of the size alone,
   * so that every process adds and subtracts the same amount for the same entry.
   */
  footprint(entryBytes: number): number;
  /** Reads and fully verifies the entry at `path`. */
  read(path: string): Op<ReadResult<Entry>>;
  /**
   * What identifies the stored entry at `path` now, cheaply (one `stat` or `fstat`), and the size
   * of the entry; `undefined` if there is none. Any change of the entry changes its id.
   */
  version(path: string): Op<{ id: string; size: number } | undefined>;
  /** Reads and verifies at least the header of the entry at `path`. */
  readHeader(path: string): Op<ReadResult<EntryHeader>>;
  /** Stores the entry laid out in `chunks` at `path`, over whatever is there. */
  write(path: string, chunks: readonly Uint8Array[]): Op<Published>;
  /** Makes a written temp file (a stream's) the entry at `path`. */
  publish(temp: string, path: string): Op<Published>;
  /**
   * Stores several entries, in order (the `log` engine appends the records of one bucket with one
   * write). Stops at the first failure: what was stored until then, and the error.
   */
  writeMany(items: readonly EntryWrite[]): Op<Batch<Published>>;
  /** Removes the entries at `paths`, in order; for each, whether there was one (as {@link writeMany}). */
  removeMany(paths: readonly string[]): Op<Batch<boolean>>;
  /**
   * Stores the entry only if no entry is at `path`; `false` if one is; `undefined` where that cannot
   * be done atomically (a file system without hard links: then, holding the key's lock, the caller
   * looks and uses {@link write}).
   */
  writeIfAbsent(path: string, chunks: readonly Uint8Array[]): Op<Published | false | undefined>;
  /** Removes the entry at `path`; `false` if there was none. */
  remove(path: string): Op<boolean>;
  /** Removes whatever is stored at `path` without reading it; its size, or `undefined` if nothing. */
  discard(path: string): Op<number | undefined>;
  /** Removes the entry at `path` and returns what it was; of concurrent takers, one gets it. */
  take(path: string): Op<ReadResult<Entry>>;
  /** Removes the entry at `path` if, once it is ours, `shouldRemove` holds for its header (or, with `'full'`, the whole entry). */
  removeIf(
    path: string,
    shouldRemove: (found: ReadResult<EntryHeader>) => RemoveVerdict,
    verify?: 'header' | 'full',
  ): Op<Removal>;
  /**
   * Replaces the entry at `path` by the entry `rewrite` lays out from it (or leaves it, if
   * `rewrite` declines), never over a newer entry written meanwhile.
   */
  update(path: string, rewrite: (entry: Entry) => Op<readonly Uint8Array[] | undefined>): Op<Updated>;
  /** Runs `body` holding the lock of the key whose entry is at `path`, across processes. */
  exclusive<T>(path: string, body: () => Op<T>): Op<T>;
  /** Number of groups that {@link list} lists the entries by. */
  readonly groups: number;
  /** The paths of the entries in group `group` (0 … groups − 1), in key-hash order. */
  list(group: number): Op<string[]>;
  /**
   * The file that holds the entry at `path` and where in it the entry starts (with its size, where
   * the file holds more than the entry), for streaming; `undefined` if there is no entry.
   */
  placeOf(path: string): Op<{ file: string; offset: number; size?: number } | undefined>;
  /** Records a time (or count) of access of the entry at `path`, for the eviction policies. */
  recordAccess(path: string, value: number): Op<void>;
  /** The time (or count) of access last recorded for the entry at `path`. */
  accessOf(path: string): Op<number | undefined>;
}

/** An entry to store: its path and the bytes laid out for it. */
export interface EntryWrite {
  path: string;
  chunks: readonly Uint8Array[];
}

/** What a batch did: a result for each item done (`undefined` for those not done), and why it stopped. */
export interface Batch<T> {
  done: (T | undefined)[];
  error?: unknown;
}

/** Runs `step` on each item in order, stopping at the first failure. */
export function* oneByOne<I, T>(items: readonly I[], step: (item: I) => Op<T>): Op<Batch<T>> {
  const done: T[] = [];
  try {
    for (const item of items) done.push(yield* step(item));
  } catch (error) {
    return { done, error };
  }
  return { done };
}

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
    return yield* publish(store, yield* writeTemp(store, path, chunks), path);
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

/** The `log` engine's slots, over its store (see `store/log/log-store.ts`). */
export function logSlots(log: LogStore): Slots {
  return {
    engine: 'log',
    groups: log.groups,
    footprint: (entryBytes) => log.footprint(entryBytes),
    read: (path) => log.read(path),
    version: (path) => log.version(path),
    readHeader: (path) => log.readHeader(path),
    write: (path, chunks) => log.write(path, chunks),
    publish: (temp, path) => log.publish(temp, path),
    writeMany: (items) => log.writeMany(items),
    removeMany: (paths) => log.removeMany(paths),
    writeIfAbsent: (path, chunks) => log.writeIfAbsent(path, chunks),
    remove: (path) => log.remove(path),
    discard: (path) => log.discard(path),
    take: (path) => log.take(path),
    removeIf: (path, shouldRemove, verify) => log.removeIf(path, shouldRemove, verify),
    update: (path, rewrite) => log.update(path, rewrite),
    exclusive: (path, body) => log.exclusive(path, body),
    list: (group) => log.list(group),
    placeOf: (path) => log.placeOf(path),
    recordAccess: (path, value) => log.recordAccess(path, value),
    accessOf: (path) => log.accessOf(path),
  };
}
