import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Codec, Key } from '../../../src/index.js';
import {
  expectArgumentError,
  expectBytes,
  expectCacheError,
  expectClean,
  expectSameValue,
} from '../assertions.js';
import type { ContractContext } from '../contract.js';
import { countingFileSystem } from '../counting-fs.js';
import { keyId, keyIds, sampleKeys, sampleValues } from '../samples.js';
import { collect, type Surface } from '../surface.js';

const BAD_KEYS: [what: string, key: unknown][] = [
  ['null', null],
  ['undefined', undefined],
  ['an object', {}],
  ['an array', ['a']],
  ['true', true],
  ['false', false],
  ['a symbol', Symbol('k')],
  ['a function', () => 1],
  ['a Date', new Date(0)],
  ['an ArrayBuffer', new ArrayBuffer(1)],
  ['a DataView', new DataView(new ArrayBuffer(1))],
  ['a Uint16Array', new Uint16Array(1)],
  ['a boxed string', Object('k')],
];

/** Every call that takes a key (or a tag, which is a key too). */
const KEYED_CALLS: [
  what: string,
  call: (cache: Surface, key: never) => Promise<unknown>,
  nullable: boolean,
][] = [
  ['get', (c, k) => c.get(k), false],
  ['getEntry', (c, k) => c.getEntry(k), false],
  ['set', (c, k) => c.set(k, 1), false],
  ['add', (c, k) => c.add(k, 1), false],
  ['has', (c, k) => c.has(k), false],
  ['delete', (c, k) => c.delete(k), false],
  ['pop', (c, k) => c.pop(k), false],
  ['incr', (c, k) => c.incr(k), false],
  ['decr', (c, k) => c.decr(k), false],
  ['touch', (c, k) => c.touch(k, { ttl: 1000 }), false],
  ['evict (a tag)', (c, k) => c.evict(k), false],
  // null and undefined tags mean "no tag".
  ['set (a tag)', (c, k) => c.set('k', 1, { tag: k }), true],
  ['add (a tag)', (c, k) => c.add('k', 1, { tag: k }), true],
];

/** A custom codec: JSON, reversed byte for byte, counting its calls. */
function reversedJson(name = 'reversed-json'): Codec & { encoded: number; decoded: number } {
  const codec = {
    name,
    encoded: 0,
    decoded: 0,
    encode(value: unknown): Uint8Array {
      codec.encoded++;
      return Buffer.from(JSON.stringify(value), 'utf8').reverse();
    },
    decode(bytes: Uint8Array): unknown {
      codec.decoded++;
      return JSON.parse(Buffer.from(bytes).reverse().toString('utf8'));
    },
  };
  return codec;
}

export function keyAndValueTests(ctx: ContractContext): void {
  describe('keys', () => {
    it('keeps 1, 1n, "1" and Buffer.from("1") apart', async () => {
      const cache = ctx.fresh();
      const keys: Key[] = [1, 1n, '1', Buffer.from('1')];
      for (const [i, key] of keys.entries()) expect(await cache.set(key, `value ${i}`)).toBe(true);
      expect(await cache.count()).toBe(4);
      for (const [i, key] of keys.entries()) expect(await cache.get(key)).toBe(`value ${i}`);
      expect(keyIds(await collect(cache.keys()))).toEqual(keyIds(keys));
      expect(await cache.delete('1')).toBe(true);
      expect(await cache.get(1)).toBe('value 0');
      expect(await cache.get(Buffer.from('1'))).toBe('value 3');
    });

    it('round-trips keys of every kind, and iterates them with their types', async () => {
      const cache = ctx.fresh();
      const keys = sampleKeys();
      for (const key of keys) await cache.set(key, keyId(key));
      for (const key of keys) expect(await cache.get(key)).toBe(keyId(key));
      const listed = await collect(cache.keys());
      expect(keyIds(listed)).toEqual(keyIds(keys));
      for (const key of listed) {
        if (typeof key === 'object') expect(Buffer.isBuffer(key)).toBe(true);
      }
      expect(await cache.count()).toBe(keys.length);
      await expectClean(cache);
      for (const key of keys) expect(await cache.delete(key)).toBe(true);
      expect(await cache.count()).toBe(0);
    });

    it('treats a Uint8Array and a Buffer with the same bytes as one key, returned as a Buffer', async () => {
      const cache = ctx.fresh();
      const view = new Uint8Array([9, 1, 2, 3]).subarray(1);
      await cache.set(view, 'bytes');
      expect(await cache.get(Buffer.from([1, 2, 3]))).toBe('bytes');
      expect(await cache.get(new Uint8Array([1, 2, 3]))).toBe('bytes');
      const [key] = await collect(cache.keys());
      expect(Buffer.isBuffer(key)).toBe(true);
      expect(key).toEqual(Buffer.from([1, 2, 3]));
      await cache.set(Buffer.from([1, 2, 3]), 'replaced');
      expect(await cache.count()).toBe(1);
    });

    it.each([
      ['string', 'k'.repeat(64 * 1024)],
      ['non-ASCII string', 'é'.repeat(32 * 1024)],
      ['Buffer', Buffer.alloc(64 * 1024, 7)],
    ])('supports a 64 KiB %s key in every operation', async (_what, key) => {
      const cache = ctx.fresh();
      expect(await cache.set(key, 'big key', { tag: 't' })).toBe(true);
      expect(await cache.get(key)).toBe('big key');
      expect(await cache.has(key)).toBe(true);
      expect(keyId((await cache.getEntry(key))?.key)).toBe(keyId(key));
      expect(keyIds(await collect(cache.keys()))).toEqual(keyIds([key]));
      expect(await collect(cache.values())).toEqual(['big key']);
      expect(await cache.add(key, 'other')).toBe(false);
      expect(await cache.delete(key)).toBe(true);
      expect(await cache.count()).toBe(0);
      await cache.set(key, 1, { tag: 't' });
      expect(await cache.incr(key)).toBe(2);
      expect(await cache.evict('t')).toBe(1);
      await cache.set(key, 'x', { ttl: 1 });
      ctx.clock.advance(1);
      expect(await cache.expire()).toBe(1);
      expect(await cache.count()).toBe(0);
      await expectClean(cache);
    });

    it.each(KEYED_CALLS)(
      '%s refuses bad keys with a TypeError before any I/O',
      async (_what, call, nullable) => {
        const counting = countingFileSystem();
        const cache = ctx.fresh({ fileSystem: counting.fileSystem });
        await cache.set('k', 'kept');
        for (const [what, key] of BAD_KEYS) {
          if (nullable && (key === null || key === undefined)) continue;
          counting.calls.length = 0;
          await expectArgumentError(() => call(cache, key as never), [TypeError]);
          expect(counting.calls, `I/O for ${what}`).toEqual([]);
        }
        expect(await cache.get('k')).toBe('kept');
        expect(await cache.count()).toBe(1);
      },
    );
  });

  describe('values', () => {
    it.each(sampleValues())('round-trips %s', async (_name, value) => {
      const cache = ctx.fresh();
      expect(await cache.set('v', value)).toBe(true);
      expectSameValue(await cache.get('v'), value);
      expectSameValue((await cache.getEntry('v'))?.value, value);
      expectSameValue(await collect(cache.values()).then((v) => v[0]), value);
      expect(await cache.has('v')).toBe(true);
    });

    it('returns a stored null, not the default', async () => {
      const cache = ctx.fresh();
      await cache.set('n', null);
      expect(await cache.get('n', 'default')).toBeNull();
    });

    it('tells a stored undefined from a miss with getEntry', async () => {
      const cache = ctx.fresh();
      await cache.set('u', undefined);
      expect(await cache.has('u')).toBe(true);
      expect(await cache.get('u')).toBeUndefined();
      expect(await cache.get('u', 'default')).toBeUndefined();
      const entry = await cache.getEntry('u');
      expect(entry).toBeDefined();
      expect(entry).toHaveProperty('value', undefined);
      expect(await cache.getEntry('missing')).toBeUndefined();
      expect(await cache.count()).toBe(1);
    });

    it('round-trips empty strings and empty buffers as themselves, not as misses', async () => {
      const cache = ctx.fresh();
      await cache.set('s', '');
      await cache.set('b', Buffer.alloc(0));
      await cache.set('u', new Uint8Array(0));
      expect(await cache.get('s', 'default')).toBe('');
      const bytes = await cache.get('b', 'default');
      expect(Buffer.isBuffer(bytes) && bytes.length === 0).toBe(true);
      const view = await cache.get('u', 'default');
      expect(view instanceof Uint8Array && view.length === 0).toBe(true);
    });

    it('round-trips a Uint8Array value as its bytes', async () => {
      const cache = ctx.fresh();
      const value = new Uint8Array([5, 6, 7, 8]).subarray(1, 3);
      await cache.set('k', value);
      expectSameValue(await cache.get('k'), new Uint8Array([6, 7]));
    });

    it('never silently alters a string with a lone surrogate', async () => {
      const cache = ctx.fresh();
      const value = 'a\ud800b\udfffc';
      let stored = true;
      try {
        await cache.set('k', value);
      } catch (error) {
        expect(error).toBeInstanceOf(TypeError);
        stored = false;
      }
      if (stored) expect(await cache.get('k')).toBe(value);
      else expect(await cache.has('k')).toBe(false);
    });

    it('stores a 10 MiB value', async () => {
      const cache = ctx.fresh();
      const value = randomBytes(10 * 1024 * 1024);
      await cache.set('big', value);
      expectBytes(await cache.get('big'), value);
      expect(await cache.volume()).toBeGreaterThanOrEqual(value.length);
      await cache.set('big', 'small');
      expect(await cache.volume()).toBeLessThan(1024 * 1024);
      expect(await cache.get('big')).toBe('small');
      await expectClean(cache);
    });

    it.each([
      ['a function', () => 1],
      ['a symbol', Symbol('s')],
      ['an object holding a function', { f: () => 1 }],
    ])('refuses %s with a TypeError and stores nothing', async (_what, value) => {
      const cache = ctx.fresh();
      await expectArgumentError(() => cache.set('k', value), [TypeError]);
      await expectArgumentError(() => cache.add('k', value), [TypeError]);
      expect(await cache.has('k')).toBe(false);
      expect(await cache.count()).toBe(0);
      await expectClean(cache);
    });
  });

  describe('codecs', () => {
    it("'json' stores JSON", async () => {
      const cache = ctx.fresh({ codec: 'json' });
      const values: unknown[] = [{ a: [1, 'x', null], b: { c: true } }, 'text', '', 42, -1.5, null, true, []];
      for (const [i, value] of values.entries()) await cache.set(i, value);
      for (const [i, value] of values.entries()) expect(await cache.get(i)).toStrictEqual(value);
      await cache.set('date', new Date(0));
      expect(await cache.get('date')).toBe('1970-01-01T00:00:00.000Z');
      expect(await cache.incr('n', 2)).toBe(2);
    });

    it("'json' refuses what JSON cannot hold", async () => {
      const cache = ctx.fresh({ codec: 'json' });
      await expectArgumentError(() => cache.set('u', undefined), [TypeError]);
      await expectArgumentError(() => cache.set('b', 1n), [TypeError]);
      await expectArgumentError(() => cache.set('f', () => 1), [TypeError]);
      expect(await cache.count()).toBe(0);
    });

    it("'raw' stores strings and bytes, and refuses anything else", async () => {
      const cache = ctx.fresh({ codec: 'raw' });
      await cache.set('s', 'text');
      await cache.set('b', Buffer.from([1, 2]));
      expect(await cache.get('s')).toBe('text');
      expect(await cache.get('b')).toEqual(Buffer.from([1, 2]));
      for (const value of [{ a: 1 }, 42, null, [1]]) {
        await expectArgumentError(() => cache.set('x', value), [TypeError]);
      }
      expect(await cache.count()).toBe(2);
    });

    it('uses a custom codec to encode and decode', async () => {
      const codec = reversedJson();
      const cache = ctx.fresh({ codec });
      expect(cache.options.codec).toBe('reversed-json');
      await cache.set('k', { a: [1, 2], b: 'c' });
      expect(codec.encoded).toBe(1);
      expect(await cache.get('k')).toEqual({ a: [1, 2], b: 'c' });
      expect(codec.decoded).toBe(1);
    });

    it('refuses to read a custom-codec entry without that codec (ECODEC)', async () => {
      const dir = ctx.tempDir();
      const writer = ctx.openAt(dir, { codec: reversedJson() });
      await writer.set('k', { a: 1 });
      await writer.close();

      const plain = ctx.openAt(dir);
      const error = await expectCacheError(() => plain.get('k'), 'ECODEC');
      expect(error.message).toMatch(/reversed-json/);
      await plain.close();

      const other = ctx.openAt(dir, { codec: reversedJson('another-codec') });
      await expectCacheError(() => other.get('k'), 'ECODEC');
      await other.close();

      expect(await ctx.openAt(dir, { codec: reversedJson() }).get('k')).toEqual({ a: 1 });
    });

    it('reads every entry whatever codec the reader is configured with', async () => {
      const dir = ctx.tempDir();
      const json = ctx.openAt(dir, { codec: 'json' });
      await json.set('json', { a: 1 });
      await json.close();
      const structured = ctx.openAt(dir, { codec: 'structured' });
      await structured.set('map', new Map([[1, 2]]));
      await structured.close();
      const raw = ctx.openAt(dir, { codec: 'raw' });
      await raw.set('raw', 'text');
      expect(await raw.get('json')).toEqual({ a: 1 });
      expect(await raw.get('map')).toEqual(new Map([[1, 2]]));
      await raw.close();
      const custom = ctx.openAt(dir, { codec: reversedJson() });
      expect(await custom.get('map')).toEqual(new Map([[1, 2]]));
      expect(await custom.get('raw')).toBe('text');
      expect(await custom.get('json')).toEqual({ a: 1 });
    });

    it.each(['gzip', 'brotli'] as const)(
      'compresses with %s, and any reader reads it back',
      async (compression) => {
        const dir = ctx.tempDir();
        const value = 'compressible text '.repeat(10_000);
        const writer = ctx.openAt(dir, { compression });
        await writer.set('k', value);
        await writer.set('small', 'tiny');
        expect(await writer.volume()).toBeLessThan(value.length / 4);
        expect(await writer.get('k')).toBe(value);
        await writer.close();
        const reader = ctx.openAt(dir, { compression: 'none' });
        expect(await reader.get('k')).toBe(value);
        expect(await reader.get('small')).toBe('tiny');
        await expectClean(reader);
      },
    );
  });
}
