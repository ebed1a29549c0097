import { join, relative, sep } from 'node:path';
import { CacheError } from '../errors.js';
import type { AsyncFileSystem, FileSystem, SyncFileSystem } from './backend.js';
import { io, type Op, runAsync, runSync } from './runner.js';

/** How a path-taking primitive is confined. */
interface Rule {
  /** Indexes of the arguments that are paths. */
  paths: readonly number[];
  /**
   * What the primitive answers for a path it may not reach (as for a path that does not exist);
   * primitives without one create or move things, and throw a `CacheError` `'EFORMAT'` instead.
   */
  absent?: { value: unknown };
  /** The primitive follows a symbolic link at the path itself: the path must not be one. */
  follows?: boolean;
}

const NOTHING = { value: undefined };

const RULES: Partial<Record<keyof SyncFileSystem, Rule>> = {
  readFile: { paths: [0], absent: NOTHING },
  readHead: { paths: [0], absent: NOTHING },
  stat: { paths: [0], absent: NOTHING, follows: true },
  lstat: { paths: [0], absent: NOTHING },
  openForRead: { paths: [0], absent: NOTHING },
  readdir: { paths: [0], absent: { value: [] }, follows: true },
  unlink: { paths: [0], absent: { value: false } },
  rmdir: { paths: [0], absent: { value: false } },
  utimes: { paths: [0], absent: { value: false }, follows: true },
  fsyncDir: { paths: [0], absent: NOTHING, follows: true },
  writeFile: { paths: [0] },
  rename: { paths: [0, 1] },
  placeDirectory: { paths: [0, 1] },
  link: { paths: [0, 1] },
  mkdir: { paths: [0] },
  mkdirExclusive: { paths: [0] },
  openForUpdate: { paths: [0] },
};

/**
 * The first folder on the way from `root` to `path` that is not a plain directory (a symbolic link,
 * a file), or the path itself if `follows` and it is a link; `undefined` if there is none. A folder
 * that does not exist passes: nothing can be reached through it.
 */
function* firstForeign(root: string, path: string, follows: boolean): Op<string | undefined> {
  if (path === root) return undefined;
  const parts = relative(root, path).split(sep);
  if (parts[0] === '' || parts.includes('..')) {
    throw new Error(`diskcache-ts: internal error: ${path} is outside the cache directory ${root}`);
  }
  let at = root;
  for (const part of parts.slice(0, -1)) {
    at = join(at, part);
    const info = yield* io('lstat', at);
    if (info === undefined) return undefined;
    if (!info.isDirectory || info.isSymbolicLink) return at;
  }
  if (follows && (yield* io('lstat', path))?.isSymbolicLink === true) return path;
  return undefined;
}

/** The first foreign folder on the way to any of the paths `rule` names in `args`. */
function* foreignIn(root: string, rule: Rule, args: readonly unknown[]): Op<string | undefined> {
  for (const index of rule.paths) {
    const found = yield* firstForeign(root, args[index] as string, rule.follows === true);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** What a primitive that may not reach its path does: answers "absent", or throws. */
function refuse(rule: Rule, root: string, foreign: string): unknown {
  if (rule.absent !== undefined) return rule.absent.value;
  throw new CacheError(
    'EFORMAT',
    `${foreign} is not a plain directory (a symbolic link?); repair the cache with \`diskcache DIR check --fix\``,
    { path: foreign, directory: root },
  );
}

/**
 * The file system `fs`, confined to the cache directory `root` (DESIGN.md rule 6, docs/FORMAT.md
 * "Trust model"). Right before each primitive that takes a path, every folder on the way from `root`
 * to it is checked to be a plain directory: another user of a shared directory may plant or swap in
 * a symbolic link at any time, and the cache must never read, write or remove anything through one.
 * A primitive that follows a link at the path itself (`stat`, `readdir`, `utimes`) refuses one there.
 * A path it may not reach is absent to reads, listings and removals, and a `CacheError` `'EFORMAT'`
 * to writes. `root` itself may be a link. What is left is the moment between a check and the call.
 */
export function confineFileSystem(fs: FileSystem, root: string): FileSystem {
  const sync = { ...fs.sync } as Record<string, (...args: unknown[]) => unknown>;
  const async = { ...fs.async } as Record<string, (...args: unknown[]) => Promise<unknown>>;
  for (const [name, rule] of Object.entries(RULES) as [keyof SyncFileSystem, Rule][]) {
    const callSync = fs.sync[name] as (...args: unknown[]) => unknown;
    const callAsync = fs.async[name] as (...args: unknown[]) => Promise<unknown>;
    sync[name] = (...args) => {
      const foreign = runSync(fs, foreignIn(root, rule, args));
      return foreign === undefined ? callSync(...args) : refuse(rule, root, foreign);
    };
    async[name] = async (...args) => {
      const foreign = await runAsync(fs, foreignIn(root, rule, args));
      return foreign === undefined ? callAsync(...args) : refuse(rule, root, foreign);
    };
  }
  return { ...fs, sync: sync as unknown as SyncFileSystem, async: async as unknown as AsyncFileSystem };
}
