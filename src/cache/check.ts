import { basename, join, relative } from 'node:path';
import { breakLock, inspectLock, probeServerClock, type ServerClock } from '../coordination/lock.js';
import { CacheError } from '../errors.js';
import type { Totals } from '../format/counters-record.js';
import { io, type Op } from '../fs/runner.js';
import { describeProcess } from '../identity.js';
import { forgetDirectory, isPlainInside } from '../store/directories.js';
import { moveToCorrupt } from '../store/entries.js';
import {
  isCompactionLockName,
  isCounterName,
  isIgnoredName,
  isQueueName,
  isShardName,
} from '../store/names.js';
import { type CacheContext, undecodable } from './context.js';
import { restoreFolders } from './folders.js';
import { type Finding, recoverDeadWriters, unknownName } from './recovery.js';
import { forEachEntry, forEachFile, storedUnderItsName } from './scan.js';

/** What `check()` found and, with `fix`, repaired. */
export interface CheckReport {
  /** One sentence per problem. */
  problems: string[];
  /** How many of them were repaired. */
  fixed: number;
}

/**
 * The locks outside the shard folders, with the names that may be there: `transact.lock`,
 * `counters/fold.lock`, the queues' `queues/<32 hex>.lock` and a log cache's compaction locks
 * `log/<2 hex>.lock`.
 */
function* outerLocks(ctx: CacheContext): Op<string[]> {
  const locks = [ctx.layout.transactLock];
  if (yield* isPlainInside(ctx.store, ctx.layout.counters))
    locks.push(join(ctx.layout.counters, 'fold.lock'));
  const queues = join(ctx.layout.directory, 'queues');
  if (yield* isPlainInside(ctx.store, queues)) {
    for (const name of yield* io('readdir', queues)) {
      if (isQueueName(name) && name.endsWith('.lock')) locks.push(join(queues, name));
    }
  }
  const log = ctx.log?.folder;
  if (log !== undefined && (yield* isPlainInside(ctx.store, log))) {
    for (const name of yield* io('readdir', log)) if (isCompactionLockName(name)) locks.push(join(log, name));
  }
  return locks;
}

/**
 * What `check()` makes of the entry at `path`: `undefined` if there is none, what is wrong with it,
 * or the size of an entry that counts.
 */
function* judgeEntry(ctx: CacheContext, path: string): Op<string | { size: number } | undefined> {
  const read = yield* ctx.slots.read(path);
  if (read.state === 'missing') return undefined;
  if (read.state === 'corrupt') return `corrupt entry (${read.reason})`;
  if (!storedUnderItsName(basename(path), read.entry)) return "entry stored under another key's name";
  const damage = undecodable(ctx, read.entry);
  if (damage !== undefined) return `undecodable entry (${damage})`;
  return { size: read.entry.fileSize };
}

/**
 * The count and volume of the entries that `check()` counts, as it counts them (each entry's
 * engine footprint), without repairing anything.
 */
export function* recount(ctx: CacheContext): Op<{ count: number; volume: number }> {
  let count = 0;
  let volume = 0;
  const visit = function* (path: string) {
    const verdict = yield* judgeEntry(ctx, path);
    if (verdict === undefined || typeof verdict === 'string') return;
    count++;
    volume += ctx.slots.footprint(verdict.size);
  };
  if (ctx.log !== undefined) yield* forEachEntry(ctx, visit);
  yield* forEachFile(ctx, (path, _name, kind) => (kind === 'entry' ? visit(path) : noop()));
  return { count, volume };
}

function* noop(): Op<void> {}

/**
 * `check({ fix })`: verifies every entry file in full, the counters against the entries, the
 * top-level folders, and what dead writers and dead lock holders left. With `fix`, moves corrupt and
 * misplaced entries and every name that is not the cache's to `corrupt/`, completes or removes what
 * dead writers left, breaks stale locks, restores the top-level folders, and resets the counters to
 * what the entries add up to. Repairs made while opening are reported here once.
 */
export function* check(ctx: CacheContext, fix = false): Op<CheckReport> {
  const findings: Finding[] = ctx.repairs.drain().map((problem) => ({ problem, fixed: true }));
  const found = (problem: string, fixed: boolean) => findings.push({ problem, fixed });
  let entries = 0;
  let volume = 0;
  const where = (path: string) => relative(ctx.layout.directory, path);
  const mode = fix ? 'fix' : 'report';
  const moveAside = (path: string) => ctx.slots.removeIf(path, () => 'aside', 'full');

  findings.push(...(yield* restoreFolders(ctx.store, fix)));
  findings.push(...(yield* recoverDeadWriters(ctx, mode)));

  /** The file server's clock, read once, when the first lock is judged. */
  let serverClock: ServerClock | undefined;
  const checkLock = function* (path: string) {
    serverClock ??= yield* probeServerClock(ctx.store);
    const lock = yield* inspectLock(path, serverClock);
    if (!lock.stale) return;
    if (fix) yield* breakLock(ctx.store, path, lock.holder);
    found(`${where(path)}: stale lock held by ${describeProcess(lock.holder)}${fix ? ', removed' : ''}`, fix);
  };

  // What does not belong in entries/: names that are no shard, and shards that are no plain folder.
  for (const name of (yield* isPlainInside(ctx.store, ctx.layout.entries))
    ? yield* io('readdir', ctx.layout.entries)
    : []) {
    const path = join(ctx.layout.entries, name);
    if (isIgnoredName(name) || (isShardName(name) && (yield* isPlainInside(ctx.store, path)))) continue;
    if (!isShardName(name)) {
      yield* unknownName(ctx, path, 'not a shard directory', mode, findings);
      continue;
    }
    const link = (yield* io('lstat', path))?.isSymbolicLink === true;
    found(
      `${where(path)}: not a shard directory (${link ? 'a symbolic link' : 'a file'})${fix ? (link ? ', removed' : ', moved to corrupt/') : ''}`,
      fix,
    );
    if (!fix) continue;
    forgetDirectory(ctx.store, path);
    if (link) yield* io('unlink', path);
    else yield* moveToCorrupt(ctx.store, path);
  }

  const verify = function* (path: string) {
    const verdict = yield* judgeEntry(ctx, path);
    if (verdict === undefined) return;
    if (typeof verdict === 'string') {
      found(`${where(path)}: ${verdict}`, fix);
      if (fix) yield* moveAside(path);
      return;
    }
    entries++;
    volume += ctx.slots.footprint(verdict.size);
  };

  if (ctx.log !== undefined) {
    yield* forEachEntry(ctx, verify);
    const files = yield* ctx.log.checkFiles(fix);
    for (const problem of files.problems) found(problem, fix);
    for (const path of files.unknown) {
      yield* unknownName(ctx, path, 'not a file of the log engine', mode, findings);
    }
  }
  yield* forEachFile(ctx, function* (path, _name, kind) {
    switch (kind) {
      case 'entry':
        return yield* verify(path);
      case 'lock':
        return yield* checkLock(path);
      default:
        return yield* unknownName(ctx, path, 'unknown file in a shard directory', mode, findings);
    }
  });

  // Names that are not the cache's in counters/ and queues/.
  for (const [dir, isOwn] of [
    [ctx.layout.counters, isCounterName],
    [join(ctx.layout.directory, 'queues'), isQueueName],
  ] as const) {
    if (!(yield* isPlainInside(ctx.store, dir))) continue;
    for (const name of yield* io('readdir', dir)) {
      if (!isOwn(name) && !isIgnoredName(name)) {
        yield* unknownName(ctx, join(dir, name), 'not a file of the cache', mode, findings);
      }
    }
  }
  for (const lock of yield* outerLocks(ctx)) yield* checkLock(lock);

  const totals = yield* readTotals(ctx);
  if (typeof totals === 'string' || totals.count !== entries || totals.volume !== volume) {
    found(
      typeof totals === 'string'
        ? totals
        : `counters say ${totals.count} entries and ${totals.volume} bytes; the entries are ${entries}, taking ${volume} bytes`,
      fix,
    );
    if (fix) yield* ctx.counters.reconcile({ count: entries, volume }, ctx.lock);
  }
  return {
    problems: findings.map((f) => f.problem),
    fixed: findings.filter((f) => f.fixed).length,
  };
}

/** The counters' totals, or what is wrong with them if they cannot be read. */
function* readTotals(ctx: CacheContext): Op<Totals | string> {
  try {
    return yield* ctx.counters.read();
  } catch (error) {
    if (error instanceof CacheError && error.code === 'EFORMAT')
      return error.message.replace(/^diskcache-ts: /, '');
    throw error;
  }
}
