import type { Slots } from '../engine/slots.js';
import type { EntryHeader } from '../format/entry.js';
import type { Op } from '../fs/runner.js';

/**
 * Eviction policies: which entries go first when the cache is over its size limit.
 * (Written here and as the keys of `POLICIES`, which must name each once; `EVICTION_POLICIES`, the
 * validator's list, is read from that table.)
 */
export type EvictionPolicy =
  | 'least-recently-stored'
  | 'least-recently-used'
  | 'least-frequently-used'
  | 'none';

/**
 * An eviction policy as data: how to rank an entry (lower goes first) and what a read records.
 * Both keep their bookkeeping in the engine's access record (the `files` engine: the entry file's
 * modification time, which reads never change; the `log` engine: an access record): LRU stores the
 * last access time (from the cache's clock, also set on write), LFU the access count (as seconds
 * since the epoch, so a count is always far below any real date). Neither rewrites the entry.
 */
export interface Policy {
  /** Whether the policy evicts by size at all (`'none'` only removes expired entries). */
  readonly evicts: boolean;
  /** Whether ranking needs the entry's access record. */
  readonly needsTimes: boolean;
  /** The entry's rank (from its access record, if any): entries with lower ranks are evicted first. */
  rank(header: EntryHeader, access: number | undefined): number;
  /** Records a read of the entry at `path`, at `now`. */
  onRead?(slots: Slots, path: string, now: number): Op<void>;
  /** Records a write of the entry at `path`, at `now`. */
  onWrite?(slots: Slots, path: string, now: number): Op<void>;
}

/** Access counts are stored as modification times below this (in ms): 1e12 ms is September 2001. */
const COUNT_CEILING_MS = 1e12;

function accessCount(access: number | undefined): number {
  return access !== undefined && access < COUNT_CEILING_MS ? Math.floor(access / 1000) : 0;
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
      rank: (header, access) => access ?? header.storedAt,
      onRead: (slots, path, now) => slots.recordAccess(path, now),
      onWrite: (slots, path, now) => slots.recordAccess(path, now),
    },
    'least-frequently-used': {
      evicts: true,
      needsTimes: true,
      rank: (_header, access) => accessCount(access),
      *onRead(slots, path) {
        yield* slots.recordAccess(path, (accessCount(yield* slots.accessOf(path)) + 1) * 1000);
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

/** The names of the eviction policies, in the order of {@link POLICIES} (for `evictionPolicy`'s validator). */
export const EVICTION_POLICIES: readonly EvictionPolicy[] = Object.keys(POLICIES) as EvictionPolicy[];
