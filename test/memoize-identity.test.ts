/**
 * memoize keys results by the function's identity: two different functions never share results
 * unless the caller gives them the same `name`; where there is no source to tell functions apart
 * (bound and native functions), a `name` is required.
 */
import { describe, expect, it } from 'vitest';
import { Cache, FanoutCache, Index } from '../src/index.js';
import { useTempDirs } from './helpers/tmp.js';

/** Two different functions that are both called `load`. */
function twoLoads() {
  const loads = {
    first: { load: (id: number) => `first ${id}` }.load,
    second: { load: (id: number) => `second ${id}` }.load,
  };
  expect(loads.first.name).toBe('load');
  expect(loads.second.name).toBe('load');
  return loads;
}

class Repo {
  constructor(readonly table: string) {}
  find(id: number): string {
    return `${this.table} ${id}`;
  }
}

/** Two bound methods, both called `bound find`, that give different results. */
function twoFinds() {
  const users = new Repo('users');
  const orders = new Repo('orders');
  const finds = { users: users.find.bind(users), orders: orders.find.bind(orders) };
  expect(finds.users.name).toBe('bound find');
  expect(finds.orders.name).toBe('bound find');
  return finds;
}

type Memoizer = <A extends unknown[], R>(
  fn: (...args: A) => R,
  options?: { name?: string },
) => (...args: A) => Promise<unknown>;

/** memoize and memoizeSync of each store that has them, as functions returning promises. */
function memoizers(dir: string): { name: string; memoize: Memoizer; close(): void }[] {
  const cache = new Cache(`${dir}/cache`);
  const fanout = new FanoutCache(`${dir}/fanout`, { shards: 4 });
  const index = new Index(`${dir}/index`);
  const sync =
    (store: { memoizeSync: Cache['memoizeSync'] }): Memoizer =>
    (fn, options) => {
      const memoized = store.memoizeSync(fn, options);
      return async (...args) => memoized(...args);
    };
  return [
    { name: 'Cache.memoize', memoize: (fn, o) => cache.memoize(fn, o), close: () => cache.closeSync() },
    { name: 'Cache.memoizeSync', memoize: sync(cache), close: () => {} },
    {
      name: 'FanoutCache.memoize',
      memoize: (fn, o) => fanout.memoize(fn, o),
      close: () => fanout.closeSync(),
    },
    { name: 'FanoutCache.memoizeSync', memoize: sync(fanout), close: () => {} },
    { name: 'Index.memoize', memoize: (fn, o) => index.memoize(fn, o), close: () => index.closeSync() },
    { name: 'Index.memoizeSync', memoize: sync(index), close: () => {} },
  ];
}

describe('memoize tells functions apart', () => {
  const tempDir = useTempDirs();

  function each(test: (memoize: Memoizer) => Promise<void>) {
    return async () => {
      const count = memoizers(tempDir()).length;
      // Each variant on its own directories, so that no variant finds another's results.
      for (let i = 0; i < count; i++) {
        const stores = memoizers(tempDir());
        const store = stores[i] as (typeof stores)[number];
        try {
          await test(store.memoize).catch((error: Error) => {
            throw new Error(`${store.name}: ${error.message}`, { cause: error });
          });
        } finally {
          for (const s of stores) s.close();
        }
      }
    };
  }

  it(
    'two different functions with the same name keep their own results',
    each(async (memoize) => {
      const { first, second } = twoLoads();
      expect(await memoize(first)(1)).toBe('first 1');
      expect(await memoize(second)(1)).toBe('second 1');
      expect(await memoize(first)(1)).toBe('first 1');
    }),
  );

  it(
    'the same function memoized again finds its results (the key is stable)',
    each(async (memoize) => {
      let calls = 0;
      const square = (n: number) => {
        calls++;
        return n * n;
      };
      expect(await memoize(square)(7)).toBe(49);
      expect(await memoize(square)(7)).toBe(49);
      expect(calls).toBe(1);
    }),
  );

  it(
    'a bound function needs a name, and two bound methods with their own names stay apart',
    each(async (memoize) => {
      const { users, orders } = twoFinds();
      expect(() => memoize(users)).toThrow(TypeError);
      expect(() => memoize(users)).toThrow(/options\.name/);
      expect(await memoize(users, { name: 'users.find' })(1)).toBe('users 1');
      expect(await memoize(orders, { name: 'orders.find' })(1)).toBe('orders 1');
    }),
  );

  it(
    'a native function needs a name',
    each(async (memoize) => {
      expect(() => memoize(Math.max)).toThrow(TypeError);
      expect(await memoize(Math.max, { name: 'max' })(1, 2)).toBe(2);
    }),
  );

  it(
    'functions given the same name share results, as the caller asked',
    each(async (memoize) => {
      const { first, second } = twoLoads();
      expect(await memoize(first, { name: 'shared-load' })(2)).toBe('first 2');
      expect(await memoize(second, { name: 'shared-load' })(2)).toBe('first 2');
    }),
  );
});

describe('cacheKey', () => {
  const tempDir = useTempDirs();

  it('differs for two functions of the same name, and is the same for one function', () => {
    const cache = new Cache(tempDir());
    const { first, second } = twoLoads();
    expect(cache.memoize(first).cacheKey(1)).not.toBe(cache.memoize(second).cacheKey(1));
    expect(cache.memoize(first).cacheKey(1)).toBe(cache.memoizeSync(first).cacheKey(1));
    expect(cache.memoize(first, { name: 'load' }).cacheKey(1)).toBe('memoize:load("1")');
    cache.closeSync();
  });
});
