import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Deque } from '../src/index.js';
import { runTogether } from './helpers/children.js';
import { makeTempDir, removeDir } from './helpers/tmp.js';

let dir: string;
let deque: Deque<string>;

beforeEach(() => {
  dir = makeTempDir('dct-deque-');
  deque = new Deque<string>(dir);
});
afterEach(async () => {
  await deque.close();
  removeDir(dir);
});

async function toArray<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

async function fill(d: Deque<string>, text: string): Promise<void> {
  for (const c of text) await d.push(c);
}

describe('Deque', () => {
  it('pushes and pops at both ends', async () => {
    await deque.push('b');
    await deque.push('c');
    await deque.pushFront('a');
    expect(await deque.length()).toBe(3);
    expect(await deque.peekFront()).toBe('a');
    expect(await deque.peek()).toBe('c');
    expect(await deque.length()).toBe(3);
    expect(await deque.popFront()).toBe('a');
    expect(await deque.pop()).toBe('c');
    expect(deque.popSync()).toBe('b');
    expect(deque.lengthSync()).toBe(0);
  });

  it('gives undefined for pop and peek on an empty deque (python: IndexError)', async () => {
    expect(await deque.pop()).toBeUndefined();
    expect(await deque.popFront()).toBeUndefined();
    expect(await deque.peek()).toBeUndefined();
    expect(deque.peekFrontSync()).toBeUndefined();
    expect(await deque.at(0)).toBeUndefined();
    expect(await deque.at(-1)).toBeUndefined();
  });

  it('iterates front to back, sync and async, and is equal after reopening', async () => {
    await fill(deque, 'abcde');
    expect([...deque]).toEqual([...'abcde']);
    expect(await toArray(deque)).toEqual([...'abcde']);
    await deque.close();
    deque = new Deque<string>(dir);
    expect(deque.directory).toBe(dir);
    expect([...deque.valuesSync()]).toEqual([...'abcde']);
    const second = new Deque<string>(dir);
    expect(await toArray(second.values())).toEqual([...'abcde']);
    await second.close();
  });

  it('indexes from both ends (python: d[i], d[-1])', async () => {
    await fill(deque, 'abcde');
    for (const [i, c] of [...'abcde'].entries()) {
      expect(await deque.at(i)).toBe(c);
      expect(deque.atSync(i - 5)).toBe(c);
    }
    expect(await deque.at(5)).toBeUndefined();
    expect(await deque.at(-6)).toBeUndefined();
    await expect(deque.at(0.5)).rejects.toThrow(TypeError);
  });

  it('drops from the opposite end beyond maxLength (python: maxlen=3)', async () => {
    const bounded = new Deque<string>(makeTempDir('dct-deque-'), { maxLength: 3 });
    try {
      await fill(bounded, 'abcde');
      expect([...bounded]).toEqual([...'cde']);
      for (const c of 'abcde') bounded.pushFrontSync(c);
      expect([...bounded]).toEqual([...'edc']);
      expect(bounded.maxLength).toBe(3);
    } finally {
      await bounded.close();
      removeDir(bounded.directory);
    }
    expect(() => new Deque(undefined, { maxLength: -1 })).toThrow(RangeError);
  });

  it('rotates right and left (python: rotate)', async () => {
    await fill(deque, 'abcde');
    await deque.rotate(3);
    expect([...deque].join('')).toBe('cdeab');
    await deque.rotate(-3);
    expect([...deque].join('')).toBe('abcde');
    deque.rotateSync(-2);
    expect([...deque].join('')).toBe('cdeab');
    await deque.rotate(); // one step right
    expect([...deque].join('')).toBe('bcdea');
    await deque.rotate(10); // a multiple of the length: no change
    expect([...deque].join('')).toBe('bcdea');
    await expect(deque.rotate(0.5)).rejects.toThrow(TypeError);
  });

  it('rotates an empty deque as a no-op', async () => {
    await deque.rotate(3);
    expect(await deque.length()).toBe(0);
  });

  it('clears', async () => {
    await fill(deque, 'abc');
    expect(await deque.clear()).toBe(3);
    expect(await deque.length()).toBe(0);
    await deque.push('z');
    expect([...deque]).toEqual(['z']);
  });

  it('peeks a large value twice without removing it (python: 100 kB)', async () => {
    const big = new Deque<Buffer>(makeTempDir('dct-deque-'));
    try {
      const value = Buffer.alloc(100_000, 7);
      await big.push(value);
      expect(Buffer.compare((await big.peek()) as Buffer, value)).toBe(0);
      expect(Buffer.compare(big.peekSync() as Buffer, value)).toBe(0);
      expect(await big.length()).toBe(1);
    } finally {
      await big.close();
      removeDir(big.directory);
    }
  });

  it('stores any value the cache can, with a temporary directory by default', async () => {
    const anyDeque = new Deque();
    try {
      const values = [1, { a: [1, 2] }, new Map([[1, 2]]), null, 10n];
      for (const v of values) await anyDeque.push(v);
      expect(await toArray(anyDeque)).toEqual(values);
      expect(anyDeque.cache.options.evictionPolicy).toBe('none');
    } finally {
      await anyDeque.close();
      removeDir(anyDeque.directory);
    }
  });

  it('closes with using', () => {
    const scoped = makeTempDir('dct-deque-');
    {
      using d = new Deque(scoped);
      d.pushSync(1);
    }
    const again = new Deque(scoped);
    expect(again.lengthSync()).toBe(1);
    again.closeSync();
    removeDir(scoped);
  });
});

describe('Deque across processes', () => {
  it('keeps each pusher’s order, and hands every item to exactly one popper', async () => {
    const n = 50;
    await runTogether('recipes', [
      ['deque-push', dir, 'a', String(n), 'back'],
      ['deque-push', dir, 'b', String(n), 'back'],
      ['deque-push', dir, 'c', String(n), 'front'],
      ['deque-push', dir, 'd', String(n), 'front'],
    ]);
    const items = [...deque];
    expect(items).toHaveLength(4 * n);
    expect(await deque.length()).toBe(4 * n);
    const order = (id: string) => items.filter((x) => x.startsWith(`${id}:`)).map((x) => Number(x.slice(2)));
    const up = Array.from({ length: n }, (_, i) => i);
    expect(order('a')).toEqual(up);
    expect(order('b')).toEqual(up);
    expect(order('c')).toEqual([...up].reverse()); // pushed at the front
    expect(order('d')).toEqual([...up].reverse());

    const results = (await runTogether('recipes', [
      ['deque-pop', dir, 'back'],
      ['deque-pop', dir, 'back'],
      ['deque-pop', dir, 'front'],
      ['deque-pop', dir, 'front'],
    ])) as { got: string[] }[];
    const got = results.flatMap((r) => r.got);
    expect(got).toHaveLength(4 * n);
    expect(new Set(got)).toEqual(new Set(items));
    expect(await deque.length()).toBe(0);
  });
});
