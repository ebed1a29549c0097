/**
 * `TieredCache` over a real Redis: Debian's `redis-server`, started by this file on 127.0.0.1 and a
 * free port (`test/helpers/redis.ts`), with `@keyv/redis` as the shared tier's store, configured as
 * the README's recipe says (errors thrown, no offline queue). The server is killed mid-run to check
 * that no wrong value is served and that each `whenDown` does what it says.
 */
import KeyvRedis, { createClient } from '@keyv/redis';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Cache, type DegradedEvent, TieredCache, type WhenDown } from '../../src/index.js';
import { HAS_REDIS, NO_REDIS, type RedisServer, startRedis } from '../helpers/redis.js';
import { useTempDirs } from '../helpers/tmp.js';

const RUN = HAS_REDIS || Boolean(process.env.CI);
const tempDir = useTempDirs('dct-redis-');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let redis: RedisServer;
const closers: (() => Promise<unknown> | unknown)[] = [];

beforeAll(async () => {
  if (RUN) redis = await startRedis();
});
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
  await redis.start().catch(() => {}); // Up again (and reachable) for the next test, if one killed it.
});

/** The README's Redis store: failures are thrown (not turned into misses), nothing waits offline. */
function redisStore(): KeyvRedis<string> {
  const client = createClient({
    url: redis.url,
    disableOfflineQueue: true,
    socket: {
      connectTimeout: 1000,
      reconnectStrategy: (retries: number) => Math.min(50 * (retries + 1), 500),
    },
  });
  client.on('error', () => {});
  const store = new KeyvRedis<string>(client, {
    throwOnErrors: true,
    throwOnConnectError: true,
    connectionTimeout: 1000,
    namespace: 'test',
  });
  store.on('error', () => {});
  closers.push(() => store.disconnect().catch(() => {}));
  return store;
}

/** A host: its own local disk tier over the shared Redis. */
function host(whenDown: WhenDown = 'fail', options: { maxStaleness?: number; behind?: boolean } = {}) {
  const local = new Cache(tempDir(), { engine: 'log' });
  closers.push(() => local.closeSync());
  const store = redisStore();
  const tiered = new TieredCache({
    tiers: [
      { store: local, name: 'local' },
      { store, name: 'redis', whenDown, ...(options.behind ? { writes: 'behind' as const } : {}) },
    ],
    maxStaleness: options.maxStaleness ?? 5000,
  });
  const events: DegradedEvent[] = [];
  tiered.events.on('degraded', (event) => events.push(event));
  return { local, store, tiered, events };
}

/** The value written for `key` at `version`: whatever is served must be one of these, whole. */
const written = (key: string, version: number) => ({ key, version, body: `${key}#${version}`.repeat(20) });
function assertWritten(key: string, served: unknown): void {
  if (served === undefined) return;
  const { version } = served as { version: number };
  expect(served).toEqual(written(key, version));
}

describe.skipIf(!RUN)(RUN ? 'TieredCache over Redis' : `TieredCache over Redis: ${NO_REDIS}`, () => {
  it('reads fall through to Redis and are copied up with their remaining ttl and tag; evict(tag) reaches Redis', async () => {
    const a = host();
    const b = host();
    await b.tiered.set('k', written('k', 1), { ttl: 60_000, tag: 'release' });
    const first = await a.tiered.getEntry('k');
    expect(first).toMatchObject({ value: written('k', 1), tier: 'redis', tag: 'release' });
    expect((await a.tiered.getEntry('k'))?.tier).toBe('local');
    expect(a.local.getEntrySync('k')?.tag).toBe('release');
    const ttl = Number(await a.store.client.pTTL('test::k'));
    expect(ttl).toBeGreaterThan(50_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
    await b.tiered.set('other', 1);
    expect(await a.tiered.evict('release')).toBe(2);
    expect(await a.store.get('k')).toBeUndefined();
    expect(await a.store.get('other')).toBeDefined();
  });

  it('a value replaced or deleted in Redis by another host is not served past maxStaleness', async () => {
    const a = host('fail', { maxStaleness: 300 });
    const b = host('fail', { maxStaleness: 300 });
    await a.tiered.set('k', written('k', 1));
    await b.tiered.set('k', written('k', 2));
    await sleep(350);
    expect(await a.tiered.get('k')).toEqual(written('k', 2));
    await b.tiered.delete('k');
    await sleep(350);
    expect(await a.tiered.get('k')).toBeUndefined();
  });

  it('getOrSet on two hosts at once computes once (a lease in Redis), and both get the value', async () => {
    const hosts = [host(), host(), host()];
    let calls = 0;
    const factory = async () => {
      calls++;
      await sleep(150);
      return written('job', calls);
    };
    const results = await Promise.all(hosts.map((h) => h.tiered.getOrSet('job', factory)));
    expect(calls).toBe(1);
    for (const result of results) expect(result).toEqual(written('job', 1));
    expect(await hosts[0]?.store.client.exists('diskcache-ts:lease:test:job')).toBe(0);
  });

  it("Redis killed mid-run, whenDown 'fail': calls fail at once with the client's error, and work again once it is back", async () => {
    const a = host('fail', { maxStaleness: 0 });
    await a.tiered.set('k', written('k', 1));
    await redis.kill();
    const started = Date.now();
    await expect(a.tiered.get('k')).rejects.toThrow();
    await expect(a.tiered.set('k', written('k', 2))).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(5_000);
    await redis.start();
    for (let i = 0; i < 100; i++) {
      try {
        await a.tiered.set('k', written('k', 3));
        break;
      } catch {
        await sleep(50);
      }
    }
    expect(await a.tiered.get('k')).toEqual(written('k', 3));
  });

  it("Redis killed mid-run, whenDown 'skip': each host keeps serving its local tier, tells of each failure, and never serves a wrong value", async () => {
    const a = host('skip', { maxStaleness: 100 });
    const b = host('skip', { maxStaleness: 100 });
    const keys = Array.from({ length: 20 }, (_, i) => `k${i}`);
    let version = 0;
    const writer = async (until: number) => {
      while (Date.now() < until) {
        version++;
        const key = keys[version % keys.length] as string;
        await b.tiered.set(key, written(key, version));
        await sleep(2);
      }
    };
    const reader = async (until: number) => {
      let served = 0;
      while (Date.now() < until) {
        for (const key of keys) {
          const value = await a.tiered.get(key);
          assertWritten(key, value);
          if (value !== undefined) served++;
        }
        await sleep(5);
      }
      return served;
    };
    const end = Date.now() + 1500;
    const done = Promise.all([writer(end), reader(end)]);
    await sleep(500);
    await redis.kill();
    const [, served] = await done;
    expect(served).toBeGreaterThan(0);
    expect(a.events.length + b.events.length).toBeGreaterThan(0);
    expect(b.events.some((e) => e.operation === 'set' && e.tier === 'redis')).toBe(true);
    expect(b.tiered.health()[1]?.failures).toBeGreaterThan(0);
    // With Redis down, B's local tier still serves what B wrote.
    version++;
    await b.tiered.set('solo', written('solo', version));
    expect(await b.tiered.get('solo')).toEqual(written('solo', version));
    // Back up, empty: the local copies answer to Redis, which no longer has them.
    await redis.start();
    await sleep(600);
    for (const key of keys) assertWritten(key, await a.tiered.get(key));
  });

  it('write-behind to Redis: queued writes wait out an outage and land once it is back', async () => {
    const a = host('skip', { behind: true });
    await a.tiered.set('connected', 1);
    await a.tiered.flush();
    await redis.kill();
    for (let i = 0; i < 10; i++) await a.tiered.set(`q${i}`, written(`q${i}`, i));
    expect(await a.tiered.get('q3')).toEqual(written('q3', 3));
    await redis.start();
    for (let i = 0; i < 200 && a.tiered.health()[1]?.queued !== 0; i++) await sleep(50);
    expect(a.tiered.health()[1]?.queued).toBe(0);
    const reader = host();
    for (let i = 0; i < 10; i++) expect(await reader.tiered.get(`q${i}`)).toEqual(written(`q${i}`, i));
    expect(a.events.some((e) => !e.lost)).toBe(true);
    expect(a.events.every((e) => !e.lost)).toBe(true);
  });
});
