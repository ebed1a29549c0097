import type { FileSystem, SyncFileSystem } from './backend.js';
import { sleepAsync, sleepSync } from './sleep.js';
import { turnPause } from './turns.js';

/** The name of one file-system primitive. */
export type IoName = keyof SyncFileSystem;

/** A request, yielded by an operation, to run one file-system primitive. */
export interface IoEffect {
  readonly io: IoName;
  readonly args: readonly unknown[];
}

/** A value handed out by an iterating operation (see {@link iterateSync}). */
export interface EmitEffect {
  readonly emit: unknown;
}

/**
 * A request to run user code: the async runner awaits what it returns; on the sync surface a
 * returned Promise is a `TypeError`.
 */
export interface CallEffect {
  readonly call: () => unknown;
}

/** A leaf effect with a synchronous and an asynchronous form: each runner calls its own. */
export interface TwinEffect {
  readonly twin: { readonly sync: () => unknown; readonly async: () => Promise<unknown> };
}

/** What operations yield. */
export type Effect = IoEffect | EmitEffect | CallEffect | TwinEffect;

/**
 * An operation: a generator that yields effects and returns `T`. Written once, it is driven
 * synchronously by {@link runSync} or asynchronously by {@link runAsync}.
 */
export type Op<T> = Generator<Effect, T, unknown>;

/** Runs one file-system primitive from inside an operation: `const data = yield* io('readFile', path)`. */
export function* io<K extends IoName>(
  name: K,
  ...args: Parameters<SyncFileSystem[K]>
): Op<ReturnType<SyncFileSystem[K]>> {
  return (yield { io: name, args }) as ReturnType<SyncFileSystem[K]>;
}

/**
 * Runs user code `fn` from inside an operation (a memoized function, a lock holder's body): the
 * async runner awaits what it returns; the sync runner refuses a returned Promise with a
 * `TypeError`, since it cannot wait for it.
 */
export function* call<T>(fn: () => T | Promise<T>): Op<T> {
  return (yield { call: fn }) as T;
}

/**
 * Computes `sync()` when run synchronously, `await async()` when run asynchronously: work with an
 * off-thread async form (compressing a large value on the thread pool), or a method with a `…Sync`
 * twin.
 */
export function* twin<T>(sync: () => T, async: () => Promise<T>): Op<T> {
  return (yield { twin: { sync, async } }) as T;
}

/** Waits `ms` milliseconds (blocking the thread in the sync form). */
export function sleep(ms: number): Op<void> {
  return twin(
    () => sleepSync(ms),
    () => sleepAsync(ms),
  );
}

/**
 * Runs `ops` (operations that do no file-system I/O, such as calls of cache methods) and returns
 * their results in order: one after another on the sync surface, concurrently on the async one.
 */
export function all<T>(ops: readonly Op<T>[]): Op<T[]> {
  return twin(
    () => ops.map((op) => runSync(undefined, op)),
    () => Promise.all(ops.map((op) => runAsync(undefined, op))),
  );
}

/** Hands `item` to whoever iterates the operation. */
export function* emit(item: unknown): Op<void> {
  yield { emit: item };
}

function isEmit(effect: Effect): effect is EmitEffect {
  return 'emit' in effect;
}

const NO_FILE_SYSTEM = 'diskcache-ts: internal error: an operation run without a file system asked for I/O';

function fileSystem(fs: FileSystem | undefined): FileSystem {
  if (fs === undefined) throw new Error(NO_FILE_SYSTEM);
  return fs;
}

/** Calls user code on the sync surface, which cannot wait for a Promise. */
function callSyncUser(fn: () => unknown): unknown {
  const result = fn();
  if (result instanceof Promise) {
    result.catch(() => {});
    throw new TypeError(
      'diskcache-ts: a …Sync method got a Promise from its function; use the async method for async functions',
    );
  }
  return result;
}

/**
 * Drives an operation synchronously, as an iterable of what it emits; the operation's result is the
 * return value. `fs` is where its `io` effects go (none: an operation of Cache methods).
 */
export function* iterateSync<T, R = void>(fs: FileSystem | undefined, op: Op<R>): Generator<T, R, undefined> {
  fs?.beginOperation?.();
  let step = op.next();
  while (!step.done) {
    const effect = step.value;
    if (isEmit(effect)) {
      yield effect.emit as T;
      step = op.next();
      continue;
    }
    let result: unknown;
    try {
      if ('call' in effect) result = callSyncUser(effect.call);
      else if ('twin' in effect) result = effect.twin.sync();
      else result = (fileSystem(fs).sync[effect.io] as (...a: unknown[]) => unknown)(...effect.args);
    } catch (error) {
      step = op.throw(error);
      continue;
    }
    step = op.next(result);
  }
  return step.value;
}

/**
 * Drives an operation asynchronously, as an async iterable of what it emits; the operation's result
 * is the return value. With a file system, each step (the start, each effect) first waits for a
 * later turn of the event loop if this turn's budget is spent (see {@link turnPause}); without one,
 * the operation's steps are calls of `Cache` methods, which take their turns themselves.
 */
export async function* iterateAsync<T, R = void>(
  fs: FileSystem | undefined,
  op: Op<R>,
): AsyncGenerator<T, R, undefined> {
  const pause = fs === undefined ? () => undefined : turnPause;
  let room = pause();
  if (room !== undefined) await room;
  fs?.beginOperation?.();
  let step = op.next();
  while (!step.done) {
    const effect = step.value;
    if (isEmit(effect)) {
      yield effect.emit as T;
      step = op.next();
      continue;
    }
    room = pause();
    if (room !== undefined) await room;
    let result: unknown;
    try {
      if ('call' in effect) result = await effect.call();
      else if ('twin' in effect) result = await effect.twin.async();
      else
        result = await (fileSystem(fs).async[effect.io] as (...a: unknown[]) => Promise<unknown>)(
          ...effect.args,
        );
    } catch (error) {
      step = op.throw(error);
      continue;
    }
    step = op.next(result);
  }
  return step.value;
}

const MUST_ITERATE = 'diskcache-ts: internal error: an emitting operation must be iterated';

/** Drives an operation to completion synchronously (`fs`: see {@link iterateSync}). */
export function runSync<T>(fs: FileSystem | undefined, op: Op<T>): T {
  const step = iterateSync<unknown, T>(fs, op).next();
  if (!step.done) throw new Error(MUST_ITERATE);
  return step.value;
}

/** Drives an operation to completion asynchronously (`fs`: see {@link iterateSync}). */
export async function runAsync<T>(fs: FileSystem | undefined, op: Op<T>): Promise<T> {
  const step = await iterateAsync<unknown, T>(fs, op).next();
  if (!step.done) throw new Error(MUST_ITERATE);
  return step.value;
}
