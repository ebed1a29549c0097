import type { AsyncFileSystem, FileSystem, SyncFileSystem } from './backend.js';

/** Reads and writes up to this many bytes run inline; larger ones go to the thread pool. */
export const INLINE_MAX_BYTES = 64 * 1024;

function promised<K extends keyof SyncFileSystem>(sync: SyncFileSystem, name: K): AsyncFileSystem[K] {
  const call = sync[name] as (...args: unknown[]) => unknown;
  return ((...args: unknown[]) => {
    try {
      return Promise.resolve(call(...args));
    } catch (error) {
      return Promise.reject(error);
    }
  }) as AsyncFileSystem[K];
}

/**
 * An asynchronous surface that runs small local operations inline, with the synchronous calls,
 * because a thread-pool round trip costs more than the operation itself; reads and writes of more
 * than {@link INLINE_MAX_BYTES}, flushes to stable storage (`fsync` takes milliseconds on a disk),
 * and sleeps, still go through `base.async`.
 */
export function inlineFileSystem(base: FileSystem): FileSystem {
  const { sync } = base;
  const names = Object.keys(sync) as (keyof SyncFileSystem)[];
  const inline = Object.fromEntries(names.map((name) => [name, promised(sync, name)])) as AsyncFileSystem;
  inline.sleep = base.async.sleep;
  inline.syncFile = base.async.syncFile;
  inline.fsyncDir = base.async.fsyncDir;
  inline.readFile = async (path) => {
    const head = sync.readHead(path, INLINE_MAX_BYTES);
    if (head === undefined || head.length < INLINE_MAX_BYTES) return head;
    return base.async.readFile(path);
  };
  inline.writeFile = (path, chunks, options) => {
    const bytes = chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0);
    if (bytes > INLINE_MAX_BYTES || options.fsync) return base.async.writeFile(path, chunks, options);
    return promised(sync, 'writeFile')(path, chunks, options);
  };
  return { ...base, async: inline };
}
