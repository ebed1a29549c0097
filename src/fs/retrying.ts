import { constants } from 'node:os';
import type { AsyncFileSystem, FileSystem, SyncFileSystem } from './backend.js';
import { type IoName, io, type Op } from './runner.js';

/**
 * Every rule for trying file-system work again after an error. "Why was this EIO retried?" is
 * answered here:
 * - {@link PRIMITIVE_RULES}: one primitive, retried by {@link retryingFileSystem} with jittered
 *   backoff (the first rule that matches decides);
 * - {@link retryWhileBusy}: a whole step of a lock's release, tried again while a network client
 *   keeps answering EIO for a name another client is creating or removing.
 *
 * Other waits are not retries of an error and live with their owner: a lock's wait for its holder
 * (`acquireLock`, `src/coordination/lock.ts`, which also waits out a client that keeps answering
 * EIO as it waits out a busy lock), and the re-reads of a counters base that a network client serves
 * short (`BASE_READS`, `src/coordination/counters.ts`).
 */

/** About 4 s of jittered backoff in all: SMB keeps a file busy for a while after another client closes it. */
const MAX_ATTEMPTS = 13;
/** About 60 ms in all: long enough for a blip, short enough for callers that wait their own way. */
const EIO_ATTEMPTS = 7;

/**
 * Primitives that only look: retried briefly on EIO too, which network clients answer for a while
 * about a name that another client is creating or removing.
 */
const LOOKS: ReadonlySet<IoName> = new Set<IoName>([
  'readFile',
  'readHead',
  'stat',
  'lstat',
  'readdir',
  'openForRead',
]);

/** When to try a primitive again, and how many times in all, on a local and on a remote file system. */
interface RetryRule {
  /** Why the rule exists. */
  readonly why: string;
  /** The error codes it covers. */
  readonly codes: ReadonlySet<string>;
  /** The primitives it covers; every one when absent. */
  readonly primitives?: ReadonlySet<IoName>;
  /** It holds on the async surface only, where other operations free what is missing while it waits. */
  readonly asyncOnly?: true;
  /** Attempts in all (1: not again) on a local file system. */
  readonly local: number;
  /** Attempts in all on a file system known to be remote (`FileSystem.remote`). */
  readonly remote: number;
}

/** The rules for one primitive, in order: the first that matches an error decides; none, no retry. */
const PRIMITIVE_RULES: readonly RetryRule[] = [
  {
    why: 'too many open files (in the process, or in the system): waited out',
    codes: new Set(['EMFILE', 'ENFILE']),
    asyncOnly: true,
    local: MAX_ATTEMPTS,
    remote: MAX_ATTEMPTS,
  },
  {
    why: 'transient conditions, and a network client’s stale file handle',
    codes: new Set(['EAGAIN', 'EBUSY', 'EINTR', 'ESTALE']),
    local: MAX_ATTEMPTS,
    remote: MAX_ATTEMPTS,
  },
  {
    why: 'renames over a file that another client holds open fail so on SMB and Windows',
    codes: new Set(['EPERM', 'EACCES', 'EEXIST']),
    primitives: new Set<IoName>(['rename']),
    local: MAX_ATTEMPTS,
    remote: MAX_ATTEMPTS,
  },
  {
    why: 'network clients answer EIO for a while about a name another client creates or removes',
    codes: new Set(['EIO']),
    primitives: LOOKS,
    local: EIO_ATTEMPTS,
    remote: MAX_ATTEMPTS,
  },
  {
    why: 'on a remote file system, EIO is a passing condition (a busy session) for every primitive',
    codes: new Set(['EIO']),
    local: 1,
    remote: MAX_ATTEMPTS,
  },
];

/** libuv has no name for ESTALE (a network client's stale file handle): its errors say "Unknown system error". */
const ESTALE_ERRNO = -constants.errno.ESTALE;

/** Gives errors that libuv could not name their errno name, so that callers can tell them apart. */
function named(error: unknown): unknown {
  const errno = error as NodeJS.ErrnoException;
  if (errno?.errno === ESTALE_ERRNO && errno.code !== 'ESTALE') errno.code = 'ESTALE';
  return error;
}

/** How many times in all to try `primitive` that failed with `error` (1: not again). */
function attemptsFor(primitive: IoName, error: unknown, remote: boolean, async: boolean): number {
  const code = (named(error) as NodeJS.ErrnoException).code ?? '';
  const rule = PRIMITIVE_RULES.find(
    (r) =>
      r.codes.has(code) &&
      (r.primitives === undefined || r.primitives.has(primitive)) &&
      (async || !r.asyncOnly),
  );
  if (rule === undefined) return 1;
  return remote ? rule.remote : rule.local;
}

/** The pause before retry number `attempt + 1`, or `undefined` once `attempts` are spent. */
function retryDelay(attempt: number, attempts: number): number | undefined {
  if (attempt + 1 >= attempts) return undefined;
  return (1 << attempt) * (0.5 + Math.random());
}

/**
 * `fs` with every primitive retried by {@link PRIMITIVE_RULES}, pausing with `fs`'s own `sleep`
 * (so that an injected file system decides how time passes). Stacked outermost, so that a retry
 * runs the whole stacked primitive again.
 */
export function retryingFileSystem(fs: FileSystem): FileSystem {
  const remote = fs.remote === true;
  const sync = { ...fs.sync } as unknown as Record<string, (...args: unknown[]) => unknown>;
  const async = { ...fs.async } as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  for (const name of Object.keys(sync) as IoName[]) {
    const call = fs.sync[name] as (...args: unknown[]) => unknown;
    sync[name] = (...args) => {
      for (let attempt = 0; ; attempt++) {
        try {
          return call.apply(fs.sync, args);
        } catch (error) {
          const delay = retryDelay(attempt, attemptsFor(name, error, remote, false));
          if (delay === undefined) throw error;
          fs.sync.sleep(delay);
        }
      }
    };
  }
  for (const name of Object.keys(async) as IoName[]) {
    const call = fs.async[name] as (...args: unknown[]) => Promise<unknown>;
    async[name] = async (...args) => {
      for (let attempt = 0; ; attempt++) {
        try {
          return await call.apply(fs.async, args);
        } catch (error) {
          const delay = retryDelay(attempt, attemptsFor(name, error, remote, true));
          if (delay === undefined) throw error;
          await fs.async.sleep(delay);
        }
      }
    };
  }
  return { ...fs, sync: sync as unknown as SyncFileSystem, async: async as unknown as AsyncFileSystem };
}

/** The code of a network client's passing answer, which a step of a lock's release waits out. */
export const BUSY = 'EIO';

/** Attempts of a step that meets {@link BUSY}, about 50 ms apart (each attempt's primitives retried as above). */
const BUSY_STEP_ATTEMPTS = 40;

/** Whether `error` is the network client's passing answer {@link BUSY}. */
export function isBusy(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === BUSY;
}

/**
 * Runs `step` again while it fails with {@link BUSY}, up to {@link BUSY_STEP_ATTEMPTS} times: a
 * network client answers EIO for a while about a name that another client keeps creating and
 * removing (smbnetfs does, for a busy lock).
 */
export function* retryWhileBusy<T>(step: () => Op<T>): Op<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return yield* step();
    } catch (error) {
      if (!isBusy(error) || attempt === BUSY_STEP_ATTEMPTS) throw error;
      yield* io('sleep', 25 + Math.random() * 50);
    }
  }
}
