import type { EncodedValue } from './codec.js';
import { CompressionKind, type StoredValue } from './compression.js';
import { crc32 } from './crc32.js';
import type { EncodedKey } from './key.js';

/** The first four bytes of every entry file: "DCE1". */
export const ENTRY_MAGIC = 0x31454344;
/** The entry layout version written in byte 4. */
export const ENTRY_VERSION = 1;
/** Size of the fixed part of the header. */
export const FIXED_HEADER = 64;
/** Keys, tags and codec names longer than this are refused (and never trusted when read). */
export const MAX_KEY_BYTES = 16 * 1024 * 1024;

const FLAG_EXPIRES = 1;
const FLAG_TAG = 2;
const FLAG_GRACE = 4;
/** The longest grace period an entry holds (its u32 field, in milliseconds): about 49.7 days. */
export const MAX_GRACE_MS = 0xffff_ffff;

/** What an entry file says about itself. */
export interface EntryHeader {
  keyType: number;
  key: Uint8Array;
  tagType: number;
  tag: Uint8Array | undefined;
  valueKind: number;
  compression: number;
  codecName: string;
  storedAt: number;
  /** Epoch milliseconds, or `null` for no expiry. */
  expiresAt: number | null;
  /** Milliseconds after `expiresAt` during which the expired value may still be served (`getOrSet`). */
  graceMs: number;
  /** Stored (possibly compressed) value length. */
  valueLength: number;
  /** Value length before compression. */
  rawLength: number;
  valueCrc: number;
  /** Offset of the value in the file. */
  valueOffset: number;
  /** Size of the whole file. */
  fileSize: number;
}

/** A whole entry, verified. */
export interface Entry extends EntryHeader {
  /** The value bytes, decompressed. */
  value: Uint8Array;
}

/** What to write. */
export interface EntryInput {
  key: EncodedKey;
  tag: EncodedKey | undefined;
  value: EncodedValue;
  storedAt: number;
  expiresAt: number | null;
  /** See {@link EntryHeader.graceMs}; 0 if omitted. */
  graceMs?: number;
  /** The value's bytes as stored (see `pack` in compression.ts). */
  stored: StoredValue;
}

/** Either the parsed thing, or why the bytes are not a valid entry. */
export type Parsed<T> = { ok: true; entry: T } | { ok: false; reason: string };

/** Everything an entry header records. */
export interface HeaderFields {
  key: EncodedKey;
  tag: EncodedKey | undefined;
  valueKind: number;
  codecName: string;
  compression: CompressionKind;
  storedAt: number;
  expiresAt: number | null;
  /** See {@link EntryHeader.graceMs}; 0 if omitted. */
  graceMs?: number;
  /** Stored (possibly compressed) value length. */
  valueLength: number;
  /** Value length before compression. */
  rawLength: number;
  /** CRC-32 of the stored value bytes. */
  valueCrc: number;
}

/** The longest codec name the header's 16-bit length field holds. */
const MAX_CODEC_NAME_BYTES = 0xffff;

/** A writer never stores what the reader refuses: a `RangeError` before anything is written. */
function refuseUnreadable(what: string, bytes: number, limit: number): void {
  if (bytes > limit) {
    throw new RangeError(
      `diskcache-ts: a ${what} of ${bytes} bytes is over the ${limit} bytes an entry can hold`,
    );
  }
}

/** The header of an entry; its length depends only on the key, the tag and the codec name. */
export function encodeHeader(fields: HeaderFields): Buffer {
  const { key, tag } = fields;
  const name = Buffer.from(fields.codecName, 'utf8');
  const tagBytes = tag?.bytes ?? new Uint8Array(0);
  refuseUnreadable('key', key.bytes.byteLength, MAX_KEY_BYTES);
  refuseUnreadable('tag', tagBytes.byteLength, MAX_KEY_BYTES);
  refuseUnreadable('codec name', name.byteLength, MAX_CODEC_NAME_BYTES);
  const headerSize = FIXED_HEADER + key.bytes.byteLength + tagBytes.byteLength + name.byteLength;
  const header = Buffer.alloc(headerSize);
  header.writeUInt32LE(ENTRY_MAGIC, 0);
  header[4] = ENTRY_VERSION;
  const graceMs = fields.expiresAt === null ? 0 : (fields.graceMs ?? 0);
  header[5] =
    (fields.expiresAt === null ? 0 : FLAG_EXPIRES) |
    (tag === undefined ? 0 : FLAG_TAG) |
    (graceMs === 0 ? 0 : FLAG_GRACE);
  header[6] = key.type;
  header[7] = tag?.type ?? 0;
  header[8] = fields.valueKind;
  header[9] = fields.compression;
  header.writeUInt16LE(name.byteLength, 10);
  header.writeUInt32LE(key.bytes.byteLength, 12);
  header.writeUInt32LE(tagBytes.byteLength, 16);
  header.writeUInt32LE(graceMs, 20);
  header.writeDoubleLE(fields.storedAt, 24);
  header.writeDoubleLE(fields.expiresAt ?? 0, 32);
  header.writeDoubleLE(fields.valueLength, 40);
  header.writeDoubleLE(fields.rawLength, 48);
  header.writeUInt32LE(fields.valueCrc, 56);
  let at = FIXED_HEADER;
  header.set(key.bytes, at);
  at += key.bytes.byteLength;
  header.set(tagBytes, at);
  at += tagBytes.byteLength;
  header.set(name, at);
  header.writeUInt32LE(headerCrc(header, headerSize), 60);
  return header;
}

/**
 * Lays out an entry as chunks to write in order (header, value), without copying the value.
 * See docs/FORMAT.md for the layout.
 */
export function encodeEntry(input: EntryInput): { chunks: Uint8Array[]; size: number } {
  const { value } = input;
  const { bytes: stored, compression } = input.stored;
  const header = encodeHeader({
    key: input.key,
    tag: input.tag,
    valueKind: value.kind,
    codecName: value.codecName,
    compression,
    storedAt: input.storedAt,
    expiresAt: input.expiresAt,
    graceMs: input.graceMs ?? 0,
    valueLength: stored.byteLength,
    rawLength: value.bytes.byteLength,
    valueCrc: crc32(stored),
  });
  return { chunks: [header, stored], size: header.byteLength + stored.byteLength };
}

function headerCrc(header: Uint8Array, headerSize: number): number {
  return crc32(header.subarray(FIXED_HEADER, headerSize), crc32(header.subarray(0, 60)));
}

function isLength(n: number, max: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= max;
}

/** The length of the whole header (fixed part, key, tag and codec name), if `bytes` start one. */
export function headerLength(bytes: Buffer): number | undefined {
  if (bytes.length < FIXED_HEADER || bytes.readUInt32LE(0) !== ENTRY_MAGIC) return undefined;
  return FIXED_HEADER + bytes.readUInt32LE(12) + bytes.readUInt32LE(16) + bytes.readUInt16LE(10);
}

/**
 * Parses and verifies the header at the start of `bytes`. `fileSize` is the size of the whole file
 * (at least `bytes.length`); every length is checked against it before anything is allocated.
 */
export function parseHeader(bytes: Buffer, fileSize: number): Parsed<EntryHeader> {
  if (bytes.length < FIXED_HEADER) return { ok: false, reason: 'shorter than an entry header' };
  if (bytes.readUInt32LE(0) !== ENTRY_MAGIC) return { ok: false, reason: 'not an entry file (bad magic)' };
  if (bytes[4] !== ENTRY_VERSION) return { ok: false, reason: `unknown entry version ${bytes[4]}` };
  const flags = bytes[5] as number;
  const nameLength = bytes.readUInt16LE(10);
  const keyLength = bytes.readUInt32LE(12);
  const tagLength = bytes.readUInt32LE(16);
  const valueLength = bytes.readDoubleLE(40);
  const rawLength = bytes.readDoubleLE(48);
  if (!isLength(keyLength, MAX_KEY_BYTES) || !isLength(tagLength, MAX_KEY_BYTES)) {
    return { ok: false, reason: 'key or tag length out of bounds' };
  }
  const valueOffset = FIXED_HEADER + keyLength + tagLength + nameLength;
  if (!isLength(valueLength, fileSize) || valueOffset + valueLength !== fileSize) {
    return { ok: false, reason: `lengths do not add up to the file size ${fileSize} (truncated or torn)` };
  }
  if (!isLength(rawLength, Number.MAX_SAFE_INTEGER)) return { ok: false, reason: 'raw length out of bounds' };
  if (bytes[9] === CompressionKind.None && rawLength !== valueLength) {
    return { ok: false, reason: 'raw length differs from the stored length of an uncompressed value' };
  }
  if (bytes.length < valueOffset) return { ok: false, reason: 'header cut short' };
  if (headerCrc(bytes, valueOffset) !== bytes.readUInt32LE(60)) {
    return { ok: false, reason: 'header checksum mismatch' };
  }
  const keyEnd = FIXED_HEADER + keyLength;
  return {
    ok: true,
    entry: {
      keyType: bytes[6] as number,
      key: bytes.subarray(FIXED_HEADER, keyEnd),
      tagType: bytes[7] as number,
      tag: flags & FLAG_TAG ? bytes.subarray(keyEnd, keyEnd + tagLength) : undefined,
      valueKind: bytes[8] as number,
      compression: bytes[9] as number,
      codecName: bytes.toString('utf8', keyEnd + tagLength, valueOffset),
      storedAt: bytes.readDoubleLE(24),
      expiresAt: flags & FLAG_EXPIRES ? bytes.readDoubleLE(32) : null,
      graceMs: flags & FLAG_EXPIRES && flags & FLAG_GRACE ? bytes.readUInt32LE(20) : 0,
      valueLength,
      rawLength,
      valueCrc: bytes.readUInt32LE(56),
      valueOffset,
      fileSize,
    },
  };
}

/**
 * When an entry may be removed: the end of its grace period (`expiresAt` for an entry without one),
 * or `null` if it never expires. Until then `getOrSet` may serve its expired value.
 */
export function staleUntil(header: Pick<EntryHeader, 'expiresAt' | 'graceMs'>): number | null {
  return header.expiresAt === null ? null : header.expiresAt + header.graceMs;
}

/**
 * Parses and verifies a whole entry file: its header and the checksum of its stored value, whose bytes
 * `value` holds as stored (still compressed, if they are: see `unpack` in compression.ts).
 */
export function parseStoredEntry(bytes: Buffer): Parsed<Entry> {
  const parsed = parseHeader(bytes, bytes.length);
  if (!parsed.ok) return parsed;
  const header = parsed.entry;
  const stored = bytes.subarray(header.valueOffset);
  if (crc32(stored) !== header.valueCrc) return { ok: false, reason: 'value checksum mismatch' };
  return { ok: true, entry: { ...header, value: stored } };
}
