import type { AsyncFileSystem, FileSystem, SyncFileSystem } from './backend.js';
import { inlineFileSystem } from './inline.js';

/**
 * Primitives that open a descriptor and close it before they return, in flight at once on the
 * thread pool (per process): far more than libuv's threads, far fewer than the 1,024 open files a
 * process gets by default.
 */
export const TRANSIENT_FILES = 64;
/**
 * Descriptors held open from one primitive to a later `close` (a read stream, a `setStream` temp
 * file, a counters file), per process. An open beyond this waits until one is closed. (The bucket
 * files of a `log` cache are held for as long as it is open, and are not counted here.)
 */
export const HELD_FILES = 256;

/** A counting semaphore whose waiters are served in order. */
class Slots {
  private free: number;
  private waiting: (() => void)[] = [];
  private head = 0;

  constructor(limit: number) {
    this.free = limit;
  }

  /** Takes a slot: `undefined` if one was free, else a Promise that resolves once one is given back. */
  take(): Promise<void> | undefined {
    if (this.free > 0) {
      this.free--;
      return undefined;
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Gives a slot back, to the longest waiter if there is one. */
  give(): void {
    const next = this.waiting[this.head];
    if (next === undefined) {
      this.free++;
      return;
    }
    this.head++;
    if (this.head * 2 > this.waiting.length) {
      this.waiting = this.waiting.slice(this.head);
      this.head = 0;
    }
    next();
  }
}

const transientSlots = new Slots(TRANSIENT_FILES);
const heldSlots = new Slots(HELD_FILES);
/** Descriptors opened through {@link heldOpen}, each holding a slot until it is closed (by either surface). */
const held = new Set<number>();

function release(fd: number): void {
  if (held.delete(fd)) heldSlots.give();
}

type Primitive = (...args: never[]) => Promise<unknown>;

/** `fn` run once a transient slot is free, giving it back when done. */
function transient<F extends Primitive>(fn: F): F {
  const run = (args: Parameters<F>) => {
    try {
      return fn(...args).finally(() => transientSlots.give());
    } catch (error) {
      transientSlots.give();
      return Promise.reject(error);
    }
  };
  return ((...args: Parameters<F>) => {
    const wait = transientSlots.take();
    return wait === undefined ? run(args) : wait.then(() => run(args));
  }) as F;
}

/** An open of a descriptor to be held, run once a held slot is free; the slot goes back on close. */
function heldOpen<F extends (...args: never[]) => Promise<number | undefined>>(open: F): F {
  return (async (...args: Parameters<F>) => {
    await heldSlots.take();
    let fd: number | undefined;
    try {
      fd = await open(...args);
    } finally {
      if (fd === undefined) heldSlots.give();
      else held.add(fd);
    }
    return fd;
  }) as F;
}

/**
 * The file systems an open cache runs on, with the descriptors it has open bounded per process: the
 * synchronous one, and the asynchronous one, inline (small local operations run with the synchronous
 * calls) or all on the thread pool. Asynchronous primitives that open a file wait for a free slot
 * ({@link TRANSIENT_FILES} on the thread pool, {@link HELD_FILES} for descriptors kept open), so that
 * any number of concurrent operations queue instead of failing with EMFILE; a descriptor closed
 * through either surface gives its slot back.
 */
export function boundedFileSystems(
  base: FileSystem,
  inline: boolean,
): { syncFs: FileSystem; asyncFs: FileSystem } {
  const close = base.sync.close.bind(base.sync);
  const sync: SyncFileSystem = {
    ...base.sync,
    close(fd) {
      try {
        close(fd);
      } finally {
        release(fd);
      }
    },
  };
  const a = base.async;
  const pooled: AsyncFileSystem = {
    ...a,
    readFile: transient(a.readFile.bind(a)),
    readHead: transient(a.readHead.bind(a)),
    writeFile: transient(a.writeFile.bind(a)),
    fsyncDir: transient(a.fsyncDir.bind(a)),
  };
  const surface = inline ? inlineFileSystem({ ...base, sync, async: pooled }).async : pooled;
  const asyncClose = surface.close.bind(surface);
  const async: AsyncFileSystem = {
    ...surface,
    openForRead: heldOpen(surface.openForRead.bind(surface)),
    openForUpdate: heldOpen(surface.openForUpdate.bind(surface)),
    close: (fd) => asyncClose(fd).finally(() => release(fd)),
  };
  return { syncFs: { ...base, sync }, asyncFs: { ...base, sync, async } };
}
