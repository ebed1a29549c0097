/**
 * `diskcache-ts/internal`: the seams that the project's own tests program against (the file-system
 * primitives behind `options.fileSystem`, the persisted settings, and the types of the operation
 * table). It carries no semver promise: anything here may change or go in any release, a patch
 * release included. Program against `diskcache-ts` instead.
 *
 * @module diskcache-ts/internal
 */
export type { AsyncMethods, CacheMethods, SyncMethods } from './cache/cache.js';
export type { Settings } from './cache/options.js';
export type {
  AsyncFileSystem,
  FileInfo,
  FileSystem,
  FileWriteOptions,
  SyncFileSystem,
} from './fs/backend.js';
export { nodeFileSystem } from './fs/backend.js';
