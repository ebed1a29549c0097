import {
  type AsyncFileSystem,
  type FileSystem,
  nodeFileSystem,
  type SyncFileSystem,
} from '../../src/internal.js';

/** One primitive called: its name (`Sync` appended on the sync surface) and its arguments. */
export interface Call {
  name: string;
  args: unknown[];
}

/** A file system that records the name of every primitive called, sync or async. */
export interface CountingFileSystem {
  fileSystem: FileSystem;
  /** The primitives called so far, in order. Empty it with `calls.length = 0`. */
  calls: string[];
  /** The same calls with their arguments. Empty it with `trace.length = 0`. */
  trace: Call[];
}

/** Wraps `base` (node:fs by default) so that every call is recorded in `calls` and `trace`. */
export function countingFileSystem(base: FileSystem = nodeFileSystem): CountingFileSystem {
  const calls: string[] = [];
  const trace: Call[] = [];
  const wrap = <T extends object>(target: T, suffix: string): T =>
    Object.fromEntries(
      Object.entries(target).map(([name, fn]) => [
        name,
        (...args: unknown[]) => {
          calls.push(`${name}${suffix}`);
          trace.push({ name: `${name}${suffix}`, args });
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
    trace,
  };
}
