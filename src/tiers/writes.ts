import type { WriteOptions } from '../cache/context.js';
import { checkTtl, expiryOf } from '../cache/ttl.js';
import { CacheError } from '../errors.js';
import { assertKey, type Key } from '../format/key.js';
import { type Op, twin } from '../fs/runner.js';
import { uniqueToken } from '../identity.js';
import { checkOptions } from '../option-names.js';
import type { Envelope } from './envelope.js';
import { guarded, markWritten, type TieredState, tierAt } from './state.js';
import { keyId, type Pending } from './write-behind.js';

/**
 * Writes (or, with no envelope, removes) `item` in tier `i`, through or into its queue. A `copy` (of
 * what a lower tier holds) that fails is told of and never fails the read that made it: the copy's
 * tier only asks the lower tier again. A write of the caller's own that fails under `whenDown:
 * 'skip'` is told of as lost. Returns whether a written-through removal removed a live entry.
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
  return yield* guarded(s, i, { operation, key: item.key, lost: !copy, skip: copy }, op, false);
}

/**
 * Writes `item` to every writable tier but `except`, the last first: a copy is never in an upper tier
 * while the tier it answers to refused it. Returns whether a tier removed a live entry (for a removal).
 */
function* spread(s: TieredState, item: Pending, except = -1): Op<boolean> {
  markWritten(s, item.key);
  let any = false;
  for (let i = s.tiers.length - 1; i >= 0; i--)
    if (i !== except && (yield* writeTo(s, i, item, false))) any = true;
  return any;
}

/** Copies `item` (what tier `to`, or the last tier, said of its key) into the tiers above `to`. */
export function* copyUp(s: TieredState, item: Pending, to: number): Op<void> {
  for (let i = to - 1; i >= 0; i--) yield* writeTo(s, i, item, true);
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

/** Checks the arguments of `set` and `add`. */
export function checkWrite(key: unknown, options: unknown): asserts options is TieredWriteOptions {
  assertKey(key);
  checkOptions(options, WRITE_OPTIONS, 'set');
  const { ttl, tag } = options as TieredWriteOptions;
  checkTtl(ttl);
  if (tag !== undefined && tag !== null) assertKey(tag, 'tag');
}

/** Writes `envelope` to every writable tier but `except`. */
export function store(s: TieredState, envelope: Envelope, except = -1): Op<boolean> {
  return spread(s, { key: envelope.key, envelope }, except);
}

/** `set(key, value, { ttl, tag })`. */
export function* set(s: TieredState, key: Key, value: unknown, options: TieredWriteOptions = {}): Op<true> {
  checkWrite(key, options);
  yield* store(s, envelopeOf(s, key, value, options.ttl, options.tag));
  return true;
}

/**
 * `add(key, value, { ttl, tag })`: stores the value only if the last writable tier, a `Cache`
 * written through, has no live value for the key (its `add`, atomic across every host that shares
 * it), then in the other tiers. Over any other last tier it is refused: nothing else makes it atomic.
 */
export function* add(
  s: TieredState,
  key: Key,
  value: unknown,
  options: TieredWriteOptions = {},
): Op<boolean> {
  checkWrite(key, options);
  const tier = s.authority < 0 ? undefined : tierAt(s, s.authority);
  const cache = tier?.writes === 'through' ? tier.backend.shared : undefined;
  if (cache === undefined) {
    throw new CacheError(
      'EUNSUPPORTED',
      'add() needs a Cache as the last writable tier, written through: only its add is atomic across hosts',
    );
  }
  const envelope = envelopeOf(s, key, value, options.ttl, options.tag);
  const ttl = envelope.expiresAt === null ? 0 : Math.max(1, envelope.expiresAt - envelope.verifiedAt);
  markWritten(s, key);
  const added = yield* twin(
    () => cache.addSync(key, envelope, { ttl, tag: envelope.tag }),
    () => cache.add(key, envelope, { ttl, tag: envelope.tag }),
  );
  if (added) yield* store(s, envelope, s.authority);
  return added;
}

/** `delete(key)`: from every writable tier; whether one of them held it. */
export function* remove(s: TieredState, key: Key): Op<boolean> {
  assertKey(key);
  return yield* spread(s, { key, envelope: undefined });
}

/** `clear()` or `evict(tag)` (with `tag`): in every writable tier; the sum of what they report. */
export function* removeAll(s: TieredState, tag?: Key): Op<number> {
  if (tag !== undefined) assertKey(tag, 'tag');
  const tagId = tag === undefined ? undefined : keyId(tag);
  markWritten(s);
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
    removed += yield* guarded(s, i, { operation: tag === undefined ? 'clear' : 'evict', lost: true }, op, 0);
  }
  return removed;
}

/**
 * Writes what every write-behind queue holds, in order (the sync surface's `flush`); with
 * `dropSkipped`, what a `whenDown: 'skip'` tier fails to take is dropped and told of as lost.
 */
export function* flushInline(s: TieredState, dropSkipped = false): Op<void> {
  for (const [i, queue] of s.queues.entries()) {
    if (queue !== undefined) yield* queue.flushInline(dropSkipped && tierAt(s, i).whenDown === 'skip');
  }
}
