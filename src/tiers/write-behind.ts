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
  const { type, bytes } = encodeKey(key);
  return `${type}:${Buffer.from(bytes).toString('hex')}`;
}

/** First retry of a failing background write after this long; doubles up to {@link MAX_BACKOFF_MS}. */
const FIRST_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 10_000;

/**
 * The write-behind queue of one tier: the latest write of each key, written in the background in
 * the order they were made, never two writes of one key at once (so an older one never lands after a
 * newer one). Bounded: a write that finds it full first writes the oldest queued item itself, which
 * is the back-pressure. A background write that fails stays queued and is retried with backoff.
 */
export class WriteBehind {
  private readonly pending = new Map<string, Pending>();
  /** Keys whose write is under way (by the background drain or by a writer over the bound). */
  private readonly writing = new Set<string>();
  private draining = false;
  private backoffMs = FIRST_BACKOFF_MS;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly backend: Backend,
    private readonly limit: number,
    private readonly report: FailureReport,
  ) {}

  /** Items queued or being written. */
  get size(): number {
    return this.pending.size + this.writing.size;
  }

  /** Whether a write of `key` is queued or under way (then the tier's copy is older than ours). */
  holds(key: Key): boolean {
    const id = keyId(key);
    return this.pending.has(id) || this.writing.has(id);
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
        if (!dropWhenFailing) throw error;
        if (this.pending.get(oldest[0]) === oldest[1]) this.pending.delete(oldest[0]);
        this.report(oldest[1], error, true);
      }
    }
    this.schedule(0);
  }

  /** Drops queued writes that `discard` selects (a `clear` or `evict` made them moot). */
  discard(select: (item: Pending) => boolean): void {
    for (const [id, item] of this.pending) if (select(item)) this.pending.delete(id);
  }

  /**
   * Writes every queued item now, in order; rejects with the first failure (that item and the rest
   * stay queued). Waits for writes already under way.
   */
  async flush(): Promise<void> {
    for (;;) {
      const next = this.takeOldest();
      if (next === undefined) {
        if (this.writing.size === 0) return;
        await new Promise((resolve) => setTimeout(resolve, 1));
        continue;
      }
      await runAsync(undefined, this.writeOne(next));
    }
  }

  /** {@link flush} on the sync surface; writes under way in the background are left to finish. */
  *flushInline(): Op<void> {
    for (let next = this.takeOldest(); next !== undefined; next = this.takeOldest()) {
      yield* this.writeOne(next);
    }
  }

  /** Stops the background drain's timer (queued items stay, for a later flush). */
  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Writes a taken item; if that fails, puts it back at the head and throws. */
  private *writeOne([id, item]: [string, Pending]): Op<void> {
    try {
      if (item.envelope === undefined) yield* this.backend.remove(item.key);
      else yield* this.backend.write(item.envelope);
    } catch (error) {
      this.putBack([id, item]);
      throw error;
    } finally {
      this.writing.delete(id);
    }
  }

  /** The oldest queued item whose key is not being written, taken off the queue and marked. */
  private takeOldest(): [string, Pending] | undefined {
    for (const entry of this.pending) {
      if (this.writing.has(entry[0])) continue;
      this.pending.delete(entry[0]);
      this.writing.add(entry[0]);
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
    if (this.draining || this.timer !== undefined || this.pending.size === 0) return;
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
      for (let next = this.takeOldest(); next !== undefined; next = this.takeOldest()) {
        try {
          await runAsync(undefined, this.writeOne(next));
          this.backoffMs = FIRST_BACKOFF_MS;
        } catch (error) {
          this.report(next[1], error, false);
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
