import { constants } from 'node:os';
import type { AsyncFileSystem, FileSystem, SyncFileSystem } from './backend.js';

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

/** What operations yield. */
export type Effect = IoEffect | EmitEffect | CallEffect;

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

/** Hands `item` to whoever iterates the operation. */
export function* emit(item: unknown): Op<void> {
  yield { emit: item };
}

const TRANSIENT = new Set(['EAGAIN', 'EBUSY', 'EINTR', 'ESTALE']);
/** Renames over a file that another client holds open fail with these on SMB and Windows. */
const TRANSIENT_RENAME = new Set(['EPERM', 'EACCES', 'EEXIST']);
/** About 4 s of jittered backoff in all: SMB keeps a file busy for a while after another client closes it. */
const MAX_ATTEMPTS = 12;

function retryDelay(attempt: number): number | undefined {
  if (attempt >= MAX_ATTEMPTS) return undefined;
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
 * Primitives that only look: retried on EIO too, which network clients answer for a while about a
 * file another client is removing (smbnetfs, soft NFS mounts); a failing local disk fails after the
 * retries all the same.
 */
const LOOKS: ReadonlySet<IoName> = new Set<IoName>([
  'readFile',
  'readHead',
  'stat',
  'lstat',
  'readdir',
  'openForRead',
]);

function isTransient(effect: IoEffect, error: unknown): boolean {
  const code = (named(error) as NodeJS.ErrnoException).code ?? '';
  return (
    TRANSIENT.has(code) ||
    (effect.io === 'rename' && TRANSIENT_RENAME.has(code)) ||
    (code === 'EIO' && LOOKS.has(effect.io))
  );
}

function callSync(fs: SyncFileSystem, effect: IoEffect): unknown {
  for (let attempt = 0; ; attempt++) {
    try {
      return (fs[effect.io] as (...a: unknown[]) => unknown)(...effect.args);
    } catch (error) {
      const delay = isTransient(effect, error) ? retryDelay(attempt) : undefined;
      if (delay === undefined) throw error;
      fs.sleep(delay);
    }
  }
}

async function callAsync(fs: AsyncFileSystem, effect: IoEffect): Promise<unknown> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await (fs[effect.io] as (...a: unknown[]) => Promise<unknown>)(...effect.args);
    } catch (error) {
      const delay = isTransient(effect, error) ? retryDelay(attempt) : undefined;
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
      result = 'call' in effect ? effect.call() : callSync(fs.sync, effect);
    } catch (error) {
      step = op.throw(error);
      continue;
    }
    step = op.next(result);
  }
  return step.value;
}

/** Drives an operation asynchronously, as an async iterable of what it emits; the operation's result is the return value. */
export async function* iterateAsync<T, R = void>(fs: FileSystem, op: Op<R>): AsyncGenerator<T, R, undefined> {
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
      result = 'call' in effect ? await effect.call() : await callAsync(fs.async, effect);
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
