import type { Cache } from '../cache/cache.js';
import type { Clock } from '../cache/options.js';
import { type AnyCache, method, transact } from '../cache/verbs.js';
import { assertKey, type Key } from '../format/key.js';
import { type Op, runAsync, runSync, sleep } from '../fs/runner.js';
import { rejectUnknown } from '../option-names.js';
import { parsePair } from './pair.js';

const THROTTLE_OPTIONS = new Set(['name', 'clock']);

/** Options of {@link throttle}. */
export interface ThrottleOptions {
  /**
   * The key of the shared token bucket: every wrapper (in any process) with the same cache and name
   * draws from one bucket.
   * @default `throttle:` + `fn.name` (required if `fn` is anonymous)
   */
  name?: Key;
  /**
   * The clock the bucket refills by. Processes that share a bucket must share a time base: the
   * default wall clock does.
   * @default Date
   */
  clock?: Clock;
}

const WALL_CLOCK: Clock = { now: () => Date.now() };

interface Bucket {
  cache: Cache<unknown>;
  key: Key;
  count: number;
  /** Tokens per millisecond. */
  rate: number;
  clock: Clock;
}

/**
 * Takes a token from the bucket, waiting for one if it is empty (python-diskcache's algorithm: in a
 * transaction, refill by the time elapsed, capped at `count`; take one if there is one, else sleep
 * until there will be and try again). A missing bucket is full.
 */
function* takeToken(b: Bucket): Op<void> {
  for (;;) {
    const wait = yield* transact(b.cache, function* (view) {
      const now = b.clock.now();
      const [last, stored] = parsePair(yield* method(view, 'get', b.key)) ?? [now, b.count];
      const tally = Math.min(stored + Math.max(0, now - last) * b.rate, b.count);
      if (tally < 1) return (1 - tally) / b.rate;
      yield* method(view, 'set', b.key, JSON.stringify([now, tally - 1]));
      return 0;
    });
    if (wait === 0) return;
    yield* sleep(wait);
  }
}

function bucketFor(
  cache: AnyCache,
  count: number,
  seconds: number,
  fn: (...args: never[]) => unknown,
  options: ThrottleOptions,
): Bucket {
  if (typeof fn !== 'function') throw new TypeError('diskcache-ts: throttle needs a function to wrap');
  if (!(typeof count === 'number' && count >= 1)) {
    throw new RangeError('diskcache-ts: throttle count must be a number of calls >= 1');
  }
  if (!(typeof seconds === 'number' && seconds > 0)) {
    throw new RangeError('diskcache-ts: throttle seconds must be a positive number');
  }
  rejectUnknown(options, THROTTLE_OPTIONS, 'throttle');
  let key = options.name;
  if (key === undefined) {
    if (!fn.name) throw new TypeError('diskcache-ts: throttle of an anonymous function needs options.name');
    key = `throttle:${fn.name}`;
  }
  assertKey(key, 'name');
  return { cache, key, count, rate: count / (seconds * 1000), clock: options.clock ?? WALL_CLOCK };
}

/**
 * Wraps `fn` so that all its calls, in every process that uses the same cache and name, run at most
 * `count` times per `seconds` on average (a token bucket holding up to `count` tokens, kept in the
 * cache). A call that finds the bucket empty waits for its turn. The wrapper returns a Promise.
 *
 * @example
 * const fetchPage = throttle(cache, 10, 1, async (url: string) => (await fetch(url)).text());
 * await fetchPage('https://example.com'); // at most 10 per second across processes
 */
export function throttle<A extends unknown[], R>(
  cache: AnyCache,
  count: number,
  seconds: number,
  fn: (...args: A) => R,
  options: ThrottleOptions = {},
): (...args: A) => Promise<Awaited<R>> {
  const bucket = bucketFor(cache, count, seconds, fn, options);
  return async (...args: A): Promise<Awaited<R>> => {
    await runAsync(undefined, takeToken(bucket));
    return await fn(...args);
  };
}

/** {@link throttle} for synchronous callers: the wrapper blocks the thread while it waits. */
export function throttleSync<A extends unknown[], R>(
  cache: AnyCache,
  count: number,
  seconds: number,
  fn: (...args: A) => R,
  options: ThrottleOptions = {},
): (...args: A) => R {
  const bucket = bucketFor(cache, count, seconds, fn, options);
  return (...args: A) => {
    runSync(undefined, takeToken(bucket));
    return fn(...args);
  };
}
