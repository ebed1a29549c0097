import fc from 'fast-check';
import Keyv from 'keyv';
import { afterEach, describe, expect, it } from 'vitest';
import {
  Cache,
  CacheError,
  type DegradedEvent,
  MemoryCache,
  TieredCache,
  type TierOptions,
} from '../src/index.js';
import { useTempDirs } from './helpers/tmp.js';

const tempDir = useTempDirs('dct-tiers-');
const opened: { closeSync(): void }[] = [];
afterEach(() => {
  for (const c of opened.splice(0)) c.closeSync();
});

function cache(dir = tempDir(), options: ConstructorParameters<typeof Cache>[1] = {}): Cache {
  const c = new Cache(dir, options);
  opened.push(c);
  return c;
}

/** Two hosts: each its own local cache, both over one shared directory. */
function twoHosts(options: { maxStaleness?: number; shared?: Partial<TierOptions> } = {}) {
  const sharedDir = tempDir();
  const make = () => {
    const local = cache(tempDir(), { engine: 'log' });
    const shared = cache(sharedDir, { engine: 'files' });
    const tiered = new TieredCache({
      tiers: [
        { store: local, name: 'local' },
        { store: shared, name: 'shared', ...options.shared },
      ],
      maxStaleness: options.maxStaleness ?? 5000,
    });
    return { local, shared, tiered };
  };
  return { a: make(), b: make(), sharedDir };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A Keyv-shaped store that fails every call while `down` is set, and every write while `writesDown` is. */
function flakyStore(latency: { getMs?: number; setMs?: number } = {}) {
  const map = new Map<string, string>();
  const state = { down: false, writesDown: false };
  const guard = (write = false) => {
    if (state.down || (write && state.writesDown))
      throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' });
  };
  return {
    state,
    map,
    store: {
      async get(key: string) {
        guard();
        const value = map.get(key); // Read when asked, answered later (as a slow server does).
        if (latency.getMs) await sleep(latency.getMs);
        return value;
      },
      async set(key: string, value: string) {
        if (latency.setMs) await sleep(latency.setMs);
        guard(true);
        map.set(key, value);
        return true;
      },
      async delete(key: string) {
        guard();
        return map.delete(key);
      },
      async clear() {
        guard();
        map.clear();
      },
    },
  };
}

describe('TieredCache: reads fall through and copy up', () => {
  it('serves a hit from a lower tier and copies it up with its remaining ttl and tag', async () => {
    const { a, b } = twoHosts();
    b.tiered.setSync('k', { n: 1 }, { ttl: 60_000, tag: 'build-7' });
    expect(a.local.countSync()).toBe(0);
    const first = a.tiered.getEntrySync('k');
    expect(first).toMatchObject({ value: { n: 1 }, tag: 'build-7', tier: 'shared' });
    const again = a.tiered.getEntrySync('k');
    expect(again).toMatchObject({ value: { n: 1 }, tag: 'build-7', tier: 'local' });
    expect(again?.expiresAt).toBe(first?.expiresAt);
    const copy = a.local.getEntrySync('k');
    expect(copy?.tag).toBe('build-7');
    expect(copy?.expiresAt).toBeGreaterThan(Date.now() + 50_000);
    // The tier's own entry expires with the value (to the ms its clock reads the remaining ttl at);
    // what is served is judged by the value's own expiry, which the copy keeps exactly.
    expect(copy?.expiresAt).toBeLessThanOrEqual((first?.expiresAt as number) + 20);
    // evict(tag) reaches both of A's tiers (B's own copy goes within maxStaleness, as a deletion).
    expect(a.tiered.evictSync('build-7')).toBe(2);
    expect(a.tiered.getSync('k')).toBeUndefined();
    expect(a.shared.countSync()).toBe(0);
  });

  it('an expired entry in a lower tier is a miss and is not copied up', async () => {
    const { a, b } = twoHosts();
    b.tiered.setSync('short', 'v', { ttl: 30 });
    await sleep(60);
    expect(a.tiered.getSync('short')).toBeUndefined();
    expect(a.local.countSync()).toBe(0);
  });

  it('a value that is not a tier envelope (written to the shared directory by something else) is a miss', () => {
    const { a } = twoHosts();
    a.shared.setSync('k', 'plain value');
    a.shared.setSync('bytes', Buffer.from('dct-tier1\nnot v8'));
    expect(a.tiered.getSync('k')).toBeUndefined();
    expect(a.tiered.getSync('bytes')).toBeUndefined();
    expect(a.tiered.hasSync('k')).toBe(false);
  });

  it('an envelope stored under another key is a miss (moved or forged)', () => {
    const { a, b } = twoHosts();
    b.tiered.setSync('real', 'secret');
    b.shared.setSync('other', b.shared.getSync('real'));
    expect(a.tiered.getSync('other')).toBeUndefined();
    expect(a.tiered.getSync('real')).toBe('secret');
  });

  it('keys of every type stay apart', () => {
    const { a } = twoHosts();
    a.tiered.setSync(1, 'number');
    a.tiered.setSync('1', 'string');
    a.tiered.setSync(1n, 'bigint');
    a.tiered.setSync(Buffer.from('1'), 'bytes');
    expect([
      a.tiered.getSync(1),
      a.tiered.getSync('1'),
      a.tiered.getSync(1n),
      a.tiered.getSync(Buffer.from('1')),
    ]).toEqual(['number', 'string', 'bigint', 'bytes']);
  });
});

describe('TieredCache: maxStaleness', () => {
  it('a copy is checked against the last tier once it is older than maxStaleness: replaced and deleted values stop being served', async () => {
    const { a, b } = twoHosts({ maxStaleness: 200 });
    a.tiered.setSync('k', 'v1');
    b.tiered.setSync('k', 'v2');
    // Within the window A may serve its copy; after it, never.
    await sleep(250);
    expect(a.tiered.getSync('k')).toBe('v2');
    expect(a.local.countSync()).toBe(1);
    b.tiered.deleteSync('k');
    await sleep(250);
    expect(a.tiered.getSync('k')).toBeUndefined();
    expect(a.local.countSync()).toBe(0);
  });

  it('maxStaleness 0 asks the last tier on every read', () => {
    const { a, b } = twoHosts({ maxStaleness: 0 });
    a.tiered.setSync('k', 'v1');
    expect(a.tiered.getSync('k')).toBe('v1');
    b.tiered.setSync('k', 'v2');
    expect(a.tiered.getSync('k')).toBe('v2');
    b.tiered.deleteSync('k');
    expect(a.tiered.getSync('k')).toBeUndefined();
  });

  it('a verified copy is served from the upper tier again (its check is renewed, not repeated each read)', async () => {
    const { a } = twoHosts({ maxStaleness: 1000 });
    a.tiered.setSync('k', 'v');
    await sleep(1100);
    expect(a.tiered.getEntrySync('k')?.tier).toBe('local');
    a.shared.deleteSync('k');
    // Renewed just now: within the window the copy is still served…
    expect(a.tiered.getSync('k')).toBe('v');
    await sleep(1100);
    // …and after it the deletion is seen.
    expect(a.tiered.getSync('k')).toBeUndefined();
  });
});

describe('TieredCache: writes', () => {
  it('write-behind: set returns before the shared tier has it; flush writes it; the queue is bounded', async () => {
    const { a } = twoHosts({ shared: { writes: 'behind', queueLimit: 2 } });
    a.tiered.setSync('k0', 0);
    expect(a.local.countSync()).toBe(1);
    expect(a.shared.countSync()).toBe(0);
    for (let i = 1; i < 5; i++) a.tiered.setSync(`k${i}`, i);
    // Over the bound, each writer wrote the oldest queued item itself.
    expect(a.shared.countSync()).toBeGreaterThanOrEqual(3);
    expect(a.tiered.health()[1]?.queued).toBeLessThanOrEqual(2);
    await a.tiered.flush();
    expect(a.shared.countSync()).toBe(5);
    expect(a.tiered.health()[1]?.queued).toBe(0);
  });

  it('write-behind drains in the background, and the latest write of a key wins', async () => {
    const { a, b } = twoHosts({ shared: { writes: 'behind' } });
    for (let i = 0; i < 20; i++) await a.tiered.set('k', i);
    await a.tiered.delete('gone');
    for (let t = 0; t < 1000 && a.tiered.health()[1]?.queued !== 0; t++) await sleep(10);
    expect(a.tiered.health()[1]?.queued).toBe(0);
    expect(b.tiered.getSync('k')).toBe(19);
  });

  it('a copy newer than its queued write in the last tier is not replaced by the older value there', async () => {
    const sharedDir = tempDir();
    const shared = cache(sharedDir, { engine: 'files' });
    const local = cache();
    const tiered = new TieredCache({
      tiers: [{ store: local }, { store: shared, writes: 'behind', queueLimit: 100 }],
      maxStaleness: 0,
    });
    tiered.setSync('k', 'old');
    tiered.flushSync();
    tiered.setSync('k', 'new');
    expect(tiered.getSync('k')).toBe('new');
    tiered.closeSync();
    expect(shared.getSync('k')).toBeDefined();
    expect(new TieredCache({ tiers: [shared] }).getSync('k')).toBe('new');
  });

  it('a read-only tier is read and copied from, never written, cleared or deleted from', () => {
    const warmed = cache();
    new TieredCache({ tiers: [warmed] }).setSync('artifact', 'built by CI');
    const local = cache();
    const tiered = new TieredCache({ tiers: [{ store: local }, { store: warmed, writes: 'none' }] });
    expect(tiered.getEntrySync('artifact')).toMatchObject({ value: 'built by CI', tier: 'tier 1' });
    expect(tiered.getEntrySync('artifact')?.tier).toBe('tier 0');
    tiered.setSync('mine', 1);
    expect(warmed.hasSync('mine')).toBe(false);
    tiered.deleteSync('artifact');
    tiered.clearSync();
    expect(warmed.countSync()).toBe(1);
  });

  it('delete and clear reach every writable tier', async () => {
    const { a, b } = twoHosts();
    a.tiered.setSync('x', 1);
    a.tiered.setSync('y', 2);
    expect(await a.tiered.delete('x')).toBe(true);
    expect(a.local.hasSync('x') || a.shared.hasSync('x')).toBe(false);
    expect(b.tiered.getSync('x')).toBeUndefined();
    expect(await a.tiered.delete('x')).toBe(false);
    expect(await a.tiered.clear()).toBe(2);
    expect(a.shared.countSync() + a.local.countSync()).toBe(0);
  });

  it('a MemoryCache tier above the disk tiers', () => {
    const memory = new MemoryCache({ maxEntries: 100 });
    const disk = cache();
    const tiered = new TieredCache({
      tiers: [
        { store: memory, name: 'memory' },
        { store: disk, name: 'disk' },
      ],
    });
    tiered.setSync('k', [1, 2, 3], { tag: 't' });
    memory.clearSync();
    expect(tiered.getEntrySync('k')).toMatchObject({ value: [1, 2, 3], tier: 'disk', tag: 't' });
    expect(tiered.getEntrySync('k')?.tier).toBe('memory');
    expect(tiered.evictSync('t')).toBe(2);
  });
});

describe('TieredCache: a tier that is down', () => {
  it("whenDown 'fail': the call fails with the tier's error, and no upper copy is made of a value it refused", async () => {
    const { store, state } = flakyStore();
    const local = cache();
    const tiered = new TieredCache({ tiers: [local, { store, whenDown: 'fail' }] });
    await tiered.set('k', 'v');
    state.down = true;
    await expect(tiered.set('k2', 'v2')).rejects.toThrow(/ECONNREFUSED/);
    expect(local.hasSync('k2')).toBe(false);
    local.clearSync();
    await expect(tiered.get('k')).rejects.toThrow(/ECONNREFUSED/);
  });

  it('a copy into an upper tier that fails is told of and never fails the read', async () => {
    const { store, state } = flakyStore();
    const shared = cache();
    new TieredCache({ tiers: [shared] }).setSync('k', 'v');
    const tiered = new TieredCache({ tiers: [{ store, name: 'upper' }, shared] });
    const events: DegradedEvent[] = [];
    tiered.events.on('degraded', (e) => events.push(e));
    state.writesDown = true;
    expect(await tiered.get('k')).toBe('v');
    expect(events).toMatchObject([{ tier: 'upper', operation: 'copy', key: 'k', lost: false }]);
    // A write of its own, though, fails as the tier says (whenDown 'fail').
    await expect(tiered.set('k', 'w')).rejects.toThrow(/ECONNREFUSED/);
  });

  it("whenDown 'skip': the local tier keeps serving, each failure is told, and nothing wrong is served", async () => {
    const { store, state } = flakyStore();
    const local = cache();
    const tiered = new TieredCache({
      tiers: [local, { store, whenDown: 'skip', name: 'redis' }],
      maxStaleness: 0,
    });
    const events: DegradedEvent[] = [];
    tiered.events.on('degraded', (e) => events.push(e));
    await tiered.set('k', 'v1');
    state.down = true;
    expect(await tiered.get('k')).toBe('v1');
    await tiered.set('k', 'v2');
    expect(await tiered.get('k')).toBe('v2');
    expect(await tiered.get('missing')).toBeUndefined();
    // The write that the shared tier missed is told of as lost to it; the reads are not.
    expect(events.map((e) => [e.operation, e.lost])).toEqual([
      ['verify', false],
      ['set', true],
      ['verify', false],
      ['read', false],
    ]);
    expect(events.every((e) => e.tier === 'redis')).toBe(true);
    expect(tiered.health()[1]).toMatchObject({ name: 'redis', failures: 4 });
    state.down = false;
    // Back up: v2 never reached the shared tier, whose value the copies answer to: v1 wins.
    expect(await tiered.get('k')).toBe('v1');
  });

  it('write-behind to a tier that is down: items stay queued and are retried; over the bound they are dropped and reported lost', async () => {
    const { store, state, map } = flakyStore();
    const tiered = new TieredCache({
      tiers: [cache(), { store, writes: 'behind', whenDown: 'skip', queueLimit: 3 }],
    });
    const events: DegradedEvent[] = [];
    tiered.events.on('degraded', (e) => events.push(e));
    state.down = true;
    for (let i = 0; i < 5; i++) await tiered.set(`k${i}`, i);
    expect(events.filter((e) => e.lost).map((e) => e.key)).toEqual(['k0', 'k1']);
    await expect(tiered.flush()).rejects.toThrow(/ECONNREFUSED/);
    expect(tiered.health()[1]?.queued).toBe(3);
    state.down = false;
    await tiered.flush();
    expect([...map.keys()].sort()).toEqual(['k2', 'k3', 'k4']);
    await tiered.close();
  });

  it("write-behind with whenDown 'fail': a write that finds the queue full and the tier down fails", async () => {
    const { store, state } = flakyStore();
    const tiered = new TieredCache({ tiers: [cache(), { store, writes: 'behind', queueLimit: 1 }] });
    state.down = true;
    await tiered.set('a', 1);
    await expect(tiered.set('b', 2)).rejects.toThrow(/ECONNREFUSED/);
    expect(tiered.health()[1]?.queued).toBe(2);
    state.down = false;
    await tiered.close();
  });
});

/** A fake Redis client beside a store (for the lease), whose release can be made to fail. */
function withLeases<T extends object>(store: T) {
  const leases = new Map<string, string>();
  const control = { releaseFails: false };
  const client = {
    async set(key: string, value: string) {
      if (leases.has(key)) return null;
      leases.set(key, value);
      return 'OK';
    },
    async eval(_script: string, { keys, arguments: args }: { keys: string[]; arguments: string[] }) {
      if (control.releaseFails) throw new Error('connect ECONNREFUSED');
      if (leases.get(keys[0] as string) === args[0]) leases.delete(keys[0] as string);
      return 1;
    },
  };
  return { store: Object.assign(Object.create(store) as T, { client }), leases, control };
}

describe('TieredCache: what this instance wrote wins over what it read', () => {
  it("a write-behind tier's queued delete or newer set is what a read sees", async () => {
    const memory = new MemoryCache();
    const shared = cache();
    const a = new TieredCache({ tiers: [memory, { store: shared, writes: 'behind' }] });
    a.setSync('k', 'v1');
    await a.flush();
    a.deleteSync('k');
    expect(a.getSync('k')).toBeUndefined();
    await a.flush();
    expect(a.getSync('k')).toBeUndefined();
    const b = new TieredCache({ tiers: [{ store: cache(), writes: 'behind' }, cache()] });
    b.setSync('k', 'v1');
    await b.flush();
    b.setSync('k', 'v2');
    expect(b.getSync('k')).toBe('v2');
  });

  it('a read under way does not copy its older value over a set or delete made meanwhile', async () => {
    const { store } = flakyStore({ getMs: 50 });
    await new TieredCache({ tiers: [store] }).set('k', 'v1');
    const tiered = new TieredCache({ tiers: [cache(), store] });
    const reading = tiered.get('k');
    await sleep(10);
    await tiered.set('k', 'v2');
    expect(await reading).toBe('v1');
    expect(await tiered.get('k')).toBe('v2');
    const again = tiered.get('gone');
    await tiered.set('gone', 'x');
    await tiered.delete('gone');
    await again;
    expect(await tiered.get('gone')).toBeUndefined();
  });

  it('over a read-only last tier, local writes stay; copies of its values follow it', async () => {
    const warmed = cache();
    const ci = new TieredCache({ tiers: [warmed] });
    ci.setSync('artifact', 'build 1');
    const tiered = new TieredCache({ tiers: [cache(), { store: warmed, writes: 'none' }], maxStaleness: 50 });
    tiered.setSync('mine', 'local');
    expect(tiered.getSync('artifact')).toBe('build 1');
    ci.setSync('artifact', 'build 2');
    await sleep(80);
    expect(tiered.getSync('mine')).toBe('local');
    expect(tiered.getSync('artifact')).toBe('build 2');
    ci.deleteSync('artifact');
    await sleep(80);
    expect(tiered.getSync('artifact')).toBeUndefined();
  });

  it('a middle write-behind tier that is down does not stop copies being checked against the last tier', async () => {
    const { store, state } = flakyStore();
    const sharedDir = tempDir();
    const host = () =>
      new TieredCache({
        tiers: [new MemoryCache(), { store, writes: 'behind', whenDown: 'skip' }, cache(sharedDir)],
        maxStaleness: 20,
      });
    const a = host();
    a.events.on('degraded', () => {});
    state.writesDown = true;
    await a.set('k', 'v1');
    await new TieredCache({ tiers: [cache(sharedDir)] }).set('k', 'v2');
    await sleep(50);
    expect(await a.get('k')).toBe('v2');
    state.writesDown = false;
    await a.close();
  });
});

describe('TieredCache: write-behind failures', () => {
  it('a value the tier can never store is dropped and told of as lost; the rest of the queue goes on, and close resolves', async () => {
    const { store, map } = flakyStore();
    const tiered = new TieredCache({
      tiers: [new MemoryCache(), { store, writes: 'behind', whenDown: 'skip' }],
    });
    const events: DegradedEvent[] = [];
    tiered.events.on('degraded', (e) => events.push(e));
    await tiered.set('poison', () => 1);
    await tiered.set('ok', 'fine');
    await tiered.close();
    expect(map.size).toBe(1);
    expect(events).toMatchObject([{ key: 'poison', lost: true }]);
  });

  it('clear() undoes a queued write that was under way when it ran', async () => {
    const { store } = flakyStore({ setMs: 50 });
    const tiered = new TieredCache({ tiers: [new MemoryCache(), { store, writes: 'behind' }] });
    await tiered.set('k', 'v');
    await sleep(10);
    await tiered.clear();
    await tiered.flush();
    expect(await tiered.get('k')).toBeUndefined();
    expect(await new TieredCache({ tiers: [store] }).get('k')).toBeUndefined();
  });

  it("close() of a 'skip' tier that is down drops what is queued (told of as lost) instead of failing forever", async () => {
    const { store, state } = flakyStore();
    const tiered = new TieredCache({ tiers: [cache(), { store, writes: 'behind', whenDown: 'skip' }] });
    const lost: unknown[] = [];
    tiered.events.on('degraded', (e) => e.lost && lost.push(e.key));
    state.down = true;
    await tiered.set('a', 1);
    await tiered.close();
    expect(lost).toEqual(['a']);
  });

  it('a copy that its tier refuses (a json tier given a bigint) does not fail the read', () => {
    const shared = cache();
    new TieredCache({ tiers: [shared] }).setSync('big', 10n);
    const tiered = new TieredCache({ tiers: [cache(tempDir(), { codec: 'json' }), shared] });
    tiered.events.on('degraded', () => {});
    expect(tiered.getSync('big')).toBe(10n);
  });
});

describe('TieredCache: getOrSet failures', () => {
  it("with whenDown 'skip', a hard timeout or an abort rejects, and the factory runs once", async () => {
    const tiered = new TieredCache({ tiers: [new MemoryCache(), { store: cache(), whenDown: 'skip' }] });
    let calls = 0;
    const slow = async () => {
      calls++;
      await sleep(200);
      return 'v';
    };
    await expect(tiered.getOrSet('t', slow, { hardTimeout: 30 })).rejects.toMatchObject({
      code: 'EFACTORYTIMEOUT',
    });
    expect(calls).toBe(1);
    await expect(tiered.getOrSet('a', slow, { signal: AbortSignal.timeout(20) })).rejects.toThrow();
    expect(calls).toBe(2);
  });

  it('a lease release that fails is told of and does not run the factory again', async () => {
    const { store: base } = flakyStore();
    const { store, control } = withLeases(base);
    const tiered = new TieredCache({ tiers: [new MemoryCache(), { store, whenDown: 'skip' }] });
    const events: DegradedEvent[] = [];
    tiered.events.on('degraded', (e) => events.push(e));
    let calls = 0;
    const value = await tiered.getOrSet('k', () => {
      calls++;
      control.releaseFails = true;
      return 'v';
    });
    expect([value, calls]).toEqual(['v', 1]);
    expect(events).toMatchObject([{ operation: 'getOrSet', lost: false }]);
  });

  it('over a write-behind Redis tier, two hosts compute once (the value is in Redis before the lease is let go)', async () => {
    const { store: base } = flakyStore({ setMs: 40 });
    const { store } = withLeases(base);
    const host = () => new TieredCache({ tiers: [new MemoryCache(), { store, writes: 'behind' }] });
    const [a, b] = [host(), host()];
    let calls = 0;
    const factory = async () => {
      calls++;
      await sleep(60);
      return 'v';
    };
    const results = await Promise.all([
      a.getOrSet('k', factory),
      sleep(5).then(() => b.getOrSet('k', factory)),
    ]);
    expect(results).toEqual(['v', 'v']);
    expect(calls).toBe(1);
  });
});

describe('TieredCache: getOrSet and memoize', () => {
  it('two hosts computing one key at once: the factory runs once, both get its value', async () => {
    const { a, b } = twoHosts();
    let calls = 0;
    const factory = async () => {
      calls++;
      await sleep(100);
      return { built: calls };
    };
    const [x, y] = await Promise.all([a.tiered.getOrSet('job', factory), b.tiered.getOrSet('job', factory)]);
    expect(calls).toBe(1);
    expect(x).toEqual({ built: 1 });
    expect(y).toEqual({ built: 1 });
    expect(a.tiered.getEntrySync('job')?.tier).toBe('local');
    expect(b.tiered.getEntrySync('job')?.tier).toBe('local');
  });

  it('a factory error reaches the caller and nothing is stored', async () => {
    const { a } = twoHosts();
    await expect(
      a.tiered.getOrSet('k', () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(a.tiered.hasSync('k')).toBe(false);
  });

  it('setTtl, setTag and skip decide for every tier', async () => {
    const { a } = twoHosts();
    await a.tiered.getOrSet('t', (ctx) => {
      ctx.setTtl(60_000);
      ctx.setTag('tagged');
      return 1;
    });
    expect(a.local.getEntrySync('t')?.tag).toBe('tagged');
    expect(a.shared.getEntrySync('t')?.expiresAt).toBeGreaterThan(Date.now());
    expect(
      await a.tiered.getOrSet('s', (ctx) => {
        ctx.skip();
        return 2;
      }),
    ).toBe(2);
    expect(a.tiered.hasSync('s')).toBe(false);
  });

  it('without a Cache tier each process computes for itself, and the result is stored', async () => {
    const tiered = new TieredCache({ tiers: [new Keyv()] });
    let calls = 0;
    expect(await tiered.getOrSet('k', () => ++calls)).toBe(1);
    expect(await tiered.getOrSet('k', () => ++calls)).toBe(1);
  });

  it('memoize and memoizeSync keep results in the tiers', async () => {
    const { a, b } = twoHosts();
    let calls = 0;
    const square = (n: number) => {
      calls++;
      return n * n;
    };
    const onA = a.tiered.memoizeSync(square);
    const onB = b.tiered.memoize(square);
    expect(onA(4)).toBe(16);
    expect(await onB(4)).toBe(16);
    expect(calls).toBe(1);
    expect(onA.cacheKey(4)).toBe(onB.cacheKey(4));
    expect(() => a.tiered.memoize(square, { beta: 1 } as never)).toThrow(/no beta option/);
  });
});

describe('TieredCache: add and batches', () => {
  it('add is atomic across hosts on the shared Cache tier: one of them stores, and every tier gets that value', async () => {
    const { a, b } = twoHosts();
    const results = await Promise.all([a.tiered.add('k', 'from a'), b.tiered.add('k', 'from b')]);
    expect(results.filter(Boolean)).toHaveLength(1);
    const winner = results[0] ? 'from a' : 'from b';
    expect(a.tiered.getSync('k')).toBe(winner);
    expect(b.tiered.getSync('k')).toBe(winner);
    expect(a.tiered.addSync('k', 'again')).toBe(false);
    a.tiered.deleteSync('k');
    expect(a.tiered.addSync('k', 'after delete', { ttl: 60_000 })).toBe(true);
    expect(a.local.getSync('k')).toBeDefined();
  });

  it('add is refused where the last writable tier is not a Cache written through', async () => {
    await expect(new TieredCache({ tiers: [cache(), new Keyv()] }).add('k', 1)).rejects.toThrow(
      /EUNSUPPORTED|atomic/,
    );
    const behind = new TieredCache({ tiers: [cache(), { store: cache(), writes: 'behind' }] });
    expect(() => behind.addSync('k', 1)).toThrow(CacheError);
  });

  it('getMany, setMany and deleteMany', () => {
    const { a, b } = twoHosts();
    a.tiered.setManySync([
      ['x', 1],
      ['y', 2],
    ]);
    expect(b.tiered.getManySync(['x', 'nope', 'y'])).toEqual([1, undefined, 2]);
    expect(b.tiered.deleteManySync(['x', 'nope'])).toEqual([true, false]);
    expect(() => a.tiered.getManySync('x' as never)).toThrow(TypeError);
    expect(() => a.tiered.setManySync([['x', 1], 'y'] as never)).toThrow(TypeError);
  });
});

describe('TieredCache: surfaces and arguments', () => {
  it('has no synchronous methods over a Keyv tier, and says so', async () => {
    const tiered = new TieredCache({ tiers: [cache(), new Keyv()] });
    expect(() => tiered.getSync('k')).toThrow(/Keyv store.*Promise-returning/);
    await tiered.set('k', 'v');
    expect(await tiered.get('k')).toBe('v');
  });

  it('evict(tag) over a Keyv store that can list its entries', async () => {
    const keyv = new Keyv();
    const tiered = new TieredCache({ tiers: [cache(), keyv] });
    await tiered.set('a', 1, { tag: 'x' });
    await tiered.set('b', 2, { tag: 'y' });
    expect(await tiered.evict('x')).toBe(2);
    expect(await new TieredCache({ tiers: [keyv] }).get('a')).toBeUndefined();
    expect(await new TieredCache({ tiers: [keyv] }).get('b')).toBe(2);
  });

  it('refuses bad options and arguments with typed errors', () => {
    const c = cache();
    expect(() => new TieredCache({ tiers: [] })).toThrow(TypeError);
    expect(() => new TieredCache({ tiers: [{ store: {} as never }] })).toThrow(/a tier is a Cache/);
    expect(() => new TieredCache({ tiers: [{ store: c, writes: 'later' as never }] })).toThrow(TypeError);
    expect(() => new TieredCache({ tiers: [{ store: c, queueLimit: 0 }] })).toThrow(RangeError);
    expect(() => new TieredCache({ tiers: [c], maxStaleness: -1 })).toThrow(RangeError);
    expect(() => new TieredCache({ tiers: [c], maxStalenes: 1 } as never)).toThrow(
      /did you mean maxStaleness/,
    );
    const tiered = new TieredCache({ tiers: [c] });
    expect(() => tiered.setSync({} as never, 1)).toThrow(TypeError);
    expect(() => tiered.setSync('k', 1, { ttl: -5 })).toThrow(RangeError);
    expect(() => tiered.setSync('k', 1, { expire: 5 } as never)).toThrow(TypeError);
    tiered.closeSync();
    expect(() => tiered.getSync('k')).toThrow(CacheError);
  });
});

describe('TieredCache: a model', () => {
  it('behaves as one map under set, delete and get (write-through and write-behind tiers)', () => {
    const key = fc.constantFrom('a', 'b', 'c', 1, 2);
    const command = fc.oneof(
      fc.record({ op: fc.constant('set' as const), key, value: fc.integer() }),
      fc.record({ op: fc.constant('delete' as const), key }),
      fc.record({ op: fc.constant('get' as const), key }),
      fc.record({ op: fc.constant('flush' as const) }),
    );
    fc.assert(
      fc.property(fc.array(command, { maxLength: 40 }), (commands) => {
        const bottom = cache();
        const tiers = [
          new MemoryCache(),
          cache(),
          { store: bottom, writes: 'behind' as const, queueLimit: 3 },
        ];
        const tiered = new TieredCache({ tiers, maxStaleness: 0 });
        const model = new Map<unknown, number>();
        for (const c of commands) {
          if (c.op === 'set') {
            tiered.setSync(c.key, c.value);
            model.set(c.key, c.value);
          } else if (c.op === 'delete') {
            tiered.deleteSync(c.key);
            model.delete(c.key);
          } else if (c.op === 'flush') tiered.flushSync();
          else expect(tiered.getSync(c.key)).toBe(model.get(c.key));
        }
        tiered.closeSync();
        const alone = new TieredCache({ tiers: [bottom] });
        for (const k of ['a', 'b', 'c', 1, 2]) expect(alone.getSync(k)).toBe(model.get(k));
      }),
      { numRuns: 40 },
    );
  });
});
