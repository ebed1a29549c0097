import { crc32 } from '../../src/format/crc32.js';

/**
 * Knowledge of the entry file layout (docs/FORMAT.md, src/format/entry.ts) that the corruption tests
 * need to forge headers that pass the header checksum, so that the length checks behind it are reached.
 */
export const FIXED_HEADER = 64;
const HEADER_CRC_AT = 60;
export const VALUE_LENGTH_AT = 40;
export const RAW_LENGTH_AT = 48;
export const KEY_LENGTH_AT = 12;

/** Where the value starts: after the fixed header, the key, the tag and the codec name. */
export function valueOffset(bytes: Buffer): number {
  return FIXED_HEADER + bytes.readUInt32LE(KEY_LENGTH_AT) + bytes.readUInt32LE(16) + bytes.readUInt16LE(10);
}

/** Recomputes the header checksum after the header was edited. */
export function resealHeader(bytes: Buffer): Buffer {
  const end = valueOffset(bytes);
  bytes.writeUInt32LE(
    crc32(bytes.subarray(FIXED_HEADER, end), crc32(bytes.subarray(0, HEADER_CRC_AT))),
    HEADER_CRC_AT,
  );
  return bytes;
}
