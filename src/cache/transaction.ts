import type { CounterStore, Totals } from '../coordination/counters.js';
import type { Entry, EntryHeader } from '../format/entry.js';
import type { FileInfo } from '../fs/backend.js';
import { io, type Op } from '../fs/runner.js';
import { discard, type Published, type ReadResult, readEntry, readHeader } from '../store/entries.js';
import type { Slots } from '../store/slots.js';
import type { CacheContext } from './context.js';
import { applyCommitted, type Journal, type JournalDelete, relativeTo, writeJournal } from './journal.js';

const MISSING = { state: 'missing' } as const;

/**
 * The writes of one transaction, staged: each new value waits in a private temp file, each removal
 * is only noted, and reads inside the transaction see both. Commit writes a journal (the commit
 * point), then applies it; rollback removes the temp files. Other processes see nothing until commit.
 */
export class Transaction {
  /** Entry path → the temp file that will replace it, or `null` if it will be removed. */
  private readonly staged = new Map<string, string | null>();
  private readonly removed = new Map<string, JournalDelete>();
  private readonly change: Totals = { count: 0, volume: 0, hits: 0, misses: 0 };
  /** Set once the journal is written: from then on the transaction can only be completed. */
  private journaled = false;

  constructor(private readonly base: CacheContext) {}

  /** The context that operations inside the transaction run with. */
  context(): CacheContext {
    return {
      ...this.base,
      slots: this.slots(),
      counters: this.counters(this.base.counters),
      evictor: {
        *afterWrite() {},
        *evict() {
          return 0;
        },
      },
    };
  }

  /** Makes the staged writes visible: journal, counters, then the files; eviction runs after. */
  *commit(): Op<void> {
    if (this.staged.size === 0) return;
    const ctx = this.base;
    const journal: Journal = { writes: [], deletes: [] };
    for (const [path, temp] of this.staged) {
      if (temp !== null) journal.writes.push([relativeTo(ctx, temp), relativeTo(ctx, path)]);
      else journal.deletes.push({ ...this.removed.get(path), path: relativeTo(ctx, path) });
    }
    const journalPath = yield* writeJournal(ctx, journal);
    this.journaled = true;
    yield* applyCommitted(ctx, journal, journalPath);
    this.staged.clear();
    yield* ctx.counters.add(this.change);
    yield* ctx.evictor.afterWrite(ctx);
  }

  /** Drops the staged writes, unless the transaction was committed (then its journal completes it). */
  *rollback(): Op<void> {
    if (this.journaled) return;
    for (const temp of this.staged.values()) if (temp !== null) yield* discard(temp);
    this.staged.clear();
  }

  private counters(real: CounterStore): CounterStore {
    const change = this.change;
    const plus = (t: Totals): Totals => ({
      count: t.count + change.count,
      volume: t.volume + change.volume,
      hits: t.hits + change.hits,
      misses: t.misses + change.misses,
    });
    return {
      *add(delta) {
        change.count += delta.count ?? 0;
        change.volume += delta.volume ?? 0;
        change.hits += delta.hits ?? 0;
        change.misses += delta.misses ?? 0;
      },
      *read() {
        return plus(yield* real.read());
      },
      *estimate(maxAgeMs) {
        return plus(yield* real.estimate(maxAgeMs));
      },
      reconcile: (actual, lock) => real.reconcile(actual, lock),
    };
  }

  /** Where reads of `path` go inside the transaction: a staged temp file, nowhere, or the entry. */
  private visible(path: string): string | null {
    const staged = this.staged.get(path);
    return staged === undefined ? path : staged;
  }

  /** `stat(path)`; on failure the temp file about to be staged is removed (nothing will refer to it). */
  private *statOrDiscard(path: string, temp: string): Op<FileInfo | undefined> {
    try {
      return yield* io('stat', path);
    } catch (error) {
      yield* discard(temp);
      throw error;
    }
  }

  private *stage(path: string, temp: string | null): Op<void> {
    const previous = this.staged.get(path);
    if (typeof previous === 'string') yield* io('unlink', previous);
    this.staged.set(path, temp);
  }

  /** Notes the removal of what is visible at `path`; returns what that was. */
  private *removeVisible(path: string): Op<ReadResult<EntryHeader>> {
    const where = this.visible(path);
    if (where === null) return MISSING;
    const found = yield* readHeader(where);
    if (found.state === 'missing') return found;
    if (where === path && found.state === 'ok') {
      this.removed.set(path, { path, storedAt: found.entry.storedAt, valueCrc: found.entry.valueCrc });
    }
    yield* this.stage(path, null);
    return found;
  }

  private slots(): Slots {
    const tx = this;
    return {
      *read(path) {
        const where = tx.visible(path);
        return where === null ? MISSING : yield* readEntry(where);
      },
      *readHeader(path) {
        const where = tx.visible(path);
        return where === null ? MISSING : yield* readHeader(where);
      },
      *publish(temp, path): Op<Published> {
        const where = tx.visible(path);
        const old = where === null ? undefined : yield* tx.statOrDiscard(where, temp);
        yield* tx.stage(path, temp);
        return { created: old === undefined, replacedSize: old?.size ?? 0 };
      },
      *publishIfAbsent(temp, path) {
        const where = tx.visible(path);
        if (where !== null && (yield* tx.statOrDiscard(where, temp)) !== undefined) return false;
        yield* tx.stage(path, temp);
        return true;
      },
      *remove(path) {
        return (yield* tx.removeVisible(path)).state !== 'missing';
      },
      *take(path): Op<ReadResult<Entry>> {
        const where = tx.visible(path);
        if (where === null) return MISSING;
        const found = yield* readEntry(where);
        if (found.state !== 'missing') yield* tx.removeVisible(path);
        return found;
      },
      *removeIf(path, shouldRemove, verify = 'header') {
        const where = tx.visible(path);
        const read = verify === 'full' ? readEntry : readHeader;
        const found: ReadResult<EntryHeader> = where === null ? MISSING : yield* read(where);
        if (found.state === 'missing' || !shouldRemove(found)) return { removed: false, size: 0 };
        yield* tx.removeVisible(path);
        return { removed: true, size: found.state === 'ok' ? found.entry.fileSize : found.size };
      },
      *update(path, rewrite) {
        // Inside a transaction nothing else changes what it sees: the rewrite is staged like a write.
        const where = tx.visible(path);
        const found = where === null ? MISSING : yield* readEntry(where);
        const temp = found.state === 'ok' ? yield* rewrite(found.entry) : undefined;
        if (temp !== undefined) yield* tx.stage(path, temp);
        return { found, written: temp !== undefined, lost: undefined };
      },
    };
  }
}
