import { basename, join } from 'node:path';
import { type LockOptions, withLock } from '../../coordination/lock.js';
import { LockTimeoutError } from '../../errors.js';
import { crc32 } from '../../format/crc32.js';
import type { Entry, EntryHeader } from '../../format/entry.js';
import { refused } from '../../fs/read-only.js';
import { io, type Op } from '../../fs/runner.js';
import { HOST, processOfOwnerTag, provablyDead, uniqueToken } from '../../identity.js';
import { isReadOnlyError } from '../../store/bookkeeping.js';
import { ensureDirectory, forgetDirectory, isPlainInside } from '../../store/directories.js';
import {
  discard,
  entryFromBytes,
  flushFolder,
  moveToCorrupt,
  type Published,
  type ReadResult,
  type Removal,
  type RemoveVerdict,
  readEntry,
  readHeader as readEntryHeader,
  renameVerified,
  type StoreSettings,
  type Updated,
  writePrivate,
  writeTemp,
} from '../../store/entries.js';
import { allocated } from '../../store/footprint.js';
import { isBlobName, isBucketName, isCompactionLockName, isIgnoredName } from '../../store/names.js';
import type { Batch, EntryWrite } from '../slots.js';
import {
  appendEncoded,
  appendRecord,
  Bucket,
  bucketFileName,
  catchUp,
  fileHeader,
  MAX_GENERATION,
  type Outcome,
  openGeneration,
  outcomeOf,
  outcomesOf,
  parseBucketFileName,
  type State,
} from './bucket.js';
import {
  encodeRecord,
  FILE_HEADER,
  isFileHeader,
  NO_STATE,
  parseRecords,
  RECORD_HEADER,
  RECORD_MAGIC,
  type RecordInput,
  RecordKind,
  WRITER_ID,
} from './record.js';

function crc(record: Buffer): number {
  return crc32(record.subarray(12));
}

/** A blob file that no record names is an orphan once it is this old (its record may be on its way). */
const ORPHAN_AGE_MS = 60_000;
/** Number of bucket files; a key's bucket is the top six bits of its hash. */
export const BUCKET_COUNT = 64;
/** Entries larger than this keep a file of their own (`blobs/`); smaller ones are records. */
export const BLOB_THRESHOLD = 32 * 1024;
/**
 * The length a blob record is counted with: its header, the entry size and a file name
 * (`<host>~<pid>~<nonce>~<seq>.blob`, whose length varies a little with the host name; counted
 * alike by every process).
 */
const BLOB_RECORD_BYTES = RECORD_HEADER + 4 + 48;
/** A bucket is compacted once its dead bytes pass its live bytes and it is at least this long. */
export const COMPACT_MIN_BYTES = 64 * 1024;
/** Keys one process keeps in its index of a log cache unless `indexLimit` says otherwise. */
export const DEFAULT_INDEX_LIMIT = 1_000_000;

const MISSING = { state: 'missing' } as const;
const READ_ONLY_MEDIA = { code: 'EROFS', message: 'the file system is read-only' };
/** Sequence numbers of this process's lock records that an operation is waiting on or holding. */
const heldLocks = new Set<number>();
const BLOB_NAME = /^[A-Za-z0-9~-]{1,200}\.blob$/;

/** The bucket of a key hash (32 hex digits). */
export function bucketOf(hash: string): number {
  return Number.parseInt(hash.slice(0, 2), 16) >> 2;
}

/** The key hash of an entry path (its last 32 characters). */
function hashOf(path: string): string {
  return basename(path);
}

/**
 * The `log` engine's store: entries are records appended to {@link BUCKET_COUNT} bucket files in
 * `log/`, chosen by the key's hash; entries above {@link BLOB_THRESHOLD} keep a file of their own in
 * `blobs/`, named by a record. Every process replays the records of the buckets it uses into an index
 * in memory (bounded by `indexLimit` keys) and catches up with what others append before each use
 * (one `fstat`, and a read of the new bytes if there are any). Writes that depend on what is there
 * (`add`, `pop`, `touch`, conditional removals) are conditional records: a record applies only if
 * the key's state is still the one it names, which the append order of the file decides for every
 * reader alike, so no lock is needed for them.
 */
export class LogStore {
  readonly folder: string;
  readonly blobFolder: string;
  private readonly buckets: Bucket[];
  /** Buckets in the order they were last used, least recent first (for the index bound). */
  private readonly recent = new Set<Bucket>();
  private lastUsed: Bucket | undefined;

  constructor(
    readonly store: StoreSettings,
    readonly lock: LockOptions,
    readonly indexLimit: number,
    /** The unit in which the file system allocates blob files (see `store/footprint.ts`). */
    readonly allocationUnit: number,
  ) {
    this.folder = join(store.layout.directory, 'log');
    this.blobFolder = join(store.layout.directory, 'blobs');
    this.buckets = Array.from({ length: BUCKET_COUNT }, (_, n) => new Bucket(n, this.folder));
  }

  /**
   * The bytes the disk takes for a live entry of `entryBytes` bytes: a record (its header and the
   * entry: records lie end to end, so nothing is rounded) or, above {@link BLOB_THRESHOLD}, a blob
   * file (rounded up to the allocation unit) and the record that names it. Dead records, which
   * wait in a bucket file until it is compacted, are not counted (see docs/FORMAT.md, "Volume").
   * An entry written from a stream is a blob whatever its size, and is counted by its size as well.
   */
  footprint(entryBytes: number): number {
    if (entryBytes === 0) return 0; // No entry (a size that is not known counts nothing).
    return entryBytes <= BLOB_THRESHOLD
      ? RECORD_HEADER + entryBytes
      : allocated(entryBytes, this.allocationUnit) + BLOB_RECORD_BYTES;
  }

  /** The bucket that holds `hash`, caught up with its file. */
  *ready(hash: string): Op<Bucket> {
    return yield* this.readyBucket(this.buckets[bucketOf(hash)] as Bucket);
  }

  /** `bucket`, opened if needed and caught up with its file (and its successor, once there is one). */
  *readyBucket(bucket: Bucket): Op<Bucket> {
    for (;;) {
      // One operation of this process opens a bucket; the others wait for it (each would hold a
      // descriptor of its own meanwhile).
      while (bucket.opening) yield* io('sleep', 1);
      if (bucket.fd === undefined) {
        bucket.opening = true;
        try {
          yield* this.open(bucket);
        } finally {
          bucket.opening = false;
        }
      }
      // Caught up after each move too: another operation of this process may have made the move and
      // not replayed the new file yet.
      yield* catchUp(bucket);
      if (bucket.sealedFor === undefined) {
        if (!(yield* this.removedBehindOurBack(bucket))) break;
        yield* this.retire(bucket);
        continue;
      }
      const generation = bucket.generation;
      yield* this.follow(bucket, false);
      if (bucket.generation === generation) break;
    }
    this.used(bucket);
    return bucket;
  }

  /**
   * Whether the bucket's open file was removed by someone else (its folder removed or replaced, say):
   * no name links to it any more, and none of ours removes a file it has not sealed. Appends to it
   * would reach no other process, and be lost at close.
   */
  private *removedBehindOurBack(bucket: Bucket): Op<boolean> {
    if (!bucket.unlinked || bucket.fd === undefined) return false;
    // A file system that counts no links for open files: the name still leads to the same file.
    const named = yield* io('lstat', bucket.path());
    return named?.dev !== bucket.identity.dev || named?.ino !== bucket.identity.ino;
  }

  /**
   * Leaves the bucket's open file for a fresh listing of `log/` (which {@link readyBucket} opens):
   * its descriptor is closed at the next move, as {@link openGeneration} does.
   */
  private *retire(bucket: Bucket): Op<void> {
    const retired = bucket.retired;
    bucket.retired = bucket.fd;
    bucket.fd = undefined;
    bucket.generation = 0;
    bucket.unlinked = false;
    bucket.reset();
    if (retired !== undefined) yield* io('close', retired);
  }

  /**
   * `bucket`, caught up and open on a generation that takes appends: a sealed one is waited out
   * (see {@link follow}).
   */
  private *writable(bucket: Bucket): Op<Bucket> {
    for (;;) {
      yield* this.readyBucket(bucket);
      if (this.store.readOnly) yield* this.refuseAppend(bucket);
      if (bucket.fd === undefined) {
        // log/ is a link or a file (see open): refused with a CacheError, unless made plain since.
        forgetDirectory(this.store, this.folder);
        yield* ensureDirectory(this.store, this.folder);
        continue;
      }
      if (bucket.sealedFor === undefined) return bucket;
      yield* this.follow(bucket, true);
    }
  }

  /**
   * Fails as the file system refuses appends to the bucket: a read-only store's buckets are open for
   * reading only (an append there would fail with EBADF), and its file system says why.
   */
  private *refuseAppend(bucket: Bucket): Op<never> {
    const fd = yield* io('openForAppend', bucket.path());
    if (fd !== undefined) yield* io('close', fd);
    throw refused('append', bucket.path(), READ_ONLY_MEDIA);
  }

  /** Closes every bucket file. */
  *close(): Op<void> {
    for (const bucket of this.buckets) {
      const { fd, retired } = bucket;
      bucket.fd = undefined;
      bucket.retired = undefined;
      bucket.generation = 0;
      bucket.reset();
      if (fd !== undefined) yield* io('close', fd);
      if (retired !== undefined) yield* io('close', retired);
    }
    this.recent.clear();
    this.lastUsed = undefined;
  }

  private used(bucket: Bucket): void {
    if (this.lastUsed === bucket) return;
    this.lastUsed = bucket;
    this.recent.delete(bucket);
    this.recent.add(bucket);
    let keys = 0;
    for (const b of this.recent) keys += b.states.size;
    for (const b of this.recent) {
      if (keys <= this.indexLimit || b === bucket) break;
      // Forgotten: replayed again from its start when next used.
      keys -= b.states.size;
      b.reset();
      this.recent.delete(b);
    }
  }

  /**
   * Opens the newest generation of the bucket's file, creating the first one if there is none. Only
   * the newest of a fresh listing is opened: an older one (left by a compaction, or made by a process
   * that listed long ago) is never written to.
   */
  private *open(bucket: Bucket): Op<void> {
    for (let attempt = 0; attempt < 8; attempt++) {
      const newest = yield* this.newestGeneration(bucket);
      if (newest > 0 && (yield* this.openAt(bucket, newest))) return;
      // A store that cannot be written reads a missing bucket as empty.
      if (this.store.readOnly) return;
      if (newest === 0) {
        // A log/ replaced by a link or a file holds nothing of ours: empty to reads, refused to
        // writes (see writable), until check({ fix: true }) makes it a folder again.
        const folder = yield* io('lstat', this.folder);
        if (folder !== undefined && (!folder.isDirectory || folder.isSymbolicLink)) return;
        yield* this.create(bucket, 1, [fileHeader(bucket, 1)]);
      }
      // The newest is no bucket file of ours (planted or damaged; unless it was removed since the
      // listing): set aside, so that the one before it is the newest again.
      else yield* this.setAsideForeign(bucket, newest);
    }
    throw new Error(`diskcache-ts: bucket ${bucket.path(1)} could not be opened`);
  }

  /** The newest generation of the bucket in a fresh listing of `log/` (0 if there is none). */
  private *newestGeneration(bucket: Bucket): Op<number> {
    let newest = 0;
    for (const name of yield* io('readdir', this.folder)) {
      const file = parseBucketFileName(name);
      if (file !== undefined && file.bucket === bucket.number) newest = Math.max(newest, file.generation);
    }
    return newest;
  }

  /**
   * Opens a generation of the bucket: for appending, or for reading only where the store cannot be
   * written (read-only media answer EROFS to the first: the store is read-only from then on).
   */
  private *openAt(bucket: Bucket, generation: number): Op<boolean> {
    try {
      return yield* openGeneration(bucket, generation, this.store.readOnly);
    } catch (error) {
      if (!isReadOnlyError(error)) throw error;
      this.store.readOnly = true;
      return yield* openGeneration(bucket, generation, true);
    }
  }

  /**
   * Makes generation `generation` of the bucket with `chunks`, unless a bucket file of ours is there
   * already (`false`); a foreign file in its place is set aside.
   */
  private *create(bucket: Bucket, generation: number, chunks: readonly Uint8Array[]): Op<boolean> {
    yield* ensureDirectory(this.store, this.folder);
    const temp = yield* writePrivate(this.store, bucket.path(generation), chunks);
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          yield* io('link', temp, bucket.path(generation));
          break;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt === 8) throw error;
          if (!(yield* this.setAsideForeign(bucket, generation))) return false;
        }
      }
    } finally {
      yield* discard(temp);
    }
    if (this.store.fsync) yield* io('fsyncDir', this.folder);
    return true;
  }

  /**
   * Moves the file at generation `generation`'s name into `corrupt/` unless it is a bucket file of
   * ours (a whole one: bucket files are linked in complete); `false` if it is one.
   */
  private *setAsideForeign(bucket: Bucket, generation: number): Op<boolean> {
    const path = bucket.path(generation);
    const info = yield* io('lstat', path);
    if (info === undefined) return true;
    if (info.isFile) {
      const fd = yield* io('openForRead', path);
      if (fd !== undefined) {
        let header: Buffer;
        try {
          header = yield* io('readAt', fd, FILE_HEADER, 0);
        } finally {
          yield* io('close', fd);
        }
        if (isFileHeader(header, generation, bucket.number)) return false;
      }
    }
    try {
      yield* moveToCorrupt(this.store, path);
    } catch (error) {
      // Moved or removed since by another process: gone all the same.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    return true;
  }

  /**
   * Moves on from a sealed generation to the next one. A writer (`mustMove`) waits for it under
   * the bucket's compaction lock, and completes the compaction itself if its compactor died.
   */
  private *follow(bucket: Bucket, mustMove: boolean): Op<void> {
    const next = bucket.sealedFor as number;
    if (yield* this.openAt(bucket, next)) return;
    // Compacted again since, and the next one removed: the newest is where everything is.
    const newest = yield* this.newestGeneration(bucket);
    if (newest > next && (yield* this.openAt(bucket, newest))) return;
    if (!mustMove) return;
    yield* withLock(this.compactionLock(bucket), this.lock, () => this.finishCompaction(bucket));
  }

  private compactionLock(bucket: Bucket): string {
    return join(this.folder, `${bucket.number.toString(16).padStart(2, '0')}.lock`);
  }

  /**
   * Appends `input` to the key's bucket and returns how it turned out; a record that landed after a
   * seal is appended again to the next generation.
   */
  *append(hash: string, input: RecordInput): Op<Outcome> {
    return (yield* this.appendAll(bucketOf(hash), [input]))[0] as Outcome;
  }

  /**
   * Appends the records (all of keys in bucket `n`) with one write and returns how each turned
   * out, in order; records that landed after a seal are appended again to the next generation.
   */
  private *appendAll(n: number, inputs: readonly RecordInput[]): Op<Outcome[]> {
    const outcomes: Outcome[] = new Array(inputs.length);
    let left = inputs.map((_, i) => i);
    while (left.length > 0) {
      const bucket = yield* this.writable(this.buckets[n] as Bucket);
      const tried = yield* this.appendTo(
        bucket,
        left.map((i) => inputs[i] as RecordInput),
      );
      const sealed: number[] = [];
      left.forEach((i, j) => {
        const outcome = tried[j] as Outcome;
        if (outcome.sealed) sealed.push(i);
        else outcomes[i] = outcome;
      });
      left = sealed;
    }
    return outcomes;
  }

  /** Appends to the current file of a caught-up bucket with one write (no retry). */
  private *appendTo(bucket: Bucket, inputs: readonly RecordInput[]): Op<Outcome[]> {
    const outcomes = yield* outcomesOf(bucket, yield* appendEncoded(bucket, inputs.map(encodeRecord)));
    if (outcomes.every((outcome) => outcome.sealed)) return outcomes;
    if (this.store.fsync) yield* io('syncFile', bucket.fd as number);
    for (const outcome of outcomes) {
      if (!outcome.sealed && outcome.applied && outcome.priorBlob !== undefined)
        yield* this.removeBlob(outcome.priorBlob.name);
    }
    if (bucket.dead(bucket.end) > bucket.live && bucket.end >= COMPACT_MIN_BYTES) yield* this.compact(bucket);
    return outcomes;
  }

  /**
   * A change that depends on the key's state: `plan` sees the current state and returns the record
   * to append (conditional on that state) or `undefined` to leave it; tried again while another
   * writer changes the key first. Returns the state `plan` last saw and the outcome, if it appended.
   */
  *change(
    hash: string,
    plan: (state: State | undefined, bucket: Bucket) => Op<RecordInput | undefined>,
  ): Op<{ state: State | undefined; outcome: Outcome | undefined }> {
    for (;;) {
      const bucket = yield* this.writable(this.buckets[bucketOf(hash)] as Bucket);
      const state = bucket.states.get(hash);
      const input = yield* plan(state, bucket);
      if (input === undefined) return { state, outcome: undefined };
      const [outcome] = (yield* this.appendTo(bucket, [input])) as [Outcome];
      if (outcome.sealed || (!outcome.applied && input.expected !== undefined)) continue;
      return { state, outcome };
    }
  }

  /** The entry a state refers to, read and verified. */
  *readState(bucket: Bucket, state: State): Op<ReadResult<Entry>> {
    if (state.kind === RecordKind.Blob) {
      const blob = bucket.blobs.get(state.offset);
      if (blob === undefined || !BLOB_NAME.test(blob.name)) {
        return { state: 'corrupt', reason: 'a blob record without a valid file name', size: 0 };
      }
      const found = yield* readEntry(join(this.blobFolder, blob.name));
      return found.state === 'missing' ? MISSING : found;
    }
    const bytes = yield* io('readAt', bucket.fd as number, state.length, state.offset);
    // The record was verified when replayed; the entry it holds verifies itself (its checksums).
    if (
      bytes.length !== state.length ||
      bytes.readUInt32LE(0) !== RECORD_MAGIC ||
      bytes.readUInt32LE(4) !== state.length
    ) {
      return { state: 'corrupt', reason: 'the record changed after it was written', size: state.length };
    }
    return yield* entryFromBytes(bytes.subarray(RECORD_HEADER));
  }

  /** The key's entry header (a blob's without reading its value), read and verified. */
  *readHeader(path: string): Op<ReadResult<EntryHeader>> {
    const hash = hashOf(path);
    const bucket = yield* this.ready(hash);
    const state = bucket.states.get(hash);
    if (state === undefined) return MISSING;
    const blob = state.kind === RecordKind.Blob ? bucket.blobs.get(state.offset) : undefined;
    if (blob === undefined || !BLOB_NAME.test(blob.name)) return yield* this.read(path);
    const found = yield* readEntryHeader(join(this.blobFolder, blob.name));
    return found.state === 'missing' ? yield* this.read(path) : found;
  }

  /** The key's entry, read and verified. */
  *read(path: string): Op<ReadResult<Entry>> {
    const hash = hashOf(path);
    for (let attempt = 0; ; attempt++) {
      const bucket = yield* this.ready(hash);
      const state = bucket.states.get(hash);
      if (state === undefined) return MISSING;
      const found = yield* this.readState(bucket, state);
      // A blob removed by the writer that just replaced it: the replacing record is there to read.
      if (found.state !== 'missing' || attempt === 3) return found;
    }
  }

  /** What identifies the key's stored entry now (its record), and the entry's size. */
  *version(path: string): Op<{ id: string; size: number } | undefined> {
    const hash = hashOf(path);
    const bucket = yield* this.ready(hash);
    const state = bucket.states.get(hash);
    if (state === undefined) return undefined;
    return { id: `${bucket.generation}:${state.offset}`, size: bucket.entrySize(state) };
  }

  /** The record to append for a new entry: the entry itself, or (when large) a blob file it names. */
  private *entryRecord(hash: string, chunks: readonly Uint8Array[], expected?: number): Op<RecordInput> {
    let size = 0;
    for (const chunk of chunks) size += chunk.byteLength;
    if (size <= BLOB_THRESHOLD) return { kind: RecordKind.Put, hash, expected, payload: chunks };
    return yield* this.blobRecord(hash, yield* writeTemp(this.store, hash, chunks), size, expected);
  }

  /** Moves a written temp file into `blobs/` and returns the record that names it. */
  private *blobRecord(hash: string, temp: string, size: number, expected?: number): Op<RecordInput> {
    const name = `${uniqueToken()}.blob`;
    try {
      yield* ensureDirectory(this.store, this.blobFolder);
      yield* renameVerified(temp, join(this.blobFolder, name));
    } catch (error) {
      yield* discard(temp);
      throw error;
    }
    // Before the record that names it is appended: a record never names a file power loss can undo.
    yield* flushFolder(this.store, join(this.blobFolder, name));
    const head = Buffer.allocUnsafe(4);
    head.writeUInt32LE(size);
    return { kind: RecordKind.Blob, hash, expected, payload: [head, Buffer.from(name)] };
  }

  private *removeBlob(name: string): Op<void> {
    if (BLOB_NAME.test(name)) yield* discard(join(this.blobFolder, name));
  }

  /** Stores an entry; the record (or blob) goes if the append fails. */
  *write(path: string, chunks: readonly Uint8Array[]): Op<Published> {
    const hash = hashOf(path);
    const input = yield* this.entryRecord(hash, chunks);
    return published(yield* this.append(hash, input));
  }

  /**
   * Stores several entries: the records of the keys of one bucket with one write. Entries laid out
   * before one that could not be (its blob not written) are still stored.
   */
  *writeMany(items: readonly EntryWrite[]): Op<Batch<Published>> {
    const inputs: RecordInput[] = [];
    let laidOut: Batch<RecordInput> = { done: inputs };
    for (const { path, chunks } of items) {
      try {
        inputs.push(yield* this.entryRecord(hashOf(path), chunks));
      } catch (error) {
        laidOut = { done: inputs, error };
        break;
      }
    }
    // A blob whose record may or may not have landed (the write failed) stays: if none names it,
    // check({ fix: true }) and recovery remove it.
    const appended = yield* this.appendGrouped(inputs);
    return {
      done: appended.done.map((outcome) => outcome && published(outcome)),
      error: appended.error ?? laidOut.error,
    };
  }

  /** Removes the entries of several keys (one write per bucket); for each, whether it had one. */
  *removeMany(paths: readonly string[]): Op<Batch<boolean>> {
    const inputs = paths.map((path): RecordInput => ({ kind: RecordKind.Delete, hash: hashOf(path) }));
    const appended = yield* this.appendGrouped(inputs);
    return { ...appended, done: appended.done.map((outcome) => outcome && outcome.prior !== undefined) };
  }

  /**
   * Appends each bucket's share of `inputs` with one write; the outcomes in the order of `inputs`
   * (those of the buckets written before a failure, and the failure).
   */
  private *appendGrouped(inputs: readonly RecordInput[]): Op<Batch<Outcome>> {
    const byBucket = new Map<number, number[]>();
    inputs.forEach((input, i) => {
      const n = bucketOf(input.hash);
      const group = byBucket.get(n);
      if (group === undefined) byBucket.set(n, [i]);
      else group.push(i);
    });
    const outcomes: (Outcome | undefined)[] = new Array(inputs.length).fill(undefined);
    for (const [n, group] of byBucket) {
      let done: Outcome[];
      try {
        done = yield* this.appendAll(
          n,
          group.map((i) => inputs[i] as RecordInput),
        );
      } catch (error) {
        return { done: outcomes, error };
      }
      group.forEach((i, j) => {
        outcomes[i] = done[j];
      });
    }
    return { done: outcomes };
  }

  /** Stores a written temp file (a stream's) as the key's entry. */
  *publish(temp: string, path: string): Op<Published> {
    const hash = hashOf(path);
    const size = (yield* io('stat', temp))?.size ?? 0;
    const input = yield* this.blobRecord(hash, temp, size);
    return published(yield* this.append(hash, input));
  }

  /** Stores an entry only if the key has none; `false` if it has one. */
  *writeIfAbsent(path: string, chunks: readonly Uint8Array[]): Op<Published | false> {
    const hash = hashOf(path);
    const self = this;
    let input: RecordInput | undefined;
    const { outcome } = yield* this.change(hash, function* (state) {
      if (state !== undefined) return undefined;
      input ??= yield* self.entryRecord(hash, chunks, NO_STATE);
      return input;
    });
    if (outcome !== undefined) return published(outcome);
    // Declined: a blob written for it is named by no record.
    if (input?.kind === RecordKind.Blob) yield* this.removeBlob(blobName(input));
    return false;
  }

  /** Removes the key's entry; `false` if it had none. */
  *remove(path: string): Op<boolean> {
    const hash = hashOf(path);
    const outcome = yield* this.append(hash, { kind: RecordKind.Delete, hash });
    return outcome.prior !== undefined;
  }

  /** Removes whatever entry the key has, unread; returns its size (`undefined` if it had none). */
  *discard(path: string): Op<number | undefined> {
    const hash = hashOf(path);
    const bucket = yield* this.ready(hash);
    if (!bucket.states.has(hash)) return undefined;
    const outcome = yield* this.append(hash, { kind: RecordKind.Delete, hash });
    return outcome.prior === undefined ? undefined : published(outcome).replacedSize;
  }

  /**
   * Removes the key's entry if `shouldRemove` holds for it, as read; the removal is conditional on
   * the very entry that was judged, so a newer entry is never removed by mistake. An entry judged
   * corrupt (or `'aside'`) is copied into `corrupt/` first.
   */
  *removeIf(
    path: string,
    shouldRemove: (found: ReadResult<EntryHeader>) => RemoveVerdict,
    verify: 'header' | 'full' = 'header',
  ): Op<Removal> {
    const hash = hashOf(path);
    const self = this;
    let size = 0;
    const { outcome } = yield* this.change(hash, function* (state, bucket) {
      if (state === undefined) return undefined;
      const found: ReadResult<EntryHeader> =
        verify === 'full' ? yield* self.readState(bucket, state) : yield* self.readHeader(path);
      if (found.state === 'missing') return undefined;
      const verdict = shouldRemove(found);
      if (!verdict) return undefined;
      size = found.state === 'ok' ? found.entry.fileSize : bucket.entrySize(state);
      if (found.state === 'corrupt' || verdict === 'aside') yield* self.keepAside(bucket, state, hash);
      return { kind: RecordKind.Delete, hash, expected: state.offset };
    });
    return outcome === undefined ? { removed: false, size: 0 } : { removed: true, size };
  }

  /** Removes the key's entry and returns it; of concurrent takers, one gets it. */
  *take(path: string): Op<ReadResult<Entry>> {
    const hash = hashOf(path);
    const self = this;
    let taken: ReadResult<Entry> = MISSING;
    yield* this.change(hash, function* (state, bucket) {
      taken = MISSING;
      if (state === undefined) return undefined;
      taken = yield* self.readState(bucket, state);
      if (taken.state === 'missing') return undefined;
      if (taken.state === 'corrupt') yield* self.keepAside(bucket, state, hash);
      return { kind: RecordKind.Delete, hash, expected: state.offset };
    });
    return taken;
  }

  /** Rewrites the key's entry from itself, never over a newer one (see `Slots.update`). */
  *update(path: string, rewrite: (entry: Entry) => Op<readonly Uint8Array[] | undefined>): Op<Updated> {
    const hash = hashOf(path);
    const self = this;
    let found: ReadResult<Entry> = MISSING;
    let lost: number | undefined;
    let input: RecordInput | undefined;
    const { outcome } = yield* this.change(hash, function* (state, bucket) {
      found = MISSING;
      lost = undefined;
      if (input?.kind === RecordKind.Blob) yield* self.removeBlob(blobName(input));
      input = undefined;
      if (state === undefined) return undefined;
      found = yield* self.readState(bucket, state);
      if (found.state === 'missing') return undefined;
      if (found.state === 'corrupt') {
        lost = found.size;
        yield* self.keepAside(bucket, state, hash);
        return { kind: RecordKind.Delete, hash, expected: state.offset };
      }
      const chunks = yield* rewrite(found.entry);
      if (chunks === undefined) return undefined;
      input = yield* self.entryRecord(hash, chunks, state.offset);
      return input;
    });
    const result = found as ReadResult<Entry>;
    return { found: result, written: outcome !== undefined && result.state === 'ok', lost };
  }

  /** Copies a damaged entry's record (or blob) into `corrupt/`, for inspection. */
  private *keepAside(bucket: Bucket, state: State, hash: string): Op<void> {
    const corrupt = this.store.layout.corrupt;
    yield* ensureDirectory(this.store, corrupt);
    const blob = bucket.blobs.get(state.offset);
    const name = `${hash}.${uniqueToken()}.corrupt`;
    if (state.kind === RecordKind.Blob && blob !== undefined && BLOB_NAME.test(blob.name)) {
      try {
        yield* io('link', join(this.blobFolder, blob.name), join(corrupt, name));
      } catch {
        // Gone already, or not linkable: nothing to keep.
      }
      return;
    }
    const bytes = yield* io('readAt', bucket.fd as number, state.length, state.offset);
    const temp = yield* writePrivate(this.store, name, [bytes]);
    yield* renameVerified(temp, join(corrupt, name));
  }

  /**
   * Runs `body` holding the key's lock: a queue of lock records in the key's bucket, served in the
   * order of the file. A holder that is provably dead, or that has held the lock for longer than the
   * lease (from the unlock record that made it first in line, or from when it queued), is dequeued by
   * the next in line; a waiter gives up after the lock timeout.
   */
  *exclusive<T>(path: string, body: () => Op<T>): Op<T> {
    const hash = hashOf(path);
    // Lock records are judged on this host's real clock (every writer of a log cache is on this host).
    const start = Date.now();
    const payload = Buffer.allocUnsafe(12);
    payload.writeUInt32LE(process.pid, 0);
    payload.writeDoubleLE(start, 4);
    const lockRecord: RecordInput = { kind: RecordKind.Lock, hash, payload: [payload, Buffer.from(HOST)] };
    let mine = yield* this.enqueue(hash, lockRecord);
    let delay = 0.05;
    try {
      for (;;) {
        const bucket = yield* this.ready(hash);
        const queue = bucket.locks.get(hash) ?? [];
        const head = queue[0];
        if (!queue.some((w) => w.writer === WRITER_ID && w.sequence === mine)) {
          // Our place was lost (the file was cut short behind our back): queue again. Should the old
          // record come back, it is no longer ours to wait on, and is dequeued.
          heldLocks.delete(mine);
          mine = yield* this.enqueue(hash, lockRecord);
          continue;
        }
        if (head !== undefined && head.writer === WRITER_ID && head.sequence === mine) break;
        const now = Date.now();
        const abandoned =
          head !== undefined &&
          (head.writer === WRITER_ID
            ? !heldLocks.has(head.sequence) && !bucket.pending.has(head.sequence)
            : provablyDead(head.host, head.pid) || now - head.since > this.lock.leaseMs);
        if (head !== undefined && abandoned) {
          yield* this.append(hash, unlockRecord(hash, head.writer, head.sequence));
          continue;
        }
        if (now - start >= this.lock.timeout) {
          heldLocks.delete(mine);
          yield* this.append(hash, unlockRecord(hash, WRITER_ID, mine));
          throw new LockTimeoutError(
            `the lock of key ${hash} in ${this.folder} is held by ${head?.host ?? '?'}:${head?.pid ?? '?'}; raise options.timeout`,
            {
              path: join(this.folder, hash),
              holder: head === undefined ? undefined : `${head.host}:${head.pid}`,
            },
          );
        }
        yield* io('sleep', delay * (0.5 + Math.random()));
        delay = Math.min(delay * 2, 2);
      }
    } catch (error) {
      // Abandoned: the next waiter of this process takes it out of the queue.
      heldLocks.delete(mine);
      throw error;
    }
    try {
      return yield* body();
    } finally {
      // Known as no longer held from here on, even if the unlock record fails to be appended: the
      // next waiter of this process then removes it from the queue.
      heldLocks.delete(mine);
      yield* this.append(hash, unlockRecord(hash, WRITER_ID, mine));
    }
  }

  /** Appends a lock record; returns its sequence number (the one of the copy that counts). */
  private *enqueue(hash: string, input: RecordInput): Op<number> {
    for (;;) {
      const bucket = yield* this.writable(this.buckets[bucketOf(hash)] as Bucket);
      const appended = yield* appendRecord(bucket, input);
      const [sequence] = appended.sequences as [number];
      heldLocks.add(sequence);
      let outcome: Outcome;
      try {
        outcome = yield* outcomeOf(bucket, appended);
      } catch (error) {
        // Abandoned: the next waiter of this process takes it out of the queue.
        heldLocks.delete(sequence);
        throw error;
      }
      if (!outcome.sealed) return sequence;
      heldLocks.delete(sequence);
    }
  }

  /**
   * The records of a transaction's changes (an entry laid out in `bytes`, a temp file, or a removal
   * where neither is given), large entries moved into blob files first.
   */
  *prepareRecords(changes: readonly { path: string; bytes?: Buffer; temp?: string }[]): Op<Buffer[]> {
    const records: Buffer[] = [];
    for (const change of changes) {
      const hash = hashOf(change.path);
      let input: RecordInput;
      if (change.bytes !== undefined) input = yield* this.entryRecord(hash, [change.bytes]);
      else if (change.temp !== undefined) {
        const size = (yield* io('stat', change.temp))?.size ?? 0;
        input = yield* this.blobRecord(hash, change.temp, size);
      } else input = { kind: RecordKind.Delete, hash };
      records.push(encodeRecord(input).bytes);
    }
    return records;
  }

  /**
   * Appends records (a committed transaction's), all those of one bucket with one write, and waits
   * until each is in place. Records of another writer (a journal left by a dead process) are
   * appended as this process's.
   */
  *appendRecords(records: readonly Buffer[], onlyMissing = false): Op<void> {
    const byBucket = new Map<number, Buffer[]>();
    const present = onlyMissing ? yield* this.recordsPresent(records) : new Set<string>();
    for (const raw of records) {
      const [parsed] = parseRecords(raw, 0, true).records;
      if (parsed === undefined || present.has(`${parsed.writer}:${parsed.sequence}`)) continue;
      const own =
        parsed.writer === WRITER_ID
          ? raw
          : encodeRecord({ kind: parsed.kind, hash: parsed.hash, payload: [parsed.payload] }).bytes;
      const n = bucketOf(parsed.hash);
      byBucket.set(n, [...(byBucket.get(n) ?? []), own]);
    }
    for (const [n, group] of byBucket) {
      const records = group.map((bytes) => ({ bytes, sequence: bytes.readUInt32LE(48) }));
      const bucket = this.buckets[n] as Bucket;
      for (;;) {
        yield* this.writable(bucket);
        const outcomes = yield* outcomesOf(bucket, yield* appendEncoded(bucket, records));
        if (outcomes.some((outcome) => outcome.sealed)) continue;
        if (this.store.fsync) yield* io('syncFile', bucket.fd as number);
        break;
      }
    }
  }

  /**
   * Checks the files of the log (for `check()`): bytes of a bucket that are no intact record (torn
   * by a crash, or written by someone else: `fix` compacts the bucket without them), generations
   * left behind by a compaction, and blob files that no record names (of a dead writer, or older than
   * a minute: a blob is written just before its record). Names that are not the engine's are returned as `unknown`.
   */
  *checkFiles(fix: boolean): Op<{ problems: string[]; unknown: string[] }> {
    const problems: string[] = [];
    const unknown: string[] = [];
    const named = new Set<string>();
    for (const bucket of this.buckets) {
      yield* this.readyBucket(bucket);
      if (bucket.fd === undefined) continue;
      const tail = (yield* io('fstat', bucket.fd)).size - bucket.end;
      const junk = (tail > 0 && bucket.sealedFor === undefined ? tail : 0) + bucket.skipped;
      // Bytes that are no record are, after a crash, a write cut short: routine debris, which fix
      // compacts away as recovery removes a dead writer's temp files; check() alone reports them.
      if (junk > 0 && fix) yield* this.compact(bucket, true);
      else if (junk > 0) {
        problems.push(
          `log/${bucketFileName(bucket.number, bucket.generation)}: ${junk} bytes that are no intact record (torn by a crash, or written by someone else)`,
        );
      }
      for (const blob of bucket.blobs.values()) named.add(blob.name);
    }
    // A folder under a name the engine removes (an old generation, a blob) is none of its files:
    // it is reported as an unknown name and moved aside, never unlinked (which would fail).
    const isFolder = function* (path: string): Op<boolean> {
      const info = yield* io('lstat', path);
      return info?.isDirectory === true && !info.isSymbolicLink;
    };
    for (const name of (yield* isPlainInside(this.store, this.folder))
      ? yield* io('readdir', this.folder)
      : []) {
      // Compaction locks are judged with the cache's other locks (stale ones are broken).
      if (isIgnoredName(name) || isCompactionLockName(name)) continue;
      const file = isBucketName(name) ? parseBucketFileName(name) : undefined;
      if (file === undefined || (yield* isFolder(join(this.folder, name)))) {
        unknown.push(join(this.folder, name));
        continue;
      }
      const current = this.buckets[file.bucket]?.generation;
      if (current === undefined || file.generation >= current) continue;
      problems.push(`log/${name}: a generation left behind by a compaction${fix ? ', removed' : ''}`);
      if (fix) yield* io('unlink', join(this.folder, name));
    }
    // File times are on this host's real clock (a log cache is only written on this host).
    const now = Date.now();
    for (const name of (yield* isPlainInside(this.store, this.blobFolder))
      ? yield* io('readdir', this.blobFolder)
      : []) {
      if (isIgnoredName(name)) continue;
      const path = join(this.blobFolder, name);
      if (!isBlobName(name) || (yield* isFolder(path))) {
        unknown.push(path);
        continue;
      }
      if (named.has(name)) continue;
      // A blob of a writer that died before its record was appended is routine crash debris, which
      // fix removes without a finding; any other is an orphan once it is old enough.
      const writer = processOfOwnerTag(name.slice(0, name.lastIndexOf('~')));
      const debris = writer !== undefined && provablyDead(writer.host, writer.pid);
      if (!debris) {
        const info = yield* io('lstat', path);
        if (info === undefined || now - info.mtimeMs < ORPHAN_AGE_MS) continue;
      }
      if (!(debris && fix))
        problems.push(`blobs/${name}: a blob file that no record names${fix ? ', removed' : ''}`);
      if (fix) yield* io('unlink', path);
    }
    return { problems, unknown };
  }

  /**
   * Which of `records` (by writer and sequence) the files of their buckets hold already: a journal
   * replayed after its writer died appends only the others, never again over newer writes.
   */
  private *recordsPresent(records: readonly Buffer[]): Op<Set<string>> {
    const wanted = new Set<string>();
    const buckets = new Set<number>();
    for (const raw of records) {
      const [parsed] = parseRecords(raw, 0, true).records;
      if (parsed === undefined) continue;
      wanted.add(`${parsed.writer}:${parsed.sequence}`);
      buckets.add(bucketOf(parsed.hash));
    }
    const present = new Set<string>();
    for (const n of buckets) {
      const bucket = yield* this.readyBucket(this.buckets[n] as Bucket);
      const fd = bucket.fd;
      if (fd === undefined) continue;
      for (let at = FILE_HEADER; at < bucket.end; ) {
        const bytes = yield* io('readAt', fd, Math.min(1024 * 1024, bucket.end - at), at);
        const parsed = parseRecords(bytes, at, at + bytes.length >= bucket.end);
        for (const record of parsed.records) {
          const id = `${record.writer}:${record.sequence}`;
          if (wanted.has(id)) present.add(id);
        }
        if (parsed.end === at) break;
        at = parsed.end;
      }
    }
    return present;
  }

  /** Number of groups {@link list} lists entries by. */
  get groups(): number {
    return BUCKET_COUNT;
  }

  /** The paths of the entries in bucket `group`, in key-hash order. */
  *list(group: number): Op<string[]> {
    const bucket = yield* this.readyBucket(this.buckets[group] as Bucket);
    return [...bucket.states.keys()].sort().map((hash) => this.store.layout.entry(hash));
  }

  /** The file that holds the key's entry and where the entry starts in it (see `Slots.placeOf`). */
  *placeOf(path: string): Op<{ file: string; offset: number; size?: number } | undefined> {
    const hash = hashOf(path);
    const bucket = yield* this.ready(hash);
    const state = bucket.states.get(hash);
    if (state === undefined) return undefined;
    if (state.kind === RecordKind.Put) {
      return {
        file: bucket.path(),
        offset: state.offset + RECORD_HEADER,
        size: state.length - RECORD_HEADER,
      };
    }
    const blob = bucket.blobs.get(state.offset);
    if (blob === undefined || !BLOB_NAME.test(blob.name)) return undefined;
    return { file: join(this.blobFolder, blob.name), offset: 0 };
  }

  /** Records an access time (or count) of the key's entry, for the LRU and LFU policies. */
  *recordAccess(path: string, value: number): Op<void> {
    const hash = hashOf(path);
    const payload = Buffer.allocUnsafe(8);
    payload.writeDoubleLE(value);
    yield* this.append(hash, { kind: RecordKind.Access, hash, payload: [payload] });
  }

  /** The access time (or count) last recorded for the key's entry. */
  *accessOf(path: string): Op<number | undefined> {
    const hash = hashOf(path);
    return (yield* this.ready(hash)).access.get(hash);
  }

  /**
   * Compacts a bucket whose dead bytes passed its live bytes, unless another process is at it: seals
   * the file (later appends go to the next generation), writes the live records into the next
   * generation, links it in and removes the old one.
   */
  private *compact(bucket: Bucket, always = false): Op<void> {
    yield* withLock(
      this.compactionLock(bucket),
      this.lock,
      function* (this: LogStore) {
        yield* this.readyBucket(bucket);
        if (bucket.sealedFor === undefined) {
          if (!always && !(bucket.dead(bucket.end) > bucket.live && bucket.end >= COMPACT_MIN_BYTES)) return;
          // No generation after the last (a file planted under its name got there): left as it is.
          if (bucket.generation >= MAX_GENERATION) return;
          const seal = Buffer.allocUnsafe(4);
          seal.writeUInt32LE(bucket.generation + 1);
          const appended = yield* appendRecord(bucket, {
            kind: RecordKind.Seal,
            hash: '0'.repeat(32),
            payload: [seal],
          });
          yield* outcomeOf(bucket, appended);
        }
        yield* this.finishCompaction(bucket);
      }.bind(this),
    );
  }

  /** Completes the compaction of a sealed bucket (the compaction lock is held). */
  private *finishCompaction(bucket: Bucket): Op<void> {
    yield* this.readyBucket(bucket);
    const next = bucket.sealedFor;
    if (next === undefined) return;
    // Compacted since by others (this process's view was behind): never make a generation again.
    const newest = yield* this.newestGeneration(bucket);
    if (newest >= next) {
      yield* this.open(bucket);
      return;
    }
    const old = bucket.path();
    const chunks: Uint8Array[] = [fileHeader(bucket, next)];
    const wanted = new Map<number, string>();
    for (const [hash, state] of bucket.states) wanted.set(state.offset, hash);
    const fd = bucket.fd as number;
    for (let at = FILE_HEADER; at < bucket.end; ) {
      const bytes = yield* io('readAt', fd, Math.min(1024 * 1024, bucket.end - at), at);
      const parsed = parseRecords(bytes, at, at + bytes.length >= bucket.end);
      for (const record of parsed.records) {
        if (!wanted.has(record.offset)) continue;
        const copy = Buffer.from(bytes.subarray(record.offset - at, record.offset - at + record.length));
        copy[13] = 0;
        copy.writeUInt32LE(crc(copy), 8);
        chunks.push(copy);
      }
      if (parsed.end === at) break;
      at = parsed.end;
    }
    for (const [hash, value] of bucket.access) {
      const payload = Buffer.allocUnsafe(8);
      payload.writeDoubleLE(value);
      chunks.push(encodeRecord({ kind: RecordKind.Access, hash, payload: [payload] }).bytes);
    }
    for (const [hash, queue] of bucket.locks) {
      for (const w of queue) {
        const payload = Buffer.allocUnsafe(12);
        payload.writeUInt32LE(w.pid, 0);
        payload.writeDoubleLE(w.since, 4);
        chunks.push(
          encodeRecord({
            kind: RecordKind.Lock,
            hash,
            payload: [payload, Buffer.from(w.host)],
            writer: w.writer,
            sequence: w.sequence,
          }).bytes,
        );
      }
    }
    yield* this.create(bucket, next, chunks);
    yield* io('unlink', old);
    yield* this.openAt(bucket, next);
  }
}

/**
 * The record that takes a lock out of its key's queue, with the time it is written: where the lock
 * was first in line, the next one holds the lock from then on (its lease runs from then).
 */
function unlockRecord(hash: string, writer: string, sequence: number): RecordInput {
  const payload = Buffer.allocUnsafe(20);
  payload.write(writer, 0, 8, 'hex');
  payload.writeUInt32LE(sequence, 8);
  // On this host's real clock, as the lock records' times (every writer of a log cache is on this host).
  payload.writeDoubleLE(Date.now(), 12);
  return { kind: RecordKind.Unlock, hash, payload: [payload] };
}

function blobName(input: RecordInput): string {
  const payload = input.payload?.[1];
  return payload === undefined ? '' : Buffer.from(payload).toString('utf8');
}

function published(outcome: Outcome): Published {
  const prior = outcome.prior;
  if (prior === undefined) return { created: true, replacedSize: 0 };
  return {
    created: false,
    replacedSize: outcome.priorBlob?.size ?? prior.length - RECORD_HEADER,
  };
}
