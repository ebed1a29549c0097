import type { EvictionPolicy } from '../cache/options.js';
import type { EntryHeader } from '../format/entry.js';
import type { FileInfo } from '../fs/backend.js';
import { io, type Op } from '../fs/runner.js';

/**
 * An eviction policy as data: how to rank an entry (lower goes first) and what a read records.
 * Both keep their bookkeeping in the entry file's modification time, which reads never change (the
 * kernel may update access times on reads, so those are not used): LRU stores the last access time
 * (from the cache's clock, also set on write), LFU the access count (as seconds since the epoch, so a
 * count is always far below any real date). Neither rewrites the entry: a read costs one `utimes`
 * (LFU also a `stat`).
 */
export interface Policy {
  /** Whether the policy evicts by size at all (`'none'` only removes expired entries). */
  readonly evicts: boolean;
  /** Whether ranking needs the file's times. */
  readonly needsTimes: boolean;
  /** The entry's rank: entries with lower ranks are evicted first. */
  rank(header: EntryHeader, info: FileInfo | undefined): number;
  /** Records a read of the entry at `path`, at `now`. */
  onRead?(path: string, now: number): Op<void>;
  /** Records a write of the entry at `path`, at `now`. */
  onWrite?(path: string, now: number): Op<void>;
}

/** Access counts are stored as modification times below this (in ms): 1e12 ms is September 2001. */
const COUNT_CEILING_MS = 1e12;

function accessCount(info: FileInfo | undefined): number {
  return info !== undefined && info.mtimeMs < COUNT_CEILING_MS ? Math.floor(info.mtimeMs / 1000) : 0;
}

/**
 * The policies, by name: a table without a prototype, so that only its own names are found
 * (`POLICIES['toString']` is `undefined`).
 */
export const POLICIES: Readonly<Record<EvictionPolicy, Policy>> = Object.setPrototypeOf(
  {
    'least-recently-stored': {
      evicts: true,
      needsTimes: false,
      rank: (header) => header.storedAt,
    },
    'least-recently-used': {
      evicts: true,
      needsTimes: true,
      rank: (header, info) => info?.mtimeMs ?? header.storedAt,
      *onRead(path, now) {
        yield* io('utimes', path, now, now);
      },
      *onWrite(path, now) {
        yield* io('utimes', path, now, now);
      },
    },
    'least-frequently-used': {
      evicts: true,
      needsTimes: true,
      rank: (_header, info) => accessCount(info),
      *onRead(path, now) {
        const info = yield* io('stat', path);
        if (info !== undefined) yield* io('utimes', path, now, (accessCount(info) + 1) * 1000);
      },
    },
    none: {
      evicts: false,
      needsTimes: false,
      rank: (header) => header.storedAt,
    },
  } satisfies Record<EvictionPolicy, Policy>,
  null,
);
