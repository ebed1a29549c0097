import { dirname, join, relative, resolve, sep } from 'node:path';
import { isRecord } from '../engine/log/record.js';
import { CacheError } from '../errors.js';
import { io, type Op } from '../fs/runner.js';
import { OWNER, uniqueToken } from '../identity.js';
import { isPlainInside } from '../store/directories.js';
import {
  discard,
  ensureParent,
  flushFolder,
  readHeader,
  readPlain,
  renameVerified,
  writePrivate,
} from '../store/entries.js';
import { isEntryName, isOwnerName, isPrivateName, isShardName } from '../store/names.js';
import type { CacheContext } from './context.js';

/** An entry a transaction removes, with what identified it when it was removed. */
export interface JournalDelete {
  path: string;
  /** The removed entry's store time and value checksum; a replay removes only that entry. */
  storedAt?: number;
  valueCrc?: number;
}

/**
 * What a committed transaction makes visible: for the `files` engine, renames and removals (paths
 * relative to the cache directory); for the `log` engine, the records to append (base64).
 */
export type Journal = FilesJournal | LogJournal;

/** A `log` engine's journal: the transaction's records, each appended unless its bucket has it. */
export interface LogJournal {
  records: string[];
}

/** A `files` engine's journal. */
export interface FilesJournal {
  /** `[temp, entry]`: rename the temp file over the entry. */
  writes: [string, string][];
  deletes: JournalDelete[];
}

/**
 * Writes the journal of a transaction: the commit point. Once it exists, the transaction is
 * completed, by its writer or, if that writer dies, by the next process to open the cache.
 */
export function* writeJournal(ctx: CacheContext, journal: Journal): Op<string> {
  const temp = yield* writePrivate(ctx.store, 'journal', [Buffer.from(JSON.stringify(journal))]);
  const path = join(ctx.layout.journal, `${uniqueToken()}.json`);
  try {
    yield* ensureParent(ctx.store, path);
    yield* renameVerified(temp, path);
  } catch (error) {
    yield* discard(temp);
    throw error;
  }
  yield* flushFolder(ctx.store, path);
  return path;
}

/** The journal entry for a write or a delete, with paths made relative to the cache directory. */
export function relativeTo(ctx: CacheContext, path: string): string {
  return relative(ctx.layout.directory, path);
}

/** The absolute path of a journal path, or `undefined` if it would leave the cache directory. */
function inside(ctx: CacheContext, path: unknown): string | undefined {
  if (typeof path !== 'string') return undefined;
  const absolute = resolve(ctx.layout.directory, path);
  return absolute.startsWith(ctx.layout.directory + sep) ? absolute : undefined;
}

/** Applies a journal (idempotently: steps already done are skipped), then removes it. */
export function* applyJournal(
  ctx: CacheContext,
  journal: Journal,
  journalPath: string,
  replay = false,
): Op<void> {
  if ('records' in journal) {
    if (ctx.log === undefined) throw journalError('a log journal in a files cache');
    yield* ctx.log.appendRecords(
      journal.records.map((r) => Buffer.from(r, 'base64')),
      replay,
    );
    yield* io('unlink', journalPath);
    return;
  }
  // The folders whose names changed, flushed before the journal goes (durability 'fsync').
  const changed = new Map<string, string>();
  for (const removal of journal.deletes) {
    const path = inside(ctx, removal.path);
    if (path === undefined || !(yield* isPlainInside(ctx.store, dirname(path)))) continue;
    if (removal.storedAt !== undefined) {
      const found = yield* readHeader(path);
      const same =
        found.state === 'ok' &&
        found.entry.storedAt === removal.storedAt &&
        found.entry.valueCrc === removal.valueCrc;
      if (!same) continue;
    }
    yield* io('unlink', path);
    changed.set(dirname(path), path);
  }
  for (const [temp, entry] of journal.writes) {
    const from = inside(ctx, temp);
    const to = inside(ctx, entry);
    if (from === undefined || to === undefined || !(yield* isPlainInside(ctx.store, dirname(from)))) continue;
    if ((yield* io('lstat', from)) === undefined) continue;
    try {
      yield* ensureParent(ctx.store, to);
    } catch (error) {
      // A folder replaced by a link: that step is left undone (check() reports the folder).
      if (error instanceof CacheError && error.code === 'EFORMAT') continue;
      throw error;
    }
    yield* io('rename', from, to);
    changed.set(dirname(to), to);
  }
  for (const path of changed.values()) yield* flushFolder(ctx.store, path);
  yield* io('unlink', journalPath);
}

const SEPARATOR = /[\\/]/;

/** Whether `path` is `<folder>/<middle>/<name>`, nothing more, with `fits(middle, name)`. */
function isPathIn(path: unknown, folder: string, fits: (middle: string, name: string) => boolean): boolean {
  if (typeof path !== 'string') return false;
  const [first, middle, name, ...rest] = path.split(SEPARATOR);
  return (
    first === folder && rest.length === 0 && middle !== undefined && name !== undefined && fits(middle, name)
  );
}

/** `entries/<shard>/<entry>`, the entry in its own shard. */
function isEntryPath(path: unknown): boolean {
  return isPathIn(
    path,
    'entries',
    (shard, name) => isShardName(shard) && isEntryName(name) && name.startsWith(shard),
  );
}

/** `tmp/<owner>/<name>.<seq>.tmp`, a staged value in a writer's private folder. */
function isStagedPath(path: unknown): boolean {
  return isPathIn(
    path,
    'tmp',
    (owner, name) => isOwnerName(owner) && isPrivateName(name) && name.endsWith('.tmp'),
  );
}

const optionalNumber = (value: unknown) => value === undefined || typeof value === 'number';

/**
 * The journal in `bytes`, or why it is no journal the cache wrote: every write must rename a staged
 * value of a writer over an entry, every delete must name an entry (FORMAT.md, Transactions).
 */
function parseJournal(bytes: Buffer): Journal | string {
  let journal: unknown;
  try {
    journal = JSON.parse(bytes.toString('utf8'));
  } catch {
    return 'not valid JSON';
  }
  const records = (journal as Partial<LogJournal> | null)?.records;
  if (Array.isArray(records)) {
    for (const record of records) {
      if (typeof record !== 'string' || !isRecord(Buffer.from(record, 'base64'))) {
        return `a record that is no intact log record: ${JSON.stringify(record).slice(0, 80)}`;
      }
    }
    return { records } as LogJournal;
  }
  const j = journal as Partial<FilesJournal> | null;
  if (j === null || typeof j !== 'object' || !Array.isArray(j.writes) || !Array.isArray(j.deletes)) {
    return 'not a journal object';
  }
  for (const write of j.writes as unknown[]) {
    if (!Array.isArray(write) || write.length !== 2 || !isStagedPath(write[0]) || !isEntryPath(write[1])) {
      return `a write that is not [staged value, entry]: ${JSON.stringify(write)}`;
    }
  }
  for (const removal of j.deletes as unknown[]) {
    const r = removal as Partial<JournalDelete> | null;
    if (r === null || typeof r !== 'object' || !isEntryPath(r.path) || !optionalNumber(r.storedAt)) {
      return `a delete that names no entry: ${JSON.stringify(removal)}`;
    }
    if (!optionalNumber(r.valueCrc)) return `a delete with a bad checksum: ${JSON.stringify(removal)}`;
  }
  return j as FilesJournal;
}

function journalError(reason: string): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error(`diskcache-ts: ${reason}`);
  error.code = 'EINVAL';
  return error;
}

/** Errors of a step that mean the journal cannot be completed as written (a folder where an entry goes…). */
const STRUCTURAL = new Set(['EISDIR', 'ENOTDIR', 'ENOTEMPTY', 'EEXIST', 'EPERM', 'EINVAL', 'ELOOP']);

/** Journals this process is applying right now (recovery leaves them alone). */
const applying = new Set<string>();

/**
 * Applies a journal this process just committed; if a step fails, tries once more, and if it still
 * fails, leaves the journal for recovery (the next `check({ fix: true })` or open completes it).
 */
export function* applyCommitted(ctx: CacheContext, journal: Journal, journalPath: string): Op<void> {
  applying.add(journalPath);
  try {
    try {
      yield* applyJournal(ctx, journal, journalPath);
    } catch {
      yield* applyJournal(ctx, journal, journalPath, true);
    }
  } finally {
    applying.delete(journalPath);
  }
}

/** Whether recovery may complete this journal now: its writer is gone, or it is this process's and idle. */
export function isOrphanedJournal(owner: string, journalPath: string): boolean | undefined {
  if (owner === OWNER) return !applying.has(journalPath);
  return undefined;
}

/** What replaying a journal did: completed it, or found it malformed (it is left in place). */
export type Replay = { done: true } | { done: false; malformed: string };

/**
 * Completes the transaction of a writer that died (or failed) after committing it. A journal that
 * is no journal the cache wrote, or whose steps cannot be done (a folder where an entry goes), is
 * reported as malformed and left for the caller to set aside.
 */
export function* replayJournal(ctx: CacheContext, journalPath: string): Op<Replay> {
  const { bytes, notAFile: reason } = yield* readPlain(journalPath);
  if (reason !== undefined) return { done: false, malformed: reason };
  if (bytes === undefined) return { done: true };
  const journal = parseJournal(bytes);
  if (typeof journal === 'string') return { done: false, malformed: journal };
  try {
    yield* applyJournal(ctx, journal, journalPath, true);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    if (!STRUCTURAL.has(code)) throw error;
    return { done: false, malformed: `a step failed with ${code}` };
  }
  return { done: true };
}
