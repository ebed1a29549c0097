import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { Cache } from '../../src/index.js';
import {
  currentFile,
  encodeRecord,
  generations,
  Kind,
  RECORD_HEADER,
  readBucketFile,
} from '../log/helpers/format.js';
import { HOST, type LockRecord, writeLock } from '../stress/helpers/layout.js';

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

/** The engine of the cache in `dir`, as its settings file records it. */
export function engineOf(dir: string): 'log' | 'files' {
  const stored = JSON.parse(fs.readFileSync(path.join(dir, 'diskcache.json'), 'utf8')) as {
    settings?: { engine?: string };
  };
  return stored.settings?.engine === 'log' ? 'log' : 'files';
}

/** The engine a new cache gets in this run (`auto` as the environment decides it). */
export function engineOfNewCaches(makeDir: () => string): 'log' | 'files' {
  const dir = makeDir();
  try {
    new Cache(dir).closeSync();
    return engineOf(dir);
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

/** A holder of a key lock, as the lock names it. */
export interface KeyLockHolder {
  host: string;
  pid: number;
}

/**
 * The holders of the key's lock, first the one that holds it: the lock folder's owner of a `files`
 * cache (`'unreadable'` if its record cannot be read), or the key's lock queue in its bucket file
 * of a `log` cache (lock records, less those an unlock record names).
 */
export function keyLockHolders(dir: string, hash: string): KeyLockHolder[] | 'unreadable' {
  if (engineOf(dir) === 'files') {
    const lock = `${entryFile(dir, hash)}.lock`;
    if (!fs.existsSync(lock)) return [];
    try {
      const record = JSON.parse(fs.readFileSync(path.join(lock, 'owner'), 'utf8')) as LockRecord;
      return [{ host: record.host, pid: record.pid }];
    } catch {
      return 'unreadable';
    }
  }
  const bucket = bucketOfHash(hash);
  if (generations(dir, bucket).length === 0) return [];
  const file = currentFile(dir, bucket);
  const bytes = fs.readFileSync(file);
  const queue: (KeyLockHolder & { id: string })[] = [];
  for (const record of readBucketFile(file).records) {
    if (record.hash !== hash) continue;
    // A lock is named by its record's writer id and sequence number (header bytes 40 to 51).
    const id = bytes.toString('hex', record.offset + 40, record.offset + 52);
    if (record.kind === Kind.Lock && !queue.some((w) => w.id === id)) {
      const { payload } = record;
      queue.push({ id, pid: payload.readUInt32LE(0), host: payload.toString('utf8', 12) });
    } else if (record.kind === Kind.Unlock) {
      const named = record.payload.toString('hex', 0, 12);
      const at = queue.findIndex((w) => w.id === named);
      if (at !== -1) queue.splice(at, 1);
    }
  }
  return queue.map(({ host, pid }) => ({ host, pid }));
}

let planted = 0;

/**
 * Leaves a lock of the key as holder `pid` on `host` would, taken at `since` (epoch ms): a lock
 * folder of a `files` cache (whose record gives it a lease of `leaseMs`, run from the folder's
 * time), or a lock record appended to the key's bucket file of a `log` cache (which must exist: a
 * read of any key of the bucket makes it), with a writer id of no live process.
 */
export function plantKeyLock(
  dir: string,
  hash: string,
  holder: { pid: number; host?: string; since?: number; leaseMs?: number },
): void {
  const host = holder.host ?? HOST;
  const since = holder.since ?? Date.now();
  if (engineOf(dir) === 'files') {
    const lock = `${entryFile(dir, hash)}.lock`;
    writeLock(lock, { pid: holder.pid, host, acquiredAt: since, leaseMs: holder.leaseMs });
    fs.utimesSync(lock, new Date(since), new Date(since));
    return;
  }
  const payload = Buffer.alloc(12);
  payload.writeUInt32LE(holder.pid, 0);
  payload.writeDoubleLE(since, 4);
  const record = encodeRecord({
    kind: Kind.Lock,
    hash,
    payload: Buffer.concat([payload, Buffer.from(host)]),
    writer: 'dead7e5700000000',
    sequence: ++planted,
  });
  fs.appendFileSync(currentFile(dir, bucketOfHash(hash)), record);
}
