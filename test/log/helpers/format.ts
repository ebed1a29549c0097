import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { keyHash } from '../../stress/helpers/layout.js';

/**
 * What the log-engine tests need to know of the log layout (src/engine/log/record.ts and bucket.ts,
 * which the format follows exactly), computed here rather than imported from the engine, so that the
 * tests check the format itself: `log/<2 hex>.<generation>` bucket files, each a 16-byte header
 * (`DCLOG001`, u32 generation, u16 bucket, u16 zero) and then records back to back.
 */

/** Number of bucket files; a key's bucket is the first byte of its key hash shifted right by 2. */
export const BUCKET_COUNT = 64;
export const FILE_HEADER = 16;
export const RECORD_HEADER = 52;
/** `0x474C4344` little-endian: the ASCII bytes `DCLG`. */
export const RECORD_MAGIC = 0x474c4344;

export enum Kind {
  Put = 1,
  Delete = 2,
  Blob = 3,
  Access = 4,
  Lock = 5,
  Unlock = 6,
  Seal = 7,
}

const crc32 = (zlib as unknown as { crc32: (data: Uint8Array) => number }).crc32;

/** The bucket of a string key. */
export function bucketOf(key: string): number {
  return Number.parseInt(keyHash(key).slice(0, 2), 16) >> 2;
}

/** The two hex digits that name bucket `bucket`. */
export function bucketName(bucket: number): string {
  return bucket.toString(16).padStart(2, '0');
}

/** `n` string keys starting with `prefix` that all live in bucket `bucket`. */
export function keysInBucket(prefix: string, bucket: number, n: number): string[] {
  const keys: string[] = [];
  for (let i = 0; keys.length < n; i++) if (bucketOf(`${prefix}${i}`) === bucket) keys.push(`${prefix}${i}`);
  return keys;
}

/** One string key starting with `prefix` in each of `n` different buckets. */
export function keysInDistinctBuckets(prefix: string, n: number): string[] {
  const seen = new Set<number>();
  const keys: string[] = [];
  for (let i = 0; keys.length < n; i++) {
    const key = `${prefix}${i}`;
    if (seen.has(bucketOf(key))) continue;
    seen.add(bucketOf(key));
    keys.push(key);
  }
  return keys;
}

/** The generations of bucket `bucket` present in `<dir>/log/`, lowest first. */
export function generations(dir: string, bucket: number): number[] {
  const prefix = `${bucketName(bucket)}.`;
  let names: string[] = [];
  try {
    names = fs.readdirSync(path.join(dir, 'log'));
  } catch {
    return [];
  }
  return names
    .filter((name) => name.startsWith(prefix) && /^[0-9a-f]{2}\.[1-9][0-9]*$/.test(name))
    .map((name) => Number(name.slice(3)))
    .sort((a, b) => a - b);
}

/** The path of the current (highest) generation of bucket `bucket`. */
export function currentFile(dir: string, bucket: number): string {
  const gens = generations(dir, bucket);
  const newest = gens[gens.length - 1];
  if (newest === undefined) throw new Error(`bucket ${bucketName(bucket)} has no file in ${dir}/log`);
  return path.join(dir, 'log', `${bucketName(bucket)}.${newest}`);
}

/** The 16-byte header of generation `generation` of bucket `bucket`'s file. */
export function fileHeader(bucket: number, generation: number): Buffer {
  const header = Buffer.alloc(FILE_HEADER);
  header.write('DCLOG001', 0, 'ascii');
  header.writeUInt32LE(generation, 8);
  header.writeUInt16LE(bucket, 12);
  return header;
}

/** A record's fields, for {@link encodeRecord}. */
export interface RecordFields {
  kind: Kind;
  /** 32 hex digits: the key hash (all zero for a seal). */
  hash: string;
  payload?: Buffer;
  /** Makes the record conditional on this state (offset of the key's current PUT/BLOB, -1 none). */
  expected?: number;
  /** 16 hex digits. */
  writer?: string;
  sequence?: number;
}

/** A record's bytes, with a correct CRC-32 over bytes 12 to the end. */
export function encodeRecord(fields: RecordFields): Buffer {
  const payload = fields.payload ?? Buffer.alloc(0);
  const bytes = Buffer.alloc(RECORD_HEADER + payload.length);
  bytes.writeUInt32LE(RECORD_MAGIC, 0);
  bytes.writeUInt32LE(bytes.length, 4);
  bytes[12] = fields.kind;
  bytes[13] = fields.expected === undefined ? 0 : 1;
  bytes.write(fields.hash, 16, 16, 'hex');
  bytes.writeDoubleLE(fields.expected ?? 0, 32);
  bytes.write(fields.writer ?? '7e57000000000001', 40, 8, 'hex');
  bytes.writeUInt32LE(fields.sequence ?? 0, 48);
  payload.copy(bytes, RECORD_HEADER);
  bytes.writeUInt32LE(crc32(bytes.subarray(12)), 8);
  return bytes;
}

/** A PUT record of `key` whose payload is `entry` (an entry exactly as the files engine's entry file). */
export function putRecord(key: string, entry: Buffer): Buffer {
  return encodeRecord({ kind: Kind.Put, hash: keyHash(key), payload: entry });
}

/** A BLOB record of `key` naming the blob file `name` (relative to `blobs/`), of entry size `size`. */
export function blobRecord(key: string, name: string, size: number): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt32LE(size);
  return encodeRecord({
    kind: Kind.Blob,
    hash: keyHash(key),
    payload: Buffer.concat([head, Buffer.from(name)]),
  });
}

/** What a bucket file holds: its header fields, its intact records, and the bytes that are none. */
export interface BucketFile {
  magic: string;
  generation: number;
  bucket: number;
  records: { kind: number; hash: string; offset: number; length: number; payload: Buffer }[];
  /** Bytes that are no intact record (torn, foreign, bad CRC). */
  junk: number;
}

/** Parses a whole bucket file the way the format says (resynchronising at the next magic). */
export function readBucketFile(file: string): BucketFile {
  const bytes = fs.readFileSync(file);
  const records: BucketFile['records'] = [];
  let junk = 0;
  let at = FILE_HEADER;
  while (at < bytes.length) {
    const length = at + 8 <= bytes.length ? bytes.readUInt32LE(at + 4) : 0;
    const intact =
      at + RECORD_HEADER <= bytes.length &&
      bytes.readUInt32LE(at) === RECORD_MAGIC &&
      length >= RECORD_HEADER &&
      at + length <= bytes.length &&
      bytes.readUInt32LE(at + 8) === crc32(bytes.subarray(at + 12, at + length));
    if (!intact) {
      junk++;
      at++;
      continue;
    }
    records.push({
      kind: bytes[at + 12] as number,
      hash: bytes.toString('hex', at + 16, at + 32),
      offset: at,
      length,
      payload: bytes.subarray(at + RECORD_HEADER, at + length),
    });
    at += length;
  }
  return {
    magic: bytes.toString('ascii', 0, 8),
    generation: bytes.readUInt32LE(8),
    bucket: bytes.readUInt16LE(12),
    records,
    junk,
  };
}
