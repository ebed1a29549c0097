import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createCache } from 'cache-manager';
import Keyv from 'keyv';
import Keyv6 from 'keyv6';
import * as vitest from 'vitest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeyvDiskCache, keyvNamespaceTag } from '../src/adapters/keyv.js';
import { Cache } from '../src/cache/cache.js';
import { manualClock } from './helpers/clock.js';
import { makeTempDir, removeDir, useTempDirs } from './helpers/tmp.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Keyv's conformance suite lives in test/keyv-suite/, a package of its own (it declares sqlite3, a
 * native addon it never loads, which the root install must not compile). `npm test` installs it
 * (`npm run test:install`); a bare `vitest run` without it skips the two conformance blocks by name,
 * and under CI their absence fails instead.
 */
type KeyvSuite = (test: typeof vitest, keyv: typeof Keyv, store: () => KeyvDiskCache) => void;
const SUITE_DIR = path.join(ROOT, 'test', 'keyv-suite');
const keyvSuite = ((): { keyvTestSuite: KeyvSuite; keyvIteratorTests: KeyvSuite } | string => {
  try {
    const mod = createRequire(path.join(SUITE_DIR, 'package.json'))('@keyv/test-suite');
    return { keyvTestSuite: mod.default, keyvIteratorTests: mod.keyvIteratorTests };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw error;
    return 'test/keyv-suite is not installed: run `npm run test:install`, or `npm test`, which does';
  }
})();

/** Registers the conformance suite, or one test that says why it is not there. */
function conformance(title: string, register: (suite: Exclude<typeof keyvSuite, string>) => void): void {
  if (typeof keyvSuite !== 'string') describe(title, () => register(keyvSuite));
  else if (process.env.CI) it(`${title} (${keyvSuite})`, () => expect.fail(keyvSuite));
  else it.skip(`${title} (skipped: ${keyvSuite})`, () => {});
}

/** One cache directory for a describe block, opened before its tests and removed after them. */
function sharedCache(): () => Cache {
  let dir: string;
  let cache: Cache;
  beforeAll(() => {
    dir = makeTempDir();
    cache = new Cache(dir);
  });
  afterAll(async () => {
    await cache.close();
    removeDir(dir);
  });
  return () => cache;
}

conformance('@keyv/test-suite with Keyv 5', ({ keyvTestSuite, keyvIteratorTests }) => {
  const cache = sharedCache();
  // A new adapter per Keyv, over one open cache, as Keyv's own adapters are tested.
  const store = () => new KeyvDiskCache({ cache: cache() });
  keyvTestSuite(vitest, Keyv, store);
  keyvIteratorTests(vitest, Keyv, store);
});

conformance('@keyv/test-suite with Keyv 6', ({ keyvTestSuite, keyvIteratorTests }) => {
  const cache = sharedCache();
  const store = () => new KeyvDiskCache({ cache: cache() });
  // The suite was written for Keyv 5: the tests of its that Keyv 6 itself fails, skipped with the reason.
  const keyv5Only = new Map([
    [
      '.deleteMany([keys]) with nonexistent keys resolves to false',
      'Keyv 6 answers deleteMany with one boolean per key, and its own Map store fails this test too',
    ],
  ]);
  const it6 = (name: string, fn: vitest.TestFunction) => {
    const reason = keyv5Only.get(name);
    if (reason === undefined) it(name, fn);
    else it.skip(`${name} (skipped: ${reason})`, fn);
  };
  const suite = { ...vitest, it: it6 } as unknown as typeof vitest;
  keyvTestSuite(suite, Keyv6 as unknown as typeof Keyv, store);
  keyvIteratorTests(suite, Keyv6 as unknown as typeof Keyv, store);
});

describe('KeyvDiskCache with Keyv 5', () => {
  const tempDir = useTempDirs();

  it('stores under namespace:key, tagged with the namespace, and persists across opens', async () => {
    const dir = tempDir();
    const keyv = new Keyv({ store: new KeyvDiskCache({ directory: dir }), namespace: 'app' });
    const before = Date.now();
    await keyv.set('answer', { value: 42 }, 60_000);
    const after = Date.now();
    await keyv.disconnect();

    const cache = new Cache(dir);
    const entry = await cache.getEntry('app:answer');
    expect(entry?.tag).toBe(keyvNamespaceTag('app'));
    // Keyv 5 passes a ttl in milliseconds: the entry expires that long after it was stored.
    expect(entry?.expiresAt).toBeGreaterThanOrEqual(before + 60_000);
    expect(entry?.expiresAt).toBeLessThanOrEqual(after + 60_000);
    await cache.close();

    const again = new Keyv({ store: new KeyvDiskCache(dir), namespace: 'app' });
    expect(await again.get('answer')).toEqual({ value: 42 });
    await again.disconnect();
  });

  it('clears only its namespace, and leaves entries it did not write', async () => {
    const cache = new Cache(tempDir());
    await cache.set('not-keyv', 'kept');
    const a = new Keyv({ store: new KeyvDiskCache({ cache }), namespace: 'a' });
    const b = new Keyv({ store: new KeyvDiskCache({ cache }), namespace: 'b' });
    await a.set('k', 'a');
    await b.set('k', 'b');
    await a.clear();
    expect(await a.get('k')).toBeUndefined();
    expect(await b.get('k')).toBe('b');
    expect(await cache.get('not-keyv')).toBe('kept');
    await cache.close();
  });

  it('does not close a cache it was given, and closes one it opened', async () => {
    const cache = new Cache(tempDir());
    const given = new KeyvDiskCache({ cache });
    await given.disconnect();
    expect(cache.closed).toBe(false);
    await cache.close();
    const owned = new KeyvDiskCache({ directory: tempDir() });
    await owned.disconnect();
    expect(owned.cache.closed).toBe(true);
  });

  it('stores the ttl so that the cache itself expires the entry on its clock', async () => {
    const clock = manualClock();
    const cache = new Cache(tempDir(), { clock });
    const keyv = new Keyv({ store: new KeyvDiskCache({ cache }) });
    const start = clock.now();
    await keyv.set('short', 'v', 5_000);
    expect((await cache.getEntry('keyv:short'))?.expiresAt).toBe(start + 5_000);
    // Read through the cache, not through Keyv (whose wrapper checks an expiry of its own).
    clock.advance(4_999);
    expect(await cache.has('keyv:short')).toBe(true);
    clock.advance(1);
    expect(await cache.has('keyv:short')).toBe(false);
    await cache.close();
  });

  it('rejects options it does not know, and keys that are not strings', async () => {
    expect(() => new KeyvDiskCache({ directory: tempDir(), keyvVersion: 7 as 5 })).toThrow(RangeError);
    expect(() => new KeyvDiskCache({ directory: tempDir(), size_limit: 1 } as never)).toThrow(/sizeLimit/);
    const store = new KeyvDiskCache({ directory: tempDir() });
    await expect(store.get(1 as unknown as string)).rejects.toThrow(TypeError);
    await store.disconnect();
  });

  it('works as a cache-manager 7 store', async () => {
    const store = new KeyvDiskCache({ directory: tempDir() });
    const cache = createCache({ stores: [new Keyv({ store })] });
    await cache.set('user:1', { name: 'Ada' }, 60_000);
    expect(await cache.get('user:1')).toEqual({ name: 'Ada' });
    expect(await cache.ttl('user:1')).toBeGreaterThan(Date.now());
    expect(await cache.wrap('computed', async () => 7)).toBe(7);
    expect(await cache.wrap('computed', async () => 8)).toBe(7);
    await cache.del('user:1');
    expect(await cache.get('user:1')).toBeUndefined();
    await cache.disconnect();
  });

  it('is not loaded by the package root', () => {
    const index = fs.readFileSync(path.join(ROOT, 'src', 'index.ts'), 'utf8');
    expect(index).not.toMatch(/adapters\//);
  });
});

describe('KeyvDiskCache with Keyv 6', () => {
  const tempDir = useTempDirs();

  it('is used directly (capabilities.expires) and switches to the Keyv 6 contract', async () => {
    const store = new KeyvDiskCache({ directory: tempDir() });
    expect(store.keyvVersion).toBe(5);
    const keyv = new Keyv6({ store });
    expect(keyv.store).toBe(store);
    expect(store.keyvVersion).toBe(6);
    expect(store.capabilities.expires).toBe(true);
    await keyv.disconnect();
  });

  it('takes an absolute expires and enforces it', async () => {
    const cache = new Cache(tempDir());
    const store = new KeyvDiskCache({ cache });
    const keyv = new Keyv6({ store, namespace: 'ns' });
    const before = Date.now();
    await keyv.set('k', 'v', 60_000);
    const entry = await cache.getEntry('ns:k');
    expect(entry?.expiresAt).toBeGreaterThanOrEqual(before + 60_000);
    expect(entry?.expiresAt).toBeLessThanOrEqual(Date.now() + 60_000);
    expect(await keyv.get('k')).toBe('v');

    // An expires already past removes the entry.
    expect(await store.set('k', 'late', Date.now() - 1)).toBe(true);
    expect(await cache.has('ns:k')).toBe(false);
    await cache.close();
  });

  it('stores the expires so that the cache itself expires the entry on its clock', async () => {
    const clock = manualClock();
    const cache = new Cache(tempDir(), { clock });
    const keyv = new Keyv6({ store: new KeyvDiskCache({ cache }), namespace: 'ns' });
    // Keyv 6 passes an absolute expires on its own clock (Date.now()); the entry lives as long on the cache's.
    await keyv.set('short', 'v', 5_000);
    expect(await cache.has('ns:short')).toBe(true);
    clock.advance(5_000);
    expect(await cache.has('ns:short')).toBe(false);
    expect(await keyv.get('short')).toBeUndefined();
    await cache.close();
  });

  it('handles namespaces itself: get, has, delete, many, clear and iterator', async () => {
    const cache = new Cache(tempDir());
    await cache.set('not-keyv', 'kept');
    const a = new Keyv6({ store: new KeyvDiskCache({ cache }), namespace: 'a' });
    const b = new Keyv6({ store: new KeyvDiskCache({ cache }), namespace: 'b' });
    await a.setMany([
      { key: 'x', value: 1 },
      { key: 'y', value: 2, ttl: 60_000 },
    ]);
    await b.set('x', 'bx');
    expect(await a.getMany(['x', 'y', 'z'])).toEqual([1, 2, undefined]);
    expect(await a.hasMany(['x', 'z'])).toEqual([true, false]);
    expect(await b.get('x')).toBe('bx');

    const seen: unknown[] = [];
    for await (const pair of a.iterator()) seen.push(pair);
    expect(seen.sort()).toEqual([
      ['x', 1],
      ['y', 2],
    ]);

    expect(await a.deleteMany(['x', 'nope'])).toEqual([true, false]);
    await a.clear();
    expect(await a.get('y')).toBeUndefined();
    expect(await b.get('x')).toBe('bx');
    expect(await cache.get('not-keyv')).toBe('kept');
    await cache.close();
  });

  it('reads what Keyv 5 wrote in the same namespace', async () => {
    const dir = tempDir();
    const v5 = new Keyv({ store: new KeyvDiskCache(dir), namespace: 'shared' });
    await v5.set('greeting', 'hello');
    await v5.disconnect();
    const v6 = new Keyv6({ store: new KeyvDiskCache(dir), namespace: 'shared' });
    expect(await v6.get('greeting')).toBe('hello');
    await v6.disconnect();
  });

  it('keeps its own namespace when Keyv 6 has none', async () => {
    const cache = new Cache(tempDir());
    const keyv = new Keyv6({ store: new KeyvDiskCache({ cache, namespace: 'mine' }) });
    await keyv.set('k', 1);
    expect(await cache.get('mine:k')).toBeDefined();
    await cache.close();
  });
});
