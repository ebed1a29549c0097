import type { Key } from '../format/key.js';
import type { Op } from '../fs/runner.js';
import { rejectUnknown } from '../option-names.js';
import {
  addToCounters,
  type CacheContext,
  isLiveFor,
  type Located,
  locate,
  type WriteOptions,
  writeTerms,
} from './context.js';
import { afterPublishMany, get, type Prepared, prepare, refusedForSize, type Written } from './single.js';

/**
 * The batch operations, and `set` and `delete` as batches of one: every write of entries goes
 * through {@link setMany}, every removal by key through {@link deleteMany}. On the `log` engine a
 * batch appends the records of one bucket with one write.
 */

/** An entry of `setMany`: `[key, value]`, or `{ key, value }` with a `ttl` and `tag` of its own. */
export type BatchEntry<V = unknown> =
  | readonly [key: Key, value: V]
  | { key: Key; value: V; ttl?: number | null | undefined; tag?: Key | null | undefined };

const ENTRY_FIELDS = new Set(['key', 'value', 'ttl', 'tag', 'grace']);

/** Throws a `TypeError` unless `items` (a batch's keys or entries) is an array. */
export function assertArray(items: unknown, what: string): asserts items is readonly unknown[] {
  if (!Array.isArray(items)) throw new TypeError(`diskcache-ts: ${what} must be an array`);
}

/** The key, value and write options of one batch entry (its own `ttl`/`tag` over the batch's). */
export function entryTerms(
  entry: unknown,
  options: WriteOptions | undefined,
): [Key, unknown, WriteOptions | undefined] {
  if (Array.isArray(entry) && entry.length === 2) return [entry[0] as Key, entry[1], options];
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry) || !('key' in entry)) {
    throw new TypeError('diskcache-ts: a setMany entry must be [key, value] or { key, value, ttl?, tag? }');
  }
  rejectUnknown(entry, ENTRY_FIELDS, 'setMany entry', { noun: 'field', hints: false });
  const own = entry as { key: Key; value: unknown; ttl?: number | null; tag?: Key | null };
  const write: WriteOptions = { ...options };
  if ('ttl' in own) write.ttl = own.ttl;
  if ('tag' in own) write.tag = own.tag;
  return [own.key, own.value, write];
}

/** `getMany(keys)`: the values, in the order of `keys`, `undefined` for each miss. */
export function* getMany(ctx: CacheContext, keys: readonly Key[]): Op<unknown[]> {
  assertArray(keys, 'keys');
  const values: unknown[] = [];
  for (const key of keys) values.push(yield* get(ctx, key));
  return values;
}

/**
 * `setMany(entries, options)`: stores each entry, in order (a key given twice ends with its last
 * value). Every entry is checked and laid out before anything is written; a failure while writing
 * (a full disk) leaves the entries stored until then, counted.
 */
export function* setMany(
  ctx: CacheContext,
  entries: readonly BatchEntry[],
  options?: WriteOptions,
): Op<true> {
  assertArray(entries, 'entries');
  writeTerms(ctx, options);
  const laidOut: { at: Located; prepared: Prepared }[] = [];
  const refused: Key[] = [];
  for (const entry of entries) {
    const [key, value, write] = entryTerms(entry, options);
    const at = locate(ctx, key);
    const prepared = yield* prepare(ctx, at, ctx.codec.encode(value), writeTerms(ctx, write));
    if (!refusedForSize(ctx, at, prepared)) laidOut.push({ at, prepared });
    else {
      refused.push(key);
      // The refused value is the key's last: an earlier one in the batch is not stored either.
      for (let i = laidOut.length - 1; i >= 0; i--) if (laidOut[i]?.at.hash === at.hash) laidOut.splice(i, 1);
    }
  }
  // A refused value replaces nothing: the key's entry goes, as its value would have.
  if (refused.length > 0) yield* deleteMany(ctx, refused);
  const { done, error } = yield* ctx.slots.writeMany(
    laidOut.map(({ at, prepared }) => ({ path: at.path, chunks: prepared.chunks })),
  );
  const written: Written[] = [];
  laidOut.forEach((item, i) => {
    const published = done[i];
    if (published !== undefined) written.push({ ...item, published });
  });
  yield* afterPublishMany(ctx, written);
  if (error !== undefined) throw error;
  return true;
}

/** `set(key, value, { ttl, tag })`: stores the value, replacing any other; last writer wins. */
export function* set(ctx: CacheContext, key: Key, value: unknown, options?: WriteOptions): Op<true> {
  return yield* setMany(ctx, [[key, value]], options);
}

/**
 * `deleteMany(keys)`: removes each key; returns, for each, whether a live entry was removed (an
 * expired one is removed too, but reports `false`). A failure while removing leaves the removals
 * until then counted.
 */
export function* deleteMany(ctx: CacheContext, keys: readonly Key[]): Op<boolean[]> {
  assertArray(keys, 'keys');
  const located = keys.map((key) => locate(ctx, key));
  const found = [];
  for (const [i, at] of located.entries()) {
    const header = yield* ctx.slots.readHeader(at.path);
    if (header.state !== 'missing') found.push({ i, at, header });
  }
  const { done, error } = yield* ctx.slots.removeMany(found.map(({ at }) => at.path));
  const now = ctx.clock.now();
  let removed = 0;
  let volume = 0;
  const live = keys.map(() => false);
  found.forEach(({ i, at, header }, j) => {
    if (done[j] !== true) return;
    removed++;
    volume += ctx.slots.footprint(header.state === 'ok' ? header.entry.fileSize : header.size);
    live[i] = header.state === 'ok' && isLiveFor(header.entry, at, now);
  });
  yield* addToCounters(ctx, { count: -removed, volume: -volume });
  if (error !== undefined) throw error;
  return live;
}

/** `delete(key)`: `true` if a live entry was removed (an expired one is removed too, but reports `false`). */
export function* remove(ctx: CacheContext, key: Key): Op<boolean> {
  return (yield* deleteMany(ctx, [key]))[0] === true;
}
