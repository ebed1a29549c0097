import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Cache } from '../src/index.js';
import { expectClean, expectSameValue } from './helpers/assertions.js';
import { startChild } from './helpers/children.js';
import { keyId, sampleKeys, sampleValues } from './helpers/samples.js';
import { makeTempDir, removeDir } from './helpers/tmp.js';

describe('several processes on one directory', () => {
  let dir: string;
  let cache: Cache | undefined;

  beforeEach(() => {
    dir = makeTempDir();
  });
  afterEach(async () => {
    await cache?.close();
    cache = undefined;
    removeDir(dir);
  });

  async function expectSamples(reader: Cache, tag: string): Promise<void> {
    for (const [name, value] of sampleValues()) {
      expectSameValue(await reader.get(`sample ${name}`), value);
      expect((await reader.getEntry(`sample ${name}`))?.tag).toBe(tag);
    }
    for (const key of sampleKeys()) expect(await reader.get(key)).toBe(keyId(key));
  }

  const sampleCount = sampleValues().length + sampleKeys().length;

  it('reads back what a child process wrote', async () => {
    const written = (await startChild('cache', 'write', [dir], 30_000).result()) as {
      count: number;
      volume: number;
    };
    expect(written.count).toBe(sampleCount);
    cache = new Cache(dir);
    await expectSamples(cache, 'child');
    expect(await cache.count()).toBe(sampleCount);
    expect(await cache.volume()).toBe(written.volume);
    await expectClean(cache);
  });

  it('counts what a child process wrote before it was killed with SIGKILL', async () => {
    const child = startChild('cache', 'write-then-hang', [dir], 30_000);
    expect(await child.waitFor(() => true)).toEqual({ count: sampleCount });
    child.process.kill('SIGKILL');
    expect((await child.exited).signal).toBe('SIGKILL');
    cache = new Cache(dir);
    await expectSamples(cache, 'child');
    expect(await cache.count()).toBe(sampleCount);
    await expectClean(cache);
  });

  it('lets a child process read back what the parent wrote', async () => {
    cache = new Cache(dir);
    for (const [name, value] of sampleValues()) await cache.set(`sample ${name}`, value, { tag: 'parent' });
    for (const key of sampleKeys()) await cache.set(key, keyId(key));
    const read = (await startChild('cache', 'read', [dir], 30_000).result()) as Record<string, unknown>;
    expect(read).toEqual({ mismatches: [], count: sampleCount, volume: await cache.volume() });
  });

  it('applies the options the parent stored to a child that passes none', async () => {
    await new Cache(dir, { sizeLimit: 4242, cullLimit: 3, statistics: true, codec: 'json' }).close();
    const options = await startChild('cache', 'options', [dir], 30_000).result();
    expect(options).toMatchObject({ sizeLimit: 4242, cullLimit: 3, statistics: true, codec: 'json' });
  });

  it('loses no increment when a child and the parent increment together', async () => {
    cache = new Cache(dir);
    const child = startChild('cache', 'incr', [dir, 150], 30_000);
    await child.waitFor((m) => m === 'ready');
    child.send('go');
    for (let i = 0; i < 150; i++) {
      if (i % 2) await cache.incr('counter');
      else cache.incrSync('counter');
    }
    expect(await child.result()).toEqual({ done: 150 });
    expect(await cache.get('counter')).toBe(300);
    await expectClean(cache);
  });

  it('gives each add and each pop to exactly one of two racing processes', async () => {
    cache = new Cache(dir);
    const n = 60;
    for (let i = 0; i < n; i++) await cache.set(`pop ${i}`, i);
    const child = startChild('cache', 'race', [dir, n], 30_000);
    await child.waitFor((m) => m === 'ready');
    child.send('go');
    const added: number[] = [];
    const popped: number[] = [];
    for (let i = 0; i < n; i++) {
      if (await cache.add(`add ${i}`, 'parent')) added.push(i);
      if ((await cache.pop(`pop ${i}`)) !== undefined) popped.push(i);
    }
    const theirs = (await child.result()) as { added: number[]; popped: number[] };
    const all = Array.from({ length: n }, (_, i) => i);
    expect([...added, ...theirs.added].sort((a, b) => a - b)).toEqual(all);
    expect([...popped, ...theirs.popped].sort((a, b) => a - b)).toEqual(all);
    for (const i of added) expect(await cache.get(`add ${i}`)).toBe('parent');
    for (const i of theirs.added) expect(await cache.get(`add ${i}`)).toBe('child');
    expect(await cache.count()).toBe(n);
    await expectClean(cache);
  });

  it('gives each incrSync, addSync, popSync and pullSync its exact effect among three racing processes', async () => {
    cache = new Cache(dir);
    const n = 80;
    const racers = 3;
    for (let i = 0; i < n; i++) await cache.set(`pop ${i}`, i);
    const items = Array.from({ length: n * racers }, (_, i) => i);
    for (const item of items) await cache.push(item);
    const children = Array.from({ length: racers }, () => startChild('cache', 'sync-race', [dir, n], 30_000));
    await Promise.all(children.map((child) => child.waitFor((m) => m === 'ready')));
    for (const child of children) child.send('go');
    const results = (await Promise.all(children.map((child) => child.result()))) as {
      pid: number;
      added: number[];
      popped: number[];
      pulled: number[];
    }[];

    const all = Array.from({ length: n }, (_, i) => i);
    const sorted = (lists: number[][]) => lists.flat().sort((a, b) => a - b);
    expect(await cache.get('counter')).toBe(n * racers);
    expect(sorted(results.map((r) => r.added))).toEqual(all);
    for (const { pid, added } of results)
      for (const i of added) expect(await cache.get(`add ${i}`)).toBe(pid);
    expect(sorted(results.map((r) => r.popped))).toEqual(all);
    // Whatever the racers did not pull is still queued: each item went to exactly one puller.
    const left: number[] = [];
    for (let item = cache.pullSync(); item !== undefined; item = cache.pullSync())
      left.push(item[1] as number);
    expect(sorted([...results.map((r) => r.pulled), left])).toEqual(items);
    expect(await cache.count()).toBe(n + 1);
    await expectClean(cache);
  });
});
