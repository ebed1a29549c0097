/** Opening a cache directory from the command line, without ever creating one by accident. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Cache } from '../cache/cache.js';
import { SETTINGS_FILE } from '../store/layout.js';

/** The directory is missing, or is not a diskcache-ts cache (exit status 3). */
export class NotACacheError extends Error {}
NotACacheError.prototype.name = 'NotACacheError';

/** How to open the directory. */
export interface OpenOptions {
  /** Create the cache if the directory is missing or empty (`set --create`). */
  create: boolean;
}

/**
 * Opens the cache in `directory`. Unless `create` is set, the directory must already be a cache:
 * it must hold `diskcache.json` (`new Cache(dir)` would otherwise create one there). Even with
 * `create`, a directory that has other files and no `diskcache.json` is refused.
 */
export function openCacheDirectory(directory: string, options: OpenOptions): Cache {
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
  if (!fs.existsSync(path.join(dir, SETTINGS_FILE))) {
    const empty = fs.readdirSync(dir).length === 0;
    if (options.create && empty) return new Cache(dir);
    throw new NotACacheError(
      `${dir} is not a diskcache-ts cache: it has no ${SETTINGS_FILE}` +
        (empty
          ? ' (`set --create` creates a cache in this empty directory)'
          : options.create
            ? ' and is not empty, so no cache is created in it'
            : ''),
    );
  }
  return new Cache(dir);
}
