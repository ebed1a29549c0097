import { CacheError } from '../errors.js';
import { io, type Op } from '../fs/runner.js';
import { type StoreSettings, writePrivate } from './entries.js';
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
  settings: Record<string, unknown>;
}

/** Reads the settings file; `undefined` if there is none. A foreign or newer file is a `CacheError`. */
export function* readSettingsFile(layout: Layout): Op<SettingsFile | undefined> {
  const bytes = yield* io('readFile', layout.settings);
  if (bytes === undefined) return undefined;
  let parsed: Partial<SettingsFile>;
  try {
    parsed = JSON.parse(bytes.toString('utf8')) as Partial<SettingsFile>;
  } catch (cause) {
    throw new CacheError(
      'EFORMAT',
      `${layout.settings} is not valid JSON; is this a diskcache-ts directory?`,
      {
        path: layout.settings,
        directory: layout.directory,
        cause,
      },
    );
  }
  if (parsed.format !== FORMAT_NAME || parsed.version !== FORMAT_VERSION || parsed.shards !== SHARD_COUNT) {
    throw new CacheError(
      'EFORMAT',
      `${layout.settings} describes format ${String(parsed.format)} version ${String(parsed.version)}; this build reads ${FORMAT_NAME} version ${FORMAT_VERSION}`,
      { path: layout.settings, directory: layout.directory },
    );
  }
  return {
    format: FORMAT_NAME,
    version: FORMAT_VERSION,
    shards: SHARD_COUNT,
    settings: parsed.settings ?? {},
  };
}

/** Writes the settings file atomically. */
export function* writeSettingsFile(store: StoreSettings, settings: object): Op<void> {
  const content: SettingsFile = {
    format: FORMAT_NAME,
    version: FORMAT_VERSION,
    shards: SHARD_COUNT,
    settings: { ...settings },
  };
  const bytes = Buffer.from(`${JSON.stringify(content, null, 2)}\n`);
  const temp = yield* writePrivate(store, store.layout.settings, [bytes]);
  try {
    yield* io('rename', temp, store.layout.settings);
  } catch (error) {
    yield* io('unlink', temp);
    throw error;
  }
}
