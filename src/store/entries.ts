import { basename, dirname, join } from 'node:path';
import { CompressionKind, unpack } from '../format/compression.js';
import {
  type Entry,
  type EntryHeader,
  headerLength,
  parseHeader,
  parseStoredEntry,
} from '../format/entry.js';
import type { FileInfo } from '../fs/backend.js';
import { io, type Op } from '../fs/runner.js';
import { uniqueToken } from '../identity.js';
import { type DirectorySettings, ensureDirectory, forgetDirectory } from './directories.js';
import type { Layout } from './layout.js';

/** What reading an entry file found. */
export type ReadResult<T> =
  | { state: 'missing' }
  | { state: 'corrupt'; reason: string; size: number }
  | { state: 'ok'; entry: T };

const MISSING = { state: 'missing' } as const;
/** Enough to hold the header of any entry whose key and tag fit in 64 KiB together. */
const HEAD_BYTES = 64 * 1024;

/** Errors that mean "this is no entry file", not a failure of the file system. */
const NOT_AN_ENTRY: Record<string, string> = {
  EFBIG: 'too large to be an entry',
  ELOOP: 'a symbolic link, not an entry file',
  EISDIR: 'a directory, not an entry file',
  ESPIPE: 'a pipe, not an entry file',
};

/** What {@link readPlain} found at a path. */
export interface PlainRead {
  /** The file's content; `undefined` if there is no file, or no plain file. */
  bytes?: Buffer | undefined;
  /** Why what is there is no plain file (see {@link notAFile}); `undefined` if it is one, or nothing is there. */
  notAFile?: string;
}

/**
 * Reads a file that should be a plain file, and says why not if it is not one (a symbolic link, a
 * FIFO or a directory planted in a shared directory is never followed).
 */
export function* readPlain(path: string): Op<PlainRead> {
  try {
    return { bytes: yield* io('readFile', path) };
  } catch (error) {
    const reason = notAFile(error);
    if (reason === undefined) throw error;
    return { notAFile: reason };
  }
}

/** A small file's content; `undefined` if it does not exist or is no plain file (see {@link readPlain}). */
export function* readPlainFile(path: string): Op<Buffer | undefined> {
  return (yield* readPlain(path)).bytes;
}

/** How the store writes. */
export interface StoreSettings extends DirectorySettings {
  layout: Layout;
  fileMode: number;
  dirMode: number;
  /** fsync files and their directory on every write. */
  fsync: boolean;
  /** Hard links work here; cleared the first time the file system refuses one. */
  linkWorks: boolean;
  /**
   * The directory is on a network or FUSE file system, whose clients may serve stale sizes and
   * torn reads: an entry that fails verification on read is then only a miss, never moved aside.
   */
  remote: boolean;
  /**
   * Nothing is written but what the caller asks for: reads skip their bookkeeping (moving corrupt
   * entries aside, access times, statistics). Set by `readOnly: true`, and on read-only media the
   * first time the file system answers EROFS.
   */
  readOnly: boolean;
}

/** Reads and fully verifies an entry file. */
export function* readEntry(path: string): Op<ReadResult<Entry>> {
  const { bytes, notAFile: reason } = yield* readPlain(path);
  if (reason !== undefined) return { state: 'corrupt', reason, size: 0 };
  if (bytes === undefined) return MISSING;
  return yield* entryFromBytes(bytes);
}

/** Verifies the stored bytes of an entry, and decompresses its value. */
export function* entryFromBytes(bytes: Buffer): Op<ReadResult<Entry>> {
  const parsed = parseStoredEntry(bytes);
  if (!parsed.ok) return { state: 'corrupt', reason: parsed.reason, size: bytes.length };
  const entry = parsed.entry;
  if (entry.compression === CompressionKind.None) return { state: 'ok', entry };
  let value: Uint8Array;
  try {
    value = yield* unpack(entry.compression, entry.value, entry.rawLength);
  } catch {
    return { state: 'corrupt', reason: 'value does not decompress', size: bytes.length };
  }
  if (value.byteLength !== entry.rawLength) {
    return { state: 'corrupt', reason: 'decompressed length mismatch', size: bytes.length };
  }
  return { state: 'ok', entry: { ...entry, value } };
}

/** Reads and verifies only the header of an entry file (the value is not read). */
export function* readHeader(path: string): Op<ReadResult<EntryHeader>> {
  let head: Buffer | undefined;
  try {
    head = yield* io('readHead', path, HEAD_BYTES);
  } catch (error) {
    const reason = notAFile(error);
    if (reason === undefined) throw error;
    return { state: 'corrupt', reason, size: 0 };
  }
  if (head === undefined) return MISSING;
  let size = head.length;
  if (size === HEAD_BYTES) {
    const info = yield* io('stat', path);
    if (info === undefined) return MISSING;
    size = info.size;
    const needed = headerLength(head);
    if (needed !== undefined && needed > head.length && needed <= size) {
      head = yield* io('readHead', path, needed);
      if (head === undefined) return MISSING;
    }
  }
  const parsed = parseHeader(head, size);
  return parsed.ok ? { state: 'ok', entry: parsed.entry } : { state: 'corrupt', reason: parsed.reason, size };
}

/**
 * Runs `create`, which makes a file in this process's private directory. That directory is made on
 * first use, and made again if it was removed behind this process's back (`ENOENT`): then `create`
 * runs once more. Temp files (`set`, `setStream`) are created through here.
 */
export function* inPrivateDirectory<T>(store: StoreSettings, create: () => Op<T>): Op<T> {
  try {
    return yield* create();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    forgetDirectory(store, store.layout.ownTemp);
    yield* ensureDirectory(store, store.layout.ownTemp);
    return yield* create();
  }
}

/** Writes `chunks` to a new file in this process's private directory (created on first use). */
export function* writePrivate(store: StoreSettings, name: string, chunks: readonly Uint8Array[]): Op<string> {
  const temp = store.layout.privatePath(name, 'tmp');
  const options = { mode: store.fileMode, fsync: store.fsync };
  try {
    yield* inPrivateDirectory(store, () => io('writeFile', temp, chunks, options));
  } catch (error) {
    // The write may have done its work before failing (an ambiguous error): leave nothing behind.
    yield* discard(temp);
    throw error;
  }
  return temp;
}

/** Removes a private file, best effort (the error being handled is the one that matters). */
export function* discard(path: string): Op<void> {
  try {
    yield* io('unlink', path);
  } catch {
    // Left for recovery: it is in this process's private directory.
  }
}

/** Writes `chunks` to a new private temporary file, to be published as `final`. */
export function writeTemp(store: StoreSettings, final: string, chunks: readonly Uint8Array[]): Op<string> {
  return writePrivate(store, final, chunks);
}

/** What publishing replaced. */
export interface Published {
  /** No entry was at the path before. */
  created: boolean;
  /** Size of the file that was replaced (0 if none). */
  replacedSize: number;
}

/** Creates the directory that will hold `path` (once per process), refusing a symbolic link there. */
export function ensureParent(store: StoreSettings, path: string): Op<void> {
  return ensureDirectory(store, dirname(path));
}

const LINK_UNSUPPORTED = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EMLINK', 'EXDEV']);

/**
 * Link `temp` in as `final` if nothing is there. `true`: published; `false`: something is there;
 * `undefined`: the file system has no hard links (and `store.linkWorks` is now false).
 */
export function* linkIfAbsent(store: StoreSettings, temp: string, final: string): Op<boolean | undefined> {
  if (!store.linkWorks) return undefined;
  yield* ensureParent(store, final);
  try {
    yield* io('link', temp, final);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    if (code === 'EEXIST') {
      // Over NFS a retransmitted LINK answers EEXIST when the first one worked: then the temp file
      // has two names (the portable lock recipe of the NFS rules).
      if (((yield* io('stat', temp))?.nlink ?? 1) < 2) return false;
    } else if (LINK_UNSUPPORTED.has(code)) {
      // SFTP servers answer a link that lost a race with a generic failure (EPERM): then the name
      // is taken, and links do work.
      if ((yield* io('lstat', final)) !== undefined) return false;
      store.linkWorks = false;
      return undefined;
    } else {
      throw error;
    }
  }
  yield* io('unlink', temp);
  return true;
}

/**
 * Makes the temporary file `temp` the entry at `final`, atomically: readers see the old entry or the
 * new one, never a mix. A hard link tells exactly whether an entry was created; where links are
 * missing, a `stat` before the rename tells it (racy only against a concurrent writer of the same key).
 * `written`, the bytes written to `temp` if the caller has them, spares a `stat` of `temp` (see
 * {@link renameVerified}).
 */
export function* publish(
  store: StoreSettings,
  temp: string,
  final: string,
  written?: readonly Uint8Array[],
): Op<Published> {
  try {
    yield* ensureParent(store, final);
    try {
      return yield* publishOnce(store, temp, final, written);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      // The shard directory was removed behind our back: create it again.
      forgetDirectory(store, dirname(final));
      yield* ensureParent(store, final);
      return yield* publishOnce(store, temp, final, written);
    }
  } catch (error) {
    yield* discard(temp);
    throw error;
  } finally {
    yield* flushFolder(store, final);
  }
}

/** With `durability: 'fsync'`, flushes the folder that holds `path` (a name placed or removed there). */
export function* flushFolder(store: StoreSettings, path: string): Op<void> {
  if (store.fsync) yield* io('fsyncDir', dirname(path));
}

function* publishOnce(
  store: StoreSettings,
  temp: string,
  final: string,
  written: readonly Uint8Array[] | undefined,
): Op<Published> {
  const linked = yield* linkIfAbsent(store, temp, final);
  if (linked === true) return { created: true, replacedSize: 0 };
  const old = yield* io('stat', final);
  yield* renameVerified(temp, final, written);
  return { created: old === undefined, replacedSize: old?.size ?? 0 };
}

/**
 * `rename(temp, final)`, verified when it reports an error: over NFS a retransmitted RENAME answers
 * ENOENT when the first one worked, and any call can fail after doing its work. If `temp` is gone
 * and `final` is now the very file `temp` was, the rename counts as done: the same inode (from a
 * `stat` of `temp` before the rename) or, when the caller passes the bytes it wrote to `temp` as
 * `written`, the same bytes (no `stat` before: one round trip less on a network mount, for every
 * rename that does not fail).
 */
export function* renameVerified(temp: string, final: string, written?: readonly Uint8Array[]): Op<void> {
  const before = written === undefined ? yield* io('stat', temp) : undefined;
  try {
    yield* io('rename', temp, final);
  } catch (error) {
    if ((yield* quietly(io('stat', temp))) !== undefined) throw error;
    const done = written === undefined ? yield* hasInodeOf(final, before) : yield* holds(final, written);
    if (!done) throw error;
  }
}

/** Whether the file at `path` is the one `before` was taken of (same inode). */
function* hasInodeOf(path: string, before: FileInfo | undefined): Op<boolean> {
  const after = yield* quietly(io('stat', path));
  return before !== undefined && after !== undefined && after.ino === before.ino && after.dev === before.dev;
}

/** Whether the file at `path` holds exactly `bytes`. */
function* holds(path: string, bytes: readonly Uint8Array[]): Op<boolean> {
  const found = yield* quietly(io('readFile', path));
  return found?.equals(Buffer.concat(bytes)) === true;
}

/** What `op` returns, or `undefined` if it fails. */
function* quietly<T>(op: Op<T>): Op<T | undefined> {
  try {
    return yield* op;
  } catch {
    return undefined;
  }
}

/** Moves the entry at `path` to a private name, so that no one else can take it; `undefined` if it is gone. */
export function* claim(store: StoreSettings, path: string): Op<string | undefined> {
  const claimed = store.layout.privatePath(path, 'claim');
  for (let attempt = 0; ; attempt++) {
    try {
      yield* io('rename', path, claimed);
      return claimed;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw error;
      // Either the entry is gone, or this process's private directory does not exist yet.
      if (attempt > 0 || (yield* io('lstat', store.layout.ownTemp)) !== undefined) return undefined;
      forgetDirectory(store, store.layout.ownTemp);
      yield* ensureDirectory(store, store.layout.ownTemp);
    }
  }
}

/** What a conditional removal did. */
export interface Removal {
  /** The entry was removed (or moved aside, if corrupt). */
  removed: boolean;
  /** Its size, when removed. */
  size: number;
}

/**
 * Whether a conditional removal removes the entry it claimed: `'aside'` removes it into `corrupt/`
 * (an entry that reads back but is damaged in a way only a higher layer sees).
 */
export type RemoveVerdict = boolean | 'aside';

/**
 * Removes the entry at `path` if `shouldRemove` still holds for it once claimed, so that a fresh entry
 * written in the meantime is never removed by mistake; corrupt entries are moved to `corrupt/`.
 */
export function* removeIf(
  store: StoreSettings,
  path: string,
  shouldRemove: (found: ReadResult<EntryHeader>) => RemoveVerdict,
  verify: 'header' | 'full' = 'header',
): Op<Removal> {
  const claimed = yield* claim(store, path);
  if (claimed === undefined) return { removed: false, size: 0 };
  const found: ReadResult<EntryHeader> =
    verify === 'full' ? yield* readEntry(claimed) : yield* readHeader(claimed);
  const verdict = shouldRemove(found);
  if (!verdict) {
    if (yield* putBack(claimed, path)) return { removed: false, size: 0 };
    // A newer entry took the place; ours is superseded and goes.
    const info = yield* io('stat', claimed);
    yield* io('unlink', claimed);
    return { removed: true, size: info?.size ?? 0 };
  }
  const size = found.state === 'ok' ? found.entry.fileSize : found.state === 'corrupt' ? found.size : 0;
  if (found.state === 'corrupt' || verdict === 'aside') {
    yield* moveToCorrupt(store, claimed);
  } else {
    yield* io('unlink', claimed);
  }
  return { removed: true, size };
}

/** What {@link update} did. */
export interface Updated {
  /** The entry at the path when it was claimed. */
  found: ReadResult<Entry>;
  /** The rewritten entry took its place (`found` was ok and `rewrite` made one). */
  written: boolean;
  /**
   * Size of the entry that is gone for good without a replacement of this call: moved aside as
   * corrupt, or superseded by a newer entry written meanwhile (whose writer counted it as created).
   */
  lost: number | undefined;
}

/**
 * Replaces the entry at `path` by a rewrite of itself, never over a newer one: the entry is claimed
 * (so that no one else changes it), `rewrite` writes a temp file from exactly what was claimed (or
 * declines with `undefined`), and the result goes into place only if no other writer has put a newer
 * entry there meanwhile; the newer entry wins. Readers meanwhile find no entry.
 */
export function* update(
  store: StoreSettings,
  path: string,
  rewrite: (entry: Entry) => Op<string | undefined>,
): Op<Updated> {
  const claimed = yield* claim(store, path);
  if (claimed === undefined) return { found: MISSING, written: false, lost: undefined };
  const found = yield* readEntry(claimed);
  if (found.state !== 'ok') {
    if (found.state === 'corrupt') yield* moveToCorrupt(store, claimed);
    return { found, written: false, lost: found.state === 'corrupt' ? found.size : undefined };
  }
  let temp: string | undefined;
  try {
    temp = yield* rewrite(found.entry);
  } catch (error) {
    yield* putBackOrDrop(claimed, path);
    throw error;
  }
  if (temp === undefined) {
    const back = yield* putBackOrDrop(claimed, path);
    return { found, written: false, lost: back ? undefined : found.entry.fileSize };
  }
  if (yield* placeIfAbsent(store, temp, path)) {
    yield* io('unlink', claimed);
    return { found, written: true, lost: undefined };
  }
  yield* discard(temp);
  yield* io('unlink', claimed);
  return { found, written: false, lost: found.entry.fileSize };
}

/** Puts a claimed entry back, or removes it if a newer one took its place; `true` if it went back. */
function* putBackOrDrop(claimed: string, path: string): Op<boolean> {
  if (yield* putBack(claimed, path)) return true;
  yield* io('unlink', claimed);
  return false;
}

/** Moves `temp` to `path` if nothing is there (racy only where the file system has no hard links). */
function* placeIfAbsent(store: StoreSettings, temp: string, path: string): Op<boolean> {
  const linked = yield* linkIfAbsent(store, temp, path);
  if (linked === false) return false;
  if (linked === undefined) {
    if ((yield* io('lstat', path)) !== undefined) return false;
    yield* renameVerified(temp, path);
  }
  yield* flushFolder(store, path);
  return true;
}

/** Returns a claimed entry to `path` unless a newer entry is there; `true` if it went back. */
function* putBack(claimed: string, path: string): Op<boolean> {
  try {
    yield* io('link', claimed, path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    if (code === 'EEXIST') return false;
    if (!LINK_UNSUPPORTED.has(code)) throw error;
    if ((yield* io('stat', path)) !== undefined) return false;
    yield* io('rename', claimed, path);
    return true;
  }
  yield* io('unlink', claimed);
  return true;
}

/**
 * Moves a file (or folder) that failed verification, or that is not the cache's, into `corrupt/`
 * for inspection, under a name no other move uses: `<name>.<writer token>.corrupt`.
 */
export function* moveToCorrupt(store: StoreSettings, path: string): Op<void> {
  yield* ensureDirectory(store, store.layout.corrupt);
  yield* io('rename', path, join(store.layout.corrupt, `${basename(path)}.${uniqueToken()}.corrupt`));
}

/**
 * Why an error of a read means "this is no plain file" (a symbolic link, a directory, a FIFO or a
 * file too large to read), or `undefined` for a failure of the file system.
 */
function notAFile(error: unknown): string | undefined {
  const code = (error as NodeJS.ErrnoException)?.code ?? '';
  return Object.hasOwn(NOT_AN_ENTRY, code) ? NOT_AN_ENTRY[code] : undefined;
}
