import type { Entry, EntryHeader } from '../format/entry.js';
import type { Op } from '../fs/runner.js';
import type { Published, ReadResult, Removal, RemoveVerdict, Updated } from '../store/entries.js';

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
