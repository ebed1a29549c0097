import { MAX_GRACE_MS } from '../format/entry.js';

/**
 * The one rule for a time to live, as Node caches mean it (lru-cache, Keyv, cache-manager):
 * milliseconds; `0`, `null` and `undefined` never expire; negative, `NaN` and infinite values are
 * a `RangeError`, anything but a number a `TypeError`.
 */

/**
 * Validates `ttl` and returns it in milliseconds, or `null` where it never expires (`0`, `null`,
 * `undefined`). `what` names it in the error messages.
 */
export function checkTtl(ttl: unknown, what = 'ttl'): number | null {
  if (ttl === undefined || ttl === null || ttl === 0) return null;
  if (typeof ttl !== 'number') {
    throw new TypeError(`diskcache-ts: ${what} must be a number of milliseconds (0 or null: never expires)`);
  }
  if (!Number.isFinite(ttl) || ttl < 0) {
    throw new RangeError(
      `diskcache-ts: ${what} must be a finite number of milliseconds, 0 or more (0 or null: never expires), not ${ttl}`,
    );
  }
  return ttl;
}

/**
 * When an entry written at `now` with `ttl` expires (`null`: never). `ttl` omitted (`undefined`)
 * takes `defaultTtl`, the instance's default, already checked.
 */
export function expiryOf(ttl: unknown, defaultTtl: number | null, now: number): number | null {
  const ms = ttl === undefined ? defaultTtl : checkTtl(ttl);
  return ms === null ? null : now + ms;
}

/**
 * Validates a grace period (`getOrSet`'s stale window) and returns it in milliseconds: `undefined`
 * is 0; anything but a whole number from 0 to {@link MAX_GRACE_MS} is a `RangeError` (a `TypeError`
 * if not a number).
 */
export function checkGrace(grace: unknown): number {
  if (grace === undefined) return 0;
  if (typeof grace !== 'number') throw new TypeError('diskcache-ts: grace must be a number of milliseconds');
  if (!Number.isInteger(grace) || grace < 0 || grace > MAX_GRACE_MS) {
    throw new RangeError(
      `diskcache-ts: grace must be a whole number of milliseconds from 0 to ${MAX_GRACE_MS} (about 49 days), not ${grace}`,
    );
  }
  return grace;
}
