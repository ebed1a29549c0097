import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Index, type Key } from '../src/index.js';
import { runTogether } from './helpers/children.js';
import { makeTempDir, removeDir } from './helpers/tmp.js';

let dir: string;
let index: Index<number>;

beforeEach(() => {
  dir = makeTempDir('dct-index-');
  index = new Index<number>(dir);
});
afterEach(async () => {
  await index.close();
  removeDir(dir);
});

async function toArray<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

async function fill(ix: Index<number>, keys: string): Promise<void> {
  for (const [i, k] of [...keys].entries()) await ix.set(k, i);
}

describe('Index', () => {
  it('gets, sets and deletes (python: a..e)', async () => {
    await fill(index, 'abcde');
    for (const [i, k] of [...'abcde'].entries()) {
      expect(await index.get(k)).toBe(i);
      expect(index.hasSync(k)).toBe(true);
    }
    expect(await index.length()).toBe(5);
    expect(await index.get('z')).toBeUndefined();
    expect(await index.get('z', -1)).toBe(-1);
    expect(await index.delete('c')).toBe(true);
    expect(await index.delete('c')).toBe(false);
    expect(await index.has('c')).toBe(false);
    expect(index.lengthSync()).toBe(4);
  });

  it('pops keys in any order, with a default for a missing key', async () => {
    await fill(index, 'abcde');
    for (const k of 'dbeac') expect(await index.pop(k)).toBe('abcde'.indexOf(k));
    expect(await index.pop('a')).toBeUndefined();
    expect(index.popSync('a', 7)).toBe(7);
    expect(await index.length()).toBe(0);
  });

  it('iterates in insertion order; replacing keeps the place, re-inserting moves to the end', async () => {
    await fill(index, 'abcde');
    expect([...index]).toEqual([...'abcde']);
    await index.set('b', 10);
    expect([...index.keysSync()]).toEqual([...'abcde']);
    await index.delete('c');
    await index.set('c', 20);
    expect(await toArray(index.keys())).toEqual([...'abdec']);
    expect(await toArray(index.values())).toEqual([0, 10, 3, 4, 20]);
    expect([...index.entriesSync()]).toEqual([
      ['a', 0],
      ['b', 10],
      ['d', 3],
      ['e', 4],
      ['c', 20],
    ]);
    expect(await toArray(index)).toEqual([...'abdec']);
  });

  it('keeps insertion order over key types', async () => {
    const keys: Key[] = [3, 'x', 2n, Buffer.from('k'), 1];
    for (const [i, k] of keys.entries()) await index.set(k, i);
    expect([...index.valuesSync()]).toEqual([0, 1, 2, 3, 4]);
    const got = [...index.keysSync()];
    expect(got.slice(0, 3)).toEqual([3, 'x', 2n]);
    expect(Buffer.from(got[3] as Uint8Array).toString()).toBe('k');
  });

  it('peeks and pops items from both ends (python: popitem)', async () => {
    await fill(index, 'abcde');
    expect(await index.peekItem()).toEqual(['e', 4]);
    expect(await index.peekItem({ last: false })).toEqual(['a', 0]);
    expect(await index.popItem()).toEqual(['e', 4]);
    expect(await index.popItem({ last: true })).toEqual(['d', 3]);
    expect(index.popItemSync({ last: false })).toEqual(['a', 0]);
    expect(await index.length()).toBe(2);
    expect([...index]).toEqual(['b', 'c']);
  });

  it('gives undefined for peekItem and popItem when empty (python: KeyError)', async () => {
    expect(await index.peekItem()).toBeUndefined();
    expect(await index.popItem()).toBeUndefined();
    expect(index.popItemSync({ last: false })).toBeUndefined();
  });

  it('keeps queues inside the index (python: Index.push/pull)', async () => {
    await index.set('first', 1);
    const k1 = await index.push(10);
    const k2 = await index.push(20, { prefix: 'jobs' });
    const k0 = index.pushSync(5, { side: 'front' });
    expect(k1).toBe(500_000_000_000_000);
    expect(k2).toBe('jobs-500000000000000');
    expect(k0).toBe(499_999_999_999_999);
    expect(await index.get(k1)).toBe(10);
    expect([...index]).toEqual(['first', k1, k2, k0]); // insertion order, whatever the side
    expect(await index.pull()).toEqual([k0, 5]);
    expect(await index.pull({ prefix: 'jobs' })).toEqual([k2, 20]);
    expect(index.pullSync({ side: 'back' })).toEqual([k1, 10]);
    expect(await index.pull()).toBeUndefined();
    expect([...index]).toEqual(['first']);
  });

  it('clears, and reopens with its contents', async () => {
    await fill(index, 'abc');
    await index.close();
    index = new Index<number>(dir);
    expect(index.directory).toBe(dir);
    expect([...index.entriesSync()]).toEqual([
      ['a', 0],
      ['b', 1],
      ['c', 2],
    ]);
    expect(await index.clear()).toBe(3);
    expect([...index]).toEqual([]);
    await index.set('d', 3);
    expect([...index]).toEqual(['d']);
  });

  it('skips an order item without an entry (left by a crash)', async () => {
    await fill(index, 'ab');
    // Simulate a writer that died between pushing the order item and storing the entry.
    const { Cache } = await import('../src/index.js');
    const order = new Cache(`${dir}/order`);
    await order.push('ghost');
    await order.close();
    await index.set('c', 2);
    expect([...index]).toEqual(['a', 'b', 'c']);
    await index.delete('c');
    const fresh = new Index<number>(dir);
    const again = new Cache(`${dir}/order`);
    await again.push('ghost');
    await again.close();
    expect(await fresh.peekItem()).toEqual(['b', 1]); // drops the stale order item
    expect(await fresh.popItem()).toEqual(['b', 1]);
    await fresh.close();
  });

  it('rejects bad keys before any I/O, with a temporary directory by default', async () => {
    const temp = new Index();
    try {
      await expect(temp.set({} as never, 1)).rejects.toThrow(TypeError);
      expect(() => temp.getSync(null as never)).toThrow(TypeError);
      expect(temp.lengthSync()).toBe(0);
    } finally {
      await temp.close();
      removeDir(temp.directory);
    }
  });
});

describe('Index across processes', () => {
  it('keeps each writer’s insertion order, and pops every key exactly once', async () => {
    const n = 30;
    await runTogether(
      'recipes',
      ['p', 'q', 'r', 's'].map((id) => ['index-set', dir, id, String(n)]),
    );
    const keys = [...index.keysSync()] as string[];
    expect(keys).toHaveLength(4 * n + 1);
    expect(new Set(keys).size).toBe(keys.length);
    for (const id of 'pqrs') {
      const mine = keys.filter((k) => k.startsWith(`${id}-`)).map((k) => Number(k.slice(2)));
      expect(mine).toEqual(Array.from({ length: n }, (_, i) => i));
    }
    expect(await index.length()).toBe(4 * n + 1);

    const [read] = (await runTogether('recipes', [['index-read', dir]])) as {
      entries: [string, unknown][];
    }[];
    expect(read?.entries.map((e) => e[0])).toEqual(keys);

    const results = (await runTogether('recipes', [
      ['index-pop', dir, 'last'],
      ['index-pop', dir, 'last'],
      ['index-pop', dir, 'first'],
      ['index-pop', dir, 'first'],
    ])) as { got: string[] }[];
    const got = results.flatMap((r) => r.got);
    expect(got).toHaveLength(keys.length);
    expect(new Set(got)).toEqual(new Set(keys));
    expect(await index.length()).toBe(0);
  });
});

describe('Index.memoize', () => {
  it('keeps results in the index under their cache key, computing each once', async () => {
    const index = new Index(makeTempDir('dct-index-memo-'));
    try {
      let calls = 0;
      const square = index.memoizeSync(
        (x: number) => {
          calls++;
          return x * x;
        },
        { name: 'square' },
      );
      expect([square(3), square(3), square(4)]).toEqual([9, 9, 16]);
      expect(calls).toBe(2);
      expect([...index.keysSync()]).toEqual([square.cacheKey(3), square.cacheKey(4)]);
      const cube = index.memoize(
        async (x: number) => {
          calls++;
          return x ** 3;
        },
        { name: 'cube' },
      );
      expect([await cube(2), await cube(2)]).toEqual([8, 8]);
      expect(calls).toBe(3);
      expect(() => index.memoizeSync(() => 1)).toThrow(TypeError); // an anonymous function needs a name
    } finally {
      index.closeSync();
      removeDir(index.directory);
    }
  });
});
