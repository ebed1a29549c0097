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
  /** How writes made so far are told apart from reads under way (see {@link writtenSince}). */
  readonly writes: WriteClock;
}

/**
 * A count of this instance's writes, and when each key was last written by that count, so that a
 * read can tell whether its key was written while it ran. Bounded: past {@link WRITTEN_KEYS} keys
 * it forgets them all and says of every read under way that its key was written (which only
 * spares a copy).
 */
export interface WriteClock {
  now: number;
  /** Writes of every key (`clear`, `evict`, or the forgetting) up to this count. */
  all: number;
  readonly byKey: Map<string, number>;
}

const WRITTEN_KEYS = 10_000;

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
export function* guarded<T>(s: TieredState, i: number, what: Failure, op: Op<T>, fallback: T): Op<T> {
  try {
    return yield* op;
  } catch (error) {
    skipFailure(s, i, what, error);
    return fallback;
  }
}

/** What was being done when a tier failed, and how to take it (see {@link guarded}). */
export interface Failure {
  operation: TieredOperation;
  key?: Key | undefined;
  lost?: boolean;
  skip?: boolean;
}

/** Throws `error` of tier `i` where it says `whenDown: 'fail'` (unless `what.skip`); else tells of it. */
export function skipFailure(s: TieredState, i: number, what: Failure, error: unknown): void {
  if (what.skip !== true && tierAt(s, i).whenDown === 'fail') throw error;
  noteFailure(s, i, what.operation, what.key, error, what.lost === true);
}

/** Counts a write of `key` (or, without one, of every key). */
export function markWritten(s: TieredState, key?: Key): void {
  const clock = s.writes;
  clock.now++;
  if (key === undefined || clock.byKey.size >= WRITTEN_KEYS) {
    clock.byKey.clear();
    clock.all = clock.now;
  }
  if (key !== undefined) clock.byKey.set(keyId(key), clock.now);
}

/** Whether `key` was written since the count was `since` (a read's start: `s.writes.now` then). */
export function writtenSince(s: TieredState, key: Key, since: number): boolean {
  const clock = s.writes;
  return clock.now !== since && (clock.all > since || (clock.byKey.get(keyId(key)) ?? 0) > since);
}
