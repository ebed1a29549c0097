import { type MemoryTierOptions, validateMemoryTier } from '../engine/memory-tier.js';
import type { EngineName } from '../engine/slots.js';
import { type Codec, type CodecName, resolveCodec } from '../format/codec.js';
import { type CompressionName, compressionKind, isCompressionName } from '../format/compression.js';
import type { FileSystem } from '../fs/backend.js';
import { checkOptions } from '../option-names.js';
import { EVICTION_POLICIES, type EvictionPolicy } from '../policy/policies.js';
import { isAllocationUnit } from '../store/footprint.js';
import { checkTtl } from './ttl.js';

/** A source of wall-clock time in epoch milliseconds. Inject one in tests to move time without sleeping. */
export interface Clock {
  now(): number;
}

/** Options of `new Cache(directory, options)`. */
export interface CacheOptions {
  /**
   * Target maximum of `volume()` in bytes: the space the entries take on disk as `du` counts it
   * (files rounded up to the allocation unit on the `files` engine, records with their headers on
   * the `log` engine; see `volume()`).
   * @default 2 ** 30 (1 GiB)
   */
  sizeLimit?: number;
  /**
   * Target maximum of `count()`, beside `sizeLimit`: over either, writes evict (by the same policy
   * and `cullLimit`) and `cull()` evicts until under both. `0`: no limit.
   * @default 0
   */
  maxEntries?: number;
  /**
   * At most this many entries are evicted per write when over the limit; 0 means only `cull()` evicts.
   * @default 10
   */
  cullLimit?: number;
  /**
   * Which entries are evicted first.
   * @default 'least-recently-stored'
   */
  evictionPolicy?: EvictionPolicy;
  /**
   * Count hits and misses, shared by every process (see `stats()`).
   * @default false
   */
  statistics?: boolean;
  /**
   * How values are turned into bytes: `'structured'` (Buffers and strings raw, numbers as float64,
   * everything else with `v8.serialize`), `'json'`, `'raw'` (Uint8Array and string only), or a {@link Codec}.
   * @default 'structured'
   */
  codec?: CodecName | Codec;
  /**
   * Compress values of at least `compressThreshold` bytes, keeping the compressed form only when smaller.
   * @default 'none'
   */
  compression?: CompressionName;
  /**
   * Values shorter than this many bytes are stored uncompressed.
   * @default 4096
   */
  compressThreshold?: number;
  /**
   * `'normal'`: every write is atomic and survives a process crash. `'fsync'`: it also survives power
   * loss (each entry file and its directory are flushed).
   * @default 'normal'
   */
  durability?: 'normal' | 'fsync';
  /**
   * Milliseconds to wait for a cross-process lock before a `LockTimeoutError`.
   * @default 60_000
   */
  timeout?: number;
  /**
   * Permission bits of the files the cache creates (the umask applies).
   * @default 0o644
   */
  fileMode?: number;
  /**
   * Permission bits of the directories the cache creates (the umask applies).
   * @default 0o755
   */
  dirMode?: number;
  /**
   * Time to live in milliseconds of the entries written without a `ttl` of their own (`set`,
   * `add`, `touch`, `push`, `setStream`, `memoize`); `0` or `null`: they never expire. This
   * instance's own: not stored in the directory.
   * @default null
   */
  ttl?: number | null | undefined;
  /**
   * The clock for store times and expiry.
   * @default Date
   */
  clock?: Clock;
  /**
   * How the async methods do their I/O. `'inline'` runs small operations (values up to 64 KiB)
   * with synchronous calls, because on a local disk a thread-pool round trip costs more than the
   * call itself; larger reads and writes still go to the thread pool. `'threadpool'` sends every call
   * there, so the event loop never waits on the disk. `'auto'` chooses `'inline'` on local file
   * systems and `'threadpool'` on network and FUSE file systems.
   * @default 'auto'
   */
  asyncIO?: 'auto' | 'inline' | 'threadpool';
  /**
   * How entries are stored, chosen when the cache is created and stored in it (later opens use the
   * stored engine; naming another one is a `CacheError` `'EOPTION'`). `'log'` appends small entries
   * as records to 64 bucket files (large ones keep a file of their own): the fastest, for local
   * file systems only. `'files'` stores each entry as a file of its own: for directories shared over
   * NFS or SMB. `'auto'` picks `'log'` on a local file system and `'files'` on network and FUSE ones;
   * the environment variable `DISKCACHE_ENGINE` (`log` or `files`) overrides what `'auto'` picks on a
   * local file system. A `log` cache reached through a network mount opens for reading only: its
   * writes fail with `CacheError` `'EREMOTELOG'`.
   * @default 'auto'
   */
  engine?: 'auto' | EngineName;
  /**
   * `log` engine: how many keys one process keeps in its in-memory index of the cache (about 400
   * bytes each, so 400 MB at the default); the buckets used least recently are forgotten beyond it
   * and read again when next used (often, for random reads of more keys than this). Not stored.
   * @default 1_000_000
   */
  indexLimit?: number;
  /**
   * Keep recently read entries in this process's memory, bounded by entries and bytes. A kept entry
   * is served only while its file is unchanged (one `stat` per read instead of a read), so a value
   * replaced or deleted by another process on this host is never served. Off by default.
   */
  memory?: MemoryTierOptions;
  /**
   * Internal, for tests: the file-system primitives to use, a seam for fault injection. Its type
   * comes from `diskcache-ts/internal`, which carries no semver promise.
   * @default node:fs
   */
  fileSystem?: FileSystem;
  /**
   * Open for reading only: no lock is taken and nothing is written, not even bookkeeping (the
   * settings file, recovery of dead writers, counters, access times, statistics, moving corrupt
   * entries aside). Every write fails with a `CacheError` `'EROFS'`. For read-only media and for
   * readers who may not write a shared cache. (On read-only media the cache also works without this
   * option: reads skip their bookkeeping, writes fail with `'EROFS'`.)
   * @default false
   */
  readOnly?: boolean;
  /**
   * Whether this process keeps the cache within its limits as it writes (each write evicts up to
   * `cullLimit` entries when the cache is over `sizeLimit`, and removes expired ones). With `false`
   * its writes never remove another entry; explicit `cull()`, `expire()` and `evict(tag)` still do.
   * For a directory shared by many hosts: let one process trim it (the trimmer) and open it with
   * `trim: false` everywhere else. Belongs to the instance, like `readOnly`.
   * @default true
   */
  trim?: boolean;
}

/** Options that are stored in the directory and apply to every later open that does not pass its own. */
export const PERSISTED = [
  'sizeLimit',
  'maxEntries',
  'cullLimit',
  'evictionPolicy',
  'statistics',
  'codec',
  'compression',
  'compressThreshold',
  'durability',
  'timeout',
] as const;

/** The persisted settings, resolved. */
export interface Settings {
  sizeLimit: number;
  /** `0`: no limit. */
  maxEntries: number;
  cullLimit: number;
  evictionPolicy: EvictionPolicy;
  statistics: boolean;
  /** A built-in codec's name, or the name of a custom codec. */
  codec: string;
  compression: CompressionName;
  compressThreshold: number;
  durability: 'normal' | 'fsync';
  timeout: number;
  /** The engine the cache was created with (not changed by later opens). */
  engine: EngineName;
  /**
   * The allocation unit `volume()` counts file space in (see `store/footprint.ts`), measured when the
   * cache was created; absent from directories whose counters count plain bytes (written by earlier
   * versions), whose volume a writable open recounts once before storing it.
   */
  allocationUnit?: number;
}

/** The defaults of the persisted settings. */
export const DEFAULT_SETTINGS: Readonly<Settings> = {
  sizeLimit: 2 ** 30,
  maxEntries: 0,
  cullLimit: 10,
  evictionPolicy: 'least-recently-stored',
  statistics: false,
  codec: 'structured',
  compression: 'none',
  compressThreshold: 4096,
  durability: 'normal',
  timeout: 60_000,
  engine: 'files',
};

const KNOWN = new Set<string>([
  ...PERSISTED,
  'fileMode',
  'dirMode',
  'clock',
  'asyncIO',
  'fileSystem',
  'memory',
  'readOnly',
  'trim',
  'engine',
  'indexLimit',
  'ttl',
]);

/** The names of the `Cache` options. */
export const CACHE_OPTIONS: ReadonlySet<string> = KNOWN;

function nonNegative(name: string, value: unknown, integer: boolean): void {
  if (typeof value !== 'number' || Number.isNaN(value)) {
    throw new TypeError(`diskcache-ts: options.${name} must be a number`);
  }
  if (value < 0 || (integer && !Number.isInteger(value) && value !== Number.POSITIVE_INFINITY)) {
    throw new RangeError(
      `diskcache-ts: options.${name} must be a non-negative ${integer ? 'integer' : 'number'}`,
    );
  }
}

function oneOf(name: string, value: unknown, allowed: readonly string[]): void {
  if (!allowed.includes(value as string)) {
    throw new RangeError(
      `diskcache-ts: options.${name} must be one of ${allowed.map((a) => `'${a}'`).join(', ')}`,
    );
  }
}

/** One validator per option that has a value to check; each throws a `TypeError` or `RangeError`. */
const VALIDATORS: ReadonlyMap<string, (value: unknown) => void> = new Map<string, (value: unknown) => void>([
  ['sizeLimit', (v) => nonNegative('sizeLimit', v, false)],
  ['maxEntries', (v) => nonNegative('maxEntries', v, true)],
  ['cullLimit', (v) => nonNegative('cullLimit', v, true)],
  ['compressThreshold', (v) => nonNegative('compressThreshold', v, true)],
  ['timeout', (v) => nonNegative('timeout', v, false)],
  ['fileMode', (v) => nonNegative('fileMode', v, true)],
  ['dirMode', (v) => nonNegative('dirMode', v, true)],
  ['evictionPolicy', (v) => oneOf('evictionPolicy', v, EVICTION_POLICIES)],
  ['statistics', (v) => boolean('statistics', v)],
  ['readOnly', (v) => boolean('readOnly', v)],
  ['trim', (v) => boolean('trim', v)],
  ['durability', (v) => oneOf('durability', v, ['normal', 'fsync'])],
  ['asyncIO', (v) => oneOf('asyncIO', v, ['auto', 'inline', 'threadpool'])],
  ['engine', (v) => oneOf('engine', v, ['auto', 'log', 'files'])],
  [
    'indexLimit',
    (v) => {
      nonNegative('indexLimit', v, true);
      if ((v as number) < 1) throw new RangeError('diskcache-ts: options.indexLimit must be at least 1');
    },
  ],
  ['ttl', (v) => checkTtl(v, 'options.ttl')],
  ['memory', (v) => validateMemoryTier(v)],
  ['codec', (v) => resolveCodec(v as CodecName | Codec)],
  ['compression', (v) => compressionKind(v as string)],
  [
    'clock',
    (v) => {
      if (typeof (v as Clock)?.now !== 'function') {
        throw new TypeError('diskcache-ts: options.clock must have a now() method');
      }
    },
  ],
]);

function boolean(name: string, value: unknown): void {
  if (typeof value !== 'boolean') throw new TypeError(`diskcache-ts: options.${name} must be a boolean`);
}

/** Validates constructor options, throwing precise `TypeError`s and `RangeError`s. */
export function validateOptions(options: CacheOptions, extra: readonly string[] = [], where = 'Cache'): void {
  checkOptions(options, extra.length ? new Set([...KNOWN, ...extra]) : KNOWN, where);
  for (const [name, validate] of VALIDATORS) {
    const value = (options as Record<string, unknown>)[name];
    if (value !== undefined) validate(value);
  }
}

/** Validates the `directory` argument: a non-empty string, or `undefined` for a new temporary directory. */
export function validateDirectory(directory: unknown): void {
  if (directory === undefined) return;
  if (typeof directory !== 'string') throw new TypeError('diskcache-ts: the directory must be a string path');
  if (directory === '') {
    throw new TypeError(
      "diskcache-ts: the directory must not be '' (pass a path, or nothing for a new temporary directory)",
    );
  }
}

/** The valid persisted settings found in a settings file, and the names of those that were not valid. */
export interface StoredSettings {
  settings: Partial<Settings>;
  /** One phrase per value that was not valid (the whole `settings` if it was no object). */
  rejected: string[];
}

/**
 * Sorts what a settings file holds into valid settings and rejected ones, with the same validators
 * as the options. A codec that is not built in is a custom codec's name (any non-empty string); a
 * compression is valid if it is known, whether or not this process can use it.
 */
export function readStoredSettings(stored: unknown): StoredSettings {
  if (stored === undefined) return { settings: {}, rejected: [] };
  if (stored === null || typeof stored !== 'object' || Array.isArray(stored)) {
    return { settings: {}, rejected: [`settings ${JSON.stringify(stored)}`] };
  }
  const settings: Record<string, unknown> = {};
  const rejected: string[] = [];
  for (const name of PERSISTED) {
    if (!Object.hasOwn(stored, name)) continue;
    const value = (stored as Record<string, unknown>)[name];
    try {
      if (name === 'codec') {
        if (typeof value !== 'string' || value === '') throw new TypeError('not a codec name');
      } else if (name === 'compression') {
        if (!isCompressionName(value)) throw new RangeError('not a compression');
      } else {
        (VALIDATORS.get(name) as (value: unknown) => void)(value);
      }
      settings[name] = value;
    } catch {
      rejected.push(`${name} ${JSON.stringify(value) ?? String(value)}`);
    }
  }
  if (Object.hasOwn(stored, 'engine')) {
    const engine = (stored as Record<string, unknown>).engine;
    if (engine === 'log' || engine === 'files') settings.engine = engine;
    else rejected.push(`engine ${JSON.stringify(engine) ?? String(engine)}`);
  }
  if (Object.hasOwn(stored, 'allocationUnit')) {
    const unit = (stored as Record<string, unknown>).allocationUnit;
    if (isAllocationUnit(unit)) settings.allocationUnit = unit;
    else rejected.push(`allocationUnit ${JSON.stringify(unit) ?? String(unit)}`);
  }
  return { settings: settings as Partial<Settings>, rejected };
}

/** The settings in force: defaults, then what the directory stored, then what the caller passed. */
export function mergeSettings(stored: Partial<Settings>, passed: CacheOptions): Settings {
  const merged: Settings = { ...DEFAULT_SETTINGS, engine: stored.engine ?? DEFAULT_SETTINGS.engine };
  if (stored.allocationUnit !== undefined) merged.allocationUnit = stored.allocationUnit;
  for (const name of PERSISTED) {
    const fromStore = stored[name];
    if (fromStore !== undefined && typeof fromStore === typeof DEFAULT_SETTINGS[name]) {
      (merged as unknown as Record<string, unknown>)[name] = fromStore;
    }
    const fromCaller = passed[name];
    if (fromCaller !== undefined) {
      (merged as unknown as Record<string, unknown>)[name] =
        name === 'codec' && typeof fromCaller === 'object' ? (fromCaller as Codec).name : fromCaller;
    }
  }
  return merged;
}
