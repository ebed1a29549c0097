import { join } from 'node:path';
import { provablyDead } from '../coordination/liveness.js';
import { io, type Op } from '../fs/runner.js';
import { isPlainInside, removeTree } from '../store/directories.js';
import { parseOwner } from '../store/layout.js';
import type { CacheContext } from './context.js';
import { isOrphanedJournal, replayJournal } from './journal.js';

/** Private directories of writers on other hosts are presumed abandoned when nothing in them changed for this long. */
export const ABANDONED_MS = 24 * 60 * 60 * 1000;

/** Whether the private directory or journal of `owner` (a `host~pid~nonce` tag) can be cleaned up. */
function* ownerIsGone(ctx: CacheContext, owner: string, path: string): Op<boolean> {
  const parsed = parseOwner(owner);
  if (parsed !== undefined && provablyDead(parsed.host, parsed.pid)) return true;
  const info = yield* io('stat', path);
  return info !== undefined && ctx.clock.now() - info.mtimeMs > ABANDONED_MS;
}

/** What recovery found, in words, for `check()`. */
export interface Recovered {
  problems: string[];
}

/**
 * Finishes what dead writers left (with `fix`; otherwise only reports it): replays their committed transaction journals, then removes their
 * private directories (temp files and claimed entries). The cost grows with
 * the number of writers that ever used the directory, not with the number of entries.
 */
export function* recoverDeadWriters(ctx: CacheContext, fix = true): Op<Recovered> {
  const problems: string[] = [];
  const journals = (yield* isPlainInside(ctx.store, ctx.layout.journal))
    ? yield* io('readdir', ctx.layout.journal)
    : [];
  for (const name of journals) {
    const owner = name.split('~').slice(0, 3).join('~');
    const path = join(ctx.layout.journal, name);
    if (parseOwner(owner) === undefined) {
      problems.push(`journal/${name}: not a journal${fix ? ', removed' : ''}`);
      if (fix) yield* removeTree(path);
      continue;
    }
    const orphaned = isOrphanedJournal(owner, path) ?? (yield* ownerIsGone(ctx, owner, path));
    if (!orphaned) continue;
    if (fix) yield* replayJournal(ctx, path);
    problems.push(
      `journal/${name}: unfinished transaction of a writer that is gone${fix ? ', completed' : ''}`,
    );
  }
  const owners = (yield* isPlainInside(ctx.store, ctx.layout.temp))
    ? yield* io('readdir', ctx.layout.temp)
    : [];
  for (const owner of owners) {
    const path = join(ctx.layout.temp, owner);
    if (path === ctx.layout.ownTemp) continue;
    if (!(yield* isPlainInside(ctx.store, path)) || parseOwner(owner) === undefined) {
      problems.push(`tmp/${owner}: not a writer's private directory${fix ? ', removed' : ''}`);
      if (fix) yield* removeTree(path);
      continue;
    }
    if (!(yield* ownerIsGone(ctx, owner, path))) continue;
    const left = (yield* io('readdir', path)).length;
    if (left === 0 || fix) yield* removeTree(path);
    if (left > 0)
      problems.push(`tmp/${owner}: ${left} file(s) left by a writer that is gone${fix ? ', removed' : ''}`);
  }
  return { problems };
}
