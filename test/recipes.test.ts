import * as fs from 'node:fs';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  Averager,
  BoundedSemaphore,
  barrier,
  barrierSync,
  Cache,
  CacheError,
  Lock,
  LockTimeoutError,
  RLock,
  throttle,
  throttleSync,
} from '../src/index.js';
import { runTogether } from './helpers/children.js';
import { makeTempDir, removeDir } from './helpers/tmp.js';

function manualClock(start = Date.UTC(2024, 0, 1)) {
  let now = start;
  return {
    now: () => now,
    advance(ms: number) {
      now += ms;
    },
  };
}

let dir: string;
let cache: Cache;

beforeEach(() => {
  dir = makeTempDir('dct-recipes-');
  cache = new Cache(dir);
});
afterEach(async () => {
  await cache.close();
  removeDir(dir);
});

async function expectCode(promise: Promise<unknown>, code: string): Promise<void> {
  await expect(promise).rejects.toSatisfy((e) => e instanceof CacheError && e.code === code);
}

describe('Lock', () => {
  it('blocks a second holder until released, and reports locked()', async () => {
    const lock = new Lock(cache, 'lock');
    await lock.acquire();
    expect(await lock.locked()).toBe(true);
    let state = 0;
    const other = new Lock(cache, 'lock');
    const waiting = other.withLock(() => {
      state = 2;
    });
    state = 1;
    await sleep(100);
    expect(state).toBe(1); // python: the worker is still blocked after 0.1 s
    await lock.release();
    await waiting;
    expect(state).toBe(2);
    expect(await lock.locked()).toBe(false);
  });

  it('serializes concurrent callers that share one instance', async () => {
    const lock = new Lock(cache, 'shared');
    let inside = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: 5 }, () =>
        lock.withLock(async () => {
          inside++;
          most = Math.max(most, inside);
          await sleep(5);
          inside--;
        }),
      ),
    );
    expect(most).toBe(1);
  });

  it('throws LockTimeoutError after the timeout, naming the holder', async () => {
    await new Lock(cache, 'busy').acquire();
    const started = performance.now();
    const error = await new Lock(cache, 'busy', { timeout: 80 }).acquire().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LockTimeoutError);
    expect((error as LockTimeoutError).code).toBe('ELOCKTIMEOUT');
    expect((error as LockTimeoutError).holder).toContain(`:${process.pid}`);
    expect(performance.now() - started).toBeGreaterThanOrEqual(75);
    expect(() => new Lock(cache, 'busy').acquireSync({ timeout: 0 })).toThrow(LockTimeoutError);
  });

  it('defaults the timeout to the cache option', async () => {
    const quick = new Cache(dir, { timeout: 30 });
    try {
      await new Lock(quick, 'k').acquire();
      await expect(new Lock(quick, 'k').acquire()).rejects.toBeInstanceOf(LockTimeoutError);
    } finally {
      await quick.close();
    }
  });

  it('expires after its ttl, and the old holder cannot release the new one', async () => {
    const clock = manualClock();
    const timed = new Cache(dir, { clock });
    try {
      const first = new Lock(timed, 'lease', { ttl: 1000 });
      const second = new Lock(timed, 'lease', { ttl: 1000, timeout: 0 });
      first.acquireSync();
      expect(() => second.acquireSync()).toThrow(LockTimeoutError);
      clock.advance(1001);
      second.acquireSync();
      expect(() => first.releaseSync()).toThrow(expect.objectContaining({ code: 'ENOTHELD' }));
      expect(second.lockedSync()).toBe(true);
      second.releaseSync();
      expect(second.lockedSync()).toBe(false);
    } finally {
      await timed.close();
    }
  });

  it('refuses to release what it does not hold', async () => {
    const lock = new Lock(cache, 'k');
    await expectCode(lock.release(), 'ENOTHELD');
    await lock.acquire();
    await lock.release();
    await expectCode(lock.release(), 'ENOTHELD');
  });

  it('releases at the end of a using block, sync and async', async () => {
    const lock = new Lock(cache, 'scoped');
    {
      using _held = lock.acquireSync();
      expect(lock.lockedSync()).toBe(true);
    }
    expect(lock.lockedSync()).toBe(false);
    {
      await using _held = await lock.acquire();
      expect(await lock.locked()).toBe(true);
    }
    expect(await lock.locked()).toBe(false);
    {
      using _unused = new Lock(cache, 'never-taken'); // disposing an unheld lock is a no-op
    }
  });

  it('releases when the function throws, and passes results through', async () => {
    const lock = new Lock(cache, 'k');
    await expect(
      lock.withLock(async () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await lock.locked()).toBe(false);
    expect(await lock.withLock(async () => 42)).toBe(42);
    expect(lock.withLockSync(() => 'sync')).toBe('sync');
    expect(() => lock.withLockSync(() => Promise.resolve(1) as unknown as number)).toThrow(TypeError);
    expect(lock.lockedSync()).toBe(false);
  });

  it('works with any key type and a tag, and validates its options', async () => {
    for (const key of [7, 7n, Buffer.from('k')]) {
      const lock = new Lock(cache, key, { tag: 'locks' });
      await lock.acquire();
      expect(await cache.has(key)).toBe(true);
      await lock.release();
    }
    await new Lock(cache, 'tagged', { tag: 'locks' }).acquire();
    expect(await cache.evict('locks')).toBe(1);
    expect(() => new Lock(cache, {} as never)).toThrow(TypeError);
    expect(() => new Lock(cache, 'k', { expire: 5 } as never)).toThrow(/use ttl/);
    expect(() => new Lock(cache, 'k', { ttl: -1 })).toThrow(RangeError);
    expect(() => new Lock(cache, 'k', { timeout: -1 })).toThrow(RangeError);
  });

  it('takes over at once from a dead holder on this host', async () => {
    const [held] = await runTogether('recipes', [['hold-and-die', dir]]);
    expect(held).toEqual({ holding: true });
    expect(await cache.has('orphan')).toBe(true);
    // At once: the first attempt takes it (with no time to wait, a second attempt would be a timeout).
    await new Lock(cache, 'orphan', { timeout: 0 }).acquire();
    expect(await new Lock(cache, 'orphan').locked()).toBe(true);
  });

  it('works on a cache with the raw codec (it stores only strings)', async () => {
    const raw = new Cache(makeTempDir('dct-recipes-'), { codec: 'raw' });
    try {
      const lock = new Lock(raw, 'k');
      await lock.withLock(async () => {
        expect(await lock.locked()).toBe(true);
      });
      const rlock = new RLock(raw, 'r');
      rlock.acquireSync();
      rlock.acquireSync();
      rlock.releaseSync();
      rlock.releaseSync();
      expect(rlock.lockedSync()).toBe(false);
    } finally {
      await raw.close();
      removeDir(raw.directory);
    }
  });
});

describe('RLock', () => {
  it('is re-entrant for its owner and blocks the others', async () => {
    const lock = new RLock(cache, 'r');
    await lock.acquire();
    await lock.acquire();
    let state = 0;
    const other = new RLock(cache, 'r');
    const waiting = (async () => {
      await other.acquire();
      await other.acquire(); // re-entrant in the worker too
      state = 2;
      await other.release();
      await other.release();
    })();
    state = 1;
    await sleep(100);
    expect(state).toBe(1);
    await lock.release();
    await sleep(50);
    expect(state).toBe(1); // still held once
    await lock.release();
    await waiting;
    expect(state).toBe(2);
    expect(await lock.locked()).toBe(false);
  });

  it('nests withLock and using blocks', () => {
    const lock = new RLock(cache, 'nest');
    const result = lock.withLockSync(() => lock.withLockSync(() => 'deep'));
    expect(result).toBe('deep');
    {
      using _a = lock.acquireSync();
      using _b = lock.acquireSync();
      expect(lock.lockedSync()).toBe(true);
    }
    expect(lock.lockedSync()).toBe(false);
  });

  it('refuses to release an un-acquired lock', async () => {
    const lock = new RLock(cache, 'r');
    await expectCode(lock.release(), 'ENOTHELD');
    await lock.acquire();
    await expectCode(new RLock(cache, 'r').release(), 'ENOTHELD');
    await lock.release();
  });

  it('times out while another owner holds it', async () => {
    await new RLock(cache, 'r').acquire();
    await expect(new RLock(cache, 'r', { timeout: 50 }).acquire()).rejects.toBeInstanceOf(LockTimeoutError);
  });
});

describe('BoundedSemaphore', () => {
  it('hands out value permits and blocks beyond them (python test)', async () => {
    const semaphore = new BoundedSemaphore(cache, 's', { value: 3 });
    await semaphore.acquire();
    await semaphore.acquire();
    expect(await semaphore.locked()).toBe(false);
    let state = 0;
    let waiting: Promise<void> | undefined;
    await semaphore.withLock(async () => {
      expect(await semaphore.locked()).toBe(true);
      const other = new BoundedSemaphore(cache, 's', { value: 3 });
      waiting = other.withLock(async () => {
        state = 2;
      });
      state = 1;
      await sleep(100);
      expect(state).toBe(1);
    });
    await waiting;
    expect(state).toBe(2);
    await semaphore.release();
    await semaphore.release();
    await expectCode(semaphore.release(), 'ENOTHELD');
  });

  it('recovers a permit whose ttl ran out, without giving back the others', async () => {
    const clock = manualClock();
    const timed = new Cache(dir, { clock });
    try {
      const a = new BoundedSemaphore(timed, 's', { value: 2, ttl: 1000, timeout: 0 });
      a.acquireSync();
      clock.advance(500);
      a.acquireSync();
      expect(() => a.acquireSync()).toThrow(LockTimeoutError);
      clock.advance(600); // the first permit expired, the second has 400 ms left
      const b = new BoundedSemaphore(timed, 's', { value: 2, timeout: 0 });
      b.acquireSync();
      expect(() => b.acquireSync()).toThrow(LockTimeoutError);
      a.releaseSync(); // the second permit: still ours
      expect(() => a.releaseSync()).toThrow(expect.objectContaining({ code: 'ENOTHELD' }));
      b.releaseSync();
    } finally {
      await timed.close();
    }
  });

  it('validates its value', () => {
    expect(() => new BoundedSemaphore(cache, 's', { value: 0 })).toThrow(RangeError);
    expect(() => new BoundedSemaphore(cache, 's', { value: 1.5 })).toThrow(RangeError);
  });

  it('gives back a permit at the end of a using block', () => {
    const semaphore = new BoundedSemaphore(cache, 's');
    {
      using _held = semaphore.acquireSync();
      expect(semaphore.lockedSync()).toBe(true);
    }
    expect(semaphore.lockedSync()).toBe(false);
  });
});

describe('throttle', () => {
  it('lets count calls through at once, then one more each time the clock makes a token', async () => {
    const clock = manualClock();
    const calls: number[] = [];
    const tick = throttle(
      cache,
      5,
      0.5,
      (n: number) => {
        calls.push(n);
        return n * 2;
      },
      { name: 'tick', clock },
    );
    const results = [];
    // The full bucket, on a clock that does not move.
    for (let i = 0; i < 5; i++) results.push(await tick(i));
    expect(results).toEqual([0, 2, 4, 6, 8]);
    for (const n of [5, 6]) {
      const next = tick(n);
      await sleep(150); // it waits, and tries again, and still finds no token: the clock has not moved
      expect(calls).toHaveLength(n);
      clock.advance(100); // 5 per 0.5 s: one token
      expect(await next).toBe(n * 2);
    }
    expect(calls).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('refills by the injected clock', () => {
    const clock = manualClock();
    const calls: number[] = [];
    const tick = throttleSync(
      cache,
      2,
      1,
      function refill(n: number) {
        calls.push(n);
        return n;
      },
      { clock },
    );
    tick(1);
    tick(2);
    clock.advance(1000); // two tokens back, the bucket never holds more than count
    clock.advance(5000);
    tick(3);
    tick(4);
    expect(calls).toEqual([1, 2, 3, 4]);
    expect([...cache.keysSync()]).toEqual(['throttle:refill']);
  });

  it('needs a name for an anonymous function and checks its numbers', () => {
    expect(() => throttle(cache, 1, 1, () => 1)).toThrow(/options.name/);
    expect(() => throttle(cache, 0, 1, function f() {})).toThrow(RangeError);
    expect(() => throttle(cache, 1, 0, function f() {})).toThrow(RangeError);
  });
});

describe('barrier', () => {
  it('runs the calls of every wrapper one at a time', async () => {
    let inside = 0;
    let most = 0;
    const work = barrier(
      cache,
      Lock,
      async (n: number) => {
        inside++;
        most = Math.max(most, inside);
        await sleep(5);
        inside--;
        return n;
      },
      { name: 'work' },
    );
    expect(await Promise.all([1, 2, 3, 4].map((n) => work(n)))).toEqual([1, 2, 3, 4]);
    expect(most).toBe(1);
  });

  it('takes RLock and BoundedSemaphore with their options, and has a sync form', async () => {
    let inside = 0;
    let most = 0;
    const limited = barrier(
      cache,
      BoundedSemaphore,
      async function limited() {
        inside++;
        most = Math.max(most, inside);
        await sleep(10);
        inside--;
      },
      { value: 2 },
    );
    await Promise.all(Array.from({ length: 6 }, () => limited()));
    expect(most).toBe(2);
    const add = barrierSync(cache, RLock, (a: number, b: number) => a + b, { name: 'add', ttl: 5000 });
    expect(add(2, 3)).toBe(5);
    expect(() => barrier(cache, Lock, () => 1)).toThrow(/options.name/);
  });
});

describe('Averager', () => {
  it('averages what was added, and pop starts over (python test)', async () => {
    const averager = new Averager(cache, 'avg');
    for (let i = 0; i < 10; i++) await averager.add(i);
    expect(await averager.get()).toBe(4.5);
    expect(await averager.pop()).toBe(4.5);
    for (let i = 0; i < 20; i++) averager.addSync(i);
    expect(averager.getSync()).toBe(9.5);
    expect(averager.popSync()).toBe(9.5);
    expect(await averager.get()).toBeUndefined();
    expect(await averager.pop()).toBeUndefined();
  });

  it('loses no concurrent add', async () => {
    const averager = new Averager(cache, 'avg');
    await Promise.all(Array.from({ length: 20 }, (_, i) => new Averager(cache, 'avg').add(i)));
    expect(await averager.get()).toBe(9.5);
  });

  it('expires with its ttl', async () => {
    const clock = manualClock();
    const timed = new Cache(dir, { clock });
    try {
      const averager = new Averager(timed, 'avg', { ttl: 1000 });
      averager.addSync(4);
      clock.advance(1001);
      expect(averager.getSync()).toBeUndefined();
    } finally {
      await timed.close();
    }
  });
});

describe('across processes', () => {
  const workers = 4;

  async function countWith(kind: string, perWorker: number): Promise<number> {
    const file = path.join(dir, '..', `${path.basename(dir)}-counter`);
    fs.writeFileSync(file, '0');
    try {
      await runTogether(
        'recipes',
        Array.from({ length: workers }, () => ['counter', dir, file, kind, String(perWorker)]),
      );
      return Number(fs.readFileSync(file, 'utf8'));
    } finally {
      fs.rmSync(file, { force: true });
    }
  }

  it.each([
    ['lock', 25],
    ['lock-sync', 25],
    ['rlock', 15],
    ['semaphore', 15],
    ['barrier', 15],
  ])('keeps a counter file exact under %s with 4 processes', async (kind, perWorker) => {
    expect(await countWith(kind, perWorker)).toBe(workers * perWorker);
    expect(await cache.has('counter')).toBe(false);
  });

  it('lets at most value holders in at once', async () => {
    const results = (await runTogether(
      'recipes',
      Array.from({ length: workers }, () => ['permits', dir, '2', '10']),
    )) as { most: number }[];
    const most = Math.max(...results.map((r) => r.most));
    expect(most).toBeLessThanOrEqual(2);
    expect(most).toBeGreaterThanOrEqual(1);
    expect(await cache.get('inside')).toBe(0);
  });

  it('throttles 3 processes together to count per seconds', async () => {
    const count = 10;
    const results = (await runTogether(
      'recipes',
      Array.from({ length: 3 }, () => ['throttle', dir, String(count), '1', '2000']),
    )) as { times: number[] }[];
    const times = results.flatMap((r) => r.times).sort((a, b) => a - b);
    const first = times[0] as number;
    const span = ((times.at(-1) as number) - first) / 1000;
    // A token bucket lets at most count + rate * t calls through in any window of t seconds.
    for (const [i, t] of times.entries()) {
      const inWindow = times.slice(i).filter((u) => u < t + 1000).length;
      expect(inWindow).toBeLessThanOrEqual(2 * count + 1);
    }
    expect(times.length).toBeLessThanOrEqual(count + count * span + 2);
    // How many calls a loaded machine manages in 2 s is no property of the throttle: that it lets
    // calls through at its rate is checked on an injected clock (above).
    // Every process got calls through (no starvation).
    for (const r of results) expect(r.times.length).toBeGreaterThan(0);
  });
});
