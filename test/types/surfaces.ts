/**
 * Type tests, checked by `npm run typecheck` (with `exactOptionalPropertyTypes`, as strict users
 * compile): each `expectType` must hold, and each `@ts-expect-error` line must fail to compile.
 */
import type { Cache, FanoutCache, MemoryCache, TieredCache } from '../../src/index.js';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectType<T extends true>(_proof?: T): void {}
function assignable<T>(_value: T): void {}

declare const cache: Cache<string>;
declare const fanout: FanoutCache<number>;
declare const memory: MemoryCache<{ id: number }>;
declare const tiered: TieredCache<number>;

async function asyncSurface(): Promise<void> {
  const plain = await cache.get('k');
  expectType<Equal<typeof plain, string | undefined>>();
  const asNumber = await cache.get<number>('k');
  expectType<Equal<typeof asNumber, number | undefined>>();
  const withFallback = await cache.get('k', 'fallback');
  expectType<Equal<typeof withFallback, string>>();
  const otherFallback = await cache.get<string, null>('k', null);
  expectType<Equal<typeof otherFallback, string | null>>();
  const many = await cache.getMany<boolean>(['a', 'b']);
  expectType<Equal<typeof many, (boolean | undefined)[]>>();
  const entry = await cache.getEntry<Date>('k');
  expectType<Equal<typeof entry extends { value: infer T } | undefined ? T : never, Date>>();
  const popped = await fanout.pop('k', 0);
  expectType<Equal<typeof popped, number>>();
  const n = await cache.incr('n');
  expectType<Equal<typeof n, number>>();
  const big = await cache.incr('n', 5n);
  expectType<Equal<typeof big, bigint>>();
  const down = await fanout.decr('n', 2, null);
  expectType<Equal<typeof down, number>>();
  // @ts-expect-error a number delta does not start from a bigint default
  await cache.incr('n', 1, 5n);
  // `{ ttl: undefined }` is allowed under exactOptionalPropertyTypes, as the docs say.
  await cache.set('k', 'v', { ttl: undefined, tag: undefined });
  await cache.setMany([['a', 'x'], { key: 'b', value: 'y', ttl: undefined }], { ttl: undefined });
  // @ts-expect-error the cache holds strings
  await cache.set('k', 5);
  const computed = await cache.getOrSet('k', async ({ stale }) => `${stale ?? ''}!`);
  expectType<Equal<typeof computed, string>>();
  const other = await fanout.getOrSet<Date>('d', (context) => {
    expectType<Equal<typeof context.stale, Date | undefined>>();
    return new Date();
  });
  expectType<Equal<typeof other, Date>>();
  await cache.getOrSet('k', () => 'v', { ttl: undefined, grace: undefined, signal: undefined });
  // @ts-expect-error the cache holds strings (a per-call type is given explicitly, as for get)
  await cache.getOrSet('k', async () => 5);
}

function syncSurface(): void {
  const value = cache.getSync<Buffer>('k');
  expectType<Equal<typeof value, Buffer | undefined>>();
  assignable<{ id: number }>(memory.getSync('k', { id: 0 }));
  // @ts-expect-error without a fallback the result may be undefined
  assignable<{ id: number }>(memory.getSync('k'));
  const big = memory.incrSync('n', 1n);
  expectType<Equal<typeof big, bigint>>();
  const many = fanout.getManySync(['a']);
  expectType<Equal<typeof many, (number | undefined)[]>>();
  memory.touchSync('k', { ttl: undefined });
  const computed = cache.getOrSetSync('k', () => 'v', { grace: 1_000 });
  expectType<Equal<typeof computed, string>>();
  // @ts-expect-error a synchronous factory cannot be timed out
  cache.getOrSetSync('k', () => 'v', { hardTimeout: 5 });
}

async function tieredSurface(): Promise<void> {
  const value = await tiered.get('k');
  expectType<Equal<typeof value, number | undefined>>();
  const entry = tiered.getEntrySync('k');
  expectType<Equal<typeof entry extends { tier: infer T } | undefined ? T : never, string>>();
  const computed = await tiered.getOrSet('k', () => 1, { ttl: 1_000, hardTimeout: 5 });
  expectType<Equal<typeof computed, number>>();
  const added = tiered.addSync('k', 1, { tag: 't' });
  expectType<Equal<typeof added, boolean>>();
  // @ts-expect-error values are numbers
  tiered.setSync('k', 'text');
  // @ts-expect-error a synchronous factory cannot be timed out
  tiered.getOrSetSync('k', () => 1, { hardTimeout: 5 });
  const square = tiered.memoize((n: number) => n * n);
  expectType<Equal<ReturnType<typeof square>, Promise<number>>>();
}

export { asyncSurface, syncSurface, tieredSurface };
