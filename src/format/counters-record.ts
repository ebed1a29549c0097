import { crc32 } from './crc32.js';

/**
 * The counters' delta record (docs/FORMAT.md, "Counters"): one process's cumulative changes to the
 * totals, 48 bytes, checked by a magic number and a CRC-32. Bytes only; the files are
 * `src/coordination/counters.ts`'s.
 */

/** Totals the cache keeps without scanning entries. */
export interface Totals {
  count: number;
  volume: number;
  hits: number;
  misses: number;
}

const RECORD_MAGIC = 0x31434344; // "DCC1"
const RECORD_SIZE = 48;

/** The delta record of `t`. */
export function encodeCountersRecord(t: Totals): Buffer {
  const b = Buffer.alloc(RECORD_SIZE);
  b.writeUInt32LE(RECORD_MAGIC, 0);
  b.writeDoubleLE(t.count, 8);
  b.writeDoubleLE(t.volume, 16);
  b.writeDoubleLE(t.hits, 24);
  b.writeDoubleLE(t.misses, 32);
  b.writeUInt32LE(crc32(b.subarray(0, 40)), 40);
  return b;
}

/** The totals of a delta record; `undefined` if `b` is missing, short, or fails its magic or CRC. */
export function decodeCountersRecord(b: Buffer | undefined): Totals | undefined {
  if (b === undefined || b.length < RECORD_SIZE || b.readUInt32LE(0) !== RECORD_MAGIC) return undefined;
  if (crc32(b.subarray(0, 40)) !== b.readUInt32LE(40)) return undefined;
  return {
    count: b.readDoubleLE(8),
    volume: b.readDoubleLE(16),
    hits: b.readDoubleLE(24),
    misses: b.readDoubleLE(32),
  };
}
