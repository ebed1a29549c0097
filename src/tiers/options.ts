import { checkTtl } from '../cache/ttl.js';
import { checkOptions } from '../option-names.js';
import { type Backend, backendOf, type TierStore } from './tier.js';

/**
 * How a tier takes writes: `'through'` (each write waits for it), `'behind'` (from a bounded queue,
 * in the background) or `'none'` (read-only: a cache warmed elsewhere, say by CI).
 */
export type TierWrites = 'through' | 'behind' | 'none';

/**
 * What happens when a tier fails (its server is down, its mount gone): `'fail'` makes the call fail
 * with the tier's error; `'skip'` goes on with the other tiers and tells of the failure with a
 * `'degraded'` event.
 */
export type WhenDown = 'fail' | 'skip';

/** One tier of a `TieredCache`, first the fastest. */
export interface TierOptions {
  /** A `Cache` (a local directory, or one on a network mount), a `MemoryCache`, or a Keyv store. */
  store: TierStore;
  /** @default 'through' */
  writes?: TierWrites;
  /** @default 'fail' */
  whenDown?: WhenDown;
  /** Writes queued at most, with `writes: 'behind'`. @default 1000 */
  queueLimit?: number;
  /** The tier's name in events and `health()`. @default its position, `'tier 0'` first */
  name?: string;
}

/** Options of a `TieredCache`. */
export interface TieredCacheOptions {
  /** The tiers, fastest first; the last is the one every copy above it answers to. At least one. */
  tiers: readonly (TierOptions | TierStore)[];
  /**
   * Milliseconds a copy in an upper tier is served without asking the last tier whether it still
   * holds that version: a value replaced or deleted there (by another host) is served here for at
   * most this long. `0`: ask on every read.
   * @default 5000
   */
  maxStaleness?: number;
  /** Time to live of entries written without their own `ttl`, in ms (`0`/`null`: never expire). @default null */
  ttl?: number | null;
}

/** A tier, validated. */
export interface Tier {
  readonly name: string;
  readonly backend: Backend;
  readonly writes: TierWrites;
  readonly whenDown: WhenDown;
  readonly queueLimit: number;
}

const TIER_OPTIONS = new Set(['store', 'writes', 'whenDown', 'queueLimit', 'name']);
const OPTIONS = new Set(['tiers', 'maxStaleness', 'ttl']);

function oneOf<T extends string>(what: string, value: unknown, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!allowed.includes(value as T)) {
    throw new TypeError(`diskcache-ts: ${what} must be ${allowed.map((a) => `'${a}'`).join(', ')}`);
  }
  return value as T;
}

function isTierOptions(value: TierOptions | TierStore): value is TierOptions {
  return typeof value === 'object' && value !== null && 'store' in value && !('get' in value);
}

function tierOf(given: TierOptions | TierStore, index: number): Tier {
  const options: TierOptions = isTierOptions(given) ? given : { store: given };
  checkOptions(options, TIER_OPTIONS, `tiers[${index}]`, `tiers[${index}] must be a store or { store, … }`);
  const queueLimit = options.queueLimit ?? 1000;
  if (!Number.isSafeInteger(queueLimit) || queueLimit < 1) {
    throw new RangeError(`diskcache-ts: tiers[${index}].queueLimit must be a whole number >= 1`);
  }
  if (options.name !== undefined && typeof options.name !== 'string') {
    throw new TypeError(`diskcache-ts: tiers[${index}].name must be a string`);
  }
  return {
    name: options.name ?? `tier ${index}`,
    backend: backendOf(options.store),
    writes: oneOf(`tiers[${index}].writes`, options.writes, ['through', 'behind', 'none'], 'through'),
    whenDown: oneOf(`tiers[${index}].whenDown`, options.whenDown, ['fail', 'skip'], 'fail'),
    queueLimit,
  };
}

/** Validated options. */
export interface TieredPlan {
  tiers: Tier[];
  maxStaleness: number;
  defaultTtl: number | null;
}

/** Validates the options of `new TieredCache()`: `TypeError`s and `RangeError`s. */
export function planTiers(options: TieredCacheOptions): TieredPlan {
  checkOptions(options, OPTIONS, 'TieredCache');
  if (!Array.isArray(options.tiers) || options.tiers.length === 0) {
    throw new TypeError('diskcache-ts: options.tiers must be an array of at least one tier');
  }
  const maxStaleness = options.maxStaleness ?? 5000;
  if (typeof maxStaleness !== 'number' || !(maxStaleness >= 0) || maxStaleness === Number.POSITIVE_INFINITY) {
    throw new RangeError('diskcache-ts: options.maxStaleness must be a finite number of ms >= 0');
  }
  return {
    tiers: options.tiers.map(tierOf),
    maxStaleness,
    defaultTtl: checkTtl(options.ttl, 'options.ttl'),
  };
}
