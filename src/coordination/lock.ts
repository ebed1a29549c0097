import { dirname, join } from 'node:path';
import { LockTimeoutError } from '../errors.js';
import type { FileInfo } from '../fs/backend.js';
import { BUSY, isBusy, retryWhileBusy } from '../fs/retrying.js';
import { io, type Op } from '../fs/runner.js';
import { describeProcess, HOST, OWNER, provablyDead, uniqueToken } from '../identity.js';
import { ensureDirectory, forgetDirectory, removeTree } from '../store/directories.js';
import { claim, readPlainFile, type StoreSettings } from '../store/entries.js';

/** What a lock records about its holder. */
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
  /** Where locks are prepared (permissions) and broken locks are moved aside. */
  store: StoreSettings;
  /** Wall clock, for leases. */
  now: () => number;
}

/** A lock that this process holds. */
export interface HeldLock {
  path: string;
  token: string;
}

/** An unreadable lock younger than this is presumed to be mid-write by its creator. */
const UNREADABLE_GRACE_MS = 5_000;

/** The file in a lock directory that names its holder. */
const OWNER_FILE = 'owner';

/** A waiter writes its owner record anew when it is older than this, so that `acquiredAt` stays close. */
const PREPARED_FRESH_MS = 1_000;

/** Longest pause between two attempts to take a busy lock. */
const MAX_BACKOFF_MS = 20;

/** The owner record of a lock, or `undefined` if `bytes` are not one. */
function decodeOwnerRecord(bytes: Buffer | undefined): LockOwner | undefined {
  if (bytes === undefined || bytes.length === 0) return undefined;
  try {
    const owner = JSON.parse(bytes.toString('utf8')) as LockOwner;
    return typeof owner.token === 'string' && typeof owner.pid === 'number' ? owner : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Tokens of the locks this process holds or is taking, and the locks it holds (path → token). A lock
 * naming this process is stale only if neither knows it: it was left by a call that failed half way
 * (its release did not get through). The paths decide even when a network client serves an old
 * copy of the lock's record.
 */
const held = new Set<string>();
const holding = new Map<string, string>();

/** The holder named in the lock directory at `path`; `undefined` if that cannot be read. */
function* readHolder(path: string): Op<LockOwner | undefined> {
  return decodeOwnerRecord(yield* readPlainFile(join(path, OWNER_FILE)));
}

/** {@link readHolder}, or `'unknown'` while the client answers {@link BUSY}. */
function* tryReadHolder(path: string): Op<LockOwner | undefined | 'unknown'> {
  try {
    return yield* readHolder(path);
  } catch (error) {
    if (isBusy(error)) return 'unknown';
    throw error;
  }
}

/**
 * The file server's clock, as read at one moment: the modification time of a folder this process
 * has just made there, and this process's monotonic time when it read it. Leases and grace periods
 * are judged by the server's clock against the server's clock (a lock folder's modification time),
 * never by one host's clock against another's, so that a host whose clock is off breaks no live lock.
 */
export interface ServerClock {
  serverAt: number;
  localAt: number;
}

/** The server's time now, estimated from a reading taken earlier. */
function serverTime(clock: ServerClock): number {
  return clock.serverAt + (performance.now() - clock.localAt);
}

/**
 * Reads the server's clock from the folder `dir` that this process has just made (a prepared lock);
 * `undefined` if it cannot be read now.
 */
function* readServerClock(dir: string): Op<ServerClock | undefined> {
  try {
    const info = yield* io('lstat', dir);
    return info === undefined ? undefined : { serverAt: info.mtimeMs, localAt: performance.now() };
  } catch {
    return undefined;
  }
}

/**
 * Reads the server's clock by making and removing a probe folder in this process's private
 * directory; `undefined` where no folder can be made (read-only media).
 */
export function* probeServerClock(store: StoreSettings): Op<ServerClock | undefined> {
  const probe = store.layout.privatePath('clock', 'probe');
  try {
    yield* makePrivateDirectory(store, probe);
  } catch {
    return undefined;
  }
  try {
    return yield* readServerClock(probe);
  } finally {
    yield* io('rmdir', probe);
  }
}

/**
 * Whether a lock may be broken: its holder is provably dead or, on the server's clock, its lease ran
 * out. A lock without a readable holder is stale after a grace period, at once if it is not a plain
 * directory (nothing this cache creates: a file, a link or a FIFO planted in the directory, or a lock
 * of an old format). Without a reading of the server's clock, only a dead holder is stale.
 */
function* isStale(path: string, holder: LockOwner | undefined, clock: ServerClock | undefined): Op<boolean> {
  if (holder !== undefined) {
    if (provablyDead(holder.host, holder.pid)) return true;
    if (holder.owner === OWNER && !held.has(holder.token) && !holding.has(path)) return true;
  }
  let info: FileInfo | undefined;
  try {
    info = yield* io('lstat', path);
  } catch (error) {
    if (isBusy(error)) return false; // Not known now: judged again later.
    throw error;
  }
  if (info === undefined) return false;
  if (holder === undefined && (!info.isDirectory || info.isSymbolicLink)) return true;
  if (clock === undefined) return false;
  const limit = holder === undefined ? UNREADABLE_GRACE_MS : holder.leaseMs;
  return serverTime(clock) - info.mtimeMs > limit;
}

/**
 * Removes a lock directory in this process's private directory (prepared, or moved out of place),
 * best effort: what remains is removed with the private directory when this process is gone.
 */
function* removeLockDirectory(dir: string): Op<void> {
  try {
    yield* io('unlink', join(dir, OWNER_FILE));
  } catch {
    // Not a plain file, or a failing disk: removeTree tries once more.
  }
  try {
    if (!(yield* io('rmdir', dir))) yield* removeTree(dir);
  } catch {
    // Left for recovery.
  }
}

/**
 * Breaks a stale lock: moves it aside, checks that what was moved is the stale holder judged, and
 * puts it back if a live holder took the lock in between (unless yet another holder is in place).
 */
export function* breakLock(store: StoreSettings, path: string, judged: LockOwner | undefined): Op<void> {
  const aside = yield* claim(store, path);
  if (aside === undefined) return; // Someone else broke or released it first.
  const moved = yield* readHolder(aside);
  if (moved !== undefined && moved.token !== judged?.token) {
    try {
      if (yield* io('placeDirectory', aside, path)) return;
    } catch {
      // Put back or not, what is left aside goes.
    }
  }
  yield* removeLockDirectory(aside);
}

/** Who holds the lock at `path`, and whether the lock may be broken (as `acquireLock` judges), on the server's clock `clock`. */
export function* inspectLock(
  path: string,
  clock: ServerClock | undefined,
): Op<{ holder: LockOwner | undefined; stale: boolean }> {
  const holder = yield* readHolder(path);
  return { holder, stale: yield* isStale(path, holder, clock) };
}

/** Makes the folder `dir` in this process's private directory (made first if it is gone). */
function* makePrivateDirectory(store: StoreSettings, dir: string): Op<void> {
  try {
    yield* io('mkdirExclusive', dir, store.dirMode);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    forgetDirectory(store, store.layout.ownTemp);
    yield* ensureDirectory(store, store.layout.ownTemp);
    yield* io('mkdirExclusive', dir, store.dirMode);
  }
}

/** Writes an owner record into a new private directory, ready to be moved into place as the lock. */
function* prepareLock(path: string, options: LockOptions, token: string, now: number): Op<string> {
  const { store } = options;
  const record: LockOwner = {
    host: HOST,
    pid: process.pid,
    owner: OWNER,
    token,
    acquiredAt: now,
    leaseMs: options.leaseMs,
  };
  const dir = store.layout.privatePath(path, 'lock');
  const bytes = Buffer.from(JSON.stringify(record));
  try {
    yield* makePrivateDirectory(store, dir);
    yield* io('writeFile', join(dir, OWNER_FILE), [bytes], { mode: store.fileMode, fsync: store.fsync });
  } catch (error) {
    // The failing call may have done its work (an ambiguous error): leave nothing behind.
    yield* removeLockDirectory(dir);
    throw error;
  }
  return dir;
}

/**
 * Renames refused with these may have met a lock: SFTP servers refuse a rename over a directory with
 * EPERM, and SMB clients answer EINVAL or EIO while a lock of another client is being removed.
 */
const REFUSED = new Set(['EPERM', 'EACCES', 'EINVAL', BUSY]);

/** What became of an attempt to move a prepared lock into place: the error code if it was refused. */
type Placement = 'placed' | 'taken' | { refused: string };

/**
 * Moves the prepared lock into place unless a lock is there. A move that reports an error may have
 * worked (a retransmitted RENAME over NFS): the holder read back decides. A refused move counts as
 * meeting a lock (the other client's view of the directory may be stale, so a look cannot tell).
 */
function* placeLock(store: StoreSettings, prepared: string, path: string, token: string): Op<Placement> {
  try {
    return (yield* io('placeDirectory', prepared, path)) ? 'placed' : 'taken';
  } catch (error) {
    const holder = yield* tryReadHolder(path);
    if (holder !== 'unknown' && holder?.token === token) return 'placed';
    const code = (error as NodeJS.ErrnoException).code ?? '';
    if (REFUSED.has(code)) return { refused: code };
    if (code !== 'ENOENT') throw error;
    forgetDirectory(store, dirname(path));
    yield* ensureDirectory(store, dirname(path));
    return 'taken';
  }
}

/**
 * Takes the lock at `path`: a directory holding an `owner` record, prepared privately and moved into
 * place with `rename`, which every server makes atomic and which fails over a non-empty directory
 * (exclusive file creation is not exclusive through some SMB clients). Waits with jittered backoff,
 * reading the holder only when it may have changed; breaks the lock only when its holder is provably
 * dead or its lease ran out.
 */
export function* acquireLock(path: string, options: LockOptions): Op<HeldLock> {
  const { store } = options;
  const token = uniqueToken();
  const start = options.now();
  let delay = 0.05;
  let prepared: { dir: string; at: number; clock?: ServerClock | undefined } | undefined;
  let holder: LockOwner | undefined;
  let holderRead = false;
  let refused: string | undefined;
  // Known as ours before the lock exists, so that no other call of this process takes it for stale.
  held.add(token);
  try {
    yield* ensureDirectory(store, dirname(path));
    for (;;) {
      const now = options.now();
      let placement: Placement;
      try {
        if (prepared === undefined || now - prepared.at > PREPARED_FRESH_MS) {
          const old = prepared;
          prepared = undefined;
          if (old !== undefined) yield* removeLockDirectory(old.dir);
          prepared = { dir: yield* prepareLock(path, options, token, now), at: now };
        }
        placement = yield* placeLock(store, prepared.dir, path, token);
      } catch (error) {
        // A client that keeps answering EIO (beyond the retries of each call) is waited out like a
        // busy lock, until the timeout.
        if (!isBusy(error)) throw error;
        placement = { refused: BUSY };
      }
      if (placement === 'placed') return taken(path, token);
      refused = typeof placement === 'object' ? placement.refused : undefined;
      // The server's clock is read from the prepared lock, once per preparation.
      if (prepared !== undefined && prepared.clock === undefined) {
        prepared.clock = yield* readServerClock(prepared.dir);
      }
      const clock = prepared?.clock;
      // The holder is read again only when it may have changed: first, and when it looks stale.
      let stale = holderRead && (yield* isStale(path, holder, clock));
      if (!holderRead || stale) {
        const read = yield* tryReadHolder(path);
        stale = false;
        if (read !== 'unknown') {
          holder = read;
          holderRead = true;
          if (holder?.token === token) return taken(path, token); // Placed, though reported otherwise.
          stale = yield* isStale(path, holder, clock);
        }
      }
      const timedOut = now - start >= options.timeout;
      if (!timedOut && stale) {
        try {
          yield* breakLock(store, path, holder);
        } catch (error) {
          if (!isBusy(error)) throw error;
        }
        holderRead = false;
        continue;
      }
      if (timedOut) {
        throw new LockTimeoutError(
          `lock ${path} held by ${describeProcess(holder)}${refused ? ` (the file system refused to rename a lock into place: ${refused})` : ''}; raise options.timeout or remove the stale lock with \`diskcache DIR check --fix\``,
          { path, holder: describeProcess(holder) },
        );
      }
      yield* io('sleep', delay * (0.5 + Math.random()));
      delay = Math.min(delay * 2, MAX_BACKOFF_MS);
    }
  } catch (error) {
    held.delete(token);
    if (prepared !== undefined) yield* removeLockDirectory(prepared.dir);
    throw error;
  }
}

function taken(path: string, token: string): HeldLock {
  holding.set(path, token);
  return { path, token };
}

/**
 * Releases a lock taken by {@link acquireLock}, if it is still ours: removes its owner record, then
 * its directory. Between the two, the empty directory is already free (the next holder's rename
 * replaces it); so is one left behind by a crash. The token counts as held until then, so that no
 * waiter of this process takes the lock for abandoned while it is being released.
 */
export function* releaseLock(lock: HeldLock): Op<void> {
  try {
    if ((yield* retryWhileBusy(() => readHolder(lock.path)))?.token !== lock.token) return;
    yield* retryWhileBusy(() => io('unlink', join(lock.path, OWNER_FILE)));
    yield* io('rmdir', lock.path);
  } finally {
    held.delete(lock.token);
    if (holding.get(lock.path) === lock.token) holding.delete(lock.path);
  }
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
