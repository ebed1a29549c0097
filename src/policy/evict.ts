import { join } from 'node:path';
import { type CacheContext, count } from '../cache/context.js';
import type { EntryHeader } from '../format/entry.js';
import { io, type Op } from '../fs/runner.js';
import { readHeader, removeIf } from '../store/entries.js';
import { shardFileKind } from '../store/layout.js';
import { POLICIES } from './policies.js';

/** An entry considered for eviction. */
interface Candidate {
  path: string;
  rank: number;
  storedAt: number;
  expired: boolean;
  sampledAt: number;
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
export class Evictor {
  private names: string[] = [];
  private pool: Candidate[] = [];
  private writes = 0;

  /**
   * Runs after each write that may have grown the cache. As in python-diskcache, a write that finds
   * the cache over its limit evicts `cullLimit` entries, expired ones first; and now and then a write
   * removes the expired entries among a few sampled ones, so that dead entries do not pile up.
   */
  *afterWrite(ctx: CacheContext): Op<void> {
    const { cullLimit, sizeLimit } = ctx.settings;
    if (cullLimit === 0) return;
    this.writes++;
    const policy = POLICIES[ctx.settings.evictionPolicy];
    const over = policy.evicts && (yield* ctx.counters.estimate(TOTALS_MAX_AGE_MS)).volume > sizeLimit;
    if (over) yield* this.evict(ctx, cullLimit, false);
    else if (this.writes % SWEEP_EVERY === 0) yield* this.removeExpired(ctx, cullLimit);
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
      const over = policy.evicts && (!untilUnder || totals.volume > ctx.settings.sizeLimit);
      yield* this.sample(ctx, totals.count < EXACT_BELOW);
      const victim = this.pool[0];
      if (victim === undefined || (!victim.expired && !over)) break;
      this.pool.shift();
      if (yield* this.remove(ctx, victim)) removed++;
    }
    return removed;
  }

  /** Removes the expired entries among a fresh sample (at most `budget`). */
  private *removeExpired(ctx: CacheContext, budget: number): Op<void> {
    yield* this.sample(ctx, false);
    const expired = this.pool.filter((c) => c.expired).slice(0, budget);
    this.pool = this.pool.filter((c) => !expired.includes(c));
    for (const victim of expired) yield* this.remove(ctx, victim);
  }

  /** Removes a candidate if it is still the entry that was sampled. */
  private *remove(ctx: CacheContext, victim: Candidate): Op<boolean> {
    const removal = yield* removeIf(
      victim.path,
      ctx.layout.corrupt,
      (found) => found.state === 'ok' && found.entry.storedAt === victim.storedAt,
    );
    if (removal.removed) yield* count(ctx, { count: -1, volume: -removal.size });
    return removal.removed;
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
      const found = yield* readHeader(path);
      if (found.state !== 'ok') continue;
      const info = policy.needsTimes ? yield* io('stat', path) : undefined;
      this.pool.push(this.candidate(path, found.entry, policy.rank(found.entry, info), now, fresh));
    }
    this.pool.sort(
      (a, b) => Number(b.expired) - Number(a.expired) || a.rank - b.rank || a.storedAt - b.storedAt,
    );
    if (!everything) this.pool.length = Math.min(this.pool.length, POOL_SIZE);
  }

  private candidate(path: string, header: EntryHeader, rank: number, now: number, fresh: number): Candidate {
    const expired = header.expiresAt !== null && header.expiresAt <= now;
    return { path, rank, storedAt: header.storedAt, expired, sampledAt: fresh };
  }

  /** `count` entry paths drawn at random from a random shard's listing (kept between calls). */
  private *randomNames(ctx: CacheContext, wanted: number): Op<string[]> {
    if (this.names.length < wanted) {
      const shards = yield* io('readdir', ctx.layout.entries);
      for (let tries = 0; tries < 4 && this.names.length < wanted && shards.length > 0; tries++) {
        const shard = shards[Math.floor(Math.random() * shards.length)] as string;
        const dir = join(ctx.layout.entries, shard);
        const entries = (yield* io('readdir', dir)).filter((name) => shardFileKind(name) === 'entry');
        this.names.push(
          ...shuffle(entries)
            .slice(0, NAME_SAMPLE)
            .map((name) => join(dir, name)),
        );
      }
    }
    return this.names.splice(0, wanted);
  }

  /** Every entry path (for small caches only). */
  private *allNames(ctx: CacheContext): Op<string[]> {
    const paths: string[] = [];
    for (const shard of yield* io('readdir', ctx.layout.entries)) {
      const dir = join(ctx.layout.entries, shard);
      for (const name of yield* io('readdir', dir)) {
        if (shardFileKind(name) === 'entry') paths.push(join(dir, name));
      }
    }
    return paths;
  }
}
