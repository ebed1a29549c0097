import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CacheOptions } from '../../../src/index.js';
import { expectCacheError, expectClean, expectSameValue } from '../assertions.js';
import type { ContractContext } from '../contract.js';
import { sampleValues } from '../samples.js';
import {
  collect,
  METHOD_NAMES,
  type MethodArgs,
  type MethodName,
  SAMPLE_CALLS,
  type Surface,
} from '../surface.js';

const DEFAULTS = {
  sizeLimit: 2 ** 30,
  cullLimit: 10,
  evictionPolicy: 'least-recently-stored',
  statistics: false,
  codec: 'structured',
  compression: 'none',
  compressThreshold: 4096,
  durability: 'normal',
  timeout: 60_000,
};

/** Options the constructor must refuse, with the error and what its message must mention. */
const BAD_OPTIONS: [
  what: string,
  options: unknown,
  error: typeof TypeError | typeof RangeError,
  message: RegExp,
][] = [
  ['size_limit (the python-diskcache name)', { size_limit: 1 }, TypeError, /sizeLimit/],
  ['cull_limit (the python-diskcache name)', { cull_limit: 1 }, TypeError, /cullLimit/],
  ['eviction_policy (the python-diskcache name)', { eviction_policy: 'none' }, TypeError, /evictionPolicy/],
  ['an unknown option', { frobnicate: true }, TypeError, /frobnicate/],
  ['a negative sizeLimit', { sizeLimit: -1 }, RangeError, /sizeLimit/],
  ['a string sizeLimit', { sizeLimit: '1GB' }, TypeError, /sizeLimit/],
  ['a fractional cullLimit', { cullLimit: 1.5 }, RangeError, /cullLimit/],
  ['a negative cullLimit', { cullLimit: -1 }, RangeError, /cullLimit/],
  ['an unknown evictionPolicy', { evictionPolicy: 'random' }, RangeError, /evictionPolicy/],
  ['a non-boolean statistics', { statistics: 'yes' }, TypeError, /statistics/],
  ['an unknown codec name', { codec: 'pickle' }, RangeError, /codec/],
  ['a codec object without methods', { codec: { name: 'half' } }, TypeError, /codec/],
  ['an unknown compression', { compression: 'snappy' }, RangeError, /compression/],
  ['a negative compressThreshold', { compressThreshold: -1 }, RangeError, /compressThreshold/],
  ['a negative timeout', { timeout: -1 }, RangeError, /timeout/],
  ['an unknown durability', { durability: 'never' }, RangeError, /durability/],
  ['a clock without now()', { clock: {} }, TypeError, /clock/],
  ['options that are not an object', 'fast', TypeError, /options/],
];

function closedCall<K extends MethodName>(cache: Surface, name: K): Promise<unknown> {
  const fn = cache[name] as (...args: MethodArgs<K>) => Promise<unknown>;
  return fn(...SAMPLE_CALLS[name]);
}

export function lifecycleTests(ctx: ContractContext): void {
  describe('construction and options', () => {
    it('offers every operation as name() and nameSync(), and the iterators in both forms', () => {
      const cache = ctx.fresh();
      const target = cache.target as unknown as Record<string | symbol, unknown>;
      for (const name of [...METHOD_NAMES, 'keys', 'values', 'entries', 'close']) {
        expect(typeof target[name], name).toBe('function');
        expect(typeof target[`${name}Sync`], `${name}Sync`).toBe('function');
      }
      expect(typeof target[Symbol.dispose]).toBe('function');
      expect(typeof target[Symbol.asyncDispose]).toBe('function');
    });

    it('exposes the absolute directory, also when given a relative path', () => {
      const dir = ctx.tempDir();
      const cache = ctx.openAt(path.relative(process.cwd(), dir));
      expect(cache.directory).toBe(path.resolve(dir));
    });

    it('exposes the default options', () => {
      const cache = ctx.fresh();
      expect(cache.options).toMatchObject(DEFAULTS);
    });

    it('keeps options read-only', () => {
      const cache = ctx.fresh();
      try {
        (cache.options as { sizeLimit: number }).sizeLimit = 1;
      } catch {
        // Frozen: assigning throws in strict mode. Either way the value must not change.
      }
      expect(cache.options.sizeLimit).toBe(DEFAULTS.sizeLimit);
    });

    it.each(BAD_OPTIONS)('refuses %s', (_what, options, error, message) => {
      const dir = ctx.tempDir();
      expect(() => ctx.rawOpen(dir, options as CacheOptions)).toThrow(error);
      expect(() => ctx.rawOpen(dir, options as CacheOptions)).toThrow(message);
    });

    it.each(BAD_OPTIONS)(
      'does not persist a refused option (%s): the directory still opens',
      (_w, options) => {
        const dir = ctx.tempDir();
        expect(() => ctx.rawOpen(dir, options as CacheOptions)).toThrow();
        const cache = ctx.openAt(dir);
        expect(cache.options).toMatchObject(DEFAULTS);
      },
    );

    it('refuses a directory that is not a string', () => {
      expect(() => ctx.rawOpen(42 as unknown as string)).toThrow(TypeError);
    });

    it('persists options: a later open without options sees them', async () => {
      const dir = ctx.tempDir();
      const chosen = {
        sizeLimit: 12_345_678,
        cullLimit: 3,
        evictionPolicy: 'least-recently-used',
        statistics: true,
        compressThreshold: 100,
        timeout: 5000,
      } as const;
      const first = ctx.openAt(dir, chosen);
      expect(first.options).toMatchObject(chosen);
      await first.close();
      expect(ctx.openAt(dir).options).toMatchObject(chosen);
    });

    it('persists the latest options passed, keeping the others', async () => {
      const dir = ctx.tempDir();
      await ctx.openAt(dir, { sizeLimit: 1000, cullLimit: 2 }).close();
      const second = ctx.openAt(dir, { sizeLimit: 999 });
      expect(second.options).toMatchObject({ sizeLimit: 999, cullLimit: 2 });
      await second.close();
      expect(ctx.openAt(dir).options).toMatchObject({ sizeLimit: 999, cullLimit: 2 });
    });

    it('persists a built-in codec: later opens write with it', async () => {
      const dir = ctx.tempDir();
      await ctx.openAt(dir, { codec: 'json' }).close();
      const cache = ctx.openAt(dir);
      expect(cache.options.codec).toBe('json');
      await cache.set('when', new Date(0));
      expect(await cache.get('when')).toBe('1970-01-01T00:00:00.000Z');
    });
  });

  describe('close and dispose', () => {
    it.each(METHOD_NAMES)('rejects %s() with ECLOSED after close()', async (name) => {
      const cache = ctx.fresh();
      await cache.set('k', 1);
      await cache.close();
      await expectCacheError(() => closedCall(cache, name), 'ECLOSED');
    });

    it('rejects iteration with ECLOSED after close()', async () => {
      const cache = ctx.fresh();
      await cache.set('k', 1);
      await cache.close();
      await expectCacheError(() => collect(cache.keys()), 'ECLOSED');
      await expectCacheError(() => collect(cache.values()), 'ECLOSED');
      await expectCacheError(() => collect(cache.entries()), 'ECLOSED');
    });

    it('closes idempotently', async () => {
      const cache = ctx.fresh();
      await cache.close();
      await expect(cache.close()).resolves.toBeUndefined();
    });

    it('closes on dispose', async () => {
      const cache = ctx.fresh();
      await cache.set('k', 1);
      await cache.dispose();
      await expectCacheError(() => cache.get('k'), 'ECLOSED');
      expect(await ctx.openAt(cache.directory).get('k')).toBe(1);
    });

    it('closes on Symbol.dispose', async () => {
      const cache = ctx.fresh();
      cache.target[Symbol.dispose]();
      await expectCacheError(() => cache.get('k'), 'ECLOSED');
    });

    it('closing one instance leaves another on the same directory working', async () => {
      const dir = ctx.tempDir();
      const a = ctx.openAt(dir);
      const b = ctx.openAt(dir);
      await a.set('a', 1);
      await a.close();
      await b.set('b', 2);
      expect(await b.get('a')).toBe(1);
      expect(await b.count()).toBe(2);
      await expectClean(b);
    });
  });

  describe('persistence', () => {
    it('reads back everything in a new instance', async () => {
      const dir = ctx.tempDir();
      const writer = ctx.openAt(dir);
      const values = sampleValues();
      for (const [name, value] of values) await writer.set(name, value, { tag: 'sample', ttl: 60_000 });
      const written = await writer.getEntry('string');
      const volume = await writer.volume();
      await writer.close();

      const reader = ctx.openAt(dir);
      for (const [name, value] of values) expectSameValue(await reader.get(name), value);
      expect(await reader.getEntry('string')).toEqual(written);
      expect(await reader.count()).toBe(values.length);
      expect(await reader.volume()).toBe(volume);
      await expectClean(reader);
    });

    it('shares writes between two open instances', async () => {
      const dir = ctx.tempDir();
      const a = ctx.openAt(dir);
      const b = ctx.openAt(dir);
      await a.set('k', 'from a');
      expect(await b.get('k')).toBe('from a');
      await b.set('k', 'from b');
      expect(await a.get('k')).toBe('from b');
      expect(await b.delete('k')).toBe(true);
      expect(await a.has('k')).toBe(false);
      expect(await a.count()).toBe(0);
    });
  });
}
