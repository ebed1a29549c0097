/**
 * Error codes carried by {@link CacheError}. Errors from the file system keep their errno code
 * (`'ENOSPC'`, `'EIO'`, `'EACCES'`…, and `'EROFS'` for a write to a cache opened with
 * `readOnly: true` or on read-only media); the others are the cache's own. `'EFOREIGN'`: the
 * directory is not a cache and is not empty (it has other files and no settings file, or its
 * settings file names another format), so no cache is made there and nothing in it is touched.
 * `'EFANOUT'`: `new Cache(dir)` on a `FanoutCache` directory (open it with `new FanoutCache(dir)`).
 * `'EFACTORYTIMEOUT'`: a `getOrSet` factory passed its `hardTimeout` and there was no stale value to serve.
 */
export type CacheErrorCode =
  | 'ECLOSED'
  | 'EFORMAT'
  | 'ECODEC'
  | 'EKEYMISSING'
  | 'ENOTNUMBER'
  | 'ELOCKTIMEOUT'
  | 'ENOTCACHE'
  | 'EFOREIGN'
  | 'EFANOUT'
  | 'EOPTION'
  | 'EFACTORYTIMEOUT'
  | (string & {});

/** Context attached to a {@link CacheError}. */
export interface CacheErrorContext {
  /** The key the failed call was about, if any. */
  key?: unknown;
  /** The cache directory. */
  directory?: string | undefined;
  /** The file the error is about. */
  path?: string | undefined;
  /** The underlying error. */
  cause?: unknown;
}

/** The one error class that diskcache-ts throws for anything but bad arguments. */
export class CacheError extends Error {
  /** A stable, machine-readable code, such as `'ECLOSED'` or an errno code like `'ENOSPC'`. */
  readonly code: CacheErrorCode;
  /** The key the failed call was about, if any. */
  readonly key?: unknown;
  /** The cache directory, if known. */
  readonly directory?: string;
  /** The file the error is about, if any. */
  readonly path?: string;

  constructor(code: CacheErrorCode, message: string, context: CacheErrorContext = {}) {
    super(`diskcache-ts: ${message}`, context.cause === undefined ? undefined : { cause: context.cause });
    this.code = code;
    if (context.key !== undefined) this.key = context.key;
    if (context.directory !== undefined) this.directory = context.directory;
    if (context.path !== undefined) this.path = context.path;
  }
}
CacheError.prototype.name = 'CacheError';

/** Thrown when a cross-process lock could not be taken within `options.timeout` milliseconds. */
export class LockTimeoutError extends CacheError {
  /** Who holds the lock, as recorded in the lock (`host:pid`), if it could be read. */
  readonly holder?: string | undefined;

  constructor(message: string, context: CacheErrorContext & { holder?: string | undefined } = {}) {
    super('ELOCKTIMEOUT', message, context);
    if (context.holder !== undefined) this.holder = context.holder;
  }
}
LockTimeoutError.prototype.name = 'LockTimeoutError';

/** Turns any error thrown by the file system into a {@link CacheError}; cache errors pass through. */
export function toCacheError(error: unknown, directory: string, key?: unknown): unknown {
  if (error instanceof CacheError || error instanceof TypeError || error instanceof RangeError) return error;
  const errno = error as NodeJS.ErrnoException;
  // Only errors from the file system (they name a syscall); user code's errors pass through as they are.
  if (typeof errno?.code !== 'string' || typeof errno.syscall !== 'string') return error;
  const where = errno.path ?? directory;
  return new CacheError(errno.code, `${errno.code} on ${where}: ${errno.message}`, {
    directory,
    path: where,
    key,
    cause: error,
  });
}
