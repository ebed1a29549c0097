import type { CounterStore } from '../coordination/counters.js';
import type { LockOptions } from '../coordination/lock.js';
import type { LogStore } from '../engine/log/log-store.js';
import type { Slots } from '../engine/slots.js';
import { CacheError } from '../errors.js';
import type { Decoded, ValueCodec } from '../format/codec.js';
import type { CompressionKind } from '../format/compression.js';
import type { Totals } from '../format/counters-record.js';
import type { Entry, EntryHeader } from '../format/entry.js';
import { assertKey, type EncodedKey, encodeKey, type Key, keyHash, sameKey } from '../format/key.js';
import type { Op } from '../fs/runner.js';
import { checkOptions } from '../option-names.js';
import { bookkeeping } from '../store/bookkeeping.js';
import type { StoreSettings } from '../store/entries.js';
import type { Layout } from '../store/layout.js';
import { type CacheEventEmitter, type DamagedEvent, headerKey, listening } from './events.js';
import type { Clock, Settings } from './options.js';
import type { Repairs } from './repairs.js';
import { checkGrace, expiryOf } from './ttl.js';

/** Everything an operation needs to know about the cache it runs on. */
export interface CacheContext {
  layout: Layout;
  store: StoreSettings;
  codec: ValueCodec;
  compression: CompressionKind;
  settings: Settings;
  clock: Clock;
  /** The instance's default time to live (`null`: entries without a `ttl` never expire). */
  defaultTtl: number | null;
  counters: CounterStore;
  lock: LockOptions;
  evictor: CacheEvictor;
  /** The engine's entry operations: direct, or staged in a transaction. */
  slots: Slots;
  /** The `log` engine's store, in a `log` cache (`undefined` in a `files` cache). */
  log?: LogStore | undefined;
  /** Repairs made outside `check()`, which the next `check()` reports. */
  repairs: Repairs;
  /** Where evictions, damaged entries and refused values are told. */
  events: CacheEventEmitter;
}

/** What operations ask of the evictor (`Evictor`, `src/cache/evict.ts`). */
export interface CacheEvictor {
  /** Runs after each write that may have grown the cache (`expiresAt`: the written entry's expiry). */
  afterWrite(ctx: CacheContext, expiresAt?: number | null): Op<void>;
  /** Evicts up to `budget` entries, expired ones first; returns how many were removed. */
  evict(ctx: CacheContext, budget: number, untilUnder: boolean): Op<number>;
}

/** Where a key lives. */
export interface Located {
  key: Key;
  encoded: EncodedKey;
  hash: string;
  path: string;
}

/** Validates `key` and finds its entry file. */
export function locate(ctx: CacheContext, key: unknown): Located {
  assertKey(key);
  const encoded = encodeKey(key);
  const hash = keyHash(encoded);
  return { key, encoded, hash, path: ctx.layout.entry(hash) };
}

/** Whether an entry is for this key and has not expired at `now`. */
export function isLiveFor(header: EntryHeader, at: Located, now: number): boolean {
  return (
    sameKey(at.encoded, header.keyType, header.key) && (header.expiresAt === null || header.expiresAt > now)
  );
}

/** Whether an entry is for this key, expired at `now`, and still in its grace period. */
export function isStaleFor(header: EntryHeader, at: Located, now: number): boolean {
  const { expiresAt } = header;
  return (
    expiresAt !== null &&
    expiresAt <= now &&
    now < expiresAt + header.graceMs &&
    sameKey(at.encoded, header.keyType, header.key)
  );
}

/** Options accepted by the writing methods. */
export interface WriteOptions {
  /**
   * Time to live in milliseconds; `0` or `null`: never expires; omitted or `undefined`: the
   * cache's default `ttl` option. Negative, `NaN` and infinite values are a `RangeError`.
   */
  ttl?: number | null | undefined;
  /** A tag, for `evict(tag)`. */
  tag?: Key | null | undefined;
  /**
   * Milliseconds after expiry during which `getOrSet` may still serve the expired value (while one
   * caller recomputes it, or when the computation fails); other reads see it expired. @default 0
   */
  grace?: number | undefined;
}

/** What an entry is written with: its expiry, grace period and tag, validated. */
export interface Terms {
  expiresAt: number | null;
  graceMs: number;
  tag: EncodedKey | undefined;
}

const WRITE_OPTIONS = new Set(['ttl', 'tag', 'grace']);

/** Validates write options and turns them into the {@link Terms} an entry is written with. */
export function writeTerms(ctx: CacheContext, options: WriteOptions | undefined): Terms {
  if (options === undefined)
    return { expiresAt: expiryOf(undefined, ctx.defaultTtl, ctx.clock.now()), graceMs: 0, tag: undefined };
  checkOptions(options, WRITE_OPTIONS, 'write');
  const { ttl, tag } = options;
  const expiresAt = expiryOf(ttl, ctx.defaultTtl, ctx.clock.now());
  const graceMs = checkGrace(options.grace);
  if (tag === undefined || tag === null) return { expiresAt, graceMs, tag: undefined };
  assertKey(tag, 'tag');
  return { expiresAt, graceMs, tag: encodeKey(tag) };
}

/** Records a change in the shared counters. */
export function* addToCounters(ctx: CacheContext, change: Partial<Totals>): Op<void> {
  if (change.count || change.volume || change.hits || change.misses) yield* ctx.counters.add(change);
}

/**
 * Records in the counters that an entry of `entryBytes` bytes (the size of its entry file) is gone,
 * and returns the space it took as `volume()` counts it: the engine's footprint of that size.
 */
export function* countRemoved(ctx: CacheContext, entryBytes: number): Op<number> {
  const footprint = ctx.slots.footprint(entryBytes);
  yield* addToCounters(ctx, { count: -1, volume: -footprint });
  return footprint;
}

/** Decodes an entry's value with the cache's codec. */
export function decodeEntry(ctx: CacheContext, entry: Entry): Decoded {
  return ctx.codec.decode(entry.valueKind, entry.value, entry.codecName);
}

/**
 * Moves a corrupt or undecodable entry aside into `corrupt/` (if it still is so once claimed) and
 * forgets it in the counters: bookkeeping, so skipped on a read-only store.
 */
export function* quarantine(ctx: CacheContext, path: string): Op<void> {
  // On a network file system a read that fails verification may be torn or stale (another host is
  // replacing the file): a miss then, and check({ fix: true }) decides on a fresh read.
  if (ctx.store.remote) return;
  yield* bookkeeping(ctx.store, function* () {
    let damage: DamagedEvent | undefined;
    const removal = yield* ctx.slots.removeIf(
      path,
      (found) => {
        const why =
          found.state === 'corrupt'
            ? found.reason
            : found.state === 'ok'
              ? undecodable(ctx, found.entry as Entry)
              : undefined;
        if (why === undefined) return false;
        damage = { key: found.state === 'ok' ? headerKey(found.entry) : undefined, path, reason: why };
        return found.state === 'corrupt' || 'aside';
      },
      'full',
    );
    if (!removal.removed) return;
    yield* countRemoved(ctx, removal.size);
    if (damage !== undefined && listening(ctx.events, 'damaged')) ctx.events.emit('damaged', damage);
  });
}

/**
 * Why no reader can decode an entry's value (its bytes are not what its kind or codec reads), or
 * `undefined` if this reader decodes it or lacks its codec.
 */
export function undecodable(ctx: CacheContext, entry: Entry): string | undefined {
  const decoded = decodeEntry(ctx, entry);
  return decoded.ok || decoded.foreign ? undefined : decoded.reason;
}

/**
 * The value of an entry found live for `key`, or `undefined` for a miss. An entry whose bytes pass
 * their checksums but do not decode (forged, or damaged before they were summed) is a miss, and is
 * moved aside from `path` (`undefined` when the caller already took the entry out). An entry that
 * needs a custom codec this reader lacks is a `CacheError` `'ECODEC'`: it may be fine for others.
 */
export function* storedValue(
  ctx: CacheContext,
  key: Key,
  entry: Entry,
  path: string | undefined,
): Op<{ value: unknown } | undefined> {
  const decoded = decodeEntry(ctx, entry);
  if (decoded.ok) return { value: decoded.value };
  if (decoded.foreign) {
    throw new CacheError('ECODEC', decoded.reason, { key, directory: ctx.layout.directory, path });
  }
  if (path !== undefined) yield* quarantine(ctx, path);
  return undefined;
}

/** The error for a key that `incr` with `defaultValue: null` did not find. */
export function keyMissing(key: Key, directory: string): CacheError {
  return new CacheError('EKEYMISSING', `key ${String(key)} is not in the cache`, { key, directory });
}
