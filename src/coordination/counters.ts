import { join } from 'node:path';
import { CacheError, LockTimeoutError } from '../errors.js';
import { decodeCountersRecord, encodeCountersRecord, type Totals } from '../format/counters-record.js';
import { io, type Op } from '../fs/runner.js';
import { type ProcessId, processOfOwnerTag, provablyDead, uniqueToken } from '../identity.js';
import { ensureDirectory, isPlainInside } from '../store/directories.js';
import { readPlainFile, type StoreSettings, writePrivate } from '../store/entries.js';
import { isDeltaName } from '../store/names.js';
import { acquireLock, type HeldLock, type LockOptions, releaseLock } from './lock.js';

const ZERO: Totals = { count: 0, volume: 0, hits: 0, misses: 0 };
const BASE = 'base.json';
const FOLD_LOCK = 'fold.lock';
/** Dead writers' delta files folded into the base per open, at most. */
const FOLD_BATCH = 16;

function add(a: Totals, b: Totals): Totals {
  return {
    count: a.count + b.count,
    volume: a.volume + b.volume,
    hits: a.hits + b.hits,
    misses: a.misses + b.misses,
  };
}

interface Base extends Totals {
  /** The delta file folded in last; if it still exists, it is only to be removed. */
  lastFolded: string;
}

/** The base; `undefined` if the file holds no complete record (a torn or short read). */
function decodeBase(b: Buffer): Base | undefined {
  try {
    const parsed = JSON.parse(b.toString('utf8')) as Partial<Base>;
    const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
    return {
      count: num(parsed.count),
      volume: num(parsed.volume),
      hits: num(parsed.hits),
      misses: num(parsed.misses),
      lastFolded: typeof parsed.lastFolded === 'string' ? parsed.lastFolded : '',
    };
  } catch {
    return undefined;
  }
}

/**
 * Reads of a base that cannot be decoded before giving up, about 2.5 s apart in all: a network
 * client that still has an older, shorter size of the file cached serves short reads until then.
 */
const BASE_READS = 8;

/** The counter operations the cache's operations use. */
export interface CounterStore {
  /** Records a change made by this process. */
  add(change: Partial<Totals>): Op<void>;
  /** The totals over every process. */
  read(): Op<Totals>;
  /** The totals, possibly up to `maxAgeMs` late for other processes' changes. */
  estimate(maxAgeMs: number): Op<Totals>;
  /** Sets the count and volume to those of a scan of the entries. */
  reconcile(actual: Pick<Totals, 'count' | 'volume'>, lock: LockOptions): Op<void>;
}

/**
 * The cache's counters, kept without a lock on the hot path: every process adds its own changes to
 * one small delta file of its own (`counters/<owner>.delta`, rewritten in place), and the totals are
 * the base (`counters/base.json`) plus every delta file. Delta files of dead processes are folded
 * into the base under a lock, so the directory stays small.
 */
export class Counters implements CounterStore {
  private readonly own: string;
  private readonly ownName: string;
  private delta: Totals = { ...ZERO };
  private fd: number | undefined;
  /** A write of the delta file is in flight (see {@link add}). */
  private writing = false;
  /** The delta has changes that no write has taken yet. */
  private dirty = false;
  /** {@link close} was called: a later write opens the file, writes and closes it again. */
  private closed = false;
  private recent: { totals: Totals; ownAtRead: Totals; at: number } | undefined;

  private readonly directory: string;

  constructor(private readonly store: StoreSettings) {
    this.directory = store.layout.counters;
    // One file per store, not per process: one process may open a directory through two paths.
    this.ownName = `${uniqueToken()}.delta`;
    this.own = join(this.directory, this.ownName);
  }

  /**
   * Records a change made by this process. One write of the delta file is in flight at a time: a
   * change made meanwhile is left to it (it writes again, with every change so far), so concurrent
   * first writes open the file once and a late write never lands over a newer one.
   */
  *add(change: Partial<Totals>): Op<void> {
    const d = this.delta;
    this.delta = {
      count: d.count + (change.count ?? 0),
      volume: d.volume + (change.volume ?? 0),
      hits: d.hits + (change.hits ?? 0),
      misses: d.misses + (change.misses ?? 0),
    };
    this.dirty = true;
    if (this.writing) return;
    this.writing = true;
    try {
      while (this.dirty) {
        this.dirty = false;
        if (this.fd === undefined) {
          yield* ensureDirectory(this.store, this.directory);
          this.fd = yield* io('openForUpdate', this.own, this.store.fileMode);
        }
        yield* io('writeAt', this.fd, encodeCountersRecord(this.delta), 0);
      }
    } finally {
      this.writing = false;
      // Closed meanwhile: the file was kept open for this write, and is closed now.
      if (this.closed) yield* this.close();
    }
  }

  /** The totals over every process. */
  *read(): Op<Totals> {
    if (!(yield* isPlainInside(this.store, this.directory))) return { ...this.delta };
    return add(yield* this.readBase(), yield* this.sumDeltas());
  }

  /** The sum of every process's delta file (this process's from memory). */
  private *sumDeltas(): Op<Totals> {
    let totals: Totals = { ...ZERO };
    for (const name of yield* io('readdir', this.directory)) {
      if (!name.endsWith('.delta')) continue;
      if (name === this.ownName) {
        totals = add(totals, this.delta);
        continue;
      }
      const record = decodeCountersRecord(yield* readPlainFile(join(this.directory, name)));
      if (record !== undefined) totals = add(totals, record);
    }
    return totals;
  }

  /**
   * The totals as last read (at most `maxAgeMs` of monotonic time ago) plus this process's changes
   * since: exact for this process, up to `maxAgeMs` late for the others. Cheap enough for every write.
   */
  *estimate(maxAgeMs: number): Op<Totals> {
    const now = performance.now();
    if (this.recent === undefined || now - this.recent.at > maxAgeMs) {
      this.recent = { totals: yield* this.read(), ownAtRead: { ...this.delta }, at: now };
    }
    const { totals, ownAtRead } = this.recent;
    const d = this.delta;
    return {
      count: totals.count + d.count - ownAtRead.count,
      volume: totals.volume + d.volume - ownAtRead.volume,
      hits: totals.hits + d.hits - ownAtRead.hits,
      misses: totals.misses + d.misses - ownAtRead.misses,
    };
  }

  /**
   * Sets the totals to `actual` (from a scan of the entries) by rewriting the base, keeping every
   * live process's delta; hits and misses are kept as they are.
   */
  *reconcile(actual: Pick<Totals, 'count' | 'volume'>, lock: LockOptions): Op<void> {
    yield* this.underFoldLock(lock, function* (this: Counters) {
      const deltas = yield* this.sumDeltas();
      let base: Base;
      try {
        base = yield* this.readBase();
      } catch (error) {
        if (!(error instanceof CacheError && error.code === 'EFORMAT')) throw error;
        base = { ...ZERO, lastFolded: '' }; // A damaged base: its hits and misses are lost.
      }
      base.count = actual.count - deltas.count;
      base.volume = actual.volume - deltas.volume;
      yield* this.writeBase(base);
    });
  }

  /**
   * Folds the delta files of provably dead processes into the base (at most a batch per call), and
   * this process's own when `self` is set (on close). Skips the work if another process is folding.
   */
  *fold(lock: LockOptions, self: boolean): Op<void> {
    const names = (yield* io('readdir', this.directory)).filter((name) => {
      if (name === this.ownName) return self;
      const writer = writerOfDelta(name);
      return writer !== undefined && provablyDead(writer.host, writer.pid);
    });
    if (names.length === 0) return;
    yield* this.underFoldLock({ ...lock, timeout: 0 }, function* (this: Counters) {
      try {
        for (const name of names.slice(0, FOLD_BATCH)) yield* this.foldOne(name);
      } catch (error) {
        // A base that cannot be read now is left alone: the delta files stay, and stay counted.
        if (!(error instanceof CacheError && error.code === 'EFORMAT')) throw error;
      }
    });
  }

  /** Releases the open delta file (once the write in flight, if any, is done with it). */
  *close(): Op<void> {
    this.closed = true;
    if (this.writing || this.fd === undefined) return;
    const fd = this.fd;
    this.fd = undefined;
    yield* io('close', fd);
  }

  private *foldOne(name: string): Op<void> {
    const path = join(this.directory, name);
    const base = yield* this.readBase();
    if (base.lastFolded !== name) {
      const isOwn = name === this.ownName;
      const record = isOwn ? this.delta : decodeCountersRecord(yield* readPlainFile(path));
      // Unreadable (a short read through a network client, or damage): left for a later fold, and
      // not counted meanwhile; check({ fix: true }) sets count and volume right.
      if (record === undefined) return;
      yield* this.writeBase({ ...add(base, record ?? ZERO), lastFolded: name });
    }
    if (name === this.ownName) {
      yield* this.close();
      this.delta = { ...ZERO };
    }
    yield* io('unlink', path);
  }

  /**
   * The base (zero if there is none yet). A base that cannot be decoded is read again a few times,
   * then reported as an error: totals and folds are never computed from a torn base.
   */
  private *readBase(): Op<Base> {
    const path = join(this.directory, BASE);
    for (let attempt = 1; ; attempt++) {
      const bytes = yield* readPlainFile(path);
      if (bytes === undefined) return { ...ZERO, lastFolded: '' };
      const base = decodeBase(bytes);
      if (base !== undefined) return base;
      if (attempt === BASE_READS) {
        throw new CacheError(
          'EFORMAT',
          `${path} cannot be decoded; \`diskcache DIR check --fix\` rewrites it`,
          {
            path,
          },
        );
      }
      yield* io('sleep', Math.min(20 * 2 ** attempt, 1000));
    }
  }

  private *writeBase(base: Base): Op<void> {
    const temp = yield* writePrivate(this.store, BASE, [Buffer.from(JSON.stringify(base))]);
    yield* io('rename', temp, join(this.directory, BASE));
  }

  private *underFoldLock(lock: LockOptions, body: (this: Counters) => Op<void>): Op<void> {
    yield* ensureDirectory(this.store, this.directory);
    let held: HeldLock;
    try {
      held = yield* acquireLock(join(this.directory, FOLD_LOCK), lock);
    } catch (error) {
      if (lock.timeout === 0 && error instanceof LockTimeoutError) return;
      throw error;
    }
    try {
      yield* body.call(this);
    } finally {
      yield* releaseLock(held);
    }
  }
}

/**
 * The process that wrote a delta file, or `undefined` for another name. A delta file is
 * `<host>~<pid>~<nonce>~<seq>.delta`, one per open counter store (`~<seq>` was absent before
 * format 1.1).
 */
function writerOfDelta(name: string): ProcessId | undefined {
  if (!isDeltaName(name)) return undefined;
  return processOfOwnerTag(name.slice(0, -'.delta'.length).split('~', 3).join('~'));
}
