/**
 * An unknown option name is a `TypeError` that says what was probably meant, for every class and
 * method that takes options: names from other libraries, python-diskcache's snake_case, and typos.
 */
import { describe, expect, it } from 'vitest';
import { KeyvDiskCache } from '../src/adapters/keyv.js';
import { Cache, Deque, FanoutCache, Index, Lock, MemoryCache, throttle } from '../src/index.js';
import { useTempDirs } from './helpers/tmp.js';

function message(call: () => unknown): string {
  try {
    call();
  } catch (error) {
    expect(error).toBeInstanceOf(TypeError);
    return (error as Error).message;
  }
  throw new Error('no TypeError');
}

describe('unknown option names', () => {
  const tempDir = useTempDirs();

  it.each([
    [
      'KeyvDiskCache({ dir })',
      () => new KeyvDiskCache({ dir: '/tmp/x' } as never),
      /"dir".*did you mean directory\?/,
    ],
    [
      'Deque({ maxlen })',
      () => new Deque(tempDir(), { maxlen: 5 } as never),
      /Deque option "maxlen".*did you mean maxLength\?/,
    ],
    ['MemoryCache({ max })', () => new MemoryCache({ max: 5 } as never), /"max".*did you mean maxEntries\?/],
    ['MemoryCache({ maxSize })', () => new MemoryCache({ maxSize: 5 } as never), /did you mean maxBytes\?/],
    [
      'Cache({ size_limit })',
      () => new Cache(tempDir(), { size_limit: 5 } as never),
      /did you mean sizeLimit\?/,
    ],
    [
      'Cache({ max_entries })',
      () => new Cache(tempDir(), { max_entries: 5 } as never),
      /did you mean maxEntries\?/,
    ],
    ['Cache({ sizeLimt })', () => new Cache(tempDir(), { sizeLimt: 5 } as never), /did you mean sizeLimit\?/],
    [
      'Cache({ readonly })',
      () => new Cache(tempDir(), { readonly: true } as never),
      /did you mean readOnly\?/,
    ],
    ['Cache({ expire })', () => new Cache(tempDir(), { expire: 5 } as never), /use ttl, in milliseconds/],
    [
      'FanoutCache({ shard })',
      () => new FanoutCache(tempDir(), { shard: 4 } as never),
      /FanoutCache option "shard".*did you mean shards\?/,
    ],
    [
      'Index({ cullLimt })',
      () => new Index(tempDir(), { cullLimt: 4 } as never),
      /Index option.*did you mean cullLimit\?/,
    ],
  ])('%s', (_, call, expected) => {
    expect(message(call)).toMatch(expected);
  });

  it('on methods and recipes too', () => {
    const cache = new Cache(tempDir());
    expect(message(() => cache.setSync('k', 1, { tll: 5 } as never))).toMatch(/"tll".*did you mean ttl\?/);
    expect(message(() => cache.setSync('k', 1, { expire_time: 5 } as never))).toMatch(/use ttl/);
    expect(message(() => cache.memoize(() => 1, { name: 'f', typd: true } as never))).toMatch(
      /did you mean typed\?/,
    );
    expect(message(() => new Lock(cache, 'k', { timout: 5 } as never))).toMatch(/did you mean timeout\?/);
    expect(message(() => throttle(cache, 1, 1, () => 1, { nme: 'x' } as never))).toMatch(
      /did you mean name\?/,
    );
    expect(message(() => new Cache(tempDir(), { memory: { maxEntires: 5 } } as never))).toMatch(
      /options.memory option "maxEntires".*did you mean maxEntries\?/,
    );
    expect(message(() => cache.setSync('k', 1, { frobnicate: 5 } as never))).not.toMatch(/did you mean/);
    cache.closeSync();
  });
});
