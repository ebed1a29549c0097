import type { FileSystem, SyncFileSystem } from './backend.js';
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

/** A request to run a function that is not file-system I/O (user code), awaited by the async runner. */
export interface CallEffect {
  readonly call: () => unknown;
}

/**
 * A request to compute something that has a synchronous form and an asynchronous one off the event
 * loop (compressing a large value on the thread pool): each runner calls its own.
 */
export interface OffloadEffect {
  readonly offload: { readonly sync: () => unknown; readonly async: () => Promise<unknown> };
}

/** What operations yield. */
export type Effect = IoEffect | EmitEffect | CallEffect | OffloadEffect;

/**
 * An operation: a generator that yields file-system effects and returns `T`. Written once, it is
 * driven synchronously by {@link runSync} or asynchronously by {@link runAsync}.
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
 * Runs `fn` from inside an operation; the async runner awaits what it returns. This is how an
 * operation calls user code (a memoized function) in both the sync and the async form.
 */
export function* call<T>(fn: () => T): Op<Awaited<T>> {
  return (yield { call: fn }) as Awaited<T>;
}

/** Computes `sync()` when run synchronously, `await async()` when run asynchronously. */
export function* offload<T>(sync: () => T, async: () => Promise<T>): Op<T> {
  return (yield { offload: { sync, async } }) as T;
}

/** Hands `item` to whoever iterates the operation. */
export function* emit(item: unknown): Op<void> {
  yield { emit: item };
}

function isEmit(effect: Effect): effect is EmitEffect {
  return 'emit' in effect;
}

/** Drives an operation synchronously, as an iterable of what it emits; the operation's result is the return value. */
export function* iterateSync<T, R = void>(fs: FileSystem, op: Op<R>): Generator<T, R, undefined> {
  fs.beginOperation?.();
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
      if ('call' in effect) result = effect.call();
      else if ('offload' in effect) result = effect.offload.sync();
      else result = (fs.sync[effect.io] as (...a: unknown[]) => unknown)(...effect.args);
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
 * is the return value. Each step (the start, each effect) first waits for a later turn of the event
 * loop if this turn's budget is spent (see {@link turnPause}).
 */
export async function* iterateAsync<T, R = void>(fs: FileSystem, op: Op<R>): AsyncGenerator<T, R, undefined> {
  let room = turnPause();
  if (room !== undefined) await room;
  fs.beginOperation?.();
  let step = op.next();
  while (!step.done) {
    const effect = step.value;
    if (isEmit(effect)) {
      yield effect.emit as T;
      step = op.next();
      continue;
    }
    room = turnPause();
    if (room !== undefined) await room;
    let result: unknown;
    try {
      if ('call' in effect) result = await effect.call();
      else if ('offload' in effect) result = await effect.offload.async();
      else result = await (fs.async[effect.io] as (...a: unknown[]) => Promise<unknown>)(...effect.args);
    } catch (error) {
      step = op.throw(error);
      continue;
    }
    step = op.next(result);
  }
  return step.value;
}

const MUST_ITERATE = 'diskcache-ts: internal error: an emitting operation must be iterated';

/** Drives an operation to completion with synchronous I/O. */
export function runSync<T>(fs: FileSystem, op: Op<T>): T {
  const step = iterateSync<unknown, T>(fs, op).next();
  if (!step.done) throw new Error(MUST_ITERATE);
  return step.value;
}

/** Drives an operation to completion with asynchronous I/O. */
export async function runAsync<T>(fs: FileSystem, op: Op<T>): Promise<T> {
  const step = await iterateAsync<unknown, T>(fs, op).next();
  if (!step.done) throw new Error(MUST_ITERATE);
  return step.value;
}
