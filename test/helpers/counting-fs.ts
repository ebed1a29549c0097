import {
  type AsyncFileSystem,
  type FileSystem,
  nodeFileSystem,
  type SyncFileSystem,
} from '../../src/index.js';

/** A file system that records the name of every primitive called, sync or async. */
export interface CountingFileSystem {
  fileSystem: FileSystem;
  /** The primitives called so far, in order. Empty it with `calls.length = 0`. */
  calls: string[];
}

/** Wraps `base` (node:fs by default) so that every call is recorded in `calls`. */
export function countingFileSystem(base: FileSystem = nodeFileSystem): CountingFileSystem {
  const calls: string[] = [];
  const wrap = <T extends object>(target: T, suffix: string): T =>
    Object.fromEntries(
      Object.entries(target).map(([name, fn]) => [
        name,
        (...args: unknown[]) => {
          calls.push(`${name}${suffix}`);
          return (fn as (...a: unknown[]) => unknown).apply(target, args);
        },
      ]),
    ) as T;
  return {
    fileSystem: {
      sync: wrap<SyncFileSystem>(base.sync, 'Sync'),
      async: wrap<AsyncFileSystem>(base.async, ''),
    },
    calls,
  };
}
