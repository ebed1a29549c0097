import { EventEmitter } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Counters } from '../coordination/counters.js';
import type { LockOptions } from '../coordination/lock.js';
import { filesSlots } from '../engine/files.js';
import { logSlots } from '../engine/log/log-slots.js';
import { DEFAULT_INDEX_LIMIT, LogStore } from '../engine/log/log-store.js';
import { withMemoryTier } from '../engine/memory-tier.js';
import { CacheError, LockTimeoutError, toCacheError } from '../errors.js';
import { type CodecName, resolveCodec } from '../format/codec.js';
import { CompressionKind, compressionKind } from '../format/compression.js';
import { type FileSystem, nodeFileSystem } from '../fs/backend.js';
import { confineFileSystem } from '../fs/confined.js';
import { boundedFileSystems } from '../fs/descriptors.js';
import { isRemoteFileSystem } from '../fs/kind.js';
import { readOnlyFileSystem } from '../fs/read-only.js';
import { retryingFileSystem } from '../fs/retrying.js';
import { io, type Op, runSync } from '../fs/runner.js';
import { bookkeeping } from '../store/bookkeeping.js';
import type { StoreSettings } from '../store/entries.js';
import { measureAllocationUnit } from '../store/footprint.js';
import { Layout } from '../store/layout.js';
import { writeSettingsFile } from '../store/settings-file.js';
import { recount } from './check.js';
import type { CacheContext } from './context.js';
import type { CacheEvents } from './events.js';
import { Evictor } from './evict.js';
import { restoreFolders } from './folders.js';
import { settleSettings } from './open-settings.js';
import {
  type CacheOptions,
  DEFAULT_SETTINGS,
  type Settings,
  validateDirectory,
  validateOptions,
} from './options.js';
import { type Finding, recoverDeadWriters } from './recovery.js';
import { Repairs } from './repairs.js';
import { checkTtl } from './ttl.js';

/** An open cache directory: the context for operations and the file systems to run them on. */
export interface OpenCache {
  ctx: CacheContext;
  counters: Counters;
  evictor: Evictor;
  syncFs: FileSystem;
  asyncFs: FileSystem;
  asyncIO: 'inline' | 'threadpool';
}

interface Shared {
  counters: Counters;
  refs: number;
}

/** Counters are per process and directory, whatever the number of `Cache` objects on it. */
const shared = new Map<string, Shared>();

/** Takes a reference to the process's counters of a directory. */
function acquireCounters(store: StoreSettings): Counters {
  const directory = store.layout.directory;
  let entry = shared.get(directory);
  if (entry === undefined) {
    entry = { counters: new Counters(store), refs: 0 };
    shared.set(directory, entry);
  }
  entry.refs++;
  return entry.counters;
}

/** Drops a reference; `true` when it was the last, so that the caller folds and closes the counters. */
export function releaseCounters(directory: string): boolean {
  const entry = shared.get(directory);
  if (entry === undefined) return false;
  entry.refs--;
  if (entry.refs > 0) return false;
  shared.delete(directory);
  return true;
}

const BUILTIN_CODECS = new Set<string>(['structured', 'json', 'raw']);

/**
 * Opens (creating if needed) a cache directory. O(1) in the number of entries: it reads the settings
 * file (repairing it if damaged), writes it if the options changed it, restores the top-level
 * folders, and recovers what dead writers left (their journals, private directories and counters),
 * which is proportional to the number of writers, not entries. Bad arguments are `TypeError`s and
 * `RangeError`s; every other error is a `CacheError`. With `readOnly`, nothing is written.
 */
export function openCache(
  directory: string | undefined,
  options: CacheOptions,
  extraOptions: readonly string[] = [],
): OpenCache {
  validateDirectory(directory);
  validateOptions(options, extraOptions);
  const dir = resolve(directory ?? mkdtempSync(join(tmpdir(), 'diskcache-')));
  try {
    return openDirectory(dir, options);
  } catch (error) {
    const converted = toCacheError(error, dir);
    if (converted instanceof CacheError) throw converted;
    throw new CacheError('EFORMAT', `cannot open ${dir}: ${(error as Error)?.message ?? String(error)}`, {
      directory: dir,
      cause: error,
    });
  }
}

/** The compression to write with: the setting's, or none (with a warning) where this process lacks it. */
function usableCompression(settings: Settings, repairs: Repairs): CompressionKind {
  try {
    return compressionKind(settings.compression);
  } catch (error) {
    repairs.warn(`${(error as Error).message}; this process stores values uncompressed`);
    return CompressionKind.None;
  }
}

/** Why a write to a log cache through a network mount fails. */
const REMOTE_LOG = {
  code: 'EREMOTELOG',
  message:
    "this cache uses the log engine, which only a local file system can write; it is read-only through a network mount. Create a cache to share over the network with engine: 'files'",
};

function openDirectory(dir: string, options: CacheOptions): OpenCache {
  const given = options.fileSystem ?? nodeFileSystem;
  const retriedGiven = retryingFileSystem(given);
  const layout = new Layout(dir);
  const readOnly = options.readOnly === true;
  const store: StoreSettings = {
    layout,
    fileMode: options.fileMode ?? 0o644,
    dirMode: options.dirMode ?? 0o755,
    fsync: false,
    linkWorks: true,
    remote: false,
    plainDirectories: new Set(),
    readOnly,
  };
  try {
    if (!readOnly) {
      try {
        runSync(retriedGiven, io('mkdir', dir, store.dirMode));
      } catch (error) {
        // Read-only media answer EROFS even where the directory exists: what matters is that it does.
        if (runSync(retriedGiven, io('stat', dir))?.isDirectory !== true) throw error;
      }
    } else if (runSync(retriedGiven, io('stat', dir))?.isDirectory !== true)
      throw new Error('no such directory');
  } catch (cause) {
    throw new CacheError(
      'ENOTCACHE',
      `cache directory "${dir}" does not exist${readOnly ? '' : ' and could not be created'}`,
      { directory: dir, cause },
    );
  }
  store.remote = isRemoteFileSystem(dir);
  // Network clients answer EIO for passing conditions: there it is retried as EBUSY is. Every
  // primitive is confined to the directory: a link planted or swapped in is never followed.
  const reachable = confineFileSystem(store.remote ? { ...given, remote: true } : given, dir);
  const opened = readOnly ? readOnlyFileSystem(reachable) : reachable;
  const repairs = new Repairs(dir);
  const settings = runSync(
    retryingFileSystem(opened),
    settleSettings(store, options, repairs, () => restoreWhileOpening(store, repairs)),
  );
  store.fsync = settings.durability === 'fsync';
  // Appends from several network clients are not atomic: a log cache is only read through one.
  const onRemoteLog = settings.engine === 'log' && store.remote && !readOnly;
  if (onRemoteLog) store.readOnly = true;
  const base = onRemoteLog ? readOnlyFileSystem(reachable, REMOTE_LOG) : opened;

  const codecName = BUILTIN_CODECS.has(settings.codec)
    ? (settings.codec as CodecName)
    : DEFAULT_SETTINGS.codec;
  const codec = resolveCodec(options.codec ?? (codecName as CodecName));
  const clock = options.clock ?? Date;
  const lock: LockOptions = {
    timeout: settings.timeout,
    leaseMs: Math.max(settings.timeout, 10_000),
    store,
    now: () => clock.now(),
  };
  const counters = acquireCounters(store);
  const evictor = new Evictor(options.trim !== false);
  const unit = settings.allocationUnit ?? measureAllocationUnit(dir);
  const log =
    settings.engine === 'log'
      ? new LogStore(store, lock, options.indexLimit ?? DEFAULT_INDEX_LIMIT, unit)
      : undefined;
  const engineSlots = log === undefined ? filesSlots(store, lock, unit) : logSlots(log);
  const ctx: CacheContext = {
    layout,
    store,
    codec,
    compression: usableCompression(settings, repairs),
    settings,
    clock,
    defaultTtl: checkTtl(options.ttl, 'options.ttl'),
    counters,
    lock,
    evictor,
    slots: options.memory === undefined ? engineSlots : withMemoryTier(engineSlots, options.memory),
    log,
    repairs,
    events: new EventEmitter<CacheEvents>(),
  };
  try {
    runSync(retryingFileSystem(base), recoverWhileOpening(ctx, counters, unit));
  } catch (error) {
    releaseCounters(dir);
    throw error;
  }
  const asyncIO =
    options.asyncIO === 'inline' || options.asyncIO === 'threadpool'
      ? options.asyncIO
      : store.remote
        ? 'threadpool'
        : 'inline';
  const { syncFs, asyncFs } = boundedFileSystems(base, asyncIO === 'inline');
  // Outermost, so that a retry runs the whole stacked primitive again.
  return {
    ctx,
    counters,
    evictor,
    syncFs: retryingFileSystem(syncFs),
    asyncFs: retryingFileSystem(asyncFs),
    asyncIO,
  };
}

/**
 * The recovery of opening, as bookkeeping (none on a read-only store): dead writers' journals and
 * private directories, dead processes' counters. Damage repaired here is recorded (a warning, and
 * the next `check()`).
 */
function* recoverWhileOpening(ctx: CacheContext, counters: Counters, unit: number): Op<void> {
  yield* bookkeeping(ctx.store, function* () {
    record(ctx.repairs, yield* recoverDeadWriters(ctx, 'open'));
  });
  yield* bookkeeping(ctx.store, () => counters.fold(ctx.lock, false));
  yield* bookkeeping(ctx.store, () => migrateCounting(ctx, counters, unit));
}

/**
 * Once, for a cache whose counters count plain bytes (written by an earlier version, or whose
 * settings file was lost): recounts the volume as the engine's footprints (as `check({ fix: true })`
 * does), then stores the allocation unit in the settings file, which marks the new counting. A
 * process killed in between recounts again at the next open; so does one that finds the counters'
 * fold lock held (an open never waits for it).
 */
function* migrateCounting(ctx: CacheContext, counters: Counters, unit: number): Op<void> {
  if (ctx.settings.allocationUnit !== undefined) return;
  try {
    yield* counters.reconcile(yield* recount(ctx), { ...ctx.lock, timeout: 0 });
  } catch (error) {
    if (error instanceof LockTimeoutError) return;
    throw error;
  }
  ctx.settings.allocationUnit = unit;
  yield* writeSettingsFile(ctx.store, ctx.settings);
}

/** Restores the top-level folders while opening (bookkeeping: none on a read-only store). */
function* restoreWhileOpening(store: StoreSettings, repairs: Repairs): Op<void> {
  yield* bookkeeping(store, function* () {
    record(repairs, yield* restoreFolders(store, true));
  });
}

/** Records the damage repaired (and the repairs that failed) while opening. */
function record(repairs: Repairs, findings: readonly Finding[]): void {
  for (const finding of findings) if (finding.damage || !finding.fixed) repairs.record(finding.problem);
}
