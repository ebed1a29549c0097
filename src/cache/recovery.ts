import { join, relative } from 'node:path';
import { io, type Op } from '../fs/runner.js';
import { processOfOwnerTag, provablyDead } from '../identity.js';
import { isReadOnlyError } from '../store/bookkeeping.js';
import { isPlainInside } from '../store/directories.js';
import { moveToCorrupt } from '../store/entries.js';
import { isIgnoredName, isJournalName, isOwnerName, isPrivateName } from '../store/names.js';
import type { CacheContext } from './context.js';
import { isOrphanedJournal, replayJournal } from './journal.js';

/** Private directories of writers on other hosts are presumed abandoned when nothing in them changed for this long. */
export const ABANDONED_MS = 24 * 60 * 60 * 1000;

/** Whether the private directory or journal of `owner` (a `host~pid~nonce` tag) can be cleaned up. */
function* ownerIsGone(ctx: CacheContext, owner: string, path: string): Op<boolean> {
  const parsed = processOfOwnerTag(owner);
  if (parsed !== undefined && provablyDead(parsed.host, parsed.pid)) return true;
  const info = yield* io('stat', path);
  return info !== undefined && ctx.clock.now() - info.mtimeMs > ABANDONED_MS;
}

/** One thing found, in words, and whether it was repaired. */
export interface Finding {
  problem: string;
  fixed: boolean;
  /**
   * Damage rather than the routine leftovers of a crash (a malformed journal, a planted link): a
   * repair of it while opening is reported by a warning and by the next `check()`.
   */
  damage?: boolean;
}

/**
 * How far recovery goes: `'report'` changes nothing; `'open'` completes and removes what dead
 * writers left, in the cache's own formats only; `'fix'` (`check({ fix: true })`) also moves names
 * that are not the cache's out of its folders into `corrupt/`. Nothing else is ever removed.
 */
export type RecoveryMode = 'report' | 'open' | 'fix';

/**
 * Moves a name that is not the cache's into `corrupt/` (mode `'fix'`), else only reports it (in
 * every mode but `'open'`, which leaves such names to `check()`).
 */
export function* unknownName(
  ctx: CacheContext,
  path: string,
  what: string,
  mode: RecoveryMode,
  findings: Finding[],
): Op<void> {
  if (mode === 'open') return;
  const where = relative(ctx.layout.directory, path);
  if (mode === 'fix') yield* moveToCorrupt(ctx.store, path);
  findings.push({
    problem: `${where}: ${what}${mode === 'fix' ? ', moved to corrupt/' : ''}`,
    fixed: mode === 'fix',
  });
}

/**
 * Removes one file of a dead writer's private directory: a file, or a lock folder holding only its
 * `owner` record. `false` if it is neither (then it is not the cache's).
 */
function* removePrivate(path: string): Op<boolean> {
  const info = yield* io('lstat', path);
  if (info === undefined) return true;
  if (!info.isDirectory || info.isSymbolicLink) {
    yield* io('unlink', path);
    return true;
  }
  const inside = yield* io('readdir', path);
  if (inside.some((name) => name !== 'owner')) return false;
  if (inside.length > 0) yield* io('unlink', join(path, 'owner'));
  return yield* io('rmdir', path);
}

/** Runs one step of recovery or repair; a failure of the file system (but EROFS) is reported and the rest goes on. */
export function* step(findings: Finding[], where: string, body: () => Op<void>): Op<void> {
  try {
    yield* body();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException)?.code;
    if (typeof code !== 'string' || isReadOnlyError(error)) throw error;
    findings.push({ problem: `${where}: could not be recovered (${code}), left for later`, fixed: false });
  }
}

function* recoverJournals(ctx: CacheContext, mode: RecoveryMode, findings: Finding[]): Op<void> {
  if (!(yield* isPlainInside(ctx.store, ctx.layout.journal))) return;
  for (const name of yield* io('readdir', ctx.layout.journal)) {
    if (isIgnoredName(name)) continue;
    const path = join(ctx.layout.journal, name);
    if (!isJournalName(name)) {
      yield* step(findings, `journal/${name}`, () => unknownName(ctx, path, 'not a journal', mode, findings));
      continue;
    }
    const owner = name.split('~').slice(0, 3).join('~');
    yield* step(findings, `journal/${name}`, function* () {
      const orphaned = isOrphanedJournal(owner, path) ?? (yield* ownerIsGone(ctx, owner, path));
      if (!orphaned) return;
      const problem = `journal/${name}: unfinished transaction of a writer that is gone`;
      if (mode === 'report') {
        findings.push({ problem, fixed: false });
        return;
      }
      const replay = yield* replayJournal(ctx, path);
      if (replay.done) {
        findings.push({ problem: `${problem}, completed`, fixed: true });
        return;
      }
      yield* moveToCorrupt(ctx.store, path);
      findings.push({
        problem: `journal/${name}: malformed journal of a writer that is gone (${replay.malformed}), moved to corrupt/`,
        fixed: true,
        damage: true,
      });
    });
  }
}

function* recoverPrivateDirectories(ctx: CacheContext, mode: RecoveryMode, findings: Finding[]): Op<void> {
  if (!(yield* isPlainInside(ctx.store, ctx.layout.temp))) return;
  for (const owner of yield* io('readdir', ctx.layout.temp)) {
    const path = join(ctx.layout.temp, owner);
    if (path === ctx.layout.ownTemp || isIgnoredName(owner)) continue;
    yield* step(findings, `tmp/${owner}`, function* () {
      const info = yield* io('lstat', path);
      if (info === undefined) return;
      if (!isOwnerName(owner) || !info.isDirectory) {
        yield* unknownName(ctx, path, 'not a writer’s private directory', mode, findings);
        return;
      }
      if (info.isSymbolicLink) {
        if (mode !== 'report') yield* io('unlink', path);
        const problem = `tmp/${owner}: a symbolic link, not a writer’s private directory`;
        findings.push({
          problem: mode === 'report' ? problem : `${problem}, removed`,
          fixed: mode !== 'report',
          damage: true,
        });
        return;
      }
      if (!(yield* ownerIsGone(ctx, owner, path))) return;
      let left = 0;
      for (const name of yield* io('readdir', path)) {
        if (isIgnoredName(name)) continue;
        const child = join(path, name);
        if (isPrivateName(name) && (mode === 'report' || (yield* removePrivate(child)))) left++;
        else
          yield* unknownName(
            ctx,
            child,
            'unknown file in the directory of a writer that is gone',
            mode,
            findings,
          );
      }
      if (mode !== 'report') yield* io('rmdir', path);
      if (left > 0) {
        const problem = `tmp/${owner}: ${left} file(s) left by a writer that is gone`;
        findings.push({
          problem: mode === 'report' ? problem : `${problem}, removed`,
          fixed: mode !== 'report',
        });
      }
    });
  }
}

/**
 * Finishes what dead writers left: completes their committed transaction journals (a malformed one
 * is moved to `corrupt/`), then removes their private directories (temp files, claimed entries,
 * prepared locks). The cost grows with the number of writers that ever used the directory, not with
 * the number of entries. A step that fails is reported and left for later; only EROFS stops it.
 */
export function* recoverDeadWriters(ctx: CacheContext, mode: RecoveryMode): Op<Finding[]> {
  const findings: Finding[] = [];
  yield* recoverJournals(ctx, mode, findings);
  yield* recoverPrivateDirectories(ctx, mode, findings);
  return findings;
}
