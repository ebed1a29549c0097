export type { BatchEntry } from './cache/batch.js';
export { Cache, type ResolvedOptions } from './cache/cache.js';
export type { CheckReport } from './cache/check.js';
export type { WriteOptions } from './cache/context.js';
export type {
  CacheEventEmitter,
  CacheEvents,
  DamagedEvent,
  EvictEvent,
  EvictReason,
  FactoryErrorEvent,
  RefusedEvent,
} from './cache/events.js';
export type { Factory, FactoryContext, GetOrSetOptions } from './cache/get-or-set.js';
export type { Memoized, MemoizedSync, MemoizeOptions } from './cache/memoize.js';
export type { CacheOptions, Clock } from './cache/options.js';
export type { PullOptions, PushOptions } from './cache/queue.js';
export type { CacheEntry } from './cache/single.js';
export type { TypedAsyncCalls, TypedCalls } from './cache/surfaces.js';
export type { Stats, StatsOptions } from './cache/totals.js';
export type { AnyCache } from './cache/verbs.js';
export { Deque, type DequeMethods } from './collections/deque.js';
export { Index, type IndexMemoizeOptions, type IndexMethods } from './collections/index-map.js';
export type { MemoryTierOptions } from './engine/memory-tier.js';
export type { EngineName } from './engine/slots.js';
export { CacheError, type CacheErrorCode, type CacheErrorContext, LockTimeoutError } from './errors.js';
export { FanoutCache, type FanoutOptions } from './fanout/fanout-cache.js';
export type { Codec, CodecName } from './format/codec.js';
export type { CompressionName } from './format/compression.js';
export type { Key } from './format/key.js';
export { MemoryCache, type MemoryCacheMethods } from './memory/memory-cache.js';
export type { EvictionPolicy } from './policy/policies.js';
export { Averager } from './recipes/averager.js';
export {
  type BarrierOptions,
  barrier,
  barrierSync,
  type Lockable,
  type LockClass,
} from './recipes/barrier.js';
export type { AcquireOptions, LeaseOptions } from './recipes/lease.js';
export { Lock } from './recipes/lock.js';
export { RLock } from './recipes/rlock.js';
export { BoundedSemaphore } from './recipes/semaphore.js';
export { type ThrottleOptions, throttle, throttleSync } from './recipes/throttle.js';
export type { TieredCacheOptions, TierOptions, TierWrites, WhenDown } from './tiers/options.js';
export type { DegradedEvent, TieredEvents, TieredOperation } from './tiers/state.js';
export type { AnyMemoryCache, KeyvLike, TierStore } from './tiers/tier.js';
export { TieredCache, type TieredEntry, type TieredMethods, type TierHealth } from './tiers/tiered-cache.js';
export type { TieredWriteOptions } from './tiers/writes.js';
