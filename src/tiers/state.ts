import type { EventEmitter } from 'node:events';
import type { Key } from '../format/key.js';
import type { Op } from '../fs/runner.js';
import type { Tier } from './options.js';
import { keyId, WriteBehind } from './write-behind.js';

/** What a `TieredCache` was doing when a tier failed, as its `'degraded'` event says. */
export type TieredOperation =
  | 'read'
  | 'verify'
  | 'copy'
  | 'set'
  | 'delete'
  | 'clear'
  | 'evict'
  | 'getOrSet'
  | 'close';

/** A failure of a tier that was skipped, as the `'degraded'` event tells it. */
export interface DegradedEvent {
  /** The tier's name. */
  tier: string;
  /**
   * What was being done: `'copy'` is a copy into an upper tier of what a lower one holds (or of
   * what the last tier said of a key); `'close'`, the flush of `close()`.
   */
  operation: TieredOperation;
  /** The key, for operations on one key. */
  key?: Key;
  error: unknown;
  /**
   * The tier lacks a write and nothing will retry it: a write to it failed (`whenDown: 'skip'`), or
   * a queued write was dropped (the queue full while its tier was down, a value the tier can never
   * store, or `close()`). Otherwise a failed queued write stays queued and is retried.
   */
  lost: boolean;
}

/** The events of a `TieredCache`. */
export interface TieredEvents {
  degraded: [event: DegradedEvent];
}

/** A key being read, and whether it was written since the read began (then nothing is copied up). */
interface Reading {
  readers: number;
  written: boolean;
}

/** What the operations of a `TieredCache` work on. */
export interface TieredState {
  readonly tiers: readonly Tier[];
  /** Each tier's write-behind queue (`writes: 'behind'`), by position (filled by {@link makeQueues}). */
  readonly queues: (WriteBehind | undefined)[];
  /** The position of the last writable tier, which the copies above it answer to (`-1`: none). */
  readonly authority: number;
  readonly maxStaleness: number;
  readonly defaultTtl: number | null;
  readonly events: EventEmitter<TieredEvents>;
  /** Failures skipped per tier, and the last of them. */
  readonly failures: { count: number; last: unknown }[];
  /** The keys being read now, by {@link keyId}. */
  readonly reading: Map<string, Reading>;
}

/** The tier `i` of `s` (always there: positions come from the array). */
export function tierAt(s: TieredState, i: number): Tier {
  return s.tiers[i] as Tier;
}

/** Tells of a skipped failure of tier `i`. */
export function noteFailure(
  s: TieredState,
  i: number,
  operation: TieredOperation,
  key: Key | undefined,
  error: unknown,
  lost: boolean,
): void {
  const failures = s.failures[i] as { count: number; last: unknown };
  failures.count++;
  failures.last = error;
  const event: DegradedEvent = { tier: tierAt(s, i).name, operation, error, lost };
  if (key !== undefined) event.key = key;
  s.events.emit('degraded', event);
}

/** Gives each tier that has `writes: 'behind'` its write-behind queue. */
export function makeQueues(s: TieredState): void {
  for (const [i, tier] of s.tiers.entries()) {
    s.queues[i] =
      tier.writes === 'behind'
        ? new WriteBehind(tier.backend, tier.queueLimit, (item, error, lost) =>
            noteFailure(s, i, item.envelope === undefined ? 'delete' : 'set', item.key, error, lost),
          )
        : undefined;
  }
}

/**
 * Runs `op` against tier `i`. If it fails, the error is thrown where the tier says `whenDown:
 * 'fail'` (unless `skip`); otherwise it is told of (`lost` as given) and `fallback` is returned.
 */
export function* guarded<T>(
  s: TieredState,
  i: number,
  what: { operation: TieredOperation; key?: Key | undefined; lost?: boolean; skip?: boolean },
  op: Op<T>,
  fallback: T,
): Op<T> {
  try {
    return yield* op;
  } catch (error) {
    if (what.skip !== true && tierAt(s, i).whenDown === 'fail') throw error;
    noteFailure(s, i, what.operation, what.key, error, what.lost === true);
    return fallback;
  }
}

/** Runs `op`, a read of `key`, noting whether `key` is written meanwhile (see {@link writtenSince}). */
export function* reading<T>(s: TieredState, key: Key, op: (isWritten: () => boolean) => Op<T>): Op<T> {
  const id = keyId(key);
  let entry = s.reading.get(id);
  if (entry === undefined) {
    entry = { readers: 0, written: false };
    s.reading.set(id, entry);
  }
  entry.readers++;
  const seen = entry;
  try {
    return yield* op(() => seen.written);
  } finally {
    if (--seen.readers === 0 && s.reading.get(id) === seen) s.reading.delete(id);
  }
}

/** Marks `key` (or, without one, every key) as written for the reads under way. */
export function markWritten(s: TieredState, key?: Key): void {
  if (s.reading.size === 0) return;
  if (key === undefined) for (const entry of s.reading.values()) entry.written = true;
  else {
    const entry = s.reading.get(keyId(key));
    if (entry !== undefined) entry.written = true;
  }
}
