import { acquireLock, type HeldLock, type LockOptions, releaseLock } from '../coordination/lock.js';
import { CacheError, LockTimeoutError } from '../errors.js';
import { assertKey, encodeKey, type Key, keyHash } from '../format/key.js';
import { call, type Op } from '../fs/runner.js';
import { checkOptions } from '../option-names.js';
import { set } from './batch.js';
import type { CacheContext, WriteOptions } from './context.js';
import { listening } from './events.js';
import { type Found, getFreshOrStale } from './single.js';
import { checkGrace, checkTtl } from './ttl.js';

/**
 * `getOrSet(key, factory, options)`: the stored value if it is fresh, else the factory's, computed
 * once per key across every process that shares the directory (under the key's lock). The timeline
 * of an entry stored at `t` with `ttl` and `grace`:
 *
 * - until `t + ttl` it is fresh: returned, the factory is not called;
 * - until `t + ttl + grace` it is stale: one caller runs the factory while every other caller gets
 *   the stale value at once (stale-while-revalidate); if the factory fails or passes its hard
 *   timeout, the stale value is returned instead (stale-if-error); past the soft timeout, the caller
 *   gets the stale value and the factory finishes (and stores) in the background;
 * - after that it is gone: callers wait for the one computation.
 *
 * The stale window is kept in the entry itself, so every process and host sees the same one.
 */

/** Options of `getOrSet` and `getOrSetSync`. */
export interface GetOrSetOptions {
  /** Time to live of a computed value, in milliseconds (`0` or `null`: never expires). @default the cache's `ttl` option */
  ttl?: number | null | undefined;
  /** Tag stored with a computed value. */
  tag?: Key | null | undefined;
  /** Milliseconds after expiry during which the expired value may still be served (see the timeline). @default 0 */
  grace?: number | undefined;
  /**
   * With a stale value: milliseconds to wait for the factory before returning the stale value; the
   * factory then finishes and stores its result in the background. Async only.
   */
  softTimeout?: number | undefined;
  /**
   * Milliseconds to wait for the factory at all: then its `signal` aborts, and the call returns the
   * stale value if there is one, else rejects with a `CacheError` (`'EFACTORYTIMEOUT'`). Async only.
   */
  hardTimeout?: number | undefined;
  /** Gives up waiting (rejecting with the signal's reason) and aborts the factory's `signal`. Async only. */
  signal?: AbortSignal | undefined;
}

/** What a `getOrSet` factory is given, and what it may decide about the value it computes. */
export interface FactoryContext<V = unknown> {
  /** The key being computed. */
  readonly key: Key;
  /** The expired value still in its grace period, if there is one. */
  readonly stale: V | undefined;
  /** Aborted when the caller's `signal` aborts or the hard timeout passes: stop working then. */
  readonly signal: AbortSignal;
  /** Stores the value with this time to live instead of the option's (`0` or `null`: never expires). */
  setTtl(ttl: number | null): void;
  /** Stores the value with this tag instead of the option's (`null`: none). */
  setTag(tag: Key | null): void;
  /** Returns the value without storing it. */
  skip(): void;
}

/** A `getOrSet` factory: computes the value of `context.key`. */
export type Factory<V> = (context: FactoryContext<V>) => V | Promise<V>;

/** Validated options. */
export interface GetOrSetPlan {
  write: WriteOptions;
  softTimeout: number | undefined;
  hardTimeout: number | undefined;
  signal: AbortSignal | undefined;
}

/**
 * What became of a factory call: its value, its error (`always`: thrown even where a stale value
 * could be served: an abort, a misuse), or, past the soft timeout, the rest of it still running.
 */
export type FactoryOutcome =
  | { value: unknown }
  | { error: unknown; always?: boolean }
  | { late: Promise<FactoryOutcome> };

const OPTIONS = new Set(['ttl', 'tag', 'grace', 'softTimeout', 'hardTimeout', 'signal']);
const ASYNC_ONLY = ['softTimeout', 'hardTimeout', 'signal'] as const;

function checkTimeout(value: unknown, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new RangeError(`diskcache-ts: ${name} must be a finite number of milliseconds, 0 or more`);
  }
  return value;
}

/** Validates `getOrSet` options; `sync`: for `getOrSetSync`, which has no timeouts or signal. */
export function planGetOrSet(
  factory: unknown,
  options: GetOrSetOptions | undefined,
  sync: boolean,
): GetOrSetPlan {
  if (typeof factory !== 'function') throw new TypeError('diskcache-ts: getOrSet needs a factory function');
  const given = options ?? {};
  checkOptions(given, OPTIONS, 'getOrSet');
  if (sync) {
    for (const name of ASYNC_ONLY) {
      if (given[name] !== undefined)
        throw new TypeError(
          `diskcache-ts: ${name} needs getOrSet (async); getOrSetSync cannot interrupt a factory`,
        );
    }
  }
  const signal = given.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal))
    throw new TypeError('diskcache-ts: signal must be an AbortSignal');
  checkTtl(given.ttl);
  checkGrace(given.grace);
  if (given.tag !== undefined && given.tag !== null) assertKey(given.tag, 'tag');
  return {
    write: { ttl: given.ttl, tag: given.tag, grace: given.grace },
    softTimeout: checkTimeout(given.softTimeout, 'softTimeout'),
    hardTimeout: checkTimeout(given.hardTimeout, 'hardTimeout'),
    signal,
  };
}

/**
 * The context a factory is called with; what it decided is read back when storing. Its methods are
 * bound, so that a factory may destructure them (`({ setTtl, skip }) => …`).
 */
class Computation implements FactoryContext {
  readonly #controller = new AbortController();
  readonly #write: WriteOptions;
  skipped = false;

  constructor(
    readonly key: Key,
    readonly stale: unknown,
    write: WriteOptions,
  ) {
    this.#write = { ...write };
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }
  readonly setTtl = (ttl: number | null): void => {
    this.#write.ttl = checkTtl(ttl);
  };
  readonly setTag = (tag: Key | null): void => {
    this.#write.tag = tag;
  };
  readonly skip = (): void => {
    this.skipped = true;
  };
  /** Aborts the factory's signal. */
  abort(reason: unknown): void {
    this.#controller.abort(reason);
  }
  /** The write options the value is stored with. */
  get write(): WriteOptions {
    return this.#write;
  }
}

/** A factory still running past its soft timeout: the lock stays held until it is settled. */
export interface Late {
  pending: Promise<FactoryOutcome>;
  lock: HeldLock;
  computation: Computation;
  stale: { value: unknown };
}

/** How a flow calls the factory: directly (sync), or raced against timeouts (async). */
export type Invoke = (
  computation: Computation,
  hasStale: boolean,
) => FactoryOutcome | Promise<FactoryOutcome>;

/** Calls a synchronous factory. */
export function invokeSync(factory: Factory<unknown>): Invoke {
  return (computation) => {
    try {
      const value = factory(computation);
      if (value instanceof Promise) {
        const error = new TypeError(
          'diskcache-ts: a synchronous getOrSetSync or memoizeSync got a Promise from its function; use getOrSet() or memoize() for async functions',
        );
        return { error, always: true };
      }
      return { value };
    } catch (error) {
      return { error };
    }
  };
}

/** Resolves after `ms` unless `cancel` aborts first. */
function after(ms: number, cancel: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (cancel.aborted) return;
    const timer = setTimeout(resolve, ms);
    cancel.addEventListener('abort', () => clearTimeout(timer), { once: true });
  });
}

/** Calls a factory, raced against the plan's hard timeout, the caller's signal and (with a stale value) its soft timeout. */
export function invokeAsync(factory: Factory<unknown>, plan: GetOrSetPlan): Invoke {
  return (computation, hasStale) => {
    const done = new AbortController();
    const racers: Promise<FactoryOutcome>[] = [
      (async () => {
        try {
          return { value: await factory(computation) };
        } catch (error) {
          return { error };
        }
      })(),
    ];
    const { hardTimeout, signal, softTimeout } = plan;
    if (hardTimeout !== undefined) {
      racers.push(
        after(hardTimeout, done.signal).then(() => {
          const error = new CacheError(
            'EFACTORYTIMEOUT',
            `the factory of key ${String(computation.key)} took longer than hardTimeout (${hardTimeout} ms)`,
            { key: computation.key },
          );
          computation.abort(error);
          return { error };
        }),
      );
    }
    if (signal !== undefined) {
      racers.push(
        new Promise<FactoryOutcome>((resolve) => {
          const aborted = () => {
            computation.abort(signal.reason);
            resolve({ error: signal.reason, always: true });
          };
          if (signal.aborted) aborted();
          else signal.addEventListener('abort', aborted, { once: true, signal: done.signal });
        }),
      );
    }
    const settled = Promise.race(racers).finally(() => done.abort());
    if (!hasStale || softTimeout === undefined) return settled;
    return Promise.race([settled, after(softTimeout, done.signal).then(() => ({ late: settled }))]);
  };
}

/**
 * How the key's lock is taken: as the cache's locks are, with a lease that outlasts the hard timeout
 * (a holder is presumed dead only after its lease: a factory that runs longer without one may be run
 * again by another process).
 */
function lockOptions(ctx: CacheContext, plan: GetOrSetPlan): LockOptions {
  const leaseMs = Math.max(ctx.lock.leaseMs, (plan.hardTimeout ?? 0) + LEASE_MARGIN_MS);
  return { ...ctx.lock, leaseMs };
}

/** What a lease adds to the hard timeout: time to store the value and release the lock. */
const LEASE_MARGIN_MS = 10_000;

/** The key's lock if it is free now, else `undefined` (another caller is computing). */
function* tryLock(options: LockOptions, path: string): Op<HeldLock | undefined> {
  try {
    return yield* acquireLock(path, { ...options, timeout: 0 });
  } catch (error) {
    if (error instanceof LockTimeoutError) return undefined;
    throw error;
  }
}

/** What a flow returns: the value for the caller, and a factory still running in the background. */
export interface Served {
  value: unknown;
  late?: Late;
}

/** Stores what the factory computed (unless it skipped) and returns the value for the caller. */
function* settle(
  ctx: CacheContext,
  computation: Computation,
  outcome: Exclude<FactoryOutcome, { late: unknown }>,
  stale: { value: unknown } | undefined,
): Op<unknown> {
  if ('error' in outcome) {
    if (stale === undefined || outcome.always === true) throw outcome.error;
    if (listening(ctx.events, 'factoryError'))
      ctx.events.emit('factoryError', { key: computation.key, error: outcome.error });
    return stale.value;
  }
  if (!computation.skipped) yield* set(ctx, computation.key, outcome.value, computation.write);
  return outcome.value;
}

/**
 * One `getOrSet` call (see the timeline above), written once for both surfaces. `refreshEarly`
 * may elect a fresh value for recomputing as if it were stale (memoize's early recomputation).
 */
export function* getOrSet(
  ctx: CacheContext,
  key: Key,
  plan: GetOrSetPlan,
  invoke: Invoke,
  refreshEarly?: (found: Found) => boolean,
): Op<Served> {
  const found = yield* getFreshOrStale(ctx, key);
  const early = found !== undefined && !found.stale && refreshEarly?.(found) === true;
  if (found !== undefined && !found.stale && !early) return { value: found.value };
  const path = ctx.layout.keyLock(keyHash(encodeKey(key)));
  const options = lockOptions(ctx, plan);
  const lock = found === undefined ? yield* acquireLock(path, options) : yield* tryLock(options, path);
  if (lock === undefined) return { value: (found as Found).value };
  let late: Late | undefined;
  try {
    // Read again under the lock: the caller that held it may have just stored a fresh value.
    const again = yield* getFreshOrStale(ctx, key);
    const refreshed = again !== undefined && !again.stale && (!early || again.storedAt !== found.storedAt);
    if (refreshed) return { value: again.value };
    const computation = new Computation(key, again?.value, plan.write);
    const outcome = (yield* call(() => invoke(computation, again !== undefined))) as FactoryOutcome;
    if (!('late' in outcome)) return { value: yield* settle(ctx, computation, outcome, again) };
    const stale = again as { value: unknown };
    late = { pending: outcome.late, lock, computation, stale };
    return { value: stale.value, late };
  } finally {
    if (late === undefined) yield* releaseLock(lock);
  }
}

/** Settles a factory that ran past its soft timeout (its caller got the stale value), then releases the key's lock. */
export function* settleLate(ctx: CacheContext, late: Late, outcome: FactoryOutcome): Op<void> {
  try {
    if ('late' in outcome) return;
    // The caller has its value already: an error is only told.
    const told = 'error' in outcome ? { error: outcome.error } : outcome;
    yield* settle(ctx, late.computation, told, late.stale);
  } finally {
    yield* releaseLock(late.lock);
  }
}
