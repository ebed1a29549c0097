import { join } from 'node:path';
import { provablyDead } from '../coordination/liveness.js';
import { io, type Op } from '../fs/runner.js';
import { parseOwner } from '../store/layout.js';
import type { CacheContext } from './context.js';
import { replayJournal } from './journal.js';

/** Private directories of writers on other hosts are presumed abandoned when nothing in them changed for this long. */
export const ABANDONED_MS = 24 * 60 * 60 * 1000;

/** Whether the private directory or journal of `owner` (a `host~pid~nonce` tag) can be cleaned up. */
function* ownerIsGone(ctx: CacheContext, owner: string, path: string): Op<boolean> {
  const parsed = parseOwner(owner);
  if (parsed !== undefined && provablyDead(parsed.host, parsed.pid)) return true;
  const info = yield* io('stat', path);
  return info !== undefined && ctx.clock.now() - info.mtimeMs > ABANDONED_MS;
}

/** Removes a dead writer's private directory and everything in it (temp files and claimed entries). */
function* removePrivateDirectory(path: string): Op<void> {
  for (const name of yield* io('readdir', path)) yield* io('unlink', join(path, name));
  yield* io('rmdir', path);
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
  for (const name of yield* io('readdir', ctx.layout.journal)) {
    const owner = name.split('~').slice(0, 3).join('~');
    const path = join(ctx.layout.journal, name);
    if (!(yield* ownerIsGone(ctx, owner, path))) continue;
    if (fix) yield* replayJournal(ctx, path);
    problems.push(
      `journal/${name}: unfinished transaction of a writer that is gone${fix ? ', completed' : ''}`,
    );
  }
  for (const owner of yield* io('readdir', ctx.layout.temp)) {
    const path = join(ctx.layout.temp, owner);
    if (path === ctx.layout.ownTemp || !(yield* ownerIsGone(ctx, owner, path))) continue;
    const left = (yield* io('readdir', path)).length;
    if (left === 0 || fix) yield* removePrivateDirectory(path);
    if (left > 0)
      problems.push(`tmp/${owner}: ${left} file(s) left by a writer that is gone${fix ? ', removed' : ''}`);
  }
  return { problems };
}
