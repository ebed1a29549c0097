import * as v8 from 'node:v8';
import { CacheError } from '../errors.js';
import { type EncodedValue, ValueKind } from '../format/codec.js';
import { pack } from '../format/compression.js';
import { type Entry, encodeEntry, staleUntil } from '../format/entry.js';
import { decodeKey, type Key } from '../format/key.js';
import type { Op } from '../fs/runner.js';
import { POLICIES } from '../policy/policies.js';
import { bookkeeping } from '../store/bookkeeping.js';
import type { Published } from '../store/entries.js';
import {
  addToCounters,
  type CacheContext,
  countRemoved,
  isLiveFor,
  isStaleFor,
  keyMissing,
  type Located,
  locate,
  quarantine,
  storedValue,
  type Terms,
  undecodable,
  type WriteOptions,
  writeTerms,
} from './context.js';
import { listening } from './events.js';

/** An entry with its metadata, as `getEntry` returns it. */
export interface CacheEntry<V = unknown> {
  key: Key;
  value: V;
  /** Epoch milliseconds, or `null` if the entry never expires. */
  expiresAt: number | null;
  tag: Key | null;
  /** Epoch milliseconds when the entry was stored. */
  storedAt: number;
  /** Bytes the entry takes on disk, as `volume()` counts them (its file or record, see `sizeLimit`). */
  size: number;
}

/** A live entry (or, where asked for, a stale one) and its decoded value. */
interface Hit {
  entry: Entry;
  value: unknown;
  /** Expired, in its grace period. */
  stale: boolean;
}

/**
 * The live entry for `at` with its value, or `undefined`; with `allowStale`, an expired one in its
 * grace period too. Moves a corrupt or undecodable file aside and counts hits and misses (a stale
 * entry is a miss).
 */
function* lookup(ctx: CacheContext, at: Located, allowStale = false): Op<Hit | undefined> {
  const found = yield* ctx.slots.read(at.path);
  const now = ctx.clock.now();
  let hit: Hit | undefined;
  if (found.state === 'corrupt') yield* quarantine(ctx, at.path);
  else if (found.state === 'ok') {
    const stale = allowStale && isStaleFor(found.entry, at, now);
    if (stale || isLiveFor(found.entry, at, now)) {
      const decoded = yield* storedValue(ctx, at.key, found.entry, at.path);
      if (decoded !== undefined) hit = { entry: found.entry, value: decoded.value, stale };
    }
  }
  const { onRead } = POLICIES[ctx.settings.evictionPolicy];
  if (hit !== undefined && onRead !== undefined) {
    yield* bookkeeping(ctx.store, () => onRead(ctx.slots, at.path, now));
  }
  const counted = hit !== undefined && !hit.stale ? { hits: 1 } : { misses: 1 };
  if (ctx.settings.statistics) yield* bookkeeping(ctx.store, () => addToCounters(ctx, counted));
  return hit;
}

function toCacheEntry(ctx: CacheContext, at: Located, { entry, value }: Hit): CacheEntry {
  return {
    key: at.key,
    value,
    expiresAt: entry.expiresAt,
    tag: entry.tag === undefined ? null : (decodeKey(entry.tagType, entry.tag) ?? null),
    storedAt: entry.storedAt,
    size: ctx.slots.footprint(entry.fileSize),
  };
}

/** `get(key, defaultValue)`. */
export function* get(ctx: CacheContext, key: Key, defaultValue?: unknown): Op<unknown> {
  const at = locate(ctx, key);
  const hit = yield* lookup(ctx, at);
  return hit === undefined ? defaultValue : hit.value;
}

/** `getEntry(key)`. */
export function* getEntry(ctx: CacheContext, key: Key): Op<CacheEntry | undefined> {
  const at = locate(ctx, key);
  const hit = yield* lookup(ctx, at);
  return hit === undefined ? undefined : toCacheEntry(ctx, at, hit);
}

/** A value found by {@link getFreshOrStale}. */
export interface Found {
  value: unknown;
  /** Expired, in its grace period. */
  stale: boolean;
  storedAt: number;
  expiresAt: number | null;
}

/** The value of `key` and whether it is stale (expired, in its grace period), or `undefined`. */
export function* getFreshOrStale(ctx: CacheContext, key: Key): Op<Found | undefined> {
  const hit = yield* lookup(ctx, locate(ctx, key), true);
  if (hit === undefined) return undefined;
  const { storedAt, expiresAt } = hit.entry;
  return { value: hit.value, stale: hit.stale, storedAt, expiresAt };
}

/** `has(key)`: whether `get` would find the key (an entry of a codec this reader lacks counts). */
export function* has(ctx: CacheContext, key: Key): Op<boolean> {
  const at = locate(ctx, key);
  const found = yield* ctx.slots.read(at.path);
  if (found.state === 'ok' && !isLiveFor(found.entry, at, ctx.clock.now())) return false;
  if (found.state === 'ok' && undecodable(ctx, found.entry) === undefined) return true;
  if (found.state !== 'missing') yield* quarantine(ctx, at.path);
  return false;
}

/** An entry laid out for writing. */
export interface Prepared {
  chunks: Uint8Array[];
  size: number;
  /** When the entry may be removed (the end of its grace period), or `null`. */
  staleUntil: number | null;
}

/** Lays out an entry for writing, its value compressed as the settings say. */
export function* prepare(
  ctx: CacheContext,
  at: Located,
  value: EncodedValue,
  terms: Terms,
  storedAt = ctx.clock.now(),
): Op<Prepared> {
  const stored = yield* pack(ctx.compression, ctx.settings.compressThreshold, value.bytes);
  const { expiresAt, graceMs, tag } = terms;
  const encoded = encodeEntry({ key: at.encoded, tag, value, storedAt, expiresAt, graceMs, stored });
  return { ...encoded, staleUntil: staleUntil(terms) };
}

/**
 * Whether an entry is refused for being alone larger than `sizeLimit` (where the policy evicts): it
 * would evict everything else and then itself. Tells the listeners of `refused`.
 */
export function refusedForSize(ctx: CacheContext, at: Located, prepared: Prepared): boolean {
  const { sizeLimit, evictionPolicy } = ctx.settings;
  const size = ctx.slots.footprint(prepared.size);
  if (!POLICIES[evictionPolicy].evicts || size <= sizeLimit) return false;
  if (listening(ctx.events, 'refused')) ctx.events.emit('refused', { key: at.key, size, sizeLimit });
  return true;
}

/** Writes a prepared entry over whatever is at `at` and counts the change. */
function* replace(ctx: CacheContext, at: Located, prepared: Prepared): Op<void> {
  const published = yield* ctx.slots.write(at.path, prepared.chunks);
  yield* afterPublish(ctx, at, prepared, published);
}

/** Publishes a written temp file over whatever is at `at`. */
export function* publishCounted(ctx: CacheContext, temp: string, at: Located, prepared: Prepared): Op<void> {
  const published = yield* ctx.slots.publish(temp, at.path);
  yield* afterPublish(ctx, at, prepared, published);
}

/** An entry written: where, what was laid out, and what it replaced. */
export interface Written {
  at: Located;
  prepared: Prepared;
  published: Published;
}

/**
 * What follows writes: counting them (one change of the counters for all), the policy's
 * bookkeeping, and eviction if over the limit (after each, as if written one by one).
 */
export function* afterPublishMany(ctx: CacheContext, written: readonly Written[]): Op<void> {
  let created = 0;
  let volume = 0;
  for (const { prepared, published } of written) {
    if (published.created) created++;
    volume += ctx.slots.footprint(prepared.size) - ctx.slots.footprint(published.replacedSize);
  }
  yield* addToCounters(ctx, { count: created, volume });
  const policy = POLICIES[ctx.settings.evictionPolicy];
  for (const { at, prepared } of written) {
    if (policy.onWrite !== undefined) yield* policy.onWrite(ctx.slots, at.path, ctx.clock.now());
    yield* ctx.evictor.afterWrite(ctx, prepared.staleUntil);
  }
}

/** {@link afterPublishMany} of one write. */
export function* afterPublish(
  ctx: CacheContext,
  at: Located,
  prepared: Prepared,
  published: Published = { created: true, replacedSize: 0 },
): Op<void> {
  yield* afterPublishMany(ctx, [{ at, prepared, published }]);
}

/**
 * `add(key, value, { ttl, tag })`: stores only if no live entry is there. Where nothing is, the
 * engine stores it exactly once (a hard link, or a conditional record) without a lock; an expired
 * or corrupt entry is replaced under the key's lock.
 */
export function* add(ctx: CacheContext, key: Key, value: unknown, options?: WriteOptions): Op<boolean> {
  const at = locate(ctx, key);
  const prepared = yield* prepare(ctx, at, ctx.codec.encode(value), writeTerms(ctx, options));
  if (refusedForSize(ctx, at, prepared)) return false;
  const published = yield* ctx.slots.writeIfAbsent(at.path, prepared.chunks);
  if (published) {
    yield* afterPublish(ctx, at, prepared, published);
    return true;
  }
  return yield* ctx.slots.exclusive(at.path, function* () {
    const now = ctx.clock.now();
    // Look before removing: a live entry is never moved, even for a moment (another process's
    // add would find the place empty and win too).
    const current = yield* ctx.slots.read(at.path);
    if (current.state === 'ok' && isLiveFor(current.entry, at, now)) return false;
    // The look above may be stale on a network client; the removal below is not: a live entry it
    // finds stays, and add loses.
    let liveFound = false;
    const removal = yield* ctx.slots.removeIf(
      at.path,
      (found) => {
        liveFound = found.state === 'ok' && isLiveFor(found.entry, at, now);
        return !liveFound;
      },
      'full',
    );
    if (removal.removed) yield* countRemoved(ctx, removal.size);
    if (liveFound) return false;
    // Without hard links, the look above decides (under the lock).
    const placed =
      (yield* ctx.slots.writeIfAbsent(at.path, prepared.chunks)) ??
      (yield* ctx.slots.write(at.path, prepared.chunks));
    if (placed === false) return false;
    yield* afterPublish(ctx, at, prepared, placed);
    return true;
  });
}

/** `pop(key, defaultValue)`: removes and returns the value; of concurrent poppers exactly one gets it. */
export function* pop(ctx: CacheContext, key: Key, defaultValue?: unknown): Op<unknown> {
  const at = locate(ctx, key);
  return yield* ctx.slots.exclusive(at.path, function* () {
    const found = yield* ctx.slots.take(at.path);
    if (found.state === 'missing') return defaultValue;
    yield* countRemoved(ctx, found.state === 'ok' ? found.entry.fileSize : found.size);
    if (found.state !== 'ok' || !isLiveFor(found.entry, at, ctx.clock.now())) return defaultValue;
    // Taken out already: an undecodable entry is gone, and a miss.
    return ((yield* storedValue(ctx, key, found.entry, undefined)) ?? { value: defaultValue }).value;
  });
}

/** Whether `v` is a number or a bigint (what `incr` adds). */
export function isNumeric(v: unknown): v is number | bigint {
  return typeof v === 'number' || typeof v === 'bigint';
}

/** `a + b`, as a bigint if either is one; a fraction cannot be added to a bigint (`RangeError`). */
export function sum(a: number | bigint, b: number | bigint): number | bigint {
  if (typeof a === 'number' && typeof b === 'number') return a + b;
  const toBig = (v: number | bigint) => {
    if (typeof v === 'bigint') return v;
    if (!Number.isInteger(v)) throw new RangeError(`diskcache-ts: cannot add the fraction ${v} to a bigint`);
    return BigInt(v);
  };
  return toBig(a) + toBig(b);
}

/** Counters are stored in built-in forms that every reader decodes, whatever its codec. */
function numberValue(n: number | bigint): EncodedValue {
  if (typeof n === 'bigint') return { kind: ValueKind.Structured, bytes: v8.serialize(n), codecName: '' };
  const bytes = Buffer.allocUnsafe(8);
  bytes.writeDoubleLE(n);
  return { kind: ValueKind.Float64, bytes, codecName: '' };
}

/** Refuses an `incr` delta or default that is no number (`TypeError`). */
export function checkIncr(delta: unknown, defaultValue: unknown): void {
  if (!isNumeric(delta)) throw new TypeError('diskcache-ts: delta must be a number or a bigint');
  if (defaultValue !== null && !isNumeric(defaultValue)) {
    throw new TypeError('diskcache-ts: defaultValue must be a number, a bigint or null');
  }
}

/**
 * `incr(key, delta, defaultValue)`: adds `delta` under the key's lock, so that increments from any
 * number of processes are never lost. Keeps the entry's expiry and tag.
 */
export function* incr(
  ctx: CacheContext,
  key: Key,
  delta: number | bigint = 1,
  defaultValue: number | bigint | null = 0,
): Op<number | bigint> {
  const at = locate(ctx, key);
  checkIncr(delta, defaultValue);
  return yield* ctx.slots.exclusive(at.path, function* () {
    const found = yield* ctx.slots.read(at.path);
    const stored =
      found.state === 'ok' && isLiveFor(found.entry, at, ctx.clock.now())
        ? yield* storedValue(ctx, key, found.entry, at.path)
        : undefined;
    // A value that does not decode was moved aside: the key counts as missing.
    const live = stored === undefined ? undefined : (found as { entry: Entry }).entry;
    if (stored === undefined && defaultValue === null) throw keyMissing(key, ctx.layout.directory);
    const current: unknown = stored === undefined ? defaultValue : stored.value;
    if (!isNumeric(current)) {
      throw new CacheError('ENOTNUMBER', `the value of key ${String(key)} is not a number`, {
        key,
        directory: ctx.layout.directory,
      });
    }
    const next = sum(current, delta);
    const prepared = yield* prepare(ctx, at, numberValue(next), {
      expiresAt: live?.expiresAt ?? null,
      graceMs: live?.graceMs ?? 0,
      tag: live?.tag === undefined ? undefined : { type: live.tagType, bytes: live.tag },
    });
    yield* replace(ctx, at, prepared);
    return next;
  });
}

/**
 * `touch(key, { ttl })`: gives a live entry a new expiry; `false` if there is none. The entry is
 * rewritten from exactly what is claimed, and never over a newer value another writer sets meanwhile.
 */
export function* touch(ctx: CacheContext, key: Key, options?: Pick<WriteOptions, 'ttl'>): Op<boolean> {
  const at = locate(ctx, key);
  const { expiresAt } = writeTerms(ctx, options);
  return yield* ctx.slots.exclusive(at.path, function* () {
    let prepared: Prepared | undefined;
    const now = ctx.clock.now();
    const result = yield* ctx.slots.update(at.path, function* (e) {
      if (!isLiveFor(e, at, now)) return undefined;
      const value: EncodedValue = { kind: e.valueKind, bytes: e.value, codecName: e.codecName };
      const tag = e.tag === undefined ? undefined : { type: e.tagType, bytes: e.tag };
      prepared = yield* prepare(ctx, at, value, { expiresAt, graceMs: e.graceMs, tag }, e.storedAt);
      return prepared.chunks;
    });
    if (result.lost !== undefined) yield* countRemoved(ctx, result.lost);
    if (result.found.state !== 'ok') return false;
    if (result.written && prepared !== undefined) {
      yield* afterPublish(ctx, at, prepared, { created: false, replacedSize: result.found.entry.fileSize });
    }
    return isLiveFor(result.found.entry, at, now);
  });
}
