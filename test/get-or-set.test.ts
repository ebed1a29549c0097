import * as fs from 'node:fs';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Cache, CacheError, type FactoryContext, type FactoryErrorEvent, FanoutCache } from '../src/index.js';
import { runTogether } from './helpers/children.js';
import { manualClock } from './helpers/clock.js';
import { makeTempDir, removeDir } from './helpers/tmp.js';

const dirs: string[] = [];
function tempDir(): string {
  const dir = makeTempDir('dct-get-or-set-');
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) removeDir(dir);
});

/** A promise and the function that resolves it. */
function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** A cache on a manual clock, with `'k'` stored as `'old'` (ttl 100 ms, grace 1 s) and now expired, in its grace period. */
function withStale() {
  const clock = manualClock();
  const cache = new Cache(tempDir(), { clock });
  cache.setSync('k', 'old', { ttl: 100, grace: 1_000 });
  clock.advance(150);
  return { cache, clock };
}

describe('getOrSet', () => {
  it('returns a fresh value without calling the factory, and computes and stores a missing one once', async () => {
    const cache = new Cache(tempDir());
    const factory = vi.fn(async () => 'computed');
    expect(await cache.getOrSet('k', factory, { ttl: 60_000, tag: 't' })).toBe('computed');
    expect(await cache.getOrSet('k', factory)).toBe('computed');
    expect(factory).toHaveBeenCalledTimes(1);
    expect(await cache.get('k')).toBe('computed');
    expect(await cache.evict('t')).toBe(1);
  });

  it('stores with the cache default ttl, and with ttl 0 never expires', async () => {
    const clock = manualClock();
    const cache = new Cache(tempDir(), { clock, ttl: 1_000 });
    await cache.getOrSet('default', () => 1);
    await cache.getOrSet('forever', () => 2, { ttl: 0 });
    expect((await cache.getEntry('default'))?.expiresAt).toBe(clock.now() + 1_000);
    expect((await cache.getEntry('forever'))?.expiresAt).toBeNull();
  });

  it('computes once among concurrent callers of one process', async () => {
    const cache = new Cache(tempDir());
    const gate = deferred<void>();
    let runs = 0;
    const factory = async () => {
      runs++;
      await gate.promise;
      return 'once';
    };
    const calls = [1, 2, 3, 4].map(() => cache.getOrSet('k', factory));
    await sleep(50);
    gate.resolve();
    expect(await Promise.all(calls)).toEqual(['once', 'once', 'once', 'once']);
    expect(runs).toBe(1);
  });

  it('lets the factory set the ttl and tag from the value, or skip storing it', async () => {
    const clock = manualClock();
    const cache = new Cache(tempDir(), { clock });
    await cache.getOrSet('a', ({ setTtl, setTag }) => {
      setTtl(5_000);
      setTag('from-value');
      return 'a';
    });
    const entry = await cache.getEntry('a');
    expect(entry?.expiresAt).toBe(clock.now() + 5_000);
    expect(entry?.tag).toBe('from-value');
    // As the README's example does: the context's methods may be destructured.
    const skipped = ({ skip }: FactoryContext) => {
      skip();
      return 'not stored';
    };
    expect(await cache.getOrSet('b', skipped)).toBe('not stored');
    expect(await cache.has('b')).toBe(false);
    const badTtl = (c: FactoryContext) => {
      c.setTtl(-1);
      return 1;
    };
    expect(() => cache.getOrSetSync('c', badTtl)).toThrow(RangeError);
  });

  it('throws the factory error when there is no stale value, and stores nothing', async () => {
    const cache = new Cache(tempDir());
    await expect(cache.getOrSet('k', () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(cache.hasSync('k')).toBe(false);
    expect(() =>
      cache.getOrSetSync('k', () => {
        throw new Error('sync boom');
      }),
    ).toThrow('sync boom');
  });

  it('validates its arguments', async () => {
    const cache = new Cache(tempDir());
    await expect(cache.getOrSet('k', 'nope' as never)).rejects.toThrow(TypeError);
    await expect(cache.getOrSet('k', () => 1, { grace: -1 })).rejects.toThrow(RangeError);
    await expect(cache.getOrSet('k', () => 1, { grace: 1.5 })).rejects.toThrow(RangeError);
    await expect(cache.getOrSet('k', () => 1, { hardTimeout: Number.NaN })).rejects.toThrow(RangeError);
    await expect(cache.getOrSet('k', () => 1, { ttl: -5 })).rejects.toThrow(RangeError);
    const factory = vi.fn(() => 1);
    await expect(cache.getOrSet('k', factory, { tag: {} as never })).rejects.toThrow(TypeError);
    expect(factory).not.toHaveBeenCalled();
    await expect(cache.getOrSet('k', () => 1, { gracePeriod: 1 } as never)).rejects.toThrow(/grace/);
    await expect(cache.getOrSet('k', () => 1, { signal: {} as never })).rejects.toThrow(TypeError);
    expect(() => cache.getOrSetSync('k', () => 1, { softTimeout: 5 } as never)).toThrow(/async/);
    expect(() => cache.getOrSetSync('k', (() => Promise.resolve(1)) as never)).toThrow(/Promise/);
    expect(cache.hasSync('k')).toBe(false);
  });
});

describe('getOrSet with grace: the stale window', () => {
  it('is kept in the entry: get, has and iteration see the value expired, a new Cache on the directory sees it stale', async () => {
    const { cache, clock } = withStale();
    expect(await cache.get('k')).toBeUndefined();
    expect(await cache.has('k')).toBe(false);
    expect([...cache.keysSync()]).toEqual([]);
    const other = new Cache(cache.directory, { clock });
    const served = await other.getOrSet('k', () => Promise.reject(new Error('down')));
    expect(served).toBe('old');
  });

  it('serves the stale value to every other caller at once while one caller recomputes it', async () => {
    const { cache } = withStale();
    const gate = deferred<void>();
    const seen: (string | undefined)[] = [];
    const recomputing = cache.getOrSet<string>(
      'k',
      async (c: FactoryContext<string>) => {
        seen.push(c.stale);
        await gate.promise;
        return 'new';
      },
      { ttl: 100, grace: 1_000 },
    );
    await vi.waitFor(() => expect(seen).toEqual(['old']));
    const other = vi.fn(() => 'other');
    expect(await cache.getOrSet('k', other, { grace: 1_000 })).toBe('old');
    expect(other).not.toHaveBeenCalled();
    gate.resolve();
    expect(await recomputing).toBe('new');
    expect(await cache.get('k')).toBe('new');
  });

  it('serves the stale value when the factory fails, and tells it as a factoryError event', async () => {
    const { cache } = withStale();
    const told: FactoryErrorEvent[] = [];
    cache.events.on('factoryError', (e) => told.push(e));
    expect(await cache.getOrSet('k', () => Promise.reject(new Error('down')))).toBe('old');
    expect(
      cache.getOrSetSync('k', () => {
        throw new Error('sync down');
      }),
    ).toBe('old');
    expect(told.map((e) => [e.key, (e.error as Error).message])).toEqual([
      ['k', 'down'],
      ['k', 'sync down'],
    ]);
    expect(await cache.get('k')).toBeUndefined();
  });

  it('ends: past the grace period the value is gone and callers wait for the computation', async () => {
    const { cache, clock } = withStale();
    clock.advance(1_000);
    await expect(cache.getOrSet('k', () => Promise.reject(new Error('down')))).rejects.toThrow('down');
    expect(await cache.getOrSet('k', () => 'new')).toBe('new');
  });

  it('keeps the entry through expire() and cull() until the grace period is over', async () => {
    const { cache, clock } = withStale();
    expect(await cache.expire()).toBe(0);
    expect(await cache.cull()).toBe(0);
    expect(await cache.count()).toBe(1);
    clock.advance(1_000);
    expect(await cache.expire()).toBe(1);
    expect(await cache.count()).toBe(0);
  });

  it('survives incr and touch, which keep the grace period', () => {
    const clock = manualClock();
    const cache = new Cache(tempDir(), { clock });
    cache.setSync('n', 1, { ttl: 100, grace: 1_000 });
    cache.incrSync('n');
    cache.touchSync('n', { ttl: 200 });
    clock.advance(250);
    expect(cache.getSync('n')).toBeUndefined();
    const failing = () => {
      throw new Error('down');
    };
    expect(cache.getOrSetSync('n', failing)).toBe(2);
    clock.advance(1_000);
    expect(() => cache.getOrSetSync('n', failing)).toThrow('down');
  });

  it('returns the stale value after softTimeout and stores the factory result in the background', async () => {
    const { cache } = withStale();
    const gate = deferred<void>();
    const served = await cache.getOrSet(
      'k',
      async () => {
        await gate.promise;
        return 'late';
      },
      { ttl: 60_000, softTimeout: 10 },
    );
    expect(served).toBe('old');
    expect(await cache.get('k')).toBeUndefined();
    gate.resolve();
    await vi.waitFor(async () => expect(await cache.get('k')).toBe('late'), { timeout: 10_000 });
  });

  it('tells a factory that fails in the background after its soft timeout as a factoryError event', async () => {
    const { cache } = withStale();
    const told = deferred<FactoryErrorEvent>();
    cache.events.on('factoryError', told.resolve);
    const gate = deferred<void>();
    const served = await cache.getOrSet(
      'k',
      async () => {
        await gate.promise;
        throw new Error('late failure');
      },
      { softTimeout: 10 },
    );
    expect(served).toBe('old');
    gate.resolve();
    expect(((await told.promise).error as Error).message).toBe('late failure');
  });

  it('applies softTimeout only where there is a stale value to return', async () => {
    const cache = new Cache(tempDir());
    const value = await cache.getOrSet('k', () => sleep(50).then(() => 'waited for'), { softTimeout: 1 });
    expect(value).toBe('waited for');
  });
});

describe('getOrSet timeouts and abort', () => {
  it('rejects with EFACTORYTIMEOUT after hardTimeout without a stale value, and aborts the factory signal', async () => {
    const cache = new Cache(tempDir());
    let signal: AbortSignal | undefined;
    const started = performance.now();
    const failure = await cache
      .getOrSet(
        'k',
        (c) => {
          signal = c.signal;
          return new Promise(() => {});
        },
        { hardTimeout: 30 },
      )
      .catch((e: unknown) => e);
    expect(performance.now() - started).toBeGreaterThanOrEqual(25);
    expect(failure).toBeInstanceOf(CacheError);
    expect((failure as CacheError).code).toBe('EFACTORYTIMEOUT');
    expect(signal?.aborted).toBe(true);
    expect(await cache.has('k')).toBe(false);
    // The key's lock was released: the next call computes at once.
    expect(await cache.getOrSet('k', () => 'next')).toBe('next');
  });

  it("holds the key's lock with a lease that outlasts the hard timeout", async () => {
    const cache = new Cache(tempDir(), { timeout: 1_000 });
    const gate = deferred<void>();
    let leaseMs: number | undefined;
    const computing = cache.getOrSet(
      'k',
      async () => {
        // The lock is a folder named <key hash>.lock holding its owner record (docs/FORMAT.md).
        const locks = fs
          .readdirSync(cache.directory, { recursive: true, encoding: 'utf8' })
          .filter((name) => name.endsWith('.lock/owner'));
        leaseMs = JSON.parse(fs.readFileSync(path.join(cache.directory, locks[0] ?? ''), 'utf8')).leaseMs;
        await gate.promise;
        return 'v';
      },
      { hardTimeout: 60_000 },
    );
    await vi.waitFor(() => expect(leaseMs).toBeDefined());
    expect(leaseMs).toBeGreaterThanOrEqual(60_000);
    gate.resolve();
    expect(await computing).toBe('v');
  });

  it('serves the stale value after hardTimeout when there is one', async () => {
    const { cache } = withStale();
    expect(await cache.getOrSet('k', () => new Promise(() => {}), { hardTimeout: 10 })).toBe('old');
  });

  it("rejects with the signal's reason when the caller aborts, even with a stale value", async () => {
    const { cache } = withStale();
    const controller = new AbortController();
    let factorySignal: AbortSignal | undefined;
    const call = cache.getOrSet(
      'k',
      (c) => {
        factorySignal = c.signal;
        return new Promise(() => {});
      },
      { signal: controller.signal },
    );
    await vi.waitFor(() => expect(factorySignal).toBeDefined());
    controller.abort(new Error('caller gave up'));
    await expect(call).rejects.toThrow('caller gave up');
    expect(factorySignal?.aborted).toBe(true);
    const aborted = AbortSignal.abort(new Error('already'));
    await expect(cache.getOrSet('k', () => 'x', { signal: aborted })).rejects.toThrow('already');
  });
});

describe('getOrSet on a FanoutCache and through memoize', () => {
  it('routes by key on a FanoutCache', async () => {
    const cache = new FanoutCache(tempDir(), { shards: 4 });
    expect(await cache.getOrSet('k', () => 'v')).toBe('v');
    expect(cache.getOrSetSync('s', () => 's')).toBe('s');
    expect(await cache.shardOf('k').get('k')).toBe('v');
    await expect(cache.getOrSet({} as never, () => 1)).rejects.toThrow(TypeError);
  });

  it('memoize serves a stale result within its grace period when the function fails', async () => {
    const clock = manualClock();
    const cache = new Cache(tempDir(), { clock });
    let fail = false;
    const load = cache.memoizeSync(
      (id: number) => {
        if (fail) throw new Error('down');
        return `user ${id}`;
      },
      { name: 'load', ttl: 100, grace: 1_000 },
    );
    expect(load(1)).toBe('user 1');
    clock.advance(150);
    fail = true;
    expect(load(1)).toBe('user 1');
    clock.advance(1_000);
    expect(() => load(1)).toThrow('down');
  });
});

describe('getOrSet across processes', () => {
  for (const how of ['async', 'sync', 'memoize']) {
    it(`${how}: four processes asking for a missing key compute it once and all get that value`, async () => {
      const dir = tempDir();
      const results = (await runTogether(
        'recipes',
        [1, 2, 3, 4].map(() => ['get-or-set', dir, 'k', how, '300', '0']),
      )) as { value: string; computed: boolean }[];
      expect(
        results.filter((r) => r.computed),
        JSON.stringify(results),
      ).toHaveLength(1);
      const computedBy = results.find((r) => r.computed)?.value;
      expect(results.map((r) => r.value)).toEqual([computedBy, computedBy, computedBy, computedBy]);
      const cache = new Cache(dir);
      expect(cache.getSync('runs')).toBe(1);
      cache.closeSync();
    }, 60_000);
  }

  it('another process gets the stale value at once while this one recomputes it', async () => {
    const dir = tempDir();
    const cache = new Cache(dir);
    cache.setSync('k', 'old', { ttl: 1, grace: 600_000 });
    await sleep(5);
    const gate = deferred<void>();
    let started = false;
    const recomputing = cache.getOrSet('k', async () => {
      started = true;
      await gate.promise;
      return 'new';
    });
    await vi.waitFor(() => expect(started).toBe(true));
    const [other] = await runTogether('recipes', [['get-or-set', dir, 'k', 'async', '0', '600000']]);
    expect(other).toEqual({ value: 'old', computed: false });
    gate.resolve();
    expect(await recomputing).toBe('new');
    expect(fs.existsSync(dir)).toBe(true);
  }, 60_000);
});
