import { LRUCache } from 'lru-cache';
import type { Entry } from '../format/entry.js';
import type { Op } from '../fs/runner.js';
import { checkOptions } from '../option-names.js';
import type { ReadResult } from '../store/entries.js';
import type { Slots } from './slots.js';

/** Bounds of the in-process memory tier. */
export interface MemoryTierOptions {
  /** Entries kept at most. @default 1000 */
  maxEntries?: number;
  /** Bytes (of entry files) kept at most. @default 64 MiB */
  maxBytes?: number;
}

interface Remembered {
  /** What identified the stored entry when it was read (see `Slots.version`). */
  version: string;
  size: number;
  found: ReadResult<Entry> & { state: 'ok' };
}

const MEMORY_TIER_OPTIONS = new Set(['maxEntries', 'maxBytes']);

/** Throws a `TypeError`/`RangeError` unless `options` are valid memory-tier bounds. */
export function validateMemoryTier(options: unknown): asserts options is MemoryTierOptions {
  checkOptions(
    options,
    MEMORY_TIER_OPTIONS,
    'options.memory',
    'options.memory must be an object { maxEntries?, maxBytes? }',
  );
  for (const [name, value] of Object.entries(options)) {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
      throw new RangeError(`diskcache-ts: options.memory.${name} must be a positive integer`);
    }
  }
}

/**
 * Keeps verified entries recently read in memory, as a wrapper around the engine's slots. A
 * remembered entry is served only while the engine finds the very same stored entry (the `files`
 * engine: the same file by inode, size and times; the `log` engine: the same record): any
 * replacement or removal, by any process on this host, makes a new one or none, so a value that was
 * replaced or deleted is never served. A hit costs one `stat` (or one `fstat`) instead of a read and
 * its checksums. Writes through this cache forget what they replace.
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
    ...inner,
    *read(path) {
      const version = yield* inner.version(path);
      if (version === undefined) {
        remembered.delete(path);
        return { state: 'missing' };
      }
      const known = remembered.get(path);
      if (known !== undefined && known.version === version.id) return known.found;
      const found = yield* inner.read(path);
      if (found.state === 'ok' && found.entry.fileSize === version.size) {
        remembered.set(path, { version: version.id, size: version.size, found });
      } else {
        remembered.delete(path);
      }
      return found;
    },
    write: forgetting(inner.write),
    writeMany: (items) => {
      for (const { path } of items) remembered.delete(path);
      return inner.writeMany(items);
    },
    removeMany: (paths) => {
      for (const path of paths) remembered.delete(path);
      return inner.removeMany(paths);
    },
    publish: (temp, path) => {
      remembered.delete(path);
      return inner.publish(temp, path);
    },
    writeIfAbsent: forgetting(inner.writeIfAbsent),
    discard: forgetting(inner.discard),
    remove: forgetting(inner.remove),
    take: forgetting(inner.take),
    removeIf: forgetting(inner.removeIf),
    update: forgetting(inner.update),
  };
}
