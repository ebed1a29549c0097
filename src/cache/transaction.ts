import type { CounterStore } from '../coordination/counters.js';
import { oneByOne, type Slots } from '../engine/slots.js';
import type { Totals } from '../format/counters-record.js';
import type { Entry, EntryHeader } from '../format/entry.js';
import { io, type Op } from '../fs/runner.js';
import {
  discard,
  entryFromBytes,
  type Published,
  type ReadResult,
  readEntry,
  readHeader,
  writeTemp,
} from '../store/entries.js';
import type { CacheContext } from './context.js';
import {
  applyCommitted,
  type FilesJournal,
  type Journal,
  type JournalDelete,
  relativeTo,
  writeJournal,
} from './journal.js';

const MISSING = { state: 'missing' } as const;

/** A value staged by a transaction: a private temp file (the `files` engine, streams), or bytes in memory. */
type Staged = { temp: string } | { bytes: Buffer };

/**
 * The writes of one transaction, staged: each new value waits in a private temp file (the `files`
 * engine) or in memory (the `log` engine), each removal is only noted, and reads inside the
 * transaction see both. Commit writes a journal (the commit point), then applies it; rollback drops
 * what was staged. Other processes see nothing until commit.
 */
export class Transaction {
  /** Entry path → what will replace it, or `null` if it will be removed. */
  private readonly staged = new Map<string, Staged | null>();
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

  /** Makes the staged writes visible: journal, counters, then the entries; eviction runs after. */
  *commit(): Op<void> {
    if (this.staged.size === 0) return;
    const ctx = this.base;
    if (ctx.log !== undefined) {
      const changes = [...this.staged].map(([path, staged]) => ({
        path,
        ...(staged === null ? {} : staged),
      }));
      const journal: Journal = {
        records: (yield* ctx.log.prepareRecords(changes)).map((r) => r.toString('base64')),
      };
      const journalPath = yield* writeJournal(ctx, journal);
      this.journaled = true;
      yield* applyCommitted(ctx, journal, journalPath);
    } else {
      const journal: FilesJournal = { writes: [], deletes: [] };
      for (const [path, staged] of this.staged) {
        if (staged !== null)
          journal.writes.push([relativeTo(ctx, (staged as { temp: string }).temp), relativeTo(ctx, path)]);
        else journal.deletes.push({ ...this.removed.get(path), path: relativeTo(ctx, path) });
      }
      const journalPath = yield* writeJournal(ctx, journal);
      this.journaled = true;
      yield* applyCommitted(ctx, journal, journalPath);
    }
    this.staged.clear();
    yield* ctx.counters.add(this.change);
    yield* ctx.evictor.afterWrite(ctx);
  }

  /** Drops the staged writes, unless the transaction was committed (then its journal completes it). */
  *rollback(): Op<void> {
    if (this.journaled) return;
    for (const staged of this.staged.values())
      if (staged !== null && 'temp' in staged) yield* discard(staged.temp);
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

  /** The entry visible at `path` inside the transaction. */
  private *readVisible(path: string): Op<ReadResult<Entry>> {
    const staged = this.staged.get(path);
    if (staged === undefined) return yield* this.base.slots.read(path);
    if (staged === null) return MISSING;
    return 'temp' in staged ? yield* readEntry(staged.temp) : yield* entryFromBytes(staged.bytes);
  }

  /** The header visible at `path` inside the transaction. */
  private *readHeaderVisible(path: string): Op<ReadResult<EntryHeader>> {
    const staged = this.staged.get(path);
    if (staged === undefined) return yield* this.base.slots.readHeader(path);
    if (staged === null) return MISSING;
    return 'temp' in staged ? yield* readHeader(staged.temp) : yield* entryFromBytes(staged.bytes);
  }

  /** Size of the entry visible at `path`, or `undefined` if there is none. */
  private *sizeVisible(path: string): Op<number | undefined> {
    const staged = this.staged.get(path);
    if (staged === undefined) return (yield* this.base.slots.version(path))?.size;
    if (staged === null) return undefined;
    return 'temp' in staged ? (yield* io('stat', staged.temp))?.size : staged.bytes.length;
  }

  private *stage(path: string, next: Staged | null): Op<void> {
    const previous = this.staged.get(path);
    if (previous && 'temp' in previous) yield* io('unlink', previous.temp);
    this.staged.set(path, next);
  }

  /** Stages an entry laid out in `chunks` (a temp file for the `files` engine). */
  private *stageChunks(path: string, chunks: readonly Uint8Array[]): Op<Published> {
    const old = yield* this.sizeVisible(path);
    const next: Staged =
      this.base.log !== undefined
        ? { bytes: Buffer.concat(chunks) }
        : { temp: yield* writeTemp(this.base.store, path, chunks) };
    yield* this.stage(path, next);
    return { created: old === undefined, replacedSize: old ?? 0 };
  }

  /** Notes the removal of what is visible at `path`; returns what that was. */
  private *removeVisible(path: string): Op<ReadResult<EntryHeader>> {
    const staged = this.staged.get(path);
    if (staged === null) return MISSING;
    const found = yield* this.readHeaderVisible(path);
    if (found.state === 'missing') return found;
    if (staged === undefined && found.state === 'ok') {
      this.removed.set(path, { path, storedAt: found.entry.storedAt, valueCrc: found.entry.valueCrc });
    }
    yield* this.stage(path, null);
    return found;
  }

  private slots(): Slots {
    const tx = this;
    const base = this.base.slots;
    function* removeOne(path: string): Op<boolean> {
      return (yield* tx.removeVisible(path)).state !== 'missing';
    }
    return {
      ...base,
      read: (path) => tx.readVisible(path),
      readHeader: (path) => tx.readHeaderVisible(path),
      *version(path) {
        const size = yield* tx.sizeVisible(path);
        return size === undefined ? undefined : { id: `staged:${size}`, size };
      },
      write: (path, chunks) => tx.stageChunks(path, chunks),
      writeMany: (items) => oneByOne(items, ({ path, chunks }) => tx.stageChunks(path, chunks)),
      removeMany: (paths) => oneByOne(paths, removeOne),
      *publish(temp, path): Op<Published> {
        let old: number | undefined;
        try {
          old = yield* tx.sizeVisible(path);
        } catch (error) {
          yield* discard(temp);
          throw error;
        }
        yield* tx.stage(path, { temp });
        return { created: old === undefined, replacedSize: old ?? 0 };
      },
      *writeIfAbsent(path, chunks) {
        if ((yield* tx.sizeVisible(path)) !== undefined) return false;
        return yield* tx.stageChunks(path, chunks);
      },
      remove: removeOne,
      *discard(path) {
        const size = yield* tx.sizeVisible(path);
        if (size !== undefined) yield* tx.removeVisible(path);
        return size;
      },
      *take(path): Op<ReadResult<Entry>> {
        const found = yield* tx.readVisible(path);
        if (found.state !== 'missing') yield* tx.removeVisible(path);
        return found;
      },
      *removeIf(path, shouldRemove, verify = 'header') {
        const found: ReadResult<EntryHeader> =
          verify === 'full' ? yield* tx.readVisible(path) : yield* tx.readHeaderVisible(path);
        if (found.state === 'missing' || !shouldRemove(found)) return { removed: false, size: 0 };
        yield* tx.removeVisible(path);
        return { removed: true, size: found.state === 'ok' ? found.entry.fileSize : found.size };
      },
      *update(path, rewrite) {
        // Inside a transaction nothing else changes what it sees: the rewrite is staged like a write.
        const found = yield* tx.readVisible(path);
        const chunks = found.state === 'ok' ? yield* rewrite(found.entry) : undefined;
        if (chunks !== undefined) yield* tx.stageChunks(path, chunks);
        return { found, written: chunks !== undefined, lost: undefined };
      },
    };
  }
}
