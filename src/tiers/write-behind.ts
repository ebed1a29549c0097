import { encodeKey, type Key } from '../format/key.js';
import { type Op, runAsync } from '../fs/runner.js';
import type { Envelope } from './envelope.js';
import type { Backend } from './tier.js';

/** A write waiting for its tier: an envelope to store, or a key to remove. */
export type Pending = { key: Key; envelope: Envelope } | { key: Key; envelope: undefined };

/** How the queue tells of a write that failed (`lost`: it was dropped, not kept for a retry). */
export type FailureReport = (pending: Pending, error: unknown, lost: boolean) => void;

/** The queue's identity of a key (the same for `1` and `1`, different for `1` and `'1'`). */
export function keyId(key: Key): string {
  if (typeof key === 'string') return `s${key}`;
  const { type, bytes } = encodeKey(key);
  return `${type}:${Buffer.from(bytes).toString('hex')}`;
}

/**
 * Whether a failed write would fail again however often it is retried: a value the store cannot
 * keep (the tiers' codecs refuse such values with a `TypeError`, and out-of-range ones with a
 * `RangeError`), as opposed to a store that is down for now.
 */
export function isPermanent(error: unknown): boolean {
  return error instanceof TypeError || error instanceof RangeError;
}

/** First retry of a failing background write after this long; doubles up to {@link MAX_BACKOFF_MS}. */
const FIRST_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 10_000;

/**
 * The write-behind queue of one tier: the latest write of each key, written in the background in
 * the order they were made, never two writes of one key at once (so an older one never lands after a
 * newer one). Bounded: a write that finds it full first writes the oldest queued item itself, which
 * is the back-pressure. A background write that fails for now stays queued and is retried with
 * backoff; one that can never succeed is dropped and told of as lost.
 */
export class WriteBehind {
  private readonly pending = new Map<string, Pending>();
  /** Writes under way (by the background drain or by a writer over the bound), by key. */
  private readonly writing = new Map<string, Pending>();
  /** Keys whose write under way was made moot by a `clear` or `evict`: removed once it lands. */
  private readonly cancelled = new Set<string>();
  private draining = false;
  private stopped = false;
  private backoffMs = FIRST_BACKOFF_MS;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly backend: Backend,
    private readonly limit: number,
    private readonly report: FailureReport,
  ) {}

  /** Keys with a write queued or under way. */
  get size(): number {
    let size = this.pending.size;
    for (const id of this.writing.keys()) if (!this.pending.has(id)) size++;
    return size;
  }

  /**
   * The latest write of `key` that the tier may not have yet (queued, or under way), if any: what
   * the tier will hold, newer than what it holds now.
   */
  latest(key: Key): Pending | undefined {
    const id = keyId(key);
    return this.pending.get(id) ?? this.writing.get(id);
  }

  /**
   * Queues `item` (replacing a queued write of the same key); over the bound, writes the oldest
   * item first. With `dropWhenFailing`, an oldest item whose write fails is dropped and reported
   * lost; otherwise it stays queued and the error is thrown to the writer.
   */
  *enqueue(item: Pending, dropWhenFailing: boolean): Op<void> {
    const id = keyId(item.key);
    this.pending.delete(id);
    this.pending.set(id, item);
    while (this.pending.size > this.limit) {
      const oldest = this.takeOldest();
      if (oldest === undefined) break;
      try {
        yield* this.writeOne(oldest);
      } catch (error) {
        this.afterFailure(oldest, error, dropWhenFailing);
      }
    }
    this.schedule(0);
  }

  /** Writes the queued write of `key` now, if there is one and it is not under way already. */
  *writeNow(key: Key): Op<void> {
    const id = keyId(key);
    const item = this.writing.has(id) ? undefined : this.pending.get(id);
    if (item === undefined) return;
    this.pending.delete(id);
    this.writing.set(id, item);
    yield* this.writeOne([id, item]);
  }

  /**
   * Drops queued writes that `select` picks (a `clear` or `evict` made them moot); a picked write
   * under way is undone (its key removed) once it lands.
   */
  discard(select: (item: Pending) => boolean): void {
    for (const [id, item] of this.pending) if (select(item)) this.pending.delete(id);
    for (const [id, item] of this.writing)
      if (item.envelope !== undefined && select(item)) this.cancelled.add(id);
  }

  /**
   * Writes every queued item now, in order, and waits for writes under way. Rejects with the first
   * failure (that item and the rest stay queued), unless `dropFailing`: then each item that fails is
   * dropped and reported lost, and the flush goes on.
   */
  async flush(dropFailing = false): Promise<void> {
    for (;;) {
      const next = this.takeOldest();
      if (next === undefined) {
        if (this.writing.size === 0) return;
        await new Promise((resolve) => setTimeout(resolve, 1));
        continue;
      }
      try {
        await runAsync(undefined, this.writeOne(next));
      } catch (error) {
        this.afterFailure(next, error, dropFailing);
      }
    }
  }

  /** {@link flush} on the sync surface; writes under way in the background are left to finish. */
  *flushInline(dropFailing = false): Op<void> {
    for (let next = this.takeOldest(); next !== undefined; next = this.takeOldest()) {
      try {
        yield* this.writeOne(next);
      } catch (error) {
        this.afterFailure(next, error, dropFailing);
      }
    }
  }

  /** Stops the background drain (queued items stay, for a later flush). */
  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /**
   * Writes a taken item. If that fails, a permanent failure drops it (reported lost, and thrown);
   * otherwise it goes back to the head of the queue and the error is thrown.
   */
  private *writeOne([id, item]: [string, Pending]): Op<void> {
    try {
      if (item.envelope === undefined) yield* this.backend.remove(item.key);
      else yield* this.backend.write(item.envelope);
      if (this.cancelled.has(id)) yield* this.backend.remove(item.key);
    } catch (error) {
      if (isPermanent(error)) this.tell(item, error, true);
      else this.putBack([id, item]);
      throw error;
    } finally {
      this.writing.delete(id);
      this.cancelled.delete(id);
    }
  }

  /**
   * After a write of `taken` failed: nothing more for a permanent failure (dropped and told of);
   * otherwise `drop` drops it (told of as lost) and anything else throws the error to the caller.
   */
  private afterFailure([id, item]: [string, Pending], error: unknown, drop: boolean): void {
    if (isPermanent(error)) return;
    if (!drop) throw error;
    if (this.pending.get(id) !== item) return; // A newer write of the key replaced it meanwhile.
    this.pending.delete(id);
    this.tell(item, error, true);
  }

  /** Reports a failure; a listener's own error must not stop the queue. */
  private tell(item: Pending, error: unknown, lost: boolean): void {
    try {
      this.report(item, error, lost);
    } catch {}
  }

  /** The oldest queued item whose key is not being written, taken off the queue and marked. */
  private takeOldest(): [string, Pending] | undefined {
    for (const entry of this.pending) {
      if (this.writing.has(entry[0])) continue;
      this.pending.delete(entry[0]);
      this.writing.set(entry[0], entry[1]);
      return entry;
    }
    return undefined;
  }

  /** Puts a failed item back at the head, unless a newer write of its key was queued meanwhile. */
  private putBack([id, item]: [string, Pending]): void {
    if (this.pending.has(id)) return;
    const rest = [...this.pending];
    this.pending.clear();
    this.pending.set(id, item);
    for (const [k, v] of rest) this.pending.set(k, v);
  }

  private schedule(delayMs: number): void {
    if (this.stopped || this.draining || this.timer !== undefined || this.pending.size === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.drain();
    }, delayMs);
    // A tier that stays down must not keep the process alive: close() flushes what is left.
    this.timer.unref();
  }

  private async drain(): Promise<void> {
    this.draining = true;
    let failed = false;
    try {
      while (!this.stopped) {
        const next = this.takeOldest();
        if (next === undefined) break;
        try {
          await runAsync(undefined, this.writeOne(next));
          this.backoffMs = FIRST_BACKOFF_MS;
        } catch (error) {
          if (isPermanent(error)) continue; // Dropped and told of by writeOne.
          this.tell(next[1], error, false);
          failed = true;
          break;
        }
      }
    } finally {
      this.draining = false;
    }
    if (failed) {
      const wait = this.backoffMs;
      this.backoffMs = Math.min(this.backoffMs * 2, MAX_BACKOFF_MS);
      this.schedule(wait);
    } else {
      this.schedule(0);
    }
  }
}
