import { join, relative } from 'node:path';
import type { Totals } from '../coordination/counters.js';
import { describeHolder, inspectLock, probeServerClock, type ServerClock } from '../coordination/lock.js';
import { CacheError } from '../errors.js';
import { io, type Op } from '../fs/runner.js';
import { isPlainInside, removeTree } from '../store/directories.js';
import { readEntry, removeIf } from '../store/entries.js';
import { type CacheContext, undecodable } from './context.js';
import { recoverDeadWriters } from './recovery.js';
import { forEachFile, storedUnderItsName } from './scan.js';

/** What `check()` found and, with `fix`, repaired. */
export interface CheckReport {
  /** One sentence per problem. */
  problems: string[];
  /** How many of them were repaired. */
  fixed: number;
}

const SHARD_NAME = /^[0-9a-f]{2}$/;

/**
 * `check({ fix })`: verifies every entry file in full, and that the counters match the entries.
 * With `fix`, moves corrupt and misplaced files to `corrupt/`, removes files left by dead writers and
 * stale locks, and resets the counters to what the entries add up to.
 */
export function* check(ctx: CacheContext, fix = false): Op<CheckReport> {
  const problems: string[] = [];
  let fixed = 0;
  let entries = 0;
  let volume = 0;
  /** The file server's clock, read once, when the first lock is judged. */
  let serverClock: ServerClock | undefined;
  const where = (path: string) => relative(ctx.layout.directory, path);
  const moveAside = function* (path: string) {
    const removal = yield* removeIf(ctx.store, path, () => 'aside', 'full');
    if (removal.removed) fixed++;
  };

  const recovered = yield* recoverDeadWriters(ctx, fix);
  problems.push(...recovered.problems);
  if (fix) fixed += recovered.problems.length;

  // What does not belong in entries/: names that are no shard, and shards that are no plain folder.
  for (const name of (yield* isPlainInside(ctx.store, ctx.layout.entries))
    ? yield* io('readdir', ctx.layout.entries)
    : []) {
    const path = join(ctx.layout.entries, name);
    if (SHARD_NAME.test(name) && (yield* isPlainInside(ctx.store, path))) continue;
    problems.push(`${where(path)}: not a shard directory${fix ? ', removed' : ''}`);
    if (fix) {
      yield* removeTree(path);
      fixed++;
    }
  }

  yield* forEachFile(ctx, function* (path, name, kind) {
    switch (kind) {
      case 'entry': {
        const found = yield* readEntry(path);
        if (found.state === 'missing') return;
        const damage = found.state === 'ok' ? undecodable(ctx, found.entry) : undefined;
        if (found.state === 'corrupt') {
          problems.push(`${where(path)}: corrupt entry (${found.reason})`);
          if (fix) yield* moveAside(path);
        } else if (!storedUnderItsName(name, found.entry)) {
          problems.push(`${where(path)}: entry stored under another key's name`);
          if (fix) yield* moveAside(path);
        } else if (damage !== undefined) {
          problems.push(`${where(path)}: undecodable entry (${damage})`);
          if (fix) yield* moveAside(path);
        } else {
          entries++;
          volume += found.entry.fileSize;
        }
        return;
      }
      case 'lock': {
        serverClock ??= yield* probeServerClock(ctx.store);
        const lock = yield* inspectLock(path, serverClock);
        if (!lock.stale) return;
        problems.push(
          `${where(path)}: stale lock held by ${describeHolder(lock.holder)}${fix ? ', removed' : ''}`,
        );
        if (fix) {
          yield* removeTree(path);
          fixed++;
        }
        return;
      }
      default:
        problems.push(`${where(path)}: unknown file in a shard directory${fix ? ', removed' : ''}`);
        if (fix) {
          yield* removeTree(path);
          fixed++;
        }
    }
  });

  const totals = yield* readTotals(ctx);
  if (typeof totals === 'string' || totals.count !== entries || totals.volume !== volume) {
    problems.push(
      typeof totals === 'string'
        ? totals
        : `counters say ${totals.count} entries and ${totals.volume} bytes; the files hold ${entries} entries and ${volume} bytes`,
    );
    if (fix) {
      yield* ctx.counters.reconcile({ count: entries, volume }, ctx.lock);
      fixed++;
    }
  }
  return { problems, fixed };
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
