import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { withLock } from '../coordination/lock.js';
import { decodeKey, type Key } from '../format/key.js';
import { decodeQueueState, encodeQueueState, type QueueState } from '../format/queue-state.js';
import { io, type Op } from '../fs/runner.js';
import { bookkeeping, isReadOnlyError } from '../store/bookkeeping.js';
import { readPlainFile } from '../store/entries.js';
import {
  type CacheContext,
  countRemoved,
  isLiveFor,
  locate,
  storedValue,
  type WriteOptions,
  writeTerms,
} from './context.js';
import { forEachEntry } from './scan.js';
import { afterPublish, prepare } from './single.js';

/** The index of the first item pushed to an empty queue, as in python-diskcache. */
export const QUEUE_START = 500_000_000_000_000;
const INDEX_DIGITS = 15;
/** Keys found occupied in a row before a push gives up (left by writers that crashed mid-push). */
const MAX_OCCUPIED = 1000;

/** Options of `push`. */
export interface PushOptions extends WriteOptions {
  /** The queue's name; its keys are then `prefix-` and a zero-padded index (strings), else integers. */
  prefix?: string | null | undefined;
  /** Where to add the value. @default 'back' */
  side?: 'back' | 'front' | undefined;
}

/** Options of `pull` and `peek`. */
export interface PullOptions {
  prefix?: string | null | undefined;
  /** Which end to take from. @default 'front' */
  side?: 'front' | 'back' | undefined;
}

function checkPrefix(prefix: unknown): string | null {
  if (prefix === undefined || prefix === null) return null;
  if (typeof prefix !== 'string') throw new TypeError('diskcache-ts: prefix must be a string');
  return prefix;
}

function checkSide(side: unknown, allowed: readonly string[], fallback: string): string {
  if (side === undefined) return fallback;
  if (!allowed.includes(side as string)) {
    throw new RangeError(`diskcache-ts: side must be ${allowed.map((s) => `'${s}'`).join(' or ')}`);
  }
  return side as string;
}

/** The key of a queue item: an integer, or `prefix-` and the zero-padded index. */
export function queueKey(prefix: string | null, index: number): Key {
  return prefix === null ? index : `${prefix}-${String(index).padStart(INDEX_DIGITS, '0')}`;
}

function statePaths(ctx: CacheContext, prefix: string | null): { state: string; lock: string } {
  const name = createHash('sha256')
    .update(prefix === null ? '\u0000' : `\u0001${prefix}`)
    .digest('hex')
    .slice(0, 32);
  const base = join(ctx.layout.directory, 'queues', name);
  return { state: `${base}.state`, lock: `${base}.lock` };
}

/** The queue a key looks like an item of (`null`: the default queue), or `undefined`. */
export function queueOf(key: Key): string | null | undefined {
  if (typeof key === 'number')
    return Number.isSafeInteger(key) && key >= 1e14 && key < 1e15 ? null : undefined;
  if (typeof key !== 'string') return undefined;
  const match = /^(.*)-\d{15}$/s.exec(key);
  return match ? (match[1] as string) : undefined;
}

/** The index of a queue item's key, or `undefined` if the key is not one of the queue's. */
function indexOf(prefix: string | null, key: Key): number | undefined {
  if (prefix === null)
    return typeof key === 'number' && Number.isSafeInteger(key) && key >= 0 ? key : undefined;
  if (typeof key !== 'string' || !key.startsWith(`${prefix}-`)) return undefined;
  const digits = key.slice(prefix.length + 1);
  return /^\d{15}$/.test(digits) ? Number(digits) : undefined;
}

/** Finds the queue's bounds from its items, when its state file is missing or damaged. O(n). */
function* rebuildState(ctx: CacheContext, prefix: string | null): Op<QueueState> {
  let head = Number.POSITIVE_INFINITY;
  let tail = Number.NEGATIVE_INFINITY;
  yield* forEachEntry(ctx, function* (path) {
    const found = yield* ctx.slots.readHeader(path);
    if (found.state !== 'ok') return;
    const key = decodeKey(found.entry.keyType, found.entry.key);
    const index = key === undefined ? undefined : indexOf(prefix, key);
    if (index === undefined) return;
    head = Math.min(head, index);
    tail = Math.max(tail, index + 1);
  });
  return head <= tail ? { head, tail } : { head: QUEUE_START, tail: QUEUE_START };
}

/** The queue's state as stored, or rebuilt from its items if missing or damaged. */
function* readState(ctx: CacheContext, prefix: string | null, statePath: string): Op<QueueState> {
  const bytes = yield* readPlainFile(statePath);
  return bytes === undefined
    ? { head: QUEUE_START, tail: QUEUE_START }
    : (decodeQueueState(bytes) ?? (yield* rebuildState(ctx, prefix)));
}

/**
 * Runs `body` on the queue's state under its lock, and stores the state it leaves. With `look`
 * (peeking), a read-only store (or read-only media, met on taking the lock) runs `body` on the state
 * without the lock and stores nothing.
 */
function* withQueue<T>(
  ctx: CacheContext,
  prefix: string | null,
  body: (state: QueueState) => Op<T>,
  look = false,
): Op<T> {
  const paths = statePaths(ctx, prefix);
  if (look && ctx.store.readOnly) return yield* body(yield* readState(ctx, prefix, paths.state));
  try {
    return yield* withLock(paths.lock, ctx.lock, function* () {
      const state = yield* readState(ctx, prefix, paths.state);
      const before = { ...state };
      const result = yield* body(state);
      if (state.head !== before.head || state.tail !== before.tail) {
        const fd = yield* io('openForUpdate', paths.state, ctx.store.fileMode);
        try {
          yield* io('writeAt', fd, encodeQueueState(state), 0);
        } finally {
          yield* io('close', fd);
        }
      }
      return result;
    });
  } catch (error) {
    if (!look || !isReadOnlyError(error)) throw error;
    ctx.store.readOnly = true;
    return yield* body(yield* readState(ctx, prefix, paths.state));
  }
}

/**
 * `push(value, { prefix, side, ttl, tag })`: appends to the queue and returns the item's key. O(1):
 * the queue's bounds live in a small state file, updated under the queue's lock.
 */
export function* push(ctx: CacheContext, value: unknown, options: PushOptions = {}): Op<Key> {
  const { prefix: rawPrefix, side: rawSide, ...write } = options ?? {};
  const prefix = checkPrefix(rawPrefix);
  const side = checkSide(rawSide, ['back', 'front'], 'back');
  const terms = writeTerms(ctx, write);
  const encoded = ctx.codec.encode(value);
  return yield* withQueue(ctx, prefix, function* (state) {
    for (let tries = 0; tries < MAX_OCCUPIED; tries++) {
      const index = side === 'back' ? state.tail : state.head - 1;
      if (side === 'back') state.tail++;
      else state.head--;
      const at = locate(ctx, queueKey(prefix, index));
      const prepared = yield* prepare(ctx, at, encoded, terms);
      // Without hard links, the queue's lock makes a plain write safe here.
      const published =
        (yield* ctx.slots.writeIfAbsent(at.path, prepared.chunks)) ??
        (yield* ctx.slots.write(at.path, prepared.chunks));
      // An item left by a push that crashed before updating the state: it stays in the queue.
      if (published === false) continue;
      yield* afterPublish(ctx, at, prepared, published);
      return at.key;
    }
    throw new RangeError(
      `diskcache-ts: queue ${prefix ?? '(default)'} has ${MAX_OCCUPIED} stray items in a row`,
    );
  });
}

/** Takes (or, with `remove: false`, looks at) the live item at one end of the queue, skipping gaps. */
function* takeEnd(ctx: CacheContext, options: PullOptions, remove: boolean): Op<[Key, unknown] | undefined> {
  const prefix = checkPrefix(options?.prefix);
  const side = checkSide(options?.side, ['front', 'back'], 'front');
  return yield* withQueue(
    ctx,
    prefix,
    function* (state) {
      while (state.head < state.tail) {
        const index = side === 'front' ? state.head : state.tail - 1;
        const at = locate(ctx, queueKey(prefix, index));
        const now = ctx.clock.now();
        const found = remove ? yield* ctx.slots.take(at.path) : yield* ctx.slots.read(at.path);
        const live = found.state === 'ok' && isLiveFor(found.entry, at, now);
        // An item that does not decode is passed over (moved aside by a peek; a pull took it out).
        const item = live
          ? yield* storedValue(ctx, at.key, found.entry, remove ? undefined : at.path)
          : undefined;
        if (item !== undefined && !remove) return [at.key, item.value] as [Key, unknown];
        if (!live && !remove && found.state !== 'missing') {
          yield* bookkeeping(ctx.store, function* () {
            const removal = yield* ctx.slots.removeIf(
              at.path,
              (again) => !(again.state === 'ok' && isLiveFor(again.entry, at, now)),
            );
            if (removal.removed) yield* countRemoved(ctx, removal.size);
          });
        }
        if (remove && found.state !== 'missing') {
          yield* countRemoved(ctx, found.state === 'ok' ? found.entry.fileSize : found.size);
        }
        if (side === 'front') state.head++;
        else state.tail--;
        if (item !== undefined) return [at.key, item.value] as [Key, unknown];
      }
      return undefined;
    },
    !remove,
  );
}

/** `pull({ prefix, side })`: removes and returns `[key, value]` from one end; exactly once across processes. */
export function pull(ctx: CacheContext, options: PullOptions = {}): Op<[Key, unknown] | undefined> {
  return takeEnd(ctx, options, true);
}

/** `peek({ prefix, side })`: `[key, value]` at one end, without removing it (expired items are removed). */
export function peek(ctx: CacheContext, options: PullOptions = {}): Op<[Key, unknown] | undefined> {
  return takeEnd(ctx, options, false);
}
