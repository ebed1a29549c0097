import { basename, join, sep } from 'node:path';
import { nextSequence, OWNER } from '../identity.js';

/** Name of the settings file that marks a directory as a diskcache-ts cache. */
export const SETTINGS_FILE = 'diskcache.json';
/** Number of shard directories entries are spread over (named `00` … `ff`). */
export const SHARD_COUNT = 256;

const HEX32 = /^[0-9a-f]{32}$/;
const KEY_LOCK = /^[0-9a-f]{32}\.lock$/;

/** Paths inside one cache directory. */
export class Layout {
  readonly settings: string;
  readonly entries: string;
  readonly counters: string;
  readonly corrupt: string;
  /** Holds one private directory per writer process, named by its owner tag. */
  readonly temp: string;
  /** This process's private directory: its temp files and the entries it has claimed. */
  readonly ownTemp: string;
  readonly journal: string;
  /** The lock that transactions hold. */
  readonly transactLock: string;

  constructor(readonly directory: string) {
    this.settings = join(directory, SETTINGS_FILE);
    this.entries = join(directory, 'entries');
    this.counters = join(directory, 'counters');
    this.corrupt = join(directory, 'corrupt');
    this.temp = join(directory, 'tmp');
    this.ownTemp = join(this.temp, OWNER);
    this.journal = join(directory, 'journal');
    this.transactLock = join(directory, 'transact.lock');
  }

  /** A new path in this process's private directory, for a file derived from `path`. */
  privatePath(path: string, extension: string): string {
    return join(this.ownTemp, `${basename(path)}.${nextSequence()}.${extension}`);
  }

  /** The shard directory of a key hash. */
  shardOf(hash: string): string {
    return join(this.entries, hash.slice(0, 2));
  }

  /** The shard directory with index `n` (0 … 255). */
  shard(n: number): string {
    return join(this.entries, n.toString(16).padStart(2, '0'));
  }

  /** The entry file of a key hash. */
  entry(hash: string): string {
    return `${this.entries}${sep}${hash.slice(0, 2)}${sep}${hash}`;
  }

  /** The lock (a directory) that serialises read-modify-write operations on one key. */
  keyLock(hash: string): string {
    return `${this.entry(hash)}.lock`;
  }
}

/** What a file found in a shard directory is. */
export type ShardFileKind = 'entry' | 'lock' | 'other';

/** Classifies a file name found in a shard directory. */
export function shardFileKind(name: string): ShardFileKind {
  if (HEX32.test(name)) return 'entry';
  if (KEY_LOCK.test(name)) return 'lock';
  return 'other';
}
