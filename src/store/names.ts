import { OWNER_TAG } from '../identity.js';
import { SETTINGS_FILE } from './layout.js';

/**
 * The exact forms of the names the cache creates (docs/FORMAT.md, "Names the cache creates"). Only
 * names of these forms are ever removed by recovery, `check` and `clear`; anything else found in the
 * cache's folders is reported, and `check({ fix: true })` only moves it aside into `corrupt/`.
 */

const SHARD = /^[0-9a-f]{2}$/;
const ENTRY = /^[0-9a-f]{32}$/;
const KEY_LOCK = /^[0-9a-f]{32}\.lock$/;
const OWNER = new RegExp(`^${OWNER_TAG}$`);
/** `<name>.<seq>.tmp`, `.claim` or `.lock`, as `Layout.privatePath` makes them. */
const PRIVATE = /^[^/\\]+\.[0-9a-z]+\.(tmp|claim|lock)$/;
const JOURNAL = new RegExp(`^${OWNER_TAG}~[0-9a-z]+\\.json$`);
const DELTA = new RegExp(`^${OWNER_TAG}(?:~[0-9a-z]+)?\\.delta$`);
const QUEUE_FILE = /^[0-9a-f]{32}\.(state|lock)$/;
const BUCKET_FILE = /^[0-9a-f]{2}\.(?:[1-9][0-9]{0,9}|lock)$/;
const BLOB = /^[A-Za-z0-9~-]{1,200}\.blob$/;

/** A test of a name against one of the forms above. */
function hasForm(form: RegExp): (name: string) => boolean {
  return (name) => form.test(name);
}

/** The folders directly inside the cache directory. */
export const TOP_LEVEL_FOLDERS = [
  'entries',
  'log',
  'blobs',
  'tmp',
  'counters',
  'journal',
  'queues',
  'corrupt',
] as const;

/** What the cache creates directly inside its directory. */
const TOP_LEVEL = new Set<string>([...TOP_LEVEL_FOLDERS, SETTINGS_FILE, 'transact.lock']);

/** A shard folder of `entries/`: two lowercase hex digits. */
export const isShardName = hasForm(SHARD);

/** An entry file in a shard: 32 lowercase hex digits. */
export const isEntryName = hasForm(ENTRY);

/** A key's lock in a shard: an entry name and `.lock`. */
export const isKeyLockName = hasForm(KEY_LOCK);

/** A writer's private folder in `tmp/`: `host~pid~nonce`. */
export const isOwnerName = hasForm(OWNER);

/** A file or folder in a writer's private folder: `<name>.<seq>.tmp`, `.claim` or `.lock`. */
export const isPrivateName = hasForm(PRIVATE);

/** A committed transaction in `journal/`: `<owner>~<seq>.json`. */
export const isJournalName = hasForm(JOURNAL);

/** A name the `log` engine creates in `log/`: a bucket file `<2 hex>.<generation>`, or its compaction lock `<2 hex>.lock`. */
export const isBucketName = hasForm(BUCKET_FILE);

/** A bucket's compaction lock in `log/`: `<2 hex>.lock` (a lock, checked as the others are). */
export function isCompactionLockName(name: string): boolean {
  return isBucketName(name) && name.endsWith('.lock');
}

/** A file of a large entry of the `log` engine, in `blobs/`: `<token>.blob`. */
export const isBlobName = hasForm(BLOB);

/** A process's delta file in `counters/`: `<owner>.delta` or `<owner>~<seq>.delta`. */
export const isDeltaName = hasForm(DELTA);

/** A name the cache creates in `counters/`. */
export function isCounterName(name: string): boolean {
  return name === 'base.json' || name === 'fold.lock' || isDeltaName(name);
}

/** A name the cache creates in `queues/`: `<32 hex>.state` or `<32 hex>.lock`. */
export const isQueueName = hasForm(QUEUE_FILE);

/** A name the cache creates directly in its directory. */
export function isTopLevelName(name: string): boolean {
  return TOP_LEVEL.has(name);
}

/**
 * Names that belong to no one's cache and are ignored everywhere: a network or FUSE client's own
 * (a removed file still open somewhere: `.nfs…`, `.fuse_hidden…`), and a file system's `lost+found`.
 */
export function isIgnoredName(name: string): boolean {
  return name.startsWith('.nfs') || name.startsWith('.fuse_hidden') || name === 'lost+found';
}
