import { dirname } from 'node:path';
import { LockTimeoutError } from '../errors.js';
import { io, type Op } from '../fs/runner.js';
import { ensureDirectory } from '../store/directories.js';
import { claim, readPlainFile, type StoreSettings } from '../store/entries.js';
import { HOST, OWNER, uniqueToken } from '../store/layout.js';
import { provablyDead } from './liveness.js';

/** What a lock file records about its holder. */
export interface LockOwner {
  host: string;
  pid: number;
  owner: string;
  token: string;
  acquiredAt: number;
  leaseMs: number;
}

/** How to take a lock. */
export interface LockOptions {
  /** Give up with {@link LockTimeoutError} after this many milliseconds. */
  timeout: number;
  /** A holder that has not released after this many milliseconds may be presumed dead. */
  leaseMs: number;
  /** Where lock files are created (permissions) and broken locks are moved aside. */
  store: StoreSettings;
  /** Wall clock, for leases. */
  now: () => number;
}

/** A lock that this process holds. */
export interface HeldLock {
  path: string;
  token: string;
}

/** An unreadable lock file younger than this is presumed to be mid-write by its creator. */
const UNREADABLE_GRACE_MS = 5_000;

function parseOwner(bytes: Buffer | undefined): LockOwner | undefined {
  if (bytes === undefined || bytes.length === 0) return undefined;
  try {
    const owner = JSON.parse(bytes.toString('utf8')) as LockOwner;
    return typeof owner.token === 'string' && typeof owner.pid === 'number' ? owner : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Tokens of the locks this process holds. A lock file naming this process with a token not in here
 * was left by a call that failed half way (its release did not get through): it is stale.
 */
const held = new Set<string>();

/** The holder recorded in a lock file; `undefined` if it cannot be read (or is no plain file). */
function* readHolder(path: string): Op<LockOwner | undefined> {
  return parseOwner(yield* readPlainFile(path));
}

/**
 * Whether a lock may be broken: its holder is provably dead or its lease ran out; an unreadable
 * lock file is stale after a grace period (its creator may be writing it), at once if it is not a
 * plain file (nothing this cache creates: a link or a FIFO planted in the directory).
 */
function* isStale(path: string, holder: LockOwner | undefined, now: number): Op<boolean> {
  if (holder === undefined) {
    const info = yield* io('lstat', path);
    if (info === undefined) return false;
    return !info.isFile || now - info.mtimeMs > UNREADABLE_GRACE_MS;
  }
  return (
    provablyDead(holder.host, holder.pid) ||
    now > holder.acquiredAt + holder.leaseMs ||
    (holder.owner === OWNER && !held.has(holder.token))
  );
}

/**
 * Breaks a stale lock: moves it aside, checks that what was moved is the stale holder judged, and
 * puts it back if a live holder took the lock in between.
 */
function* breakLock(store: StoreSettings, path: string, judged: LockOwner | undefined): Op<void> {
  const aside = yield* claim(store, path);
  if (aside === undefined) return; // Someone else broke or released it first.
  const moved = yield* readHolder(aside);
  if (moved !== undefined && moved.token !== judged?.token) {
    try {
      yield* io('link', aside, path);
    } catch {
      // A third party holds the lock now; the holder we displaced will find its lock gone.
    }
  }
  try {
    yield* io('unlink', aside);
  } catch {
    // Not a file (a directory planted as a lock): it stays in this process's private directory.
  }
}

/** Who holds the lock at `path`, and whether the lock may be broken at `now` (as `acquireLock` judges). */
export function* inspectLock(
  path: string,
  now: number,
): Op<{ holder: LockOwner | undefined; stale: boolean }> {
  const holder = yield* readHolder(path);
  return { holder, stale: yield* isStale(path, holder, now) };
}

/** Describes the holder for messages. */
export function describeHolder(holder: LockOwner | undefined): string {
  return holder === undefined ? 'an unknown holder' : `${holder.host}:${holder.pid}`;
}

/**
 * Takes the lock at `path`: exclusive create of a file naming this process, then a read-back that
 * confirms the file is ours (exclusive create alone is not exclusive on some SMB clients).
 * Waits with jittered backoff; breaks the lock only when its holder is provably dead or its lease ran out.
 */
export function* acquireLock(path: string, options: LockOptions): Op<HeldLock> {
  const token = uniqueToken();
  const start = options.now();
  let delay = 0.05;
  yield* ensureDirectory(options.store, dirname(path));
  for (;;) {
    const now = options.now();
    const record: LockOwner = {
      host: HOST,
      pid: process.pid,
      owner: OWNER,
      token,
      acquiredAt: now,
      leaseMs: options.leaseMs,
    };
    const bytes = Buffer.from(JSON.stringify(record));
    let created = false;
    // Known as ours before the file exists, so that no other call of this process takes it for stale.
    held.add(token);
    try {
      yield* io('writeFile', path, [bytes], { mode: options.store.fileMode, fsync: false });
      created = true;
    } catch (error) {
      held.delete(token);
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') {
        yield* ensureDirectory(options.store, dirname(path));
        continue;
      }
      // Network clients answer a create that loses a race with EIO or EPERM as well: if the lock
      // file exists, it was a lost race.
      if (code !== 'EEXIST' && (yield* io('lstat', path)) === undefined) throw error;
    }
    let holder: LockOwner | undefined;
    try {
      holder = yield* readHolder(path);
    } catch (error) {
      held.delete(token);
      if (created) {
        try {
          yield* removeIfOurs(path, token);
        } catch {
          // Left in place, and stale for this process now that its token is no longer held.
        }
      }
      throw error;
    }
    if (created && holder?.token === token) return { path, token };
    held.delete(token);
    const timedOut = now - start >= options.timeout;
    if (!created && !timedOut && (yield* isStale(path, holder, now))) {
      yield* breakLock(options.store, path, holder);
      continue;
    }
    if (timedOut) {
      throw new LockTimeoutError(
        `lock ${path} held by ${describeHolder(holder)}${holder ? ` for ${Math.round((now - holder.acquiredAt) / 1000)} s` : ''}; raise options.timeout or remove the stale lock with \`diskcache DIR check --fix\``,
        { path, holder: describeHolder(holder) },
      );
    }
    yield* io('sleep', delay * (0.5 + Math.random()));
    delay = Math.min(delay * 2, 20);
  }
}

/** Releases a lock taken by {@link acquireLock}, if it is still ours. */
export function* releaseLock(lock: HeldLock): Op<void> {
  held.delete(lock.token);
  yield* removeIfOurs(lock.path, lock.token);
}

/** Removes the lock file if it holds `token`. */
function* removeIfOurs(path: string, token: string): Op<void> {
  const holder = yield* readHolder(path);
  if (holder?.token === token) yield* io('unlink', path);
}

/** Runs `body` while holding the lock at `path`. */
export function* withLock<T>(path: string, options: LockOptions, body: () => Op<T>): Op<T> {
  const lock = yield* acquireLock(path, options);
  try {
    return yield* body();
  } finally {
    yield* releaseLock(lock);
  }
}
