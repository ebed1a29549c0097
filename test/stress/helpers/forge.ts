import * as fs from 'node:fs';
import { Cache, type CacheOptions } from '../../../src/index.js';
import { withTempDir } from '../../helpers/tmp.js';
import { entryPath } from './layout.js';

const TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

/** CRC-32 (IEEE, as zlib), which docs/FORMAT.md uses for both entry checksums. */
export function crc32(bytes: Uint8Array, start = 0): number {
  let c = ~start >>> 0;
  for (const byte of bytes) c = (TABLE[(c ^ byte) & 0xff] as number) ^ (c >>> 8);
  return ~c >>> 0;
}

/**
 * The bytes of a valid entry file for `key` holding `value`, as the cache writes it (made by a
 * `files` cache; a `log` cache's records and blobs hold the very same bytes).
 */
export function entryBytes(key: string, value: unknown, options: CacheOptions = {}): Buffer {
  return withTempDir('dct-stress-forge-', (dir) => {
    const cache = new Cache(dir, { ...options, engine: 'files' });
    cache.setSync(key, value);
    cache.closeSync();
    return fs.readFileSync(entryPath(dir, key));
  });
}

/** Recomputes the header checksum (bytes 60–63) after header fields were edited, so that the lengths behind it are what a reader checks. */
export function reseal(bytes: Buffer): Buffer {
  const end = 64 + bytes.readUInt32LE(12) + bytes.readUInt32LE(16) + bytes.readUInt16LE(10);
  const head = bytes.subarray(0, 60);
  const rest = bytes.subarray(64, Math.min(end, bytes.length));
  bytes.writeUInt32LE(crc32(rest, crc32(head)), 60);
  return bytes;
}
