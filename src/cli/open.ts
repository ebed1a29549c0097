/** Opening a cache directory from the command line, without ever creating one by accident. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type AsyncMethods, Cache, type ResolvedOptions } from '../cache/cache.js';
import { FANOUT_FILE } from '../cache/open-settings.js';
import { FanoutCache } from '../fanout/fanout-cache.js';
import type { Key } from '../format/key.js';
import { SETTINGS_FILE } from '../store/layout.js';

/** The directory is missing, or is not a diskcache-ts cache (exit status 3). */
export class NotACacheError extends Error {
  /** As a `CacheError`'s: the code `--json` reports. */
  readonly code = 'ENOTCACHE';
}
NotACacheError.prototype.name = 'NotACacheError';

/** What the commands use of a {@link Cache} or a {@link FanoutCache}. */
export interface OpenedCache extends AsyncMethods<unknown> {
  readonly directory: string;
  /** The options in force; a FanoutCache's totals over its shards, and their number. */
  readonly options: ResolvedOptions & { shards?: number };
  keys(): AsyncIterableIterator<Key>;
  close(): Promise<void>;
}

/** How to open the directory. */
export interface OpenOptions {
  /** Create the cache if the directory is missing or empty (`set --create`). */
  create: boolean;
}

/**
 * Opens the cache in `directory`: a {@link FanoutCache} if it holds `fanout.json`, else a
 * {@link Cache}. Unless `create` is set, the directory must already be a cache: it must hold
 * `diskcache.json` or `fanout.json` (`new Cache(dir)` would otherwise create one there). Even with
 * `create`, a directory that has other files and neither file is refused.
 */
export function openCacheDirectory(directory: string, options: OpenOptions): OpenedCache {
  const dir = path.resolve(directory);
  let stat: fs.Stats | undefined;
  try {
    stat = fs.statSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  if (stat === undefined) {
    if (options.create) return new Cache(dir);
    throw new NotACacheError(`${dir} does not exist (\`set --create\` creates a cache there)`);
  }
  if (!stat.isDirectory()) throw new NotACacheError(`${dir} is not a directory`);
  if (fs.existsSync(path.join(dir, FANOUT_FILE))) return new FanoutCache(dir);
  if (!fs.existsSync(path.join(dir, SETTINGS_FILE))) {
    const empty = fs.readdirSync(dir).length === 0;
    if (options.create && empty) return new Cache(dir);
    throw new NotACacheError(
      `${dir} is not a diskcache-ts cache: it has no ${SETTINGS_FILE} (nor ${FANOUT_FILE})` +
        (empty
          ? '; `set --create` creates a cache in this empty directory'
          : options.create
            ? ' and is not empty, so no cache is created in it'
            : ''),
    );
  }
  return new Cache(dir);
}
