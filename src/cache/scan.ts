import { basename, join } from 'node:path';
import { type Entry, type EntryHeader, staleUntil } from '../format/entry.js';
import { assertKey, decodeKey, encodeKey, type Key, keyHash } from '../format/key.js';
import { emit, io, type Op } from '../fs/runner.js';
import { isPlainInside } from '../store/directories.js';
import { SHARD_COUNT, type ShardFileKind, shardFileKind } from '../store/layout.js';
import { type CacheContext, countRemoved, decodeEntry, quarantine } from './context.js';
import { type EvictReason, listening, noteEvicted } from './events.js';

/** Calls `visit` for every file in every (plain) shard directory, shard by shard, in name order. */
export function* forEachFile(
  ctx: CacheContext,
  visit: (path: string, name: string, kind: ShardFileKind) => Op<void>,
): Op<void> {
  for (let n = 0; n < SHARD_COUNT; n++) {
    const dir = ctx.layout.shard(n);
    if (!(yield* isPlainInside(ctx.store, dir))) continue;
    const names = (yield* io('readdir', dir)).sort();
    for (const name of names) {
      if (isClientLeftover(name)) continue;
      yield* visit(join(dir, name), name, shardFileKind(name));
    }
  }
}

/** Calls `visit` for every entry the engine lists, group by group, in key-hash order. */
export function* forEachEntry(ctx: CacheContext, visit: (path: string) => Op<void>): Op<void> {
  for (let group = 0; group < ctx.slots.groups; group++) {
    for (const path of yield* ctx.slots.list(group)) yield* visit(path);
  }
}

/** `clear()`: removes every entry, expired or not; returns how many. */
export function* clear(ctx: CacheContext): Op<number> {
  let removed = 0;
  yield* forEachEntry(ctx, function* (path) {
    // The header is read only for a listener, who is told the key.
    const found = listening(ctx.events, 'evict') ? yield* ctx.slots.readHeader(path) : undefined;
    const size = yield* ctx.slots.discard(path);
    if (size === undefined) return;
    removed++;
    const footprint = yield* countRemoved(ctx, size);
    noteEvicted(ctx.events, 'clear', found?.state === 'ok' ? found.entry : undefined, footprint);
  });
  return removed;
}

/** Removes every entry whose header satisfies `matches` (checked again once the entry is claimed). */
function* removeWhere(
  ctx: CacheContext,
  reason: EvictReason,
  matches: (header: EntryHeader) => boolean,
): Op<number> {
  let removed = 0;
  yield* forEachEntry(ctx, function* (path) {
    const found = yield* ctx.slots.readHeader(path);
    if (found.state !== 'ok' || !matches(found.entry)) return;
    const removal = yield* ctx.slots.removeIf(path, (again) => again.state === 'ok' && matches(again.entry));
    if (!removal.removed) return;
    removed++;
    noteEvicted(ctx.events, reason, found.entry, yield* countRemoved(ctx, removal.size));
  });
  return removed;
}

/** `expire(now)`: removes every entry that has expired at `now` (and whose grace period is over); returns how many. */
export function* expire(ctx: CacheContext, now?: number): Op<number> {
  if (now !== undefined && (typeof now !== 'number' || Number.isNaN(now))) {
    throw new TypeError('diskcache-ts: now must be a number of epoch milliseconds');
  }
  const at = now ?? ctx.clock.now();
  return yield* removeWhere(ctx, 'expired', (h) => {
    const until = staleUntil(h);
    return until !== null && until <= at;
  });
}

/** `evict(tag)`: removes every entry with this tag; returns how many. */
export function* evict(ctx: CacheContext, tag: Key): Op<number> {
  assertKey(tag, 'tag');
  const wanted = encodeKey(tag);
  return yield* removeWhere(
    ctx,
    'tag',
    (h) => h.tag !== undefined && h.tagType === wanted.type && Buffer.compare(h.tag, wanted.bytes) === 0,
  );
}

/** What the iterators yield. */
export type IterationKind = 'keys' | 'values' | 'entries';

/**
 * Emits every live entry's key, value or `[key, value]`, shard by shard in key-hash order. Each key
 * that stays live throughout is emitted once; entries written during the iteration may or may not be.
 */
export function* iterate(ctx: CacheContext, what: IterationKind): Op<void> {
  yield* forEachEntry(ctx, function* (path) {
    const found = what === 'keys' ? yield* ctx.slots.readHeader(path) : yield* ctx.slots.read(path);
    if (found.state !== 'ok' || !storedUnderItsName(basename(path), found.entry)) return;
    const header = found.entry;
    if (header.expiresAt !== null && header.expiresAt <= ctx.clock.now()) return;
    const key = decodeKey(header.keyType, header.key);
    if (key === undefined) return;
    if (what === 'keys') {
      yield* emit(key);
      return;
    }
    // A value this reader cannot decode (damaged, or of a codec it lacks) is passed over.
    const decoded = decodeEntry(ctx, found.entry as Entry);
    if (!decoded.ok) return;
    yield* emit(what === 'values' ? decoded.value : [key, decoded.value]);
  });
}

/** Whether a file name matches the key stored in it. */
export function storedUnderItsName(name: string, header: EntryHeader): boolean {
  return keyHash({ type: header.keyType, bytes: header.key }) === name;
}

/** `cull()`: removes expired entries, then evicts by the policy until `volume() <= sizeLimit`; returns how many. */
export function* cull(ctx: CacheContext): Op<number> {
  const expired = yield* expire(ctx);
  return expired + (yield* ctx.evictor.evict(ctx, Number.POSITIVE_INFINITY, true));
}

/**
 * `peekItem({ last })`: the live entry stored most recently (or, with `last: false`, least recently)
 * as `[key, value]`. Reads every entry header: O(n).
 */
export function* peekItem(
  ctx: CacheContext,
  options: { last?: boolean } = {},
): Op<[Key, unknown] | undefined> {
  const last = options.last ?? true;
  const bad = new Set<string>();
  for (;;) {
    const now = ctx.clock.now();
    let best: { path: string; storedAt: number } | undefined;
    yield* forEachEntry(ctx, function* (path) {
      if (bad.has(path)) return;
      const found = yield* ctx.slots.readHeader(path);
      if (found.state !== 'ok' || !storedUnderItsName(basename(path), found.entry)) return;
      const h = found.entry;
      if (h.expiresAt !== null && h.expiresAt <= now) return;
      if (best === undefined || (last ? h.storedAt > best.storedAt : h.storedAt < best.storedAt)) {
        best = { path, storedAt: h.storedAt };
      }
    });
    if (best === undefined) return undefined;
    const found = yield* ctx.slots.read(best.path);
    const key = found.state === 'ok' ? decodeKey(found.entry.keyType, found.entry.key) : undefined;
    const decoded = found.state === 'ok' ? decodeEntry(ctx, found.entry) : undefined;
    if (key !== undefined && decoded?.ok) return [key, decoded.value];
    // Corrupt, undecodable, of a codec this reader lacks, or gone since its header was read: pass
    // it over (setting aside what no one can read) and look again.
    bad.add(best.path);
    if (found.state === 'corrupt' || (decoded?.ok === false && !decoded.foreign)) {
      yield* quarantine(ctx, best.path);
    }
  }
}

/**
 * Whether a name is a network or FUSE client's own: a removed file still open somewhere, kept under a
 * hidden name until it is closed (`.nfs…` by NFS, `.fuse_hidden…` by FUSE clients such as sshfs).
 */
export function isClientLeftover(name: string): boolean {
  return name.startsWith('.nfs') || name.startsWith('.fuse_hidden');
}
