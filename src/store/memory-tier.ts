import { LRUCache } from 'lru-cache';
import type { Entry } from '../format/entry.js';
import type { FileInfo } from '../fs/backend.js';
import { io, type Op } from '../fs/runner.js';
import type { ReadResult } from './entries.js';
import type { Slots } from './slots.js';

/** Bounds of the in-process memory tier. */
export interface MemoryTierOptions {
  /** Entries kept at most. @default 1000 */
  maxEntries?: number;
  /** Bytes (of entry files) kept at most. @default 64 MiB */
  maxBytes?: number;
}

interface Remembered {
  /** The file the entry was read from, as `stat` identified it when read. */
  ino: number;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  found: ReadResult<Entry> & { state: 'ok' };
}

function sameFile(a: Remembered, b: FileInfo): boolean {
  return a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;
}

/** Throws a `TypeError`/`RangeError` unless `options` are valid memory-tier bounds. */
export function validateMemoryTier(options: unknown): asserts options is MemoryTierOptions {
  if (options === null || typeof options !== 'object') {
    throw new TypeError('diskcache-ts: options.memory must be an object { maxEntries?, maxBytes? }');
  }
  for (const [name, value] of Object.entries(options)) {
    if (name !== 'maxEntries' && name !== 'maxBytes') {
      throw new TypeError(`diskcache-ts: unknown options.memory option "${name}"`);
    }
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
      throw new RangeError(`diskcache-ts: options.memory.${name} must be a positive integer`);
    }
  }
}

/**
 * Keeps verified entries of recently read files in memory, as a wrapper around the store's slots.
 * A remembered entry is served only while `stat` finds the very same file (inode, size, times):
 * any replacement or removal, by any process on this host, makes a new file or none, so a value
 * that was replaced or deleted is never served. A hit costs one `stat` instead of open, read,
 * close and checksum. Writes through this cache forget what they replace.
 */
export function withMemoryTier(inner: Slots, options: MemoryTierOptions): Slots {
  const remembered = new LRUCache<string, Remembered>({
    max: options.maxEntries ?? 1000,
    maxSize: options.maxBytes ?? 64 * 1024 * 1024,
    sizeCalculation: (r) => Math.max(1, r.size),
  });
  const forgetting =
    <A extends unknown[], T>(op: (path: string, ...rest: A) => Op<T>) =>
    (path: string, ...rest: A): Op<T> => {
      remembered.delete(path);
      return op(path, ...rest);
    };
  return {
    *read(path) {
      const info = yield* io('stat', path);
      if (info === undefined) {
        remembered.delete(path);
        return { state: 'missing' };
      }
      const known = remembered.get(path);
      if (known !== undefined && sameFile(known, info)) return known.found;
      const found = yield* inner.read(path);
      if (found.state === 'ok' && found.entry.fileSize === info.size) {
        remembered.set(path, {
          ino: info.ino,
          size: info.size,
          mtimeMs: info.mtimeMs,
          ctimeMs: info.ctimeMs,
          found,
        });
      } else {
        remembered.delete(path);
      }
      return found;
    },
    readHeader: (path) => inner.readHeader(path),
    publish: (temp, path) => {
      remembered.delete(path);
      return inner.publish(temp, path);
    },
    publishIfAbsent: (temp, path) => {
      remembered.delete(path);
      return inner.publishIfAbsent(temp, path);
    },
    remove: forgetting(inner.remove),
    take: forgetting(inner.take),
    removeIf: forgetting(inner.removeIf),
    update: forgetting(inner.update),
  };
}
