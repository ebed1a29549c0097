import type { Cache, CacheMethods } from '../cache/cache.js';
import type { Key } from '../format/key.js';

/**
 * One effect that a recipe or a collection asks for. Operations are written once, as generators
 * that yield steps; {@link runSync} performs the steps with the `…Sync` methods of `Cache`, and
 * {@link runAsync} with the Promise-returning ones. That is how every recipe and collection gets
 * both surfaces from one body (Babel's gensync works the same way).
 * @internal
 */
export type Step =
  | { readonly kind: 'call'; readonly cache: Cache<never>; readonly name: string; readonly args: unknown[] }
  | { readonly kind: 'list'; readonly cache: Cache<never>; readonly what: 'keys' | 'entries' }
  | {
      readonly kind: 'transact';
      readonly cache: Cache<never>;
      readonly body: (view: Cache<never>) => Steps<unknown>;
    }
  | { readonly kind: 'sleep'; readonly ms: number }
  | { readonly kind: 'invoke'; readonly fn: () => unknown };

/** A generator of {@link Step}s that returns a `T`. @internal */
export type Steps<T> = Generator<Step, T, unknown>;

/**
 * A cache of any value type. The recipes take one of these: they store only their own strings in it,
 * so a `Cache<User>` serves as well as a `Cache<unknown>`.
 */
// biome-ignore lint/suspicious/noExplicitAny: `Cache<V>` is invariant in V; any V will do here.
export type AnyCache = Cache<any>;

type Method<V, K extends keyof CacheMethods<V>> = CacheMethods<V>[K];

/** Calls `cache[name](...args)` (or its `Sync` twin) and returns the result. */
export function* call<V, K extends keyof CacheMethods<V>>(
  cache: Cache<V>,
  name: K,
  ...args: Parameters<Method<V, K>>
): Steps<ReturnType<Method<V, K>>> {
  return (yield { kind: 'call', cache: cache as unknown as Cache<never>, name, args }) as ReturnType<
    Method<V, K>
  >;
}

/** Every live key (or `[key, value]`) of `cache`, as an array. Reads every entry: O(n). */
export function list<V>(cache: Cache<V>, what: 'keys'): Steps<Key[]>;
export function list<V>(cache: Cache<V>, what: 'entries'): Steps<[Key, V][]>;
export function* list<V>(cache: Cache<V>, what: 'keys' | 'entries'): Steps<unknown[]> {
  return (yield { kind: 'list', cache: cache as unknown as Cache<never>, what }) as unknown[];
}

/**
 * Runs `body` in a transaction of `cache` (`cache.transact`): single-key writes made through `view`
 * are staged and become visible together when the body returns; removals apply only if the entry is
 * still the one that was read. Transactions run one at a time across processes.
 */
export function* transact<V, T>(cache: Cache<V>, body: (view: Cache<V>) => Steps<T>): Steps<T> {
  return (yield {
    kind: 'transact',
    cache: cache as unknown as Cache<never>,
    body: body as unknown as (view: Cache<never>) => Steps<unknown>,
  }) as T;
}

/**
 * Runs `body` while holding `cache`'s transaction lock (one per cache directory, shared by every
 * process), with the cache itself rather than a staged view: its writes apply at once, and the lock
 * only keeps the other transactions out. A cross-process mutex for sequences of operations that a
 * staged transaction cannot hold, such as queue operations.
 */
export function* mutex<V, T>(cache: Cache<V>, body: () => Steps<T>): Steps<T> {
  return yield* transact(cache, () => body());
}

/** Waits `ms` milliseconds (blocking the thread in the sync form). */
export function* sleep(ms: number): Steps<void> {
  yield { kind: 'sleep', ms };
}

/**
 * Calls a user's function: awaited in the async form; in the sync form a returned Promise is a
 * `TypeError` (the sync surface cannot wait for it).
 */
export function* invoke<T>(fn: () => T | Promise<T>): Steps<T> {
  return (yield { kind: 'invoke', fn }) as T;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

const sleeper = new Int32Array(new SharedArrayBuffer(4));

function performSync(step: Step): unknown {
  switch (step.kind) {
    case 'call':
      return (step.cache as unknown as Record<string, (...a: unknown[]) => unknown>)[`${step.name}Sync`]?.(
        ...step.args,
      );
    case 'list':
      return [...(step.what === 'keys' ? step.cache.keysSync() : step.cache.entriesSync())];
    case 'transact':
      return step.cache.transactSync((view) => runSync(step.body(view)));
    case 'sleep':
      if (step.ms > 0) Atomics.wait(sleeper, 0, 0, step.ms);
      return undefined;
    case 'invoke': {
      const result = step.fn();
      if (result instanceof Promise) {
        result.catch(() => {});
        throw new TypeError(
          'diskcache-ts: a …Sync method got a Promise from its function; use the async method for async functions',
        );
      }
      return result;
    }
  }
}

async function performAsync(step: Step): Promise<unknown> {
  switch (step.kind) {
    case 'call':
      return (step.cache as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[step.name]?.(
        ...step.args,
      );
    case 'list': {
      const items: unknown[] = [];
      const source = step.what === 'keys' ? step.cache.keys() : step.cache.entries();
      for await (const item of source) items.push(item);
      return items;
    }
    case 'transact':
      return step.cache.transact((view) => runAsync(step.body(view)));
    case 'sleep':
      return new Promise((resolve) => setTimeout(resolve, Math.max(0, step.ms)));
    case 'invoke':
      return step.fn();
  }
}

/** Runs `steps` to completion with the synchronous methods. @internal */
export function runSync<T>(steps: Steps<T>): T {
  let outcome: Outcome = { ok: true, value: undefined };
  for (;;) {
    const next: IteratorResult<Step, T> = outcome.ok ? steps.next(outcome.value) : steps.throw(outcome.error);
    if (next.done) return next.value;
    try {
      outcome = { ok: true, value: performSync(next.value) };
    } catch (error) {
      outcome = { ok: false, error };
    }
  }
}

/** Runs `steps` to completion with the Promise-returning methods. @internal */
export async function runAsync<T>(steps: Steps<T>): Promise<T> {
  let outcome: Outcome = { ok: true, value: undefined };
  for (;;) {
    const next: IteratorResult<Step, T> = outcome.ok ? steps.next(outcome.value) : steps.throw(outcome.error);
    if (next.done) return next.value;
    try {
      outcome = { ok: true, value: await performAsync(next.value) };
    } catch (error) {
      outcome = { ok: false, error };
    }
  }
}

/** What {@link iterateSync} and {@link iterateAsync} skip: an item that vanished while iterating. */
export const SKIP: unique symbol = Symbol('skip');

/**
 * Lazy iteration from one body: `items` lists what to visit (run once, up front), and `fetch` turns
 * each into the value to emit, or {@link SKIP}.
 * @internal
 */
export function* iterateSync<I, O>(items: () => Steps<I[]>, fetch: (item: I) => Steps<O | typeof SKIP>) {
  for (const item of runSync(items())) {
    const value = runSync(fetch(item));
    if (value !== SKIP) yield value as O;
  }
}

/** The async twin of {@link iterateSync}. @internal */
export async function* iterateAsync<I, O>(
  items: () => Steps<I[]>,
  fetch: (item: I) => Steps<O | typeof SKIP>,
) {
  for (const item of await runAsync(items())) {
    const value = await runAsync(fetch(item));
    if (value !== SKIP) yield value as O;
  }
}

/** The Promise-returning surface of a table of operations written with synchronous signatures. @internal */
export type AsyncSurface<M> = {
  [K in keyof M]: M[K] extends (...args: infer A) => infer R ? (...args: A) => Promise<R> : never;
};

/** The synchronous surface of a table of operations: the same names with a `Sync` suffix. @internal */
export type SyncSurface<M> = { [K in keyof M as `${K & string}Sync`]: M[K] };

/**
 * Installs `name()` (a Promise) and `nameSync()` on `target.prototype` for each operation of
 * `table`, each written once as a step generator; `select` picks what the operations work on from
 * the instance (it may read private fields, when defined in the class's static block).
 * @internal
 */
export function installSteps<T extends object, S>(
  target: { prototype: T },
  select: (self: T) => S,
  table: Record<string, (state: S, ...args: never[]) => Steps<unknown>>,
): void {
  for (const [name, operation] of Object.entries(table)) {
    const op = operation as (state: S, ...args: unknown[]) => Steps<unknown>;
    Object.defineProperty(target.prototype, name, {
      value: async function (this: T, ...args: unknown[]) {
        return runAsync(op(select(this), ...args));
      },
      writable: true,
      configurable: true,
    });
    Object.defineProperty(target.prototype, `${name}Sync`, {
      value: function (this: T, ...args: unknown[]) {
        return runSync(op(select(this), ...args));
      },
      writable: true,
      configurable: true,
    });
  }
}
