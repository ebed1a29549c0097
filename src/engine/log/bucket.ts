import { join } from 'node:path';
import { io, type Op } from '../../fs/runner.js';
import {
  encodeFileHeader,
  encodeRecord,
  FILE_HEADER,
  isFileHeader,
  type LogRecord,
  NO_STATE,
  parseRecords,
  RECORD_HEADER,
  type RecordInput,
  RecordKind,
  WRITER_ID,
} from './record.js';

/** Bytes read from a bucket file at a time while catching up with it. */
const READ_CHUNK = 1024 * 1024;

/** Where a key's current entry is: its record's offset and length. */
export interface State {
  offset: number;
  length: number;
  kind: RecordKind.Put | RecordKind.Blob;
}

/** A member of a key's lock queue. */
export interface Waiter {
  writer: string;
  sequence: number;
  pid: number;
  host: string;
  /**
   * When its wait for the lock began (its lock record's time) or, once it is first in the queue,
   * when it took the lock (the time of the unlock record that made it first, where that record has
   * one): its lease runs from here.
   */
  since: number;
}

/** How one of this process's records turned out, in the order of the file. */
export interface Outcome {
  /** Its condition held (always, for an unconditional record) and it changed the key. */
  applied: boolean;
  /** It came after a seal: it must be appended again to the next generation. */
  sealed: boolean;
  /** The key's state just before it. */
  prior: State | undefined;
  /** The blob the prior state referred to, if this record replaced or removed it. */
  priorBlob?: { size: number; name: string } | undefined;
}

/** The name of a bucket file: `<bucket in two hex digits>.<generation>`. */
export function bucketFileName(bucket: number, generation: number): string {
  return `${bucket.toString(16).padStart(2, '0')}.${generation}`;
}

/** The last generation a bucket can have: one after it would not fit the header's 32 bits. */
export const MAX_GENERATION = 0xffff_fffe;

/** Bucket and generation of a bucket file's name, or `undefined` if `name` is not one. */
export function parseBucketFileName(name: string): { bucket: number; generation: number } | undefined {
  const match = /^([0-9a-f]{2})\.([1-9][0-9]{0,9})$/.exec(name);
  const generation = Number(match?.[2]);
  return match && generation <= MAX_GENERATION
    ? { bucket: Number.parseInt(match[1] as string, 16), generation }
    : undefined;
}

/**
 * What one process knows of one bucket file: the state of every key in it (the offset of its newest
 * record that holds), replayed from the file in order and caught up with what other processes have
 * appended since, its lock queues, and how many of its bytes are live. The file's descriptor stays
 * open; a generation replaced by compaction is left for the next one, which its seal names.
 */
export class Bucket {
  readonly states = new Map<string, State>();
  readonly access = new Map<string, number>();
  readonly locks = new Map<string, Waiter[]>();
  /** Entry sizes and file names of the blob records among the states, by offset. */
  readonly blobs = new Map<number, { size: number; name: string }>();
  readonly outcomes = new Map<number, Outcome>();
  /** Sequence numbers of this process's records whose outcome an operation waits for. */
  readonly pending = new Set<number>();
  fd: number | undefined;
  /** An operation of this process is opening the bucket's file. */
  opening = false;
  /** The descriptor of the generation before, closed at the next move (see {@link openGeneration}). */
  retired: number | undefined;
  generation = 0;
  /** Offset just past the last record replayed. */
  end = FILE_HEADER;
  /** Bytes of the live records. */
  live = 0;
  /** Bytes skipped as no intact record. */
  skipped = 0;
  /** The generation the seal names, once one is replayed. */
  sealedFor: number | undefined;
  /** The index was dropped to stay within the memory bound: the next use replays the file again. */
  forgotten = false;
  /**
   * The open file has no name left, as of the last catch-up (`fstat`: no links): removed behind this
   * process's back, unless a seal in it says a compaction replaced it.
   */
  unlinked = false;
  /** Device and inode of the open file, as of the last catch-up. */
  identity = { dev: 0, ino: 0 };

  constructor(
    readonly number: number,
    readonly folder: string,
  ) {}

  /** The path of generation `generation` of this bucket. */
  path(generation = this.generation): string {
    return join(this.folder, bucketFileName(this.number, generation));
  }

  /** Forgets everything known of the file (its descriptor stays with the caller). */
  reset(): void {
    this.states.clear();
    this.access.clear();
    this.locks.clear();
    this.blobs.clear();
    this.end = FILE_HEADER;
    this.live = 0;
    this.skipped = 0;
    this.sealedFor = undefined;
    this.forgotten = false;
  }

  /** Replays `record` (the next one in the file). */
  apply(record: LogRecord): void {
    const own = record.writer === WRITER_ID && this.pending.has(record.sequence);
    if (this.sealedFor !== undefined) {
      if (own) this.outcomes.set(record.sequence, { applied: false, sealed: true, prior: undefined });
      return;
    }
    const prior = this.states.get(record.hash);
    const priorBlob = prior === undefined ? undefined : this.blobs.get(prior.offset);
    const holds = !record.conditional || record.expected === (prior?.offset ?? NO_STATE);
    let applied = false;
    switch (record.kind) {
      case RecordKind.Put:
      case RecordKind.Blob:
        if (!holds) break;
        this.drop(record.hash, prior);
        this.states.set(record.hash, { offset: record.offset, length: record.length, kind: record.kind });
        this.live += record.length;
        if (record.kind === RecordKind.Blob && record.payload.length >= 4) {
          const size = record.payload.readUInt32LE(0);
          this.blobs.set(record.offset, { size, name: record.payload.toString('utf8', 4) });
        }
        applied = true;
        break;
      case RecordKind.Delete:
        if (!holds) break;
        this.drop(record.hash, prior);
        applied = prior !== undefined;
        break;
      case RecordKind.Access:
        if (prior !== undefined && record.payload.length >= 8) {
          this.access.set(record.hash, record.payload.readDoubleLE(0));
          applied = true;
        }
        break;
      case RecordKind.Lock: {
        const queue = this.locks.get(record.hash) ?? [];
        // The same record twice (a write retried after an error that came after it): one place.
        if (queue.some((w) => w.writer === record.writer && w.sequence === record.sequence)) break;
        queue.push({
          writer: record.writer,
          sequence: record.sequence,
          pid: record.payload.length >= 12 ? record.payload.readUInt32LE(0) : 0,
          since: record.payload.length >= 12 ? record.payload.readDoubleLE(4) : 0,
          host: record.payload.toString('utf8', 12),
        });
        this.locks.set(record.hash, queue);
        applied = true;
        break;
      }
      case RecordKind.Unlock: {
        const queue = this.locks.get(record.hash);
        if (queue === undefined || record.payload.length < 12) break;
        const writer = record.payload.toString('hex', 0, 8);
        const sequence = record.payload.readUInt32LE(8);
        const at = queue.findIndex((w) => w.writer === writer && w.sequence === sequence);
        if (at !== -1) queue.splice(at, 1);
        // The next in line holds the lock from the moment its predecessor left (not from when it
        // queued, which may be longer ago than a lease): its lease starts then.
        const next = queue[0];
        if (at === 0 && next !== undefined && record.payload.length >= 20)
          next.since = Math.max(next.since, record.payload.readDoubleLE(12));
        if (queue.length === 0) this.locks.delete(record.hash);
        applied = at !== -1;
        break;
      }
      case RecordKind.Seal:
        if (record.payload.length >= 4) this.sealedFor = record.payload.readUInt32LE(0);
        applied = true;
        break;
    }
    if (own) {
      // Only a record that replaced or removed the entry leaves its blob without a reader.
      const replaced =
        applied &&
        record.kind <= RecordKind.Blob &&
        !(record.kind === RecordKind.Blob && priorBlob?.name === this.blobs.get(record.offset)?.name);
      this.outcomes.set(record.sequence, {
        applied,
        sealed: false,
        prior,
        priorBlob: replaced ? priorBlob : undefined,
      });
    }
  }

  private drop(hash: string, prior: State | undefined): void {
    if (prior === undefined) return;
    this.states.delete(hash);
    this.access.delete(hash);
    this.blobs.delete(prior.offset);
    this.live -= prior.length;
  }

  /** Bytes of the file that no replay needs any more. */
  dead(size: number): number {
    return size - FILE_HEADER - this.live;
  }

  /** Entry size of the state (the blob's entry, for a blob record). */
  entrySize(state: State): number {
    return state.kind === RecordKind.Blob
      ? (this.blobs.get(state.offset)?.size ?? 0)
      : state.length - RECORD_HEADER;
  }
}

/** Reads whatever has been appended to `bucket`'s file since it was last replayed, and replays it. */
export function* catchUp(bucket: Bucket): Op<void> {
  for (;;) {
    const { fd, end } = bucket;
    if (fd === undefined) return;
    const info = yield* io('fstat', fd);
    const size = info.size;
    if (bucket.fd !== fd || bucket.end !== end) continue;
    bucket.unlinked = info.nlink === 0;
    bucket.identity = { dev: info.dev, ino: info.ino };
    if (size < end) {
      // Cut short behind our back (nothing of ours does that): start again from its beginning.
      bucket.reset();
      continue;
    }
    if (size === end) return;
    const bytes = yield* io('readAt', fd, Math.min(size - end, READ_CHUNK), end);
    // Another operation of this process caught up meanwhile: its replay stands.
    if (bucket.fd !== fd || bucket.end !== end) continue;
    const parsed = parseRecords(bytes, end, false);
    for (const record of parsed.records) bucket.apply(record);
    bucket.skipped += parsed.skipped;
    bucket.end = parsed.end;
    // Nothing whole yet: a record being written (or torn at the end), for a later read.
    if (parsed.end === end) return;
  }
}

/**
 * Opens generation `generation` of the bucket (which must exist; for reading only on a read-only
 * store) and replays it from the start; `false` if it is not there or its header is not this bucket's.
 */
export function* openGeneration(bucket: Bucket, generation: number, readOnly: boolean): Op<boolean> {
  const path = bucket.path(generation);
  if ((yield* io('lstat', path))?.isFile !== true) return false;
  const fd = readOnly ? yield* io('openForRead', path) : yield* io('openForAppend', path);
  if (fd === undefined) return false;
  const header = yield* io('readAt', fd, FILE_HEADER, 0);
  if (!isFileHeader(header, generation, bucket.number)) {
    yield* io('close', fd);
    return false;
  }
  if (bucket.fd !== undefined && bucket.generation >= generation) {
    // Another operation of this process moved the bucket on meanwhile.
    yield* io('close', fd);
    return true;
  }
  // The descriptor left is closed only at the next move: an operation of this process may still be
  // reading through it (a descriptor closed under it could be reused for another file).
  // (A bucket that left a removed file has no descriptor open: the one it retired then waits on.)
  const retired = bucket.fd === undefined ? undefined : bucket.retired;
  if (bucket.fd !== undefined) bucket.retired = bucket.fd;
  bucket.fd = fd;
  bucket.generation = generation;
  bucket.reset();
  if (retired !== undefined) yield* io('close', retired);
  yield* catchUp(bucket);
  return true;
}

/** A new, empty generation file's first bytes. */
export function fileHeader(bucket: Bucket, generation: number): Buffer {
  return encodeFileHeader(generation, bucket.number);
}

/** Records this process appended with one write. */
export interface Appended {
  sequences: readonly number[];
  bytes: Buffer;
  generation: number;
  /** The descriptor they were appended through (a file left for another one is done with). */
  fd: number;
}

/** Appends one record to the bucket's current file (a short write is an ENOSPC error). */
export function* appendRecord(bucket: Bucket, input: RecordInput): Op<Appended> {
  return yield* appendEncoded(bucket, [encodeRecord(input)]);
}

/**
 * Appends encoded records to the bucket's current file with one write, so that they land together
 * (a short write is an ENOSPC error: the piece written is skipped by every reader, but the records
 * wholly inside it count).
 */
export function* appendEncoded(
  bucket: Bucket,
  records: readonly { bytes: Buffer; sequence: number }[],
): Op<Appended> {
  const fd = bucket.fd as number;
  const generation = bucket.generation;
  const bytes =
    records.length === 1
      ? (records[0] as { bytes: Buffer }).bytes
      : Buffer.concat(records.map((r) => r.bytes));
  const sequences = records.map((r) => r.sequence);
  for (const sequence of sequences) bucket.pending.add(sequence);
  let written: number;
  try {
    written = yield* io('append', fd, bytes);
  } catch (error) {
    forgetPending(bucket, sequences);
    throw error;
  }
  if (written !== bytes.length) {
    forgetPending(bucket, sequences);
    const error: NodeJS.ErrnoException = new Error(`ENOSPC: short write to ${bucket.path()}`);
    error.code = 'ENOSPC';
    throw error;
  }
  return { sequences, bytes, generation, fd };
}

function forgetPending(bucket: Bucket, sequences: readonly number[]): void {
  for (const sequence of sequences) {
    bucket.pending.delete(sequence);
    bucket.outcomes.delete(sequence);
  }
}

/** {@link outcomesOf} of one appended record. */
export function* outcomeOf(bucket: Bucket, appended: Appended): Op<Outcome> {
  return (yield* outcomesOf(bucket, appended))[0] as Outcome;
}

/**
 * Catches up until the outcome of each of this process's appended records is known, and returns
 * them in order. Where nothing but the records themselves was appended since the last replay, they
 * are replayed from memory. Records whose generation this process has left meanwhile count as sealed
 * (to be done again).
 */
export function* outcomesOf(bucket: Bucket, appended: Appended): Op<Outcome[]> {
  try {
    return yield* awaitOutcomes(bucket, appended);
  } finally {
    forgetPending(bucket, appended.sequences);
  }
}

function* awaitOutcomes(bucket: Bucket, appended: Appended): Op<Outcome[]> {
  const { sequences, bytes, fd } = appended;
  const end = bucket.end;
  const size = bucket.fd === fd ? (yield* io('fstat', fd)).size : -1;
  if (bucket.fd === fd && bucket.end === end && size === end + bytes.length) {
    const parsed = parseRecords(bytes, end, true);
    for (const record of parsed.records) bucket.apply(record);
    bucket.end = size;
  }
  const outcomes: Outcome[] = [];
  for (;;) {
    // Replayed by another operation of this process, perhaps one that moved on to the next generation
    // since (which then holds a copy of the records, if they came before the seal).
    for (let next = bucket.outcomes.get(sequences[outcomes.length] as number); next !== undefined; ) {
      outcomes.push(next);
      next = bucket.outcomes.get(sequences[outcomes.length] as number);
    }
    if (outcomes.length === sequences.length) return outcomes;
    if (bucket.generation !== appended.generation || bucket.fd !== appended.fd) {
      while (outcomes.length < sequences.length)
        outcomes.push({ applied: false, sealed: true, prior: undefined });
      return outcomes;
    }
    const before = bucket.end;
    yield* catchUp(bucket);
    if (bucket.end === before && !bucket.outcomes.has(sequences[outcomes.length] as number)) {
      // Our write is on disk but not yet whole to our reads: read again.
      yield* io('sleep', 0);
    }
  }
}
