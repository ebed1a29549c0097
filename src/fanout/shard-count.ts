import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { FANOUT_FILE } from '../cache/open-settings.js';
import { CacheError } from '../errors.js';
import { nodeFileSystem } from '../fs/backend.js';
import { confineFileSystem } from '../fs/confined.js';
import { retryingFileSystem } from '../fs/retrying.js';
import { io, type Op, runSync } from '../fs/runner.js';
import { readPlainFile } from '../store/entries.js';

/**
 * The shard count of a `FanoutCache` directory, recorded in `fanout.json` (`{ "shards": n }`).
 * The file is read and written only inside the directory (a link planted in its place is never
 * followed), created exclusively (of processes creating one fan-out at once, the first decides its
 * count), and rebuilt from the shard folders when it is damaged.
 */

/** A shard's folder: `000`, `001`, … */
export const SHARD_FOLDER = /^\d{3}$/;

/** A temp file of a writer of {@link FANOUT_FILE}, left where it crashed before renaming it. */
const TEMP = /^fanout\.json\.[0-9a-f]{16}\.tmp$/;

/** Whether a name belongs in a fan-out directory: its marker, a shard's folder, a writer's temp file. */
export function isFanoutName(name: string): boolean {
  return name === FANOUT_FILE || SHARD_FOLDER.test(name) || TEMP.test(name);
}

const DEFAULT_SHARDS = 8;
const MAX_SHARDS = 1024;

function isShardCount(n: unknown): n is number {
  return Number.isInteger(n) && (n as number) >= 1 && (n as number) <= MAX_SHARDS;
}

/** The stored count; `'damaged'` if the file is there but holds none (or is no plain file). */
function* readCount(file: string): Op<number | 'damaged' | undefined> {
  const info = yield* io('lstat', file);
  if (info === undefined) return undefined;
  const bytes = yield* readPlainFile(file);
  try {
    const shards = (JSON.parse(bytes?.toString('utf8') ?? '') as { shards?: unknown }).shards;
    return isShardCount(shards) ? shards : 'damaged';
  } catch {
    return 'damaged';
  }
}

/** How many shard folders there are, `000` up (0 if none). */
function* shardFolders(directory: string): Op<number> {
  const names = new Set(yield* io('readdir', directory));
  let count = 0;
  while (count < MAX_SHARDS && names.has(String(count).padStart(3, '0'))) count++;
  return count;
}

/**
 * Writes `{ shards }` to `file`: exclusively (`false` if a file is there), or over whatever is
 * there (a damaged file, or a link, which is replaced, never followed).
 */
function* writeCount(file: string, shards: number, mode: number, exclusive: boolean): Op<boolean> {
  const temp = `${file}.${randomBytes(8).toString('hex')}.tmp`;
  yield* io('writeFile', temp, [Buffer.from(`${JSON.stringify({ shards })}\n`)], { mode, fsync: false });
  try {
    if (exclusive) {
      try {
        yield* io('link', temp, file);
        return true;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
        // No hard links here (SMB): a rename, racy only against another creator of the same fan-out.
        if ((yield* io('lstat', file)) !== undefined) return false;
      }
    }
    yield* io('rename', temp, file);
    return true;
  } finally {
    yield* io('unlink', temp);
  }
}

/** Reads of `fanout.json` per open, at most, while other processes create or repair it. */
const MAX_ROUNDS = 5;

function* settleCount(directory: string, wanted: number | undefined, mode: number): Op<number> {
  const file = join(directory, FANOUT_FILE);
  const shards = wanted ?? DEFAULT_SHARDS;
  if (!isShardCount(shards)) {
    throw new RangeError(`diskcache-ts: options.shards must be an integer from 1 to ${MAX_SHARDS}`);
  }
  for (let round = 1; round <= MAX_ROUNDS; round++) {
    const stored = yield* readCount(file);
    if (typeof stored === 'number') return stored;
    // Missing: created exclusively, then read again (this writer's count, or the first creator's).
    if (stored === undefined) yield* writeCount(file, shards, mode, true);
    else {
      // Damaged: the shard folders tell how many there were.
      const found = yield* shardFolders(directory);
      yield* writeCount(file, found > 0 ? found : shards, mode, false);
    }
  }
  // A file that keeps changing under this open: the folders decide, for this open.
  const found = yield* shardFolders(directory);
  return found > 0 ? found : shards;
}

/**
 * The shard count of the fan-out in `directory` (which exists): the stored one, else `wanted` (or
 * 8), recorded. A stored count other than `wanted` is a `CacheError` `'EOPTION'`.
 */
export function shardCount(directory: string, wanted: number | undefined, fileMode: number): number {
  const shards = runSync(
    retryingFileSystem(confineFileSystem(nodeFileSystem, directory)),
    settleCount(directory, wanted, fileMode),
  );
  if (wanted !== undefined && shards !== wanted) {
    throw new CacheError(
      'EOPTION',
      `${directory} was created with ${shards} shards, not ${wanted}; open it without options.shards`,
      { directory },
    );
  }
  return shards;
}
