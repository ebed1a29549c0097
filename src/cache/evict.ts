import { type EntryHeader, staleUntil } from '../format/entry.js';
import type { Op } from '../fs/runner.js';
import { POLICIES } from '../policy/policies.js';
import { type CacheContext, type CacheEvictor, countRemoved } from './context.js';
import { noteEvicted } from './events.js';

/** An entry considered for eviction. */
interface Candidate {
  path: string;
  rank: number;
  storedAt: number;
  /** Epoch ms, `Infinity` if the entry never expires. */
  expiresAt: number;
  expired: boolean;
  sampledAt: number;
  /** The header it was sampled from (its key is told to listeners). */
  header: EntryHeader;
}

/** Entries read per victim (as Redis's `maxmemory-samples`). */
const SAMPLES_PER_VICTIM = 5;
/** The best candidates kept between rounds. */
const POOL_SIZE = 16;
/** Candidate names kept from one shard listing. */
const NAME_SAMPLE = 128;
/** A candidate sampled longer ago than this is re-read before it is trusted. */
const CANDIDATE_TTL_MS = 1000;
/** Below this many entries, every entry is a candidate: eviction is then exact. */
const EXACT_BELOW = 64;
/** Every this many writes, a few sampled entries are checked for expiry even under the size limit. */
const SWEEP_EVERY = 16;
/** Other processes' writes are seen by the size check within this much time. */
const TOTALS_MAX_AGE_MS = 50;

/** Whether the totals pass `sizeLimit` or (where set) `maxEntries`. */
function overLimit(
  settings: { sizeLimit: number; maxEntries: number },
  totals: { count: number; volume: number },
): boolean {
  return (
    totals.volume > settings.sizeLimit || (settings.maxEntries > 0 && totals.count > settings.maxEntries)
  );
}

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}

/**
 * Chooses and removes entries when the cache is over its size limit, without ever listing the whole
 * cache: it samples a few entries from a random shard per victim and keeps a small pool of the best
 * candidates seen (the approach of Redis's approximated LRU). Expired entries always go first.
 * Memory is bounded by {@link NAME_SAMPLE} and {@link POOL_SIZE}, whatever the number of entries.
 */
export class Evictor implements CacheEvictor {
  private names: string[] = [];
  private pool: Candidate[] = [];
  private writes = 0;
  /** No entry expires before this, as far as this process knows (`-Infinity`: unknown). */
  private earliestExpiry = Number.NEGATIVE_INFINITY;
  /** A sweep of every entry for expired ones is in flight (see {@link afterWrite}). */
  private sweeping = false;

  /** `trimsOnWrite`: whether {@link afterWrite} evicts at all (the `trim` option). */
  constructor(private readonly trimsOnWrite = true) {}

  /**
   * Runs after each write that may have grown the cache (`expiresAt`: the written entry's expiry).
   * As in python-diskcache, a write removes up to `cullLimit` expired entries, and one that finds the
   * cache over its limit evicts `cullLimit` entries, expired ones first. In a small cache this is exact
   * (every entry is read, but only while some entry may have expired); in a large one, expired entries
   * are found by sampling a few entries every {@link SWEEP_EVERY} writes.
   */
  *afterWrite(ctx: CacheContext, expiresAt: number | null = null): Op<void> {
    const { cullLimit } = ctx.settings;
    if (expiresAt !== null) this.earliestExpiry = Math.min(this.earliestExpiry, expiresAt);
    if (cullLimit === 0 || !this.trimsOnWrite) return;
    this.writes++;
    const policy = POLICIES[ctx.settings.evictionPolicy];
    const totals = yield* ctx.counters.estimate(TOTALS_MAX_AGE_MS);
    if (policy.evicts && overLimit(ctx.settings, totals)) {
      yield* this.evict(ctx, cullLimit, false);
    } else if (totals.count < EXACT_BELOW) {
      // One sweep at a time: concurrent writes would each read every entry again.
      if (this.earliestExpiry < ctx.clock.now() && !this.sweeping) {
        this.sweeping = true;
        try {
          yield* this.removeExpired(ctx, cullLimit, true);
        } finally {
          this.sweeping = false;
        }
      }
    } else if (this.writes % SWEEP_EVERY === 0) {
      yield* this.removeExpired(ctx, cullLimit, false);
    }
  }

  /**
   * Evicts up to `budget` entries, expired ones first, then by the policy. With `untilUnder`, stops as
   * soon as the volume is within the limit (and evicts only expired entries while it is).
   * Returns how many were removed.
   */
  *evict(ctx: CacheContext, budget: number, untilUnder: boolean): Op<number> {
    const policy = POLICIES[ctx.settings.evictionPolicy];
    let removed = 0;
    while (removed < budget) {
      const totals = yield* ctx.counters.estimate(untilUnder ? 0 : TOTALS_MAX_AGE_MS);
      const over = policy.evicts && (!untilUnder || overLimit(ctx.settings, totals));
      yield* this.sample(ctx, totals.count < EXACT_BELOW);
      const victim = this.pool[0];
      if (victim === undefined || (!victim.expired && !over)) break;
      this.pool.shift();
      if (yield* this.remove(ctx, victim)) removed++;
    }
    return removed;
  }

  /**
   * Removes up to `budget` expired entries, soonest expiry first, among a fresh sample (or among all
   * entries, with `everything`: then also learns the earliest expiry left).
   */
  private *removeExpired(ctx: CacheContext, budget: number, everything: boolean): Op<void> {
    yield* this.sample(ctx, everything);
    const expired = this.pool.filter((c) => c.expired).sort((a, b) => a.expiresAt - b.expiresAt);
    const victims = expired.slice(0, budget);
    this.pool = this.pool.filter((c) => !victims.includes(c));
    for (const victim of victims) yield* this.remove(ctx, victim);
    if (everything) {
      this.earliestExpiry = Math.min(...this.pool.map((c) => c.expiresAt), Number.POSITIVE_INFINITY);
    }
  }

  /** Removes a candidate if it is still the entry that was sampled. */
  private *remove(ctx: CacheContext, victim: Candidate): Op<boolean> {
    const removal = yield* ctx.slots.removeIf(
      victim.path,
      (found) => found.state === 'ok' && found.entry.storedAt === victim.storedAt,
    );
    if (!removal.removed) return false;
    const footprint = yield* countRemoved(ctx, removal.size);
    noteEvicted(ctx.events, victim.expired ? 'expired' : 'size', victim.header, footprint);
    return true;
  }

  /** Reads more candidates into the pool: a few random ones, or all of them in a small cache. */
  private *sample(ctx: CacheContext, everything: boolean): Op<void> {
    const now = ctx.clock.now();
    const fresh = performance.now();
    this.pool = everything ? [] : this.pool.filter((c) => fresh - c.sampledAt < CANDIDATE_TTL_MS);
    const paths = everything ? yield* this.allNames(ctx) : yield* this.randomNames(ctx, SAMPLES_PER_VICTIM);
    const policy = POLICIES[ctx.settings.evictionPolicy];
    for (const path of paths) {
      if (this.pool.some((c) => c.path === path)) continue;
      const found = yield* ctx.slots.readHeader(path);
      if (found.state !== 'ok') continue;
      const access = policy.needsTimes ? yield* ctx.slots.accessOf(path) : undefined;
      this.pool.push(this.candidate(path, found.entry, policy.rank(found.entry, access), now, fresh));
    }
    this.pool.sort(
      (a, b) => Number(b.expired) - Number(a.expired) || a.rank - b.rank || a.storedAt - b.storedAt,
    );
    if (!everything) this.pool.length = Math.min(this.pool.length, POOL_SIZE);
  }

  private candidate(path: string, header: EntryHeader, rank: number, now: number, fresh: number): Candidate {
    // An entry in its grace period stays (getOrSet may serve it). As in python-diskcache, culling
    // takes entries that expired before now, so that an entry just expiring stays until expire() or
    // a later write.
    const expiresAt = staleUntil(header) ?? Number.POSITIVE_INFINITY;
    return {
      path,
      rank,
      storedAt: header.storedAt,
      expiresAt,
      expired: expiresAt < now,
      sampledAt: fresh,
      header,
    };
  }

  /** `count` entry paths drawn at random from a random group's listing (kept between calls). */
  private *randomNames(ctx: CacheContext, wanted: number): Op<string[]> {
    for (let tries = 0; tries < 16 && this.names.length < wanted; tries++) {
      const group = Math.floor(Math.random() * ctx.slots.groups);
      this.names.push(...shuffle(yield* ctx.slots.list(group)).slice(0, NAME_SAMPLE));
    }
    return this.names.splice(0, wanted);
  }

  /** Every entry path (for small caches only). */
  private *allNames(ctx: CacheContext): Op<string[]> {
    const paths: string[] = [];
    for (let group = 0; group < ctx.slots.groups; group++) paths.push(...(yield* ctx.slots.list(group)));
    return paths;
  }
}
