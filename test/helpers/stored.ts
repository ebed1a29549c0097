import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { Cache } from '../../src/index.js';
import { currentFile, generations, Kind, RECORD_HEADER, readBucketFile } from '../log/helpers/format.js';

/**
 * A key's stored entry (by key hash), whichever engine holds it: the entry file of a `files` cache,
 * or the newest PUT record of the key in its bucket file of a `log` cache.
 */

const crc32 = (zlib as unknown as { crc32: (data: Uint8Array) => number }).crc32;

function entryFile(dir: string, hash: string): string {
  return path.join(dir, 'entries', hash.slice(0, 2), hash);
}

function bucketOfHash(hash: string): number {
  return Number.parseInt(hash.slice(0, 2), 16) >> 2;
}

/** The key's current record in its bucket file (replayed in order), if the cache is a log cache. */
function currentRecord(dir: string, hash: string) {
  const bucket = bucketOfHash(hash);
  if (generations(dir, bucket).length === 0) return undefined;
  const file = currentFile(dir, bucket);
  let current: ReturnType<typeof readBucketFile>['records'][number] | undefined;
  for (const record of readBucketFile(file).records) {
    if (record.hash !== hash) continue;
    if (record.kind === Kind.Put || record.kind === Kind.Blob) current = record;
    else if (record.kind === Kind.Delete) current = undefined;
  }
  return current && { file, record: current };
}

/** The bytes of the key's stored entry (its entry file, or the payload of its record). */
export function readStoredEntry(dir: string, hash: string): Buffer {
  const file = entryFile(dir, hash);
  if (fs.existsSync(file)) return fs.readFileSync(file);
  const found = currentRecord(dir, hash);
  if (found === undefined || found.record.kind !== Kind.Put)
    throw new Error(`no stored entry for ${hash} in ${dir}`);
  return Buffer.from(found.record.payload);
}

/**
 * Puts `bytes` in the place of the key's stored entry: as its entry file, or (same length only) as
 * its record's payload, the record's CRC made valid again.
 */
export function replaceStoredEntry(dir: string, hash: string, bytes: Buffer): void {
  const file = entryFile(dir, hash);
  if (fs.existsSync(file)) {
    fs.writeFileSync(file, bytes);
    return;
  }
  rewriteStoredEntry(dir, hash, (entry) => {
    if (entry.length !== bytes.length) throw new Error('a log record is rewritten at its own length only');
    bytes.copy(entry);
  });
}

/** The engine a new cache gets in this run (`auto` as the environment decides it). */
export function engineOfNewCaches(makeDir: () => string): 'log' | 'files' {
  const dir = makeDir();
  try {
    new Cache(dir).closeSync();
    const stored = JSON.parse(fs.readFileSync(path.join(dir, 'diskcache.json'), 'utf8')) as {
      settings?: { engine?: string };
    };
    return stored.settings?.engine === 'log' ? 'log' : 'files';
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Whether the key's entry is stored (an entry file, or a live record). */
export function isStored(dir: string, hash: string): boolean {
  return fs.existsSync(entryFile(dir, hash)) || currentRecord(dir, hash) !== undefined;
}

/**
 * Changes the bytes of the key's stored entry in place with `edit` (same length; it must keep the
 * entry's own checksums as it wants them); a log record's CRC is made valid again, so that only the
 * entry's own checks can tell.
 */
export function rewriteStoredEntry(dir: string, hash: string, edit: (entry: Buffer) => void): void {
  const file = entryFile(dir, hash);
  if (fs.existsSync(file)) {
    const bytes = fs.readFileSync(file);
    edit(bytes);
    fs.writeFileSync(file, bytes);
    return;
  }
  const found = currentRecord(dir, hash);
  if (found === undefined || found.record.kind !== Kind.Put)
    throw new Error(`no stored entry for ${hash} in ${dir}`);
  const { offset, length } = found.record;
  const fd = fs.openSync(found.file, 'r+');
  try {
    const bytes = Buffer.alloc(length);
    fs.readSync(fd, bytes, 0, length, offset);
    edit(bytes.subarray(RECORD_HEADER));
    bytes.writeUInt32LE(crc32(bytes.subarray(12)), 8);
    fs.writeSync(fd, bytes, 0, length, offset);
  } finally {
    fs.closeSync(fd);
  }
}
