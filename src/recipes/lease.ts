import { randomUUID } from 'node:crypto';
import type { Cache } from '../cache/cache.js';
import type { WriteOptions } from '../cache/context.js';
import { checkTtl } from '../cache/ttl.js';
import { type AnyCache, method, transact } from '../cache/verbs.js';
import { CacheError, LockTimeoutError } from '../errors.js';
import { assertKey, type Key } from '../format/key.js';
import { call, type Op, sleep } from '../fs/runner.js';
import { defineMethod, installTwins, over } from '../fs/twins.js';
import { describeProcess, HOST, provablyDead } from '../identity.js';
import { checkOptions } from '../option-names.js';

/** Options shared by the lock recipes. */
export interface LeaseOptions {
  /**
   * Milliseconds after which a held lock expires by itself, so that a holder that crashed (on any
   * host) does not block the others forever. A holder on the same host that died is detected at once,
   * whatever the ttl. `0` or `null`: never expires.
   * @default 600_000 (10 minutes)
   */
  ttl?: number | null;
  /**
   * Milliseconds that `acquire` waits before throwing a `LockTimeoutError`.
   * @default the cache's `options.timeout` (60 s unless configured)
   */
  timeout?: number;
  /** A tag stored with the lock's entry (for `cache.evict(tag)`). */
  tag?: Key | null;
}

/** Options of `acquire`. */
export interface AcquireOptions {
  /** Overrides the lock's `timeout` for this call. */
  timeout?: number;
}

/** The default {@link LeaseOptions.ttl}. */
export const DEFAULT_LEASE_TTL = 10 * 60 * 1000;

/** Who holds a lock, as stored in its entry (a JSON string, so that every codec can store it). */
export interface Holder {
  host: string;
  pid: number;
  token: string;
  /** Re-entrant acquisitions (RLock only). */
  count?: number;
}

/** A fresh holder record for this process. */
export function newHolder(): Holder {
  return { host: HOST, pid: process.pid, token: randomUUID() };
}

export function encodeHolder(holder: Holder): string {
  return JSON.stringify(holder);
}

/** The holder recorded in a stored value, or `undefined` if the value is not a holder record. */
export function parseHolder(value: unknown): Holder | undefined {
  if (typeof value !== 'string' || !value.startsWith('{')) return undefined;
  try {
    const h = JSON.parse(value) as Holder;
    return typeof h.host === 'string' && typeof h.pid === 'number' && typeof h.token === 'string'
      ? h
      : undefined;
  } catch {
    return undefined;
  }
}

/** Whether the holder ran on this host and its process is gone. */
export function holderIsDead(holder: Holder | undefined): boolean {
  return holder !== undefined && provablyDead(holder.host, holder.pid);
}

/** Validates the shared options and resolves the defaults against `cache`. */
export function resolveLease(
  cache: AnyCache,
  key: Key,
  options: LeaseOptions,
  extra: readonly string[] = [],
): LeaseTerms {
  assertKey(key);
  checkOptions(options, new Set(['ttl', 'timeout', 'tag', ...extra]), 'lock');
  const ttl = options.ttl === undefined ? DEFAULT_LEASE_TTL : checkTtl(options.ttl);
  const timeout = checkTimeout(options.timeout) ?? cache.options.timeout;
  if (options.tag !== undefined && options.tag !== null) assertKey(options.tag, 'tag');
  return { write: { ttl, tag: options.tag ?? null }, timeout };
}

/** A lock's validated options: how its entries are written, and how long `acquire` waits by default. */
export interface LeaseTerms {
  write: WriteOptions;
  timeout: number;
}

/** How long this `acquire` waits: its own `timeout`, or the lock's. */
export function waitFor(terms: LeaseTerms, options: AcquireOptions | undefined): number {
  return checkTimeout(options?.timeout) ?? terms.timeout;
}

/** Validates a timeout option. */
function checkTimeout(timeout: unknown): number | undefined {
  if (timeout === undefined) return undefined;
  if (typeof timeout !== 'number' || Number.isNaN(timeout) || timeout < 0) {
    throw new RangeError('diskcache-ts: timeout must be a non-negative number of milliseconds');
  }
  return timeout;
}

/**
 * A key derived from a user's key, for the entries a recipe keeps beside it (a semaphore's permits).
 * The NUL separators keep it apart from ordinary keys.
 */
export function derivedKey(key: Key, part: string): string {
  if (typeof key === 'string') return `${key}\u0000${part}`;
  const shown = key instanceof Uint8Array ? Buffer.from(key).toString('hex') : String(key);
  const type = key instanceof Uint8Array ? 'bytes' : typeof key;
  return `\u0000${type}:${shown}\u0000${part}`;
}

/**
 * Removes `key` only if it still holds `expected` (in a transaction, whose removal applies only to
 * the entry it read). Returns whether it removed it.
 */
export function* deleteIfSame(cache: Cache<unknown>, key: Key, expected: string): Op<boolean> {
  return yield* transact(cache, function* (view) {
    if ((yield* method(view, 'get', key)) !== expected) return false;
    return yield* method(view, 'delete', key);
  });
}

/** The result of one attempt to take a lock: taken, or who holds it. */
type Attempt<T> = { taken: true; value: T } | { taken: false; holder?: Holder | undefined };

/**
 * Inside a transaction: stores `mine` under `key` if no live entry is there, or if the one there
 * names a holder that provably died. Returns who holds it otherwise. (A transaction rather than
 * `cache.add`: every change to a lock entry, taking, releasing or taking over, is then serialized.)
 */
function* takeIfFree(
  view: Cache<unknown>,
  key: Key,
  mine: string,
  write: WriteOptions,
): Op<{ taken: boolean; holder?: Holder | undefined }> {
  const current = yield* method(view, 'get', key);
  const holder = parseHolder(current);
  if (current !== undefined && !holderIsDead(holder)) return { taken: false, holder };
  yield* method(view, 'set', key, mine, write);
  return { taken: true };
}

/**
 * Waits until one of `keys` (a lock's key, a semaphore's permits) is free and takes it for a new
 * holder: each attempt is one transaction that tries them in turn from a random one. Returns the key
 * taken and the holder record stored under it (what releasing it checks).
 */
export function* takeAny(
  what: string,
  cache: Cache<unknown>,
  keys: readonly Key[],
  terms: LeaseTerms,
  options: AcquireOptions | undefined,
): Op<[Key, string]> {
  const mine = encodeHolder(newHolder());
  const taken = yield* spin(what, cache.directory, waitFor(terms, options), () => {
    const first = Math.floor(Math.random() * keys.length);
    return transact(cache, function* (view): Op<Attempt<Key>> {
      let holder: Holder | undefined;
      for (let i = 0; i < keys.length; i++) {
        const key = keys[(first + i) % keys.length] as Key;
        const attempt = yield* takeIfFree(view, key, mine, terms.write);
        if (attempt.taken) return { taken: true, value: key };
        holder ??= attempt.holder;
      }
      return { taken: false, holder };
    });
  });
  return [taken, mine];
}

const FIRST_DELAY_MS = 1;
const MAX_DELAY_MS = 50;

/**
 * Repeats `attempt` with jittered exponential backoff (1 ms up to 50 ms) until it takes the lock, or
 * throws a {@link LockTimeoutError} once `timeout` milliseconds have passed. `timeout: 0` tries once.
 */
export function* spin<T>(
  what: string,
  directory: string,
  timeout: number,
  attempt: () => Op<Attempt<T>>,
): Op<T> {
  const start = performance.now();
  let delay = FIRST_DELAY_MS;
  for (;;) {
    const result = yield* attempt();
    if (result.taken) return result.value;
    const waited = performance.now() - start;
    if (waited >= timeout) {
      throw new LockTimeoutError(
        `${what} in ${directory} is held by ${describeProcess(result.holder)}; gave up after ${Math.round(waited)} ms. raise the timeout option (a holder that crashed loses the lock when its ttl runs out)`,
        { directory, ...(result.holder ? { holder: describeProcess(result.holder) } : {}) },
      );
    }
    const pause = Math.min(delay * (0.5 + Math.random()), timeout - waited);
    yield* sleep(pause);
    delay = Math.min(delay * 2, MAX_DELAY_MS);
  }
}

/** The error for releasing a lock that this instance does not hold. */
export function notHeld(what: string, directory: string, key: Key): CacheError {
  return new CacheError(
    'ENOTHELD',
    `cannot release ${what}: this instance does not hold it (never acquired, already released, or its ttl ran out and another holder took it)`,
    { key, directory },
  );
}

/** Quotes a key for messages. */
export function showKey(key: Key): string {
  return typeof key === 'string' ? JSON.stringify(key) : key instanceof Uint8Array ? '<bytes>' : String(key);
}

/**
 * The methods that {@link Lock}, {@link RLock} and {@link BoundedSemaphore} share: each exists as
 * `name()` (a Promise) and `nameSync()` (which blocks the thread while it waits).
 */
export interface Lease {
  /**
   * Waits until the lock is free (a permit, for a semaphore) and takes it; returns the lock, so that
   * `await using held = await lock.acquire()` releases it at the end of the scope.
   * @throws LockTimeoutError after `timeout` milliseconds.
   */
  acquire(options?: AcquireOptions): Promise<this>;
  /** {@link acquire}, synchronously (blocks the thread while it waits). */
  acquireSync(options?: AcquireOptions): this;
  /**
   * Releases what this instance took last.
   * @throws CacheError `'ENOTHELD'` if this instance does not hold it (for example because its ttl
   * ran out and another holder took it: the critical section was not protected to the end).
   */
  release(): Promise<void>;
  /** {@link release}, synchronously. */
  releaseSync(): void;
  /** Whether it is taken (for a semaphore: every permit), so that an `acquire` would wait. */
  locked(): Promise<boolean>;
  /** {@link locked}, synchronously. */
  lockedSync(): boolean;
  /** Runs `fn` holding the lock, and releases it however `fn` ends. */
  withLock<T>(fn: () => T | Promise<T>): Promise<T>;
  /** {@link withLock} for a synchronous `fn`. */
  withLockSync<T>(fn: () => T): T;
  /** Releases what this instance took last, if it holds anything (`using held = lock.acquireSync()`). */
  [Symbol.dispose](): void;
  /** Releases what this instance took last, if it holds anything (`await using held = await lock.acquire()`). */
  [Symbol.asyncDispose](): Promise<void>;
}

/** What a lock class writes once: the installer makes every method of {@link Lease} from it. */
export interface LeaseOperations<T, H> {
  /** Takes the lock; returns what {@link release} gives back. */
  acquire(self: T, options: AcquireOptions | undefined): Op<H>;
  /** Gives back `held` (by default: what was taken last). */
  release(self: T, held?: H): Op<void>;
  /** Whether an `acquire` would wait. */
  locked(self: T): Op<boolean>;
  /** Whether this instance holds anything (for dispose). */
  holds(self: T): boolean;
}

/** Installs the methods of {@link Lease} on `target.prototype`, both surfaces of each, from `ops`. */
export function installLease<T extends object, H>(
  target: { prototype: T },
  ops: LeaseOperations<T, H>,
): void {
  installTwins(
    target,
    {
      *acquire(self: T, options?: AcquireOptions): Op<T> {
        yield* ops.acquire(self, options);
        return self;
      },
      release: (self: T) => ops.release(self),
      locked: (self: T) => ops.locked(self),
      *withLock(self: T, fn: () => unknown): Op<unknown> {
        const held = yield* ops.acquire(self, undefined);
        try {
          return yield* call(fn);
        } finally {
          yield* ops.release(self, held);
        }
      },
    },
    over((self: T) => self),
  );
  defineMethod(target.prototype, Symbol.dispose, function (this: T & Lease) {
    if (ops.holds(this)) this.releaseSync();
  });
  defineMethod(target.prototype, Symbol.asyncDispose, async function (this: T & Lease) {
    if (ops.holds(this)) await this.release();
  });
}
