import { expect } from 'vitest';
import { CacheError, type Key } from '../../src/index.js';
import type { Surface } from './surface.js';

/** The error a call throws or rejects with; fails the test if it succeeds. */
export async function caught(call: () => unknown): Promise<unknown> {
  try {
    await call();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

/** Expects `call` to fail with a `CacheError` carrying `code`. */
export async function expectCacheError(call: () => unknown, code: string): Promise<CacheError> {
  const error = await caught(call);
  expect(error).toBeInstanceOf(CacheError);
  expect((error as CacheError).code).toBe(code);
  expect((error as CacheError).message).toMatch(/^diskcache-ts: /);
  return error as CacheError;
}

/** Expects `call` to fail with one of the argument errors (`TypeError` or `RangeError`). */
export async function expectArgumentError(
  call: () => unknown,
  kinds: (typeof TypeError | typeof RangeError)[] = [TypeError, RangeError],
  message?: RegExp,
): Promise<Error> {
  const error = await caught(call);
  expect(error).toBeInstanceOf(Error);
  expect(
    kinds.some((kind) => error instanceof kind),
    `${String(error)} is not a ${kinds.map((k) => k.name)}`,
  ).toBe(true);
  expect(error).not.toBeInstanceOf(CacheError);
  if (message) expect((error as Error).message).toMatch(message);
  return error as Error;
}

/**
 * Expects `got` to be the value `expected` read back: deeply and strictly equal, with `-0` and `NaN`
 * kept; a plain `Uint8Array` may come back as a `Buffer` (the codec stores bytes raw).
 */
export function expectSameValue(got: unknown, expected: unknown): void {
  if (expected instanceof Uint8Array && expected.constructor === Uint8Array) {
    expectBytes(got, expected);
    return;
  }
  expect(got).toStrictEqual(expected);
}

/** Expects `got` to be bytes equal to `expected` (fast on large values, unlike a deep comparison). */
export function expectBytes(got: unknown, expected: Uint8Array): void {
  expect(got).toBeInstanceOf(Uint8Array);
  const same = Buffer.from(got as Uint8Array).equals(Buffer.from(expected));
  expect(same, `${(got as Uint8Array).length} bytes differ from the ${expected.length} expected`).toBe(true);
}

/** Expects the counters to match the live keys: `count()` is their number, `volume()` their sizes' sum. */
export async function expectTotals(cache: Surface, liveKeys: readonly Key[]): Promise<void> {
  let volume = 0;
  for (const key of liveKeys) {
    const entry = await cache.getEntry(key);
    expect(entry, `entry for ${String(key)}`).toBeDefined();
    expect(entry?.size).toBeGreaterThan(0);
    volume += entry?.size ?? 0;
  }
  expect(await cache.count()).toBe(liveKeys.length);
  expect(await cache.volume()).toBe(volume);
}

/** Expects `check()` to find nothing. */
export async function expectClean(cache: { check(): Promise<unknown> }): Promise<void> {
  expect(await cache.check()).toEqual({ problems: [], fixed: 0 });
}
