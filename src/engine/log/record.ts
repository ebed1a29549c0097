import { randomBytes } from 'node:crypto';
import { crc32 } from '../../format/crc32.js';

/** The first bytes of every bucket file: `DCLOG001`. */
export const FILE_MAGIC = Buffer.from('DCLOG001', 'ascii');
/** Length of a bucket file's header: magic, generation (u32), bucket (u16), zero (u16). */
export const FILE_HEADER = 16;
/** The first four bytes of every record. */
export const RECORD_MAGIC = 0x474c4344;
/** Length of a record's header. */
export const RECORD_HEADER = 52;
/** No record is longer than this (larger entries keep a file of their own). */
export const MAX_RECORD = 64 * 1024;

/** What a record does. */
export enum RecordKind {
  /** The payload is the key's entry. */
  Put = 1,
  /** The key has no entry. */
  Delete = 2,
  /** The key's entry is in a file of its own: payload u32 entry size, then the file's name. */
  Blob = 3,
  /** The key's access time or count (for the LRU and LFU policies): payload f64. */
  Access = 4,
  /** Joins the key's lock queue: payload u32 pid, f64 time of the request, then the host name. */
  Lock = 5,
  /**
   * Leaves the key's lock queue: payload the writer id (8 bytes) and sequence (u32) of the Lock, then
   * f64 the time it was written (absent from records of earlier versions).
   */
  Unlock = 6,
  /** Closes the file: payload u32 next generation. Records after it are ignored. */
  Seal = 7,
}

/** The expected state of a conditional record that requires the key to have no entry. */
export const NO_STATE = -1;

/** A record, parsed. */
export interface LogRecord {
  kind: RecordKind;
  /** Applies only if the key's state is {@link expected}. */
  conditional: boolean;
  /** The first 16 bytes of the key hash, as 32 hex digits. */
  hash: string;
  expected: number;
  writer: string;
  sequence: number;
  payload: Buffer;
  /** Offset of the record in its file. */
  offset: number;
  length: number;
}

/** What a new record says. */
export interface RecordInput {
  kind: RecordKind;
  hash: string;
  /** Set for a conditional record: the state it requires. */
  expected?: number | undefined;
  payload?: readonly Uint8Array[];
  /** Writer and sequence of a record copied by compaction (default: this process's next). */
  writer?: string;
  sequence?: number;
}

/** This process's writer id (16 hex digits): records it appends carry it, with a sequence number. */
export const WRITER_ID = randomBytes(8).toString('hex');
const WRITER_BYTES = Buffer.from(WRITER_ID, 'hex');
let nextSequence = 0;

/** A new record's bytes and the sequence number that identifies it among this writer's. */
export function encodeRecord(input: RecordInput): { bytes: Buffer; sequence: number } {
  let payloadLength = 0;
  for (const chunk of input.payload ?? []) payloadLength += chunk.byteLength;
  const bytes = Buffer.allocUnsafe(RECORD_HEADER + payloadLength);
  const sequence = input.sequence ?? nextSequence;
  if (input.sequence === undefined) nextSequence = (nextSequence + 1) >>> 0;
  bytes.writeUInt32LE(RECORD_MAGIC, 0);
  bytes.writeUInt32LE(bytes.length, 4);
  bytes[12] = input.kind;
  bytes[13] = input.expected === undefined ? 0 : 1;
  bytes.writeUInt16LE(0, 14);
  bytes.write(input.hash, 16, 16, 'hex');
  bytes.writeDoubleLE(input.expected ?? 0, 32);
  if (input.writer === undefined) WRITER_BYTES.copy(bytes, 40);
  else bytes.write(input.writer, 40, 8, 'hex');
  bytes.writeUInt32LE(sequence, 48);
  let at = RECORD_HEADER;
  for (const chunk of input.payload ?? []) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  bytes.writeUInt32LE(crc32(bytes.subarray(12)), 8);
  return { bytes, sequence };
}

/** A bucket file's header. */
export function encodeFileHeader(generation: number, bucket: number): Buffer {
  const header = Buffer.alloc(FILE_HEADER);
  FILE_MAGIC.copy(header, 0);
  header.writeUInt32LE(generation, 8);
  header.writeUInt16LE(bucket, 12);
  return header;
}

/** Whether `bytes` start with the header of generation `generation` of bucket `bucket`. */
export function isFileHeader(bytes: Buffer, generation: number, bucket: number): boolean {
  return (
    bytes.length >= FILE_HEADER &&
    bytes.subarray(0, 8).equals(FILE_MAGIC) &&
    bytes.readUInt32LE(8) === generation &&
    bytes.readUInt16LE(12) === bucket
  );
}

/** What {@link parseRecords} found in a stretch of a file. */
export interface Parsed {
  records: LogRecord[];
  /** Offset just past the last whole record (where the next read starts). */
  end: number;
  /** Bytes skipped because they were no whole, intact record. */
  skipped: number;
}

/**
 * The intact records in `bytes`, which start at file offset `start`. Bytes that are not an intact
 * record (torn by a crash, or written by someone else) are skipped up to the next record magic. A
 * record cut off by the end of `bytes` is left for the next read, unless `final` (then it is torn).
 */
export function parseRecords(bytes: Buffer, start: number, final: boolean): Parsed {
  const records: LogRecord[] = [];
  let at = 0;
  let skipped = 0;
  while (at + 4 <= bytes.length) {
    if (bytes.readUInt32LE(at) !== RECORD_MAGIC) {
      const next = bytes.indexOf(MAGIC_BYTES, at + 1);
      const to = next === -1 ? Math.max(at, bytes.length - 3) : next;
      skipped += to - at;
      at = to;
      if (next === -1) break;
      continue;
    }
    if (at + RECORD_HEADER > bytes.length) break;
    const length = bytes.readUInt32LE(at + 4);
    if (length < RECORD_HEADER || length > MAX_RECORD) {
      skipped++;
      at++;
      continue;
    }
    if (at + length > bytes.length) {
      // Cut off by the end of what was read: a record being written, unless a whole record follows
      // it (appends are written one after another: one that follows makes this one torn).
      const next = final ? -1 : nextWholeRecord(bytes, at + 1);
      if (!final && next === -1) break;
      skipped += next === -1 ? 1 : next - at;
      at = next === -1 ? at + 1 : next;
      continue;
    }
    const record = bytes.subarray(at, at + length);
    const kind = record.readUInt8(12);
    if (record.readUInt32LE(8) !== crc32(record.subarray(12)) || kind < 1 || kind > 7) {
      skipped++;
      at++;
      continue;
    }
    records.push({
      kind: kind as RecordKind,
      conditional: (record.readUInt8(13) & 1) === 1,
      hash: record.toString('hex', 16, 32),
      expected: record.readDoubleLE(32),
      writer: record.toString('hex', 40, 48),
      sequence: record.readUInt32LE(48),
      payload: record.subarray(RECORD_HEADER),
      offset: start + at,
      length,
    });
    at += length;
  }
  if (final && at < bytes.length) {
    skipped += bytes.length - at;
    at = bytes.length;
  }
  return { records, end: start + at, skipped };
}

const MAGIC_BYTES = Buffer.alloc(4);
MAGIC_BYTES.writeUInt32LE(RECORD_MAGIC);

/** Whether `bytes` are exactly one intact record. */
export function isRecord(bytes: Buffer): boolean {
  const { records, end } = parseRecords(bytes, 0, true);
  return records.length === 1 && end === bytes.length && records[0]?.length === bytes.length;
}

/** Where the first whole, intact record at or after `from` starts in `bytes`, or -1. */
function nextWholeRecord(bytes: Buffer, from: number): number {
  for (let at = bytes.indexOf(MAGIC_BYTES, from); at !== -1; at = bytes.indexOf(MAGIC_BYTES, at + 1)) {
    if (at + RECORD_HEADER > bytes.length) return -1;
    const length = bytes.readUInt32LE(at + 4);
    if (length < RECORD_HEADER || length > MAX_RECORD || at + length > bytes.length) continue;
    if (bytes.readUInt32LE(at + 8) === crc32(bytes.subarray(at + 12, at + length))) return at;
  }
  return -1;
}
