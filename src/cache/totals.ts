import type { Op } from '../fs/runner.js';
import { assertOptionsObject } from '../option-names.js';
import { writeSettingsFile } from '../store/settings-file.js';
import { addToCounters, type CacheContext } from './context.js';

/** Hit and miss counts, as `stats()` returns them. */
export interface Stats {
  hits: number;
  misses: number;
}

/** Options of `stats()`. */
export interface StatsOptions {
  /** Turn statistics on or off (stored in the directory); left as it is when omitted. */
  enable?: boolean;
  /** Zero the counts after reading them. */
  reset?: boolean;
}

/** `count()`: entries stored, expired ones not yet removed included. */
export function* count(ctx: CacheContext): Op<number> {
  return (yield* ctx.counters.read()).count;
}

/** `volume()`: bytes the entries take on disk. */
export function* volume(ctx: CacheContext): Op<number> {
  return (yield* ctx.counters.read()).volume;
}

/** `stats({ enable, reset })`: the counts before any reset. */
export function* stats(ctx: CacheContext, options: StatsOptions = {}): Op<Stats> {
  assertOptionsObject(options);
  if (options.enable !== undefined && typeof options.enable !== 'boolean') {
    throw new TypeError('diskcache-ts: enable must be a boolean');
  }
  const totals = yield* ctx.counters.read();
  if (options.reset) yield* addToCounters(ctx, { hits: -totals.hits, misses: -totals.misses });
  if (options.enable !== undefined && options.enable !== ctx.settings.statistics) {
    ctx.settings.statistics = options.enable;
    yield* writeSettingsFile(ctx.store, ctx.settings);
  }
  return { hits: totals.hits, misses: totals.misses };
}
