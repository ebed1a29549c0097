import { constants } from 'node:os';
import type { AsyncFileSystem, FileSystem, SyncFileSystem } from './backend.js';
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

const TRANSIENT = new Set(['EAGAIN', 'EBUSY', 'EINTR', 'ESTALE']);
/** Renames over a file that another client holds open fail with these on SMB and Windows. */
const TRANSIENT_RENAME = new Set(['EPERM', 'EACCES', 'EEXIST']);
/** About 4 s of jittered backoff in all: SMB keeps a file busy for a while after another client closes it. */
const MAX_ATTEMPTS = 13;
/** About 60 ms in all: long enough for a blip, short enough for callers that wait their own way. */
const EIO_ATTEMPTS = 7;

/** The pause before retry number `attempt + 1`, or `undefined` once `attempts` are spent. */
function retryDelay(attempt: number, attempts: number): number | undefined {
  if (attempt + 1 >= attempts) return undefined;
  return (1 << attempt) * (0.5 + Math.random());
}

/** libuv has no name for ESTALE (a network client's stale file handle): its errors say "Unknown system error". */
const ESTALE_ERRNO = -constants.errno.ESTALE;

/** Gives errors that libuv could not name their errno name, so that callers can tell them apart. */
function named(error: unknown): unknown {
  const errno = error as NodeJS.ErrnoException;
  if (errno?.errno === ESTALE_ERRNO && errno.code !== 'ESTALE') errno.code = 'ESTALE';
  return error;
}

/**
 * Primitives that only look: retried briefly on EIO too, which network clients answer for a while
 * about a name that another client is creating or removing (on a file system known to be remote,
 * every primitive is retried on EIO as on EBUSY).
 */
const LOOKS: ReadonlySet<IoName> = new Set<IoName>([
  'readFile',
  'readHead',
  'stat',
  'lstat',
  'readdir',
  'openForRead',
]);

/** Too many open files (in the process, or in the system): waited out by the async surface. */
const DESCRIPTORS_EXHAUSTED = new Set(['EMFILE', 'ENFILE']);

/**
 * How many times to try an effect that failed with `error` (1: not again). `waits`: the caller runs
 * asynchronously, so other operations close files while it waits.
 */
function attemptsFor(remote: boolean, effect: IoEffect, error: unknown, waits = false): number {
  const code = (named(error) as NodeJS.ErrnoException).code ?? '';
  if (waits && DESCRIPTORS_EXHAUSTED.has(code)) return MAX_ATTEMPTS;
  if (TRANSIENT.has(code) || (effect.io === 'rename' && TRANSIENT_RENAME.has(code))) return MAX_ATTEMPTS;
  if (code !== 'EIO') return 1;
  return remote ? MAX_ATTEMPTS : LOOKS.has(effect.io) ? EIO_ATTEMPTS : 1;
}

function callSync(fs: SyncFileSystem, effect: IoEffect, remote: boolean): unknown {
  for (let attempt = 0; ; attempt++) {
    try {
      return (fs[effect.io] as (...a: unknown[]) => unknown)(...effect.args);
    } catch (error) {
      const delay = retryDelay(attempt, attemptsFor(remote, effect, error));
      if (delay === undefined) throw error;
      fs.sleep(delay);
    }
  }
}

async function callAsync(fs: AsyncFileSystem, effect: IoEffect, remote: boolean): Promise<unknown> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await (fs[effect.io] as (...a: unknown[]) => Promise<unknown>)(...effect.args);
    } catch (error) {
      const delay = retryDelay(attempt, attemptsFor(remote, effect, error, true));
      if (delay === undefined) throw error;
      await fs.sleep(delay);
    }
  }
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
      else result = callSync(fs.sync, effect, fs.remote === true);
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
      else result = await callAsync(fs.async, effect, fs.remote === true);
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
