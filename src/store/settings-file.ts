import { CacheError } from '../errors.js';
import { io, type Op } from '../fs/runner.js';
import { linkIfAbsent, readPlain, type StoreSettings, writePrivate } from './entries.js';
import { type Layout, SHARD_COUNT } from './layout.js';

/** The format name written in the settings file. */
export const FORMAT_NAME = 'diskcache-ts';
/** The directory layout version. */
export const FORMAT_VERSION = 1;

/** The settings file's content. */
export interface SettingsFile {
  format: typeof FORMAT_NAME;
  version: number;
  shards: number;
  /** As stored: to be validated before use (another tenant may have written anything). */
  settings: unknown;
}

/** What reading the settings file found. */
export type SettingsRead =
  | { state: 'missing' }
  | { state: 'ok'; file: SettingsFile }
  | { state: 'damaged'; reason: string };

/**
 * Reads the settings file. A file that cannot be parsed or does not describe this format (or is no
 * plain file: a link, a FIFO, a folder) is `damaged`. Two are errors, since rewriting them would
 * break what they describe: a well-formed file of a newer version of this format (`CacheError`
 * `'EFORMAT'`), and one that names another format (`'EFOREIGN'`: another program's file).
 * `path`: where the file is (a copy moved out of place is read again before it is set aside).
 */
export function* readSettingsFile(layout: Layout, path = layout.settings): Op<SettingsRead> {
  const { bytes, notAFile: reason } = yield* readPlain(path);
  if (reason !== undefined) return { state: 'damaged', reason };
  if (bytes === undefined) return { state: 'missing' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch {
    return { state: 'damaged', reason: 'not valid JSON' };
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return { state: 'damaged', reason: 'not a JSON object' };
  }
  const file = parsed as Partial<SettingsFile>;
  if (typeof file.format === 'string' && file.format !== FORMAT_NAME) {
    throw new CacheError(
      'EFOREIGN',
      `${layout.settings} describes format ${file.format}, not ${FORMAT_NAME}: this is no diskcache-ts directory, and nothing in it is changed`,
      { path: layout.settings, directory: layout.directory },
    );
  }
  if (
    file.format === FORMAT_NAME &&
    typeof file.version === 'number' &&
    Number.isInteger(file.version) &&
    file.version > FORMAT_VERSION
  ) {
    throw new CacheError(
      'EFORMAT',
      `${layout.settings} describes ${FORMAT_NAME} format version ${file.version}; this build reads version ${FORMAT_VERSION}: upgrade diskcache-ts`,
      { path: layout.settings, directory: layout.directory },
    );
  }
  if (file.format !== FORMAT_NAME || file.version !== FORMAT_VERSION || file.shards !== SHARD_COUNT) {
    return {
      state: 'damaged',
      reason: `describes format ${String(file.format)} version ${String(file.version)} with ${String(file.shards)} shards, not ${FORMAT_NAME} version ${FORMAT_VERSION} with ${SHARD_COUNT}`,
    };
  }
  return {
    state: 'ok',
    file: { format: FORMAT_NAME, version: FORMAT_VERSION, shards: SHARD_COUNT, settings: file.settings },
  };
}

/**
 * Writes the settings file atomically. `exclusive`: only if there is none, so that of processes
 * creating one cache at once, one decides its settings (`false`: another one's file is there). Where
 * the file system has no hard links, the file is renamed into place regardless.
 */
export function* writeSettingsFile(store: StoreSettings, settings: object, exclusive = false): Op<boolean> {
  const content: SettingsFile = {
    format: FORMAT_NAME,
    version: FORMAT_VERSION,
    shards: SHARD_COUNT,
    settings: { ...settings },
  };
  const bytes = Buffer.from(`${JSON.stringify(content, null, 2)}\n`);
  const temp = yield* writePrivate(store, store.layout.settings, [bytes]);
  try {
    const linked = exclusive ? yield* linkIfAbsent(store, temp, store.layout.settings) : undefined;
    if (linked === false) yield* io('unlink', temp);
    if (linked !== undefined) return linked;
    yield* io('rename', temp, store.layout.settings);
    return true;
  } catch (error) {
    yield* io('unlink', temp);
    throw error;
  }
}
