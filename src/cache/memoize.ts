import { createHash } from 'node:crypto';
import type { Op } from '../fs/runner.js';
import { rejectUnknown } from '../option-names.js';
import type { CacheContext } from './context.js';
import {
  type Factory,
  type GetOrSetOptions,
  type GetOrSetPlan,
  getOrSet,
  type Invoke,
  planGetOrSet,
  type Served,
} from './get-or-set.js';
import { memoKey } from './memo-key.js';

/** Options of `memoize` and `memoizeSync`. */
export interface MemoizeOptions {
  /**
   * Names the function in its cache keys: functions memoized with the same name share results, in
   * every process and across restarts, whatever their code. Give one when the function's code may
   * change but its stored results stay good, or to share results on purpose.
   *
   * Without it the key holds `fn.name` and a digest of the function's source
   * (`Function.prototype.toString`), so two different functions that are both called `load` never
   * share results, and changing a function's code starts afresh. It is required where there is no
   * name or no source to tell functions apart: anonymous functions, bound functions (`bound find`)
   * and native functions (a `TypeError` otherwise). Closures made by one factory have the same name
   * and source: give them their own names if their results differ.
   * @default fn.name with a digest of its source
   */
  name?: string;
  /** Time to live of each result, in milliseconds (`0` or `null`: never expires). @default the cache's `ttl` option */
  ttl?: number | null | undefined;
  /** Tag stored with each result. */
  tag?: string;
  /** Tell arguments of different types apart (`1` from `'1'`). @default false */
  typed?: boolean;
  /** As `getOrSet`'s `grace`: an expired result is still served while one caller recomputes it, and when that fails. @default 0 */
  grace?: number;
  /** As `getOrSet`'s `softTimeout` (`memoize` only). */
  softTimeout?: number;
  /** As `getOrSet`'s `hardTimeout` (`memoize` only). */
  hardTimeout?: number;
  /**
   * Recompute a result early, before it expires, with a probability that rises as expiry nears
   * (XFetch): one caller recomputes while the others keep getting the stored result, so a hot key
   * never stampedes. 0 turns it off; 1 is the usual choice. Needs `ttl`. @default 0
   */
  beta?: number;
}

/** A memoized function: same parameters, a Promise of the result, and `cacheKey(...args)`. */
export type Memoized<A extends unknown[], R> = ((...args: A) => Promise<Awaited<R>>) & {
  /** The cache key that a call with these arguments uses. */
  cacheKey(...args: A): string;
};

/** A synchronously memoized function. */
export type MemoizedSync<A extends unknown[], R> = ((...args: A) => R) & {
  /** The cache key that a call with these arguments uses. */
  cacheKey(...args: A): string;
};

/** What is stored per call: the result and how long computing it took. */
interface Stored {
  result: unknown;
  computeMs: number;
}

function isStored(value: unknown): value is Stored {
  return typeof value === 'object' && value !== null && 'result' in value && 'computeMs' in value;
}

/** Validated options with the function's name. */
export interface MemoPlan {
  /** The function's identity in its keys: `options.name`, or its name and a digest of its source. */
  name: string;
  typed: boolean;
  beta: number;
  /** How each result is computed and stored. */
  getOrSet: GetOrSetPlan;
}

const MEMOIZE_OPTIONS = new Set([
  'name',
  'ttl',
  'tag',
  'typed',
  'beta',
  'grace',
  'softTimeout',
  'hardTimeout',
]);

/** What `Function.prototype.toString` gives for functions without source: bound and native ones. */
const NO_SOURCE = /\{\s*\[native code\]\s*\}\s*$/;

/** The default name of a function in its keys: its name and a digest of its source. */
function identity(fn: (...args: never) => unknown): string {
  if (fn.name === '')
    throw new TypeError('diskcache-ts: memoize needs options.name for an anonymous function');
  const source = Function.prototype.toString.call(fn);
  if (NO_SOURCE.test(source)) {
    throw new TypeError(
      `diskcache-ts: memoize needs options.name for "${fn.name}": a bound or native function has no source to tell it from another of the same name`,
    );
  }
  return `${fn.name}#${createHash('sha256').update(source).digest('hex').slice(0, 16)}`;
}

/** Validates `memoize` arguments (`sync`: for `memoizeSync`, which has no timeouts). */
export function planMemo(fn: unknown, options: MemoizeOptions = {}, sync = false): MemoPlan {
  if (typeof fn !== 'function') throw new TypeError('diskcache-ts: memoize needs a function');
  rejectUnknown(options, MEMOIZE_OPTIONS, 'memoize');
  const name = options.name ?? identity(fn as (...args: never) => unknown);
  if (typeof name !== 'string' || name === '')
    throw new TypeError('diskcache-ts: options.name must be a non-empty string');
  const beta = options.beta ?? 0;
  if (typeof beta !== 'number' || !(beta >= 0))
    throw new RangeError('diskcache-ts: beta must be a number >= 0');
  const { ttl, tag, grace, softTimeout, hardTimeout } = options;
  const computed: GetOrSetOptions = { ttl, tag: tag ?? null, grace, softTimeout, hardTimeout };
  const getOrSetPlan = planGetOrSet(fn, computed, sync);
  return { name, typed: options.typed === true, beta, getOrSet: getOrSetPlan };
}

/** The key of a call. */
export function callKey(plan: MemoPlan, args: readonly unknown[]): string {
  return memoKey(plan.name, args, plan.typed);
}

/** XFetch: whether to recompute a result that expires in `remainingMs` and took `computeMs` to compute. */
function recomputeEarly(plan: MemoPlan, remainingMs: number, computeMs: number): boolean {
  if (plan.beta === 0) return false;
  return computeMs * plan.beta * -Math.log(Math.random()) >= remainingMs;
}

/** The factory of one memoized call: runs the function and records how long it took. */
export function measured(run: () => unknown): Factory<unknown> {
  return () => {
    const start = performance.now();
    const result = run();
    const stored = (value: unknown): Stored => ({ result: value, computeMs: performance.now() - start });
    return result instanceof Promise ? result.then(stored) : stored(result);
  };
}

/**
 * One memoized call: `getOrSet` of the call's key, whose factory runs the function; XFetch may
 * elect one caller to recompute a stored result early while the others keep getting it.
 */
export function* memoizedCall(ctx: CacheContext, plan: MemoPlan, key: string, invoke: Invoke): Op<Served> {
  const early = ({ value, expiresAt }: { value: unknown; expiresAt: number | null }) =>
    isStored(value) &&
    expiresAt !== null &&
    recomputeEarly(plan, expiresAt - ctx.clock.now(), value.computeMs);
  const served = yield* getOrSet(ctx, key, plan.getOrSet, invoke, early);
  return { ...served, value: isStored(served.value) ? served.value.result : served.value };
}
