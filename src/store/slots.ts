import type { Entry, EntryHeader } from '../format/entry.js';
import { io, type Op } from '../fs/runner.js';
import {
  claim,
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
} from './entries.js';

/**
 * What the single-key operations do to entry files, behind one interface: directly on the store,
 * or staged inside a transaction (see `cache/transaction.ts`).
 */
export interface Slots {
  /** Reads and fully verifies the entry at `path`. */
  read(path: string): Op<ReadResult<Entry>>;
  /** Reads and verifies only the header of the entry at `path`. */
  readHeader(path: string): Op<ReadResult<EntryHeader>>;
  /** Makes the written temp file the entry at `path`. */
  publish(temp: string, path: string): Op<Published>;
  /** Publishes only if no entry is at `path`; `undefined` where that cannot be done atomically. */
  publishIfAbsent(temp: string, path: string): Op<boolean | undefined>;
  /** Removes the entry at `path`; `false` if there was none. */
  remove(path: string): Op<boolean>;
  /** Removes the entry at `path` and returns what it was; of concurrent takers, one gets it. */
  take(path: string): Op<ReadResult<Entry>>;
  /** Removes the entry at `path` if, once it is ours, `shouldRemove` holds for its header (or, with `'full'`, the whole entry). */
  removeIf(
    path: string,
    shouldRemove: (found: ReadResult<EntryHeader>) => RemoveVerdict,
    verify?: 'header' | 'full',
  ): Op<Removal>;
  /**
   * Replaces the entry at `path` by the temp file `rewrite` writes from it (or leaves it, if
   * `rewrite` declines), never over a newer entry written meanwhile.
   */
  update(path: string, rewrite: (entry: Entry) => Op<string | undefined>): Op<Updated>;
}

const MISSING = { state: 'missing' } as const;

/**
 * Entry operations applied to the store at once. (An entry whose shard directory is not a plain
 * directory, such as a symbolic link planted in a shared directory, is missing to the file system
 * the store runs on: see `fs/confined.ts`.)
 */
export function directSlots(store: StoreSettings): Slots {
  return {
    read: (path) => readEntry(path),
    readHeader: (path) => readHeader(path),
    publish: (temp, path) => publish(store, temp, path),
    publishIfAbsent: (temp, path) => linkIfAbsent(store, temp, path),
    remove: (path) => io('unlink', path),
    *take(path) {
      const claimed = yield* claim(store, path);
      if (claimed === undefined) return MISSING;
      const found = yield* readEntry(claimed);
      if (found.state === 'corrupt') yield* moveToCorrupt(store, claimed);
      else yield* io('unlink', claimed);
      return found;
    },
    removeIf: (path, shouldRemove, verify) => removeIf(store, path, shouldRemove, verify),
    update: (path, rewrite) => update(store, path, rewrite),
  };
}
