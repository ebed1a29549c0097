import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Counters } from '../coordination/counters.js';
import type { LockOptions } from '../coordination/lock.js';
import { CacheError } from '../errors.js';
import { type CodecName, resolveCodec } from '../format/codec.js';
import { compressionKind } from '../format/compression.js';
import { type FileSystem, nodeFileSystem } from '../fs/backend.js';
import { confineFileSystem } from '../fs/confined.js';
import { boundedFileSystems } from '../fs/descriptors.js';
import { isRemoteFileSystem } from '../fs/kind.js';
import { io, runSync } from '../fs/runner.js';
import { Evictor } from '../policy/evict.js';
import type { StoreSettings } from '../store/entries.js';
import { Layout } from '../store/layout.js';
import { withMemoryTier } from '../store/memory-tier.js';
import { readSettingsFile, writeSettingsFile } from '../store/settings-file.js';
import { directSlots } from '../store/slots.js';
import type { CacheContext } from './context.js';
import {
  type CacheOptions,
  DEFAULT_SETTINGS,
  mergeSettings,
  PERSISTED,
  type Settings,
  validateOptions,
} from './options.js';
import { recoverDeadWriters } from './recovery.js';

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

function changed(stored: Record<string, unknown> | undefined, settings: Settings): boolean {
  return stored === undefined || PERSISTED.some((name) => stored[name] !== settings[name]);
}

const BUILTIN_CODECS = new Set<string>(['structured', 'json', 'raw']);

/**
 * Opens (creating if needed) a cache directory. O(1) in the number of entries: it reads the settings
 * file, writes it if the options changed it, and recovers what dead writers left (their journals,
 * private directories and counters), which is proportional to the number of writers, not entries.
 */
export function openCache(
  directory: string | undefined,
  options: CacheOptions,
  extraOptions: readonly string[] = [],
): OpenCache {
  if (directory !== undefined && typeof directory !== 'string') {
    throw new TypeError('diskcache-ts: the directory must be a string path');
  }
  validateOptions(options, extraOptions);
  const dir = resolve(directory ?? mkdtempSync(join(tmpdir(), 'diskcache-')));
  const given = options.fileSystem ?? nodeFileSystem;
  const layout = new Layout(dir);
  const store: StoreSettings = {
    layout,
    fileMode: options.fileMode ?? 0o644,
    dirMode: options.dirMode ?? 0o755,
    fsync: false,
    linkWorks: true,
    remote: false,
    plainDirectories: new Set(),
  };
  try {
    runSync(given, io('mkdir', dir, store.dirMode));
  } catch (cause) {
    throw new CacheError('ENOTCACHE', `cache directory "${dir}" does not exist and could not be created`, {
      directory: dir,
      cause,
    });
  }
  store.remote = isRemoteFileSystem(dir);
  // Network clients answer EIO for passing conditions: there it is retried as EBUSY is. Every
  // primitive is confined to the directory: a link planted or swapped in is never followed.
  const base = confineFileSystem(store.remote ? { ...given, remote: true } : given, dir);
  const stored = runSync(base, readSettingsFile(layout));
  const settings = mergeSettings((stored?.settings ?? {}) as Partial<Settings>, options);
  if (changed(stored?.settings, settings)) runSync(base, writeSettingsFile(store, settings));
  store.fsync = settings.durability === 'fsync';

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
  const evictor = new Evictor();
  const ctx: CacheContext = {
    layout,
    store,
    codec,
    compression: compressionKind(settings.compression),
    settings,
    clock,
    counters,
    lock,
    evictor,
    slots:
      options.memory === undefined ? directSlots(store) : withMemoryTier(directSlots(store), options.memory),
  };
  runSync(base, recoverDeadWriters(ctx));
  runSync(base, counters.fold(lock, false));
  const asyncIO =
    options.asyncIO === 'inline' || options.asyncIO === 'threadpool'
      ? options.asyncIO
      : store.remote
        ? 'threadpool'
        : 'inline';
  return { ctx, counters, evictor, ...boundedFileSystems(base, asyncIO === 'inline'), asyncIO };
}
