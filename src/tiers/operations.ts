import type { EventEmitter } from 'node:events';
import type { WriteOptions } from '../cache/context.js';
import { checkTtl, expiryOf } from '../cache/ttl.js';
import { CacheError } from '../errors.js';
import { assertKey, type Key } from '../format/key.js';
import { type Op, twin } from '../fs/runner.js';
import { uniqueToken } from '../identity.js';
import { checkOptions } from '../option-names.js';
import { type Envelope, isExpired } from './envelope.js';
import type { Tier } from './options.js';
import { keyId, type Pending, WriteBehind } from './write-behind.js';

/** A failure of a tier that was skipped (`whenDown: 'skip'`), as the `'degraded'` event tells it. */
export interface DegradedEvent {
  /** The tier's name. */
  tier: string;
  /**
   * What was being done: `'read'`, `'verify'`, `'copy'` (of a value found in a lower tier, or of what
   * the last tier said of it), `'set'`, `'delete'`, `'clear'`, `'evict'`, `'getOrSet'`.
   */
  operation: string;
  /** The key, for operations on one key. */
  key?: Key;
  error: unknown;
  /**
   * A queued write-behind item was dropped (the queue was full and its tier down): the tier lacks
   * that write. Otherwise the failed item stays queued and is retried.
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
  readonly maxStaleness: number;
  readonly defaultTtl: number | null;
  readonly events: EventEmitter<TieredEvents>;
  /** Failures skipped per tier, and the last of them. */
  readonly failures: { count: number; last: unknown }[];
}

/** The tier `i` of `s` (always there: positions come from the array). */
function tierAt(s: TieredState, i: number): Tier {
  return s.tiers[i] as Tier;
}

/** Tells of a skipped failure of tier `i`. */
export function noteFailure(
  s: TieredState,
  i: number,
  operation: string,
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
 * Runs `op` against tier `i`: its error is thrown where the tier says `whenDown: 'fail'` (and for
 * bad arguments), and is told of with `fallback` returned where it says `'skip'` (or with `skip`).
 */
function* guarded<T>(
  s: TieredState,
  i: number,
  operation: string,
  key: Key | undefined,
  op: Op<T>,
  fallback: T,
  skip = false,
): Op<T> {
  try {
    return yield* op;
  } catch (error) {
    skipped(s, i, operation, key, error, skip);
    return fallback;
  }
}

/** Throws `error` of tier `i` unless the tier says `whenDown: 'skip'` (or `skip`); then tells of it. */
function skipped(
  s: TieredState,
  i: number,
  operation: string,
  key: Key | undefined,
  error: unknown,
  skip = false,
): undefined {
  if (error instanceof TypeError || error instanceof RangeError) throw error;
  if (!skip && tierAt(s, i).whenDown === 'fail') throw error;
  noteFailure(s, i, operation, key, error, false);
  return undefined;
}

/**
 * Writes (or, with no envelope, removes) `item` in tier `i`, through or into its queue. A `copy` (of
 * what a lower tier holds) that fails is told of and never fails the read that made it: the copy's
 * tier will only ask the lower tier again.
 */
function* writeTo(s: TieredState, i: number, item: Pending, copy: boolean): Op<boolean> {
  const tier = tierAt(s, i);
  if (tier.writes === 'none') return false;
  const queue = s.queues[i];
  if (queue !== undefined) {
    yield* queue.enqueue(item, copy || tier.whenDown === 'skip');
    return false;
  }
  const op = item.envelope === undefined ? tier.backend.remove(item.key) : tier.backend.write(item.envelope);
  const operation = copy ? 'copy' : item.envelope === undefined ? 'delete' : 'set';
  return yield* guarded(s, i, operation, item.key, op, false, copy);
}

/**
 * Writes `item` to every writable tier in `[from, to)` but `except`, the last first: a copy is never
 * in an upper tier while the tier it answers to refused it. Returns whether any tier removed a
 * live entry (for a removal).
 */
function* spread(s: TieredState, item: Pending, from: number, to: number, except = -1): Op<boolean> {
  let any = false;
  for (let i = to - 1; i >= from; i--) if (i !== except && (yield* writeTo(s, i, item, false))) any = true;
  return any;
}

/** Copies what the last tier or tier `to` said about a key into the tiers above `to` (see {@link writeTo}). */
function* copyUp(s: TieredState, item: Pending, to: number): Op<void> {
  for (let i = to - 1; i >= 0; i--) yield* writeTo(s, i, item, true);
}

/** A value found, with its envelope and the tier it came from. */
export interface Found {
  envelope: Envelope;
  tier: number;
}

/** Whether a write of `key` waits in the queue of a tier below `i` (so that tier is behind). */
function queuedBelow(s: TieredState, i: number, key: Key): boolean {
  for (let j = i + 1; j < s.tiers.length; j++) if (s.queues[j]?.holds(key)) return true;
  return false;
}

/**
 * Asks the last tier about a copy found in tier `i` that is older than `maxStaleness`: the copy
 * again (now verified), the last tier's newer version, or `undefined` if the last tier no longer
 * holds it. If the last tier cannot be asked and says `'skip'`, the copy is served as it is.
 */
function* verify(s: TieredState, i: number, copy: Envelope, now: number): Op<Envelope | undefined> {
  const last = s.tiers.length - 1;
  const failed = Symbol('failed');
  const truth = yield* guarded<Envelope | undefined | typeof failed>(
    s,
    last,
    'verify',
    copy.key,
    tierAt(s, last).backend.read(copy.key),
    failed,
  );
  if (truth === failed) return copy;
  if (truth === undefined || isExpired(truth, now)) {
    yield* copyUp(s, { key: copy.key, envelope: undefined }, i + 1);
    return undefined;
  }
  const fresh = { ...(truth.version === copy.version ? copy : truth), verifiedAt: now };
  yield* copyUp(s, { key: copy.key, envelope: fresh }, i + 1);
  return fresh;
}

/**
 * The live value of `key` from the first tier that has it, copied into the tiers above that one
 * (with its remaining time to live and its tag); a copy older than `maxStaleness` is first checked
 * against the last tier.
 */
export function* lookup(s: TieredState, key: Key): Op<Found | undefined> {
  assertKey(key);
  const now = Date.now();
  const last = s.tiers.length - 1;
  for (let i = 0; i <= last; i++) {
    let envelope: Envelope | undefined;
    try {
      envelope = yield* tierAt(s, i).backend.read(key);
    } catch (error) {
      envelope = skipped(s, i, 'read', key, error);
    }
    if (envelope === undefined || isExpired(envelope, now)) continue;
    if (i < last && now - envelope.verifiedAt >= s.maxStaleness && !queuedBelow(s, i, key)) {
      envelope = yield* verify(s, i, envelope, now);
      return envelope === undefined ? undefined : { envelope, tier: i };
    }
    if (i === last) envelope = { ...envelope, verifiedAt: now };
    yield* copyUp(s, { key, envelope }, i);
    return { envelope, tier: i };
  }
  return undefined;
}

const WRITE_OPTIONS = new Set(['ttl', 'tag']);

/** Options of `TieredCache.set`. */
export type TieredWriteOptions = Pick<WriteOptions, 'ttl' | 'tag'>;

/** A new envelope for `value` (a new version, verified now). */
export function envelopeOf(
  s: TieredState,
  key: Key,
  value: unknown,
  ttl: unknown,
  tag: Key | null | undefined,
): Envelope {
  const now = Date.now();
  return {
    key,
    value,
    version: uniqueToken(),
    verifiedAt: now,
    expiresAt: expiryOf(ttl, s.defaultTtl, now),
    tag: tag ?? null,
  };
}

/** Checks `set`'s arguments. */
function checkWrite(key: unknown, options: unknown): asserts options is TieredWriteOptions {
  assertKey(key);
  checkOptions(options, WRITE_OPTIONS, 'set');
  const { ttl, tag } = options as TieredWriteOptions;
  checkTtl(ttl);
  if (tag !== undefined && tag !== null) assertKey(tag, 'tag');
}

/** Writes `envelope` to every writable tier but `except`. */
export function store(s: TieredState, envelope: Envelope, except = -1): Op<boolean> {
  return spread(s, { key: envelope.key, envelope }, 0, s.tiers.length, except);
}

/** `set(key, value, { ttl, tag })`. */
export function* set(s: TieredState, key: Key, value: unknown, options: TieredWriteOptions = {}): Op<true> {
  checkWrite(key, options);
  yield* store(s, envelopeOf(s, key, value, options.ttl, options.tag));
  return true;
}

/**
 * `add(key, value, { ttl, tag })`: stores the value only if the last writable tier, a `Cache`, has no
 * live value for the key (its `add`, atomic across every host that shares it), then in the other
 * tiers. Over any other last tier it is refused: nothing else could make it atomic.
 */
export function* add(
  s: TieredState,
  key: Key,
  value: unknown,
  options: TieredWriteOptions = {},
): Op<boolean> {
  checkWrite(key, options);
  let c = s.tiers.length - 1;
  while (c >= 0 && tierAt(s, c).writes === 'none') c--;
  const tier = c < 0 ? undefined : tierAt(s, c);
  const cache = tier?.writes === 'through' ? tier.backend.shared : undefined;
  if (cache === undefined) {
    throw new CacheError(
      'EUNSUPPORTED',
      'add() needs a Cache as the last writable tier, written through: only its add is atomic across hosts',
    );
  }
  const envelope = envelopeOf(s, key, value, options.ttl, options.tag);
  const ttl = envelope.expiresAt === null ? 0 : Math.max(1, envelope.expiresAt - envelope.verifiedAt);
  const added = yield* twin(
    () => cache.addSync(key, envelope, { ttl, tag: envelope.tag }),
    () => cache.add(key, envelope, { ttl, tag: envelope.tag }),
  );
  if (added) yield* store(s, envelope, c);
  return added;
}

/** `delete(key)`: from every writable tier; whether one of them held it. */
export function* remove(s: TieredState, key: Key): Op<boolean> {
  assertKey(key);
  return yield* spread(s, { key, envelope: undefined }, 0, s.tiers.length);
}

/** `clear()` or `evict(tag)` (with `tag`): in every writable tier; the sum of what they report. */
export function* removeAll(s: TieredState, tag?: Key): Op<number> {
  if (tag !== undefined) assertKey(tag, 'tag');
  const tagId = tag === undefined ? undefined : keyId(tag);
  let removed = 0;
  for (let i = s.tiers.length - 1; i >= 0; i--) {
    const tier = tierAt(s, i);
    if (tier.writes === 'none') continue;
    s.queues[i]?.discard(
      ({ envelope }) =>
        tagId === undefined ||
        (envelope !== undefined && envelope.tag !== null && keyId(envelope.tag) === tagId),
    );
    const op = tag === undefined ? tier.backend.clear() : tier.backend.evict(tag);
    removed += yield* guarded(s, i, tag === undefined ? 'clear' : 'evict', undefined, op, 0);
  }
  return removed;
}

/** Writes what every write-behind queue holds, in order (the sync surface's `flush`). */
export function* flushInline(s: TieredState): Op<void> {
  for (const queue of s.queues) if (queue !== undefined) yield* queue.flushInline();
}
