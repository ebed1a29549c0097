import * as buffer from 'node:buffer';
import * as fs from 'node:fs';
import { sleepAsync, sleepSync } from './sleep.js';

/** What `stat` reports about a file. */
export interface FileInfo {
  size: number;
  ino: number;
  dev: number;
  atimeMs: number;
  mtimeMs: number;
  ctimeMs: number;
  nlink: number;
  isFile: boolean;
  isDirectory: boolean;
  /** Only from `lstat`: the path is a symbolic link. */
  isSymbolicLink: boolean;
}

/** Options for {@link SyncFileSystem.writeFile}. */
export interface FileWriteOptions {
  /** Permission bits for a new file (umask applies). */
  mode: number;
  /** Flush the file to stable storage before closing it. */
  fsync: boolean;
}

/**
 * The file-system primitives the cache is built from, in their synchronous form. Every method maps
 * to one or a few system calls; "not found" is a value (`undefined`/`false`/`[]`), other failures throw
 * Node's errno errors. This is the seam where tests inject faults.
 */
export interface SyncFileSystem {
  /** The whole file, or `undefined` if it does not exist. */
  readFile(path: string): Buffer | undefined;
  /** At most `length` bytes from the start of the file, or `undefined` if it does not exist. */
  readHead(path: string, length: number): Buffer | undefined;
  /**
   * Creates `path` exclusively and writes `chunks`; on failure the partial file is removed. `path` is
   * a name only this process uses: a file already there is left by an earlier attempt whose answer
   * was lost (a retried network call), and is replaced.
   */
  writeFile(path: string, chunks: readonly Uint8Array[], options: FileWriteOptions): void;
  rename(from: string, to: string): void;
  /**
   * Renames the directory `from` to `to` unless something is at `to` (an empty directory there is
   * replaced): `true` if moved, `false` if `to` was taken.
   */
  placeDirectory(from: string, to: string): boolean;
  link(existing: string, newPath: string): void;
  /** `true` if a file was removed, `false` if there was none. */
  unlink(path: string): boolean;
  stat(path: string): FileInfo | undefined;
  /** Like `stat`, but about a symbolic link itself rather than what it points to. */
  lstat(path: string): FileInfo | undefined;
  mkdir(path: string, mode: number): void;
  /**
   * Creates the directory `path` (not its parents): `true` if this call created it, `false` if it
   * was there already. The lock primitive: a server makes mkdir exclusive where some network
   * clients do not make exclusive file creation so.
   */
  mkdirExclusive(path: string, mode: number): boolean;
  /** Names in a directory; `[]` if it does not exist. */
  readdir(path: string): string[];
  /** Sets a file's access and modification times (epoch milliseconds); `false` if it does not exist. */
  utimes(path: string, atimeMs: number, mtimeMs: number): boolean;
  /** Removes an empty directory; `false` if it is not empty or absent. */
  rmdir(path: string): boolean;
  /** Opens (creating if needed) a small file for in-place updates. */
  openForUpdate(path: string, mode: number): number;
  /** Writes all of `data` at byte `position` of an open file. */
  writeAt(fd: number, data: Uint8Array, position: number): void;
  /**
   * Opens an existing file for appending and for reading at offsets (`undefined` if it does not
   * exist: it is never created, so that a file removed meanwhile stays removed): every write goes to
   * its end, in one piece among the writes of all processes on a local file system.
   */
  openForAppend(path: string): number | undefined;
  /** Appends `data` with one write to a file opened by {@link openForAppend}; returns the bytes written. */
  append(fd: number, data: Uint8Array): number;
  /** Opens a file for reading; `undefined` if it does not exist. */
  openForRead(path: string): number | undefined;
  /** Up to `length` bytes from byte `position` of an open file (fewer at its end). */
  readAt(fd: number, length: number, position: number): Buffer;
  /** Flushes an open file to stable storage. */
  syncFile(fd: number): void;
  /** What `stat` reports about an open file. */
  fstat(fd: number): FileInfo;
  close(fd: number): void;
  /** Flushes a directory's entries to stable storage (best effort where unsupported). */
  fsyncDir(path: string): void;
  /** Blocks for `ms` milliseconds. */
  sleep(ms: number): void;
}

/** The asynchronous twin of {@link SyncFileSystem}: the same methods, returning Promises. */
export type AsyncFileSystem = {
  [K in keyof SyncFileSystem]: (
    ...args: Parameters<SyncFileSystem[K]>
  ) => Promise<Awaited<ReturnType<SyncFileSystem[K]>>>;
};

/** A pair of implementations of the same primitives. */
export interface FileSystem {
  sync: SyncFileSystem;
  async: AsyncFileSystem;
  /**
   * The files are on a network or FUSE file system, whose clients answer EIO for passing conditions
   * (a name another client is creating or removing, a busy session): EIO is then retried as EBUSY is.
   */
  remote?: boolean;
  /**
   * Called by the runner as each operation starts: what a file system remembers for the operation
   * under way (see `fs/confined.ts`) is forgotten.
   */
  beginOperation?(): void;
}

const SCRATCH_SIZE = 64 * 1024;
const scratch = Buffer.allocUnsafe(SCRATCH_SIZE);

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** A rename failed because its target is a non-empty directory or a file. */
function isTaken(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'ENOTDIR';
}

function isExisting(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'EEXIST';
}

/** Any error at all (for calls whose every failure means "not done"). */
const anyError = (): boolean => true;

/** Runs `work` and says `true`; an error that `expected` accepts says `false` instead. */
function succeeds(expected: (error: unknown) => boolean, work: () => unknown): boolean {
  try {
    work();
    return true;
  } catch (error) {
    if (expected(error)) return false;
    throw error;
  }
}

/** {@link succeeds}, for asynchronous work. */
async function succeedsAsync(
  expected: (error: unknown) => boolean,
  work: () => Promise<unknown>,
): Promise<boolean> {
  try {
    await work();
    return true;
  } catch (error) {
    if (expected(error)) return false;
    throw error;
  }
}

/** Creates this process's own file `path` (see {@link SyncFileSystem.writeFile}), replacing one left by a lost answer. */
function createOwnFileSync(path: string, mode: number): number {
  try {
    return fs.openSync(path, 'wx', mode);
  } catch (error) {
    if (!isExisting(error)) throw error;
    fs.unlinkSync(path);
    return fs.openSync(path, 'wx', mode);
  }
}

function toInfo(s: fs.Stats): FileInfo {
  return {
    size: s.size,
    ino: s.ino,
    dev: s.dev,
    atimeMs: s.atimeMs,
    mtimeMs: s.mtimeMs,
    ctimeMs: s.ctimeMs,
    nlink: s.nlink,
    isFile: s.isFile(),
    isDirectory: s.isDirectory(),
    isSymbolicLink: s.isSymbolicLink(),
  };
}

/**
 * Opening never follows a symbolic link in the last component (ELOOP instead): a shared cache
 * directory is untrusted, and a link there must not make the cache read or write outside it.
 * Reads also never wait (a FIFO planted there opens and reads as empty instead of blocking).
 */
const READ_FLAGS = fs.constants.O_RDONLY | (fs.constants.O_NOFOLLOW ?? 0) | (fs.constants.O_NONBLOCK ?? 0);
const UPDATE_FLAGS = fs.constants.O_RDWR | fs.constants.O_CREAT | (fs.constants.O_NOFOLLOW ?? 0);
const APPEND_FLAGS =
  fs.constants.O_RDWR |
  fs.constants.O_APPEND |
  (fs.constants.O_NOFOLLOW ?? 0) |
  (fs.constants.O_NONBLOCK ?? 0);

function openOrMissing(path: string, flags = READ_FLAGS): number | undefined {
  try {
    return fs.openSync(path, flags);
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
}

/** The largest file `readFile` reads; larger ones fail with `EFBIG` instead of exhausting memory. */
export const MAX_READ_BYTES = Math.min(buffer.constants.MAX_LENGTH, 2 ** 31 - 1);

function tooLarge(path: string, size: number): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error(
    `EFBIG: file of ${size} bytes is too large to read, '${path}'`,
  );
  error.code = 'EFBIG';
  error.path = path;
  return error;
}

/** Reads the rest of a file whose first `have` bytes are in `head`, up to its current size. */
function readRestSync(fd: number, head: Buffer, have: number, path: string): Buffer {
  const size = fs.fstatSync(fd).size;
  if (size > MAX_READ_BYTES) throw tooLarge(path, size);
  if (size <= have) return Buffer.from(head.subarray(0, have));
  const whole = Buffer.allocUnsafe(size);
  head.copy(whole, 0, 0, have);
  let offset = have;
  while (offset < size) {
    const n = fs.readSync(fd, whole, offset, size - offset, offset);
    if (n === 0) break;
    offset += n;
  }
  return offset === size ? whole : whole.subarray(0, offset);
}

/** Writes `chunks` from the start of a new file: one `writev` call, unless the kernel takes less. */
function writeAllSync(fd: number, chunks: readonly Uint8Array[]): void {
  const total = chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0);
  let written = fs.writevSync(fd, chunks as Uint8Array[], 0);
  if (written === total) return;
  let start = 0;
  for (const chunk of chunks) {
    const end = start + chunk.byteLength;
    while (written < end) {
      written += fs.writeSync(fd, chunk, written - start, end - written, written);
    }
    start = end;
  }
}

/** The synchronous primitives over `node:fs`. */
export const nodeSyncFileSystem: SyncFileSystem = {
  readFile(path) {
    const fd = openOrMissing(path);
    if (fd === undefined) return undefined;
    try {
      const n = fs.readSync(fd, scratch, 0, SCRATCH_SIZE, 0);
      if (n < SCRATCH_SIZE) return Buffer.from(scratch.subarray(0, n));
      return readRestSync(fd, scratch, n, path);
    } finally {
      fs.closeSync(fd);
    }
  },
  readHead(path, length) {
    const fd = openOrMissing(path);
    if (fd === undefined) return undefined;
    try {
      const buffer = length <= SCRATCH_SIZE ? scratch : Buffer.allocUnsafe(length);
      const n = fs.readSync(fd, buffer, 0, length, 0);
      return Buffer.from(buffer.subarray(0, n));
    } finally {
      fs.closeSync(fd);
    }
  },
  writeFile(path, chunks, options) {
    const fd = createOwnFileSync(path, options.mode);
    try {
      writeAllSync(fd, chunks);
      if (options.fsync) fs.fsyncSync(fd);
      fs.closeSync(fd);
    } catch (error) {
      try {
        fs.closeSync(fd);
      } catch {}
      try {
        fs.unlinkSync(path);
      } catch {}
      throw error;
    }
  },
  rename: (from, to) => fs.renameSync(from, to),
  link: (existing, newPath) => fs.linkSync(existing, newPath),
  unlink: (path) => succeeds(isMissing, () => fs.unlinkSync(path)),
  stat(path) {
    const s = fs.statSync(path, { throwIfNoEntry: false });
    return s === undefined ? undefined : toInfo(s);
  },
  lstat(path) {
    const s = fs.lstatSync(path, { throwIfNoEntry: false });
    return s === undefined ? undefined : toInfo(s);
  },
  mkdir: (path, mode) => void fs.mkdirSync(path, { recursive: true, mode }),
  placeDirectory: (from, to) => succeeds(isTaken, () => fs.renameSync(from, to)),
  mkdirExclusive: (path, mode) => succeeds(isExisting, () => fs.mkdirSync(path, { mode })),
  readdir(path) {
    try {
      return fs.readdirSync(path);
    } catch (error) {
      if (isMissing(error)) return [];
      throw error;
    }
  },
  utimes: (path, atimeMs, mtimeMs) =>
    succeeds(isMissing, () => fs.utimesSync(path, atimeMs / 1000, mtimeMs / 1000)),
  rmdir: (path) => succeeds(anyError, () => fs.rmdirSync(path)),
  openForUpdate: (path, mode) => fs.openSync(path, UPDATE_FLAGS, mode),
  writeAt(fd, data, position) {
    for (let done = 0; done < data.byteLength; ) {
      done += fs.writeSync(fd, data, done, data.byteLength - done, position + done);
    }
  },
  openForAppend: (path) => openOrMissing(path, APPEND_FLAGS),
  append: (fd, data) => fs.writeSync(fd, data),
  openForRead: (path) => openOrMissing(path),
  readAt(fd, length, position) {
    const buffer = Buffer.allocUnsafe(length);
    return buffer.subarray(0, fs.readSync(fd, buffer, 0, length, position));
  },
  syncFile: (fd) => fs.fsyncSync(fd),
  fstat: (fd) => toInfo(fs.fstatSync(fd)),
  close: (fd) => fs.closeSync(fd),
  fsyncDir(path) {
    let fd: number | undefined;
    try {
      fd = fs.openSync(path, 'r');
      fs.fsyncSync(fd);
    } catch {
      // Some file systems cannot fsync a directory; the rename is then as durable as they allow.
    } finally {
      if (fd !== undefined) fs.closeSync(fd);
    }
  },
  sleep: sleepSync,
};

const fsp = fs.promises;

/** {@link createOwnFileSync}, asynchronously. */
async function createOwnFile(path: string, mode: number): Promise<fs.promises.FileHandle> {
  try {
    return await fsp.open(path, 'wx', mode);
  } catch (error) {
    if (!isExisting(error)) throw error;
    await fsp.unlink(path);
    return await fsp.open(path, 'wx', mode);
  }
}

async function asyncOrMissing<T>(work: () => Promise<T>, missing: T): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (isMissing(error)) return missing;
    throw error;
  }
}

/** The asynchronous primitives over `fs.promises`: each call runs on libuv's thread pool. */
export const nodeAsyncFileSystem: AsyncFileSystem = {
  readFile: (path) =>
    asyncOrMissing<Buffer | undefined>(async () => {
      const handle = await fsp.open(path, READ_FLAGS);
      try {
        const { size } = await handle.stat();
        if (size > MAX_READ_BYTES) throw tooLarge(path, size);
        return await handle.readFile();
      } finally {
        await handle.close();
      }
    }, undefined),
  readHead: (path, length) =>
    asyncOrMissing<Buffer | undefined>(async () => {
      const handle = await fsp.open(path, READ_FLAGS);
      try {
        const buffer = Buffer.allocUnsafe(length);
        const { bytesRead } = await handle.read(buffer, 0, length, 0);
        return buffer.subarray(0, bytesRead);
      } finally {
        await handle.close();
      }
    }, undefined),
  async writeFile(path, chunks, options) {
    const handle = await createOwnFile(path, options.mode);
    try {
      const { bytesWritten } = await handle.writev(chunks as Uint8Array[], 0);
      const total = chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0);
      const rest =
        bytesWritten < total ? Buffer.concat(chunks as Uint8Array[]).subarray(bytesWritten) : Buffer.alloc(0);
      for (let done = 0; done < rest.length; ) {
        done += (await handle.write(rest, done, rest.length - done, bytesWritten + done)).bytesWritten;
      }
      if (options.fsync) await handle.sync();
      await handle.close();
    } catch (error) {
      await handle.close().catch(() => {});
      await fsp.unlink(path).catch(() => {});
      throw error;
    }
  },
  rename: (from, to) => fsp.rename(from, to),
  link: (existing, newPath) => fsp.link(existing, newPath),
  unlink: (path) => succeedsAsync(isMissing, () => fsp.unlink(path)),
  stat: (path) => asyncOrMissing<FileInfo | undefined>(async () => toInfo(await fsp.stat(path)), undefined),
  lstat: (path) => asyncOrMissing<FileInfo | undefined>(async () => toInfo(await fsp.lstat(path)), undefined),
  mkdir: async (path, mode) => void (await fsp.mkdir(path, { recursive: true, mode })),
  placeDirectory: (from, to) => succeedsAsync(isTaken, () => fsp.rename(from, to)),
  mkdirExclusive: (path, mode) => succeedsAsync(isExisting, () => fsp.mkdir(path, { mode })),
  readdir: (path) => asyncOrMissing(() => fsp.readdir(path), []),
  utimes: (path, atimeMs, mtimeMs) =>
    succeedsAsync(isMissing, () => fsp.utimes(path, atimeMs / 1000, mtimeMs / 1000)),
  rmdir: (path) => succeedsAsync(anyError, () => fsp.rmdir(path)),
  openForUpdate: (path, mode) =>
    new Promise((resolve, reject) =>
      fs.open(path, UPDATE_FLAGS, mode, (e, fd) => (e ? reject(e) : resolve(fd))),
    ),
  async writeAt(fd, data, position) {
    for (let done = 0; done < data.byteLength; ) {
      done += await new Promise<number>((resolve, reject) =>
        fs.write(fd, data, done, data.byteLength - done, position + done, (e, n) =>
          e ? reject(e) : resolve(n),
        ),
      );
    }
  },
  openForAppend: (path) =>
    asyncOrMissing<number | undefined>(
      () =>
        new Promise((resolve, reject) =>
          fs.open(path, APPEND_FLAGS, (e, fd) => (e ? reject(e) : resolve(fd))),
        ),
      undefined,
    ),
  append: (fd, data) =>
    new Promise((resolve, reject) => fs.write(fd, data, (e, n) => (e ? reject(e) : resolve(n)))),
  openForRead: (path) =>
    asyncOrMissing<number | undefined>(
      () =>
        new Promise((resolve, reject) => fs.open(path, READ_FLAGS, (e, fd) => (e ? reject(e) : resolve(fd)))),
      undefined,
    ),
  readAt: (fd, length, position) =>
    new Promise((resolve, reject) => {
      const buffer = Buffer.allocUnsafe(length);
      fs.read(fd, buffer, 0, length, position, (e, n) => (e ? reject(e) : resolve(buffer.subarray(0, n))));
    }),
  syncFile: (fd) => new Promise((resolve, reject) => fs.fsync(fd, (e) => (e ? reject(e) : resolve()))),
  fstat: (fd) =>
    new Promise((resolve, reject) => fs.fstat(fd, (e, s) => (e ? reject(e) : resolve(toInfo(s))))),
  close: (fd) => new Promise((resolve, reject) => fs.close(fd, (e) => (e ? reject(e) : resolve()))),
  async fsyncDir(path) {
    let handle: fs.promises.FileHandle | undefined;
    try {
      handle = await fsp.open(path, 'r');
      await handle.sync();
    } catch {
      // As in the synchronous form: the rename is then as durable as the file system allows.
    } finally {
      await handle?.close().catch(() => {});
    }
  },
  sleep: sleepAsync,
};

/** The default file system: `node:fs`, synchronous and on the thread pool. */
export const nodeFileSystem: FileSystem = { sync: nodeSyncFileSystem, async: nodeAsyncFileSystem };
