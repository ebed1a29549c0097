import { join } from 'node:path';
import type { EngineName } from '../engine/slots.js';
import { CacheError } from '../errors.js';
import { nodeFileSystem } from '../fs/backend.js';
import { retryingFileSystem } from '../fs/retrying.js';
import { io, type Op, runSync } from '../fs/runner.js';
import { bookkeeping } from '../store/bookkeeping.js';
import { claim, moveToCorrupt, type StoreSettings } from '../store/entries.js';
import { measureAllocationUnit } from '../store/footprint.js';
import { SETTINGS_FILE } from '../store/layout.js';
import {
  isBlobName,
  isBucketName,
  isCounterName,
  isIgnoredName,
  isJournalName,
  isOwnerName,
  isQueueName,
  isShardName,
  isTopLevelName,
} from '../store/names.js';
import { readSettingsFile, type SettingsRead, writeSettingsFile } from '../store/settings-file.js';
import { type CacheOptions, mergeSettings, PERSISTED, readStoredSettings, type Settings } from './options.js';
import type { Repairs } from './repairs.js';

/** What each of the cache's folders holds, by name (`corrupt/` holds what was moved there). */
const FOLDER_NAMES: ReadonlyMap<string, (name: string) => boolean> = new Map([
  ['entries', isShardName],
  ['log', isBucketName],
  ['blobs', isBlobName],
  ['tmp', isOwnerName],
  ['counters', isCounterName],
  ['journal', isJournalName],
  ['queues', isQueueName],
  ['corrupt', (name: string) => name.endsWith('.corrupt')],
]);

/** Reads of the settings file per open, at most, while other processes create or repair it. */
const MAX_ROUNDS = 5;

/** The file that marks a `FanoutCache` directory (it holds the shard count). */
export const FANOUT_FILE = 'fanout.json';

/**
 * What a directory without a settings file holds: nothing (or only `tmp/` with writers' private
 * folders: a cache that another process is creating), or only the cache's own names (a cache whose
 * settings file was removed). `'raced'`: the settings file is there now (another process created the
 * cache since it was read). A `FanoutCache` directory is refused with a `CacheError` `'EFANOUT'`;
 * anything else is someone else's directory: a `CacheError` `'EFOREIGN'`. Nothing in either is touched.
 */
function* classifyWithoutSettings(store: StoreSettings): Op<'new' | 'cache' | 'raced'> {
  const directory = store.layout.directory;
  const names = (yield* io('readdir', directory)).filter((name) => !isIgnoredName(name));
  if (names.includes(SETTINGS_FILE)) return 'raced';
  if (names.includes(FANOUT_FILE)) {
    throw new CacheError(
      'EFANOUT',
      `${directory} is a FanoutCache directory (it holds ${FANOUT_FILE} and one cache per shard): open it with new FanoutCache(directory), or open one shard with new Cache(join(directory, '000'))`,
      { directory },
    );
  }
  let own = names.every(isTopLevelName);
  for (const name of own ? names : []) {
    const holds = FOLDER_NAMES.get(name);
    if (holds === undefined) continue;
    const info = yield* io('lstat', join(directory, name));
    const inside =
      info?.isDirectory && !info.isSymbolicLink ? yield* io('readdir', join(directory, name)) : undefined;
    if (inside === undefined || !inside.every((n) => holds(n) || isIgnoredName(n))) own = false;
  }
  if (!own) {
    throw new CacheError(
      'EFOREIGN',
      `${directory} is not empty and holds no ${SETTINGS_FILE}: it is no cache directory, and a cache is never created among other files; pass an empty or new directory`,
      { directory },
    );
  }
  return names.every((name) => name === 'tmp') ? 'new' : 'cache';
}

/** Reads the settings file; on a network file system a damaged read is tried again (a client's stale size). */
function* readPatiently(store: StoreSettings, path?: string): Op<SettingsRead> {
  const attempts = store.remote ? 6 : 1;
  for (let attempt = 1; ; attempt++) {
    const read = yield* readSettingsFile(store.layout, path);
    if (read.state !== 'damaged' || attempt === attempts) return read;
    yield* io('sleep', 50 * 2 ** attempt);
  }
}

/**
 * Moves the settings file into `corrupt/`, unless what is moved turns out to be sound (another
 * process replaced the damaged file meanwhile): that goes back. `true` if it was set aside.
 */
function* setAsideSettings(store: StoreSettings): Op<boolean> {
  const claimed = yield* claim(store, store.layout.settings);
  if (claimed === undefined) return true;
  const again = yield* readSettingsFile(store.layout, claimed);
  if (again.state === 'ok' && readStoredSettings(again.file.settings).rejected.length === 0) {
    yield* io('rename', claimed, store.layout.settings);
    return false;
  }
  yield* moveToCorrupt(store, claimed);
  return true;
}

function differs(stored: Partial<Settings>, settings: Settings): boolean {
  return stored.engine !== settings.engine || PERSISTED.some((name) => stored[name] !== settings[name]);
}

/**
 * The engine of a cache whose settings file names none: a new cache's is the option's (`'auto'`:
 * `DISKCACHE_ENGINE`, or `log` on a local file system and `files` on a network one); a settings
 * file written before engines existed means `files`; a cache whose settings were lost (or name no
 * valid engine) is a `log` cache if it has a `log/` folder.
 */
function* engineWithoutRecord(
  store: StoreSettings,
  options: CacheOptions,
  read: SettingsRead,
  missing: 'new' | 'cache' | undefined,
): Op<EngineName> {
  // Written before engines existed (settings without the field): a files cache. Settings that are
  // no object at all are damage, not an earlier version: the folders tell, as for a lost file.
  const raw = read.state === 'ok' ? read.file.settings : undefined;
  if (raw !== null && typeof raw === 'object' && !Array.isArray(raw) && !Object.hasOwn(raw, 'engine'))
    return 'files';
  if (missing === 'new') {
    const wanted = options.engine ?? 'auto';
    if (wanted !== 'auto') return wanted;
    if (store.remote) return 'files';
    const forced = process.env.DISKCACHE_ENGINE;
    return forced === 'files' || forced === 'log' ? forced : 'log';
  }
  const log = yield* io('lstat', join(store.layout.directory, 'log'));
  return log?.isDirectory === true && !log.isSymbolicLink ? 'log' : 'files';
}

/** Refuses an engine option that the cache cannot have. */
function checkEngine(store: StoreSettings, options: CacheOptions, engine: EngineName): void {
  const wanted = options.engine ?? 'auto';
  if (wanted !== 'auto' && wanted !== engine) {
    throw new CacheError(
      'EOPTION',
      `${store.layout.directory} is a cache of the ${engine} engine, not ${wanted}: the engine is chosen when a cache is created`,
      { directory: store.layout.directory },
    );
  }
}

/**
 * The settings in force for an open: defaults, then the stored settings, then the caller's options.
 * Refuses a foreign directory. A damaged settings file, or one with values that are not valid, is
 * moved into `corrupt/` and written anew from the valid stored values, the options and the
 * defaults, and the repair is recorded; a changed option is stored. On a read-only store nothing is
 * written: the settings then hold for this process only. `prepare` runs once the directory is
 * known to be the cache's, before anything is written.
 */
export function* settleSettings(
  store: StoreSettings,
  options: CacheOptions,
  repairs: Repairs,
  prepare: () => Op<void>,
): Op<Settings> {
  let prepared = false;
  for (let round = 1; ; round++) {
    const read = yield* readPatiently(store);
    const seen = read.state === 'missing' ? yield* classifyWithoutSettings(store) : undefined;
    // Another process created the cache meanwhile: its settings are read again, and adopted.
    if (seen === 'raced' && round < MAX_ROUNDS) continue;
    const missing = seen === 'raced' ? 'cache' : seen;
    if (!prepared) yield* prepare();
    prepared = true;
    const stored =
      read.state === 'ok' ? readStoredSettings(read.file.settings) : { settings: {}, rejected: [] };
    const settings = mergeSettings(stored.settings, options);
    settings.engine = stored.settings.engine ?? (yield* engineWithoutRecord(store, options, read, missing));
    if (settings.engine === 'log' && store.remote && missing === 'new') {
      throw new CacheError(
        'EOPTION',
        `the log engine needs a local file system, and ${store.layout.directory} is on a network or FUSE one: use engine: 'files' (or 'auto') for a cache shared over the network`,
        { directory: store.layout.directory },
      );
    }
    checkEngine(store, options, settings.engine);
    // A new cache counts volume in its file system's allocation unit from the start; any other
    // cache without one has counters of plain bytes, recounted once opened (open.ts).
    if (missing === 'new') settings.allocationUnit = measureAllocationUnit(store.layout.directory);
    const wrong =
      read.state === 'damaged'
        ? read.reason
        : missing === 'cache'
          ? 'missing from a cache directory'
          : stored.rejected.length > 0
            ? `invalid ${stored.rejected.join(', ')}`
            : undefined;
    if (wrong === undefined) {
      // A new cache's settings are created exclusively: of processes creating it at once, the first
      // decides (its engine above all), and the others read them again and adopt them.
      const creating = read.state === 'missing';
      if (creating || differs(stored.settings, settings)) {
        const written = yield* bookkeeping(store, () => writeSettingsFile(store, settings, creating));
        if (written === false && round < MAX_ROUNDS) continue;
      }
      return settings;
    }
    if (store.readOnly) {
      repairs.record(`${SETTINGS_FILE}: ${wrong}; not repaired (read-only): the defaults apply`);
      return settings;
    }
    const setAside =
      read.state === 'missing' ? true : yield* bookkeeping(store, () => setAsideSettings(store));
    if (setAside === false && round < MAX_ROUNDS) continue;
    const lost = read.state === 'missing';
    const written = yield* bookkeeping(store, () => writeSettingsFile(store, settings, lost));
    if (written === false && round < MAX_ROUNDS) continue;
    repairs.record(
      `${SETTINGS_FILE}: ${wrong}; ${read.state === 'missing' ? '' : 'moved to corrupt/ and '}written anew${store.readOnly ? ' (not: read-only media)' : ''}`,
    );
    return settings;
  }
}

/**
 * For the stores made of several caches (`FanoutCache`, `Index`), before their constructors open
 * them: throws a `CacheError` `'EFOREIGN'` unless `directory` is missing, empty, holds `marker`,
 * or holds only names that `own` accepts; a store is never created among other files. It runs at
 * once, on the real file system with the retries of every other operation.
 */
export function refuseForeign(
  directory: string,
  marker: string | undefined,
  own: (name: string) => boolean,
): void {
  runSync(retryingFileSystem(nodeFileSystem), foreignCheck(directory, marker, own));
}

function* foreignCheck(
  directory: string,
  marker: string | undefined,
  own: (name: string) => boolean,
): Op<void> {
  const names = (yield* io('readdir', directory)).filter((name) => !isIgnoredName(name));
  if ((marker !== undefined && names.includes(marker)) || names.every(own)) return;
  throw new CacheError(
    'EFOREIGN',
    `${directory} is not empty and holds no ${marker ?? 'store of this kind'}: a store is never created among other files; pass an empty or new directory`,
    { directory },
  );
}
