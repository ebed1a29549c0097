import { sep } from 'node:path';
import { CacheError } from '../errors.js';
import type { AsyncFileSystem, FileInfo, FileSystem, SyncFileSystem } from './backend.js';

/**
 * A check: a generator that yields the paths it needs `lstat` of, and returns its finding. It is run
 * by {@link checkSync} or {@link checkAsync} with the primitives themselves, not through the runner:
 * a failing `lstat` fails the primitive it guards, whose retries (`retryingFileSystem`, stacked
 * outside) include the check.
 */
type Check<T> = Generator<string, T, FileInfo | undefined>;

function checkSync<T>(fs: SyncFileSystem, check: Check<T>): T {
  let step = check.next();
  while (!step.done) step = check.next(fs.lstat(step.value));
  return step.value;
}

async function checkAsync<T>(fs: AsyncFileSystem, check: Check<T>): Promise<T> {
  let step = check.next();
  while (!step.done) step = check.next(await fs.lstat(step.value));
  return step.value;
}

/** How a path-taking primitive is confined. */
interface Rule {
  /** Indexes of the arguments that are paths. */
  paths: readonly number[];
  /**
   * What the primitive answers for a path it may not reach (as for a path that does not exist);
   * primitives without one create or move things, and throw a `CacheError` `'EFORMAT'` instead,
   * or ENOENT when it is the source of a move or a link that they may not reach.
   */
  absent?: { value: unknown };
  /** The first path is the source of a move or a link. */
  moves?: boolean;
  /** The primitive follows a symbolic link at the path itself: the path must not be one. */
  follows?: boolean;
  /**
   * The `lstat` that finds the path no link answers the primitive too (`stat`: what it says of
   * anything but a link is what `lstat` says), so the primitive is not called again.
   */
  answeredByCheck?: boolean;
}

const NOTHING = { value: undefined };

const RULES: Partial<Record<keyof SyncFileSystem, Rule>> = {
  readFile: { paths: [0], absent: NOTHING },
  readHead: { paths: [0], absent: NOTHING },
  stat: { paths: [0], absent: NOTHING, follows: true, answeredByCheck: true },
  lstat: { paths: [0], absent: NOTHING },
  openForRead: { paths: [0], absent: NOTHING },
  readdir: { paths: [0], absent: { value: [] }, follows: true },
  unlink: { paths: [0], absent: { value: false } },
  rmdir: { paths: [0], absent: { value: false } },
  utimes: { paths: [0], absent: { value: false }, follows: true },
  fsyncDir: { paths: [0], absent: NOTHING, follows: true },
  writeFile: { paths: [0] },
  rename: { paths: [0, 1], moves: true },
  placeDirectory: { paths: [0, 1], moves: true },
  link: { paths: [0, 1], moves: true },
  mkdir: { paths: [0] },
  mkdirExclusive: { paths: [0] },
  openForUpdate: { paths: [0] },
  openForAppend: { paths: [0] },
};

/** What a check of the paths of a primitive found. */
interface Finding {
  /** The first folder that keeps the primitive from a path, and the index of that path. */
  foreign?: Foreign;
  /**
   * What `lstat` said of the path itself when it was looked at for being a link (`follows`), and
   * was none: `undefined` inside if nothing is there.
   */
  looked?: { info: FileInfo | undefined };
}

/**
 * The first folder on the way from `root` to `path` that is not a plain directory (a symbolic link,
 * a file), or the path itself if `follows` and it is a link; `undefined` if there is none. A folder
 * that does not exist passes: nothing can be reached through it. With `follows`, what `lstat` said
 * of the path itself goes to `looked` (a folder found plain in this operation is not looked at
 * again, and one found plain here is not looked at again in it).
 */
function* firstForeign(
  root: string,
  path: string,
  follows: boolean,
  plain: Set<string>,
  looked: (info: FileInfo | undefined) => void,
): Check<string | undefined> {
  if (path === root) return undefined;
  const inside = root.endsWith(sep) ? root : root + sep;
  if (!path.startsWith(inside) || path.length === inside.length || isEscaping(path, inside.length)) {
    throw new Error(`diskcache-ts: internal error: ${path} is outside the cache directory ${root}`);
  }
  for (let end = path.indexOf(sep, inside.length); end !== -1; end = path.indexOf(sep, end + 1)) {
    const folder = path.slice(0, end);
    if (plain.has(folder)) continue;
    const info = yield folder;
    if (info === undefined) return undefined;
    if (!info.isDirectory || info.isSymbolicLink) return folder;
    plain.add(folder);
  }
  if (!follows || plain.has(path)) return undefined;
  const info = yield path;
  if (info?.isSymbolicLink === true) return path;
  if (info?.isDirectory === true) plain.add(path);
  looked(info);
  return undefined;
}

/** Whether the part of `path` from `start` has a `..` or empty component (the cache never makes one). */
function isEscaping(path: string, start: number): boolean {
  const rest = path.slice(start);
  return rest.endsWith(sep) || rest.includes(`${sep}${sep}`) || rest.split(sep).includes('..');
}

/** What keeps a primitive from its paths: the first foreign folder, and the index of the path it is on. */
interface Foreign {
  folder: string;
  index: number;
}

/** The first foreign folder on the way to any of the paths `rule` names in `args`. */
function* foreignIn(root: string, rule: Rule, args: readonly unknown[], plain: Set<string>): Check<Finding> {
  const finding: Finding = {};
  for (const index of rule.paths) {
    const folder = yield* firstForeign(root, args[index] as string, rule.follows === true, plain, (info) => {
      finding.looked = { info };
    });
    if (folder !== undefined) return { foreign: { folder, index } };
  }
  return finding;
}

/** What a primitive that may not reach a path does: answers "absent", or throws. */
function refuse(rule: Rule, root: string, args: readonly unknown[], foreign: Foreign): unknown {
  if (rule.absent !== undefined) return rule.absent.value;
  if (rule.moves === true && foreign.index === 0) {
    const error: NodeJS.ErrnoException = new Error(`ENOENT: no such file or directory, '${args[0]}'`);
    error.code = 'ENOENT';
    error.path = args[0] as string;
    throw error;
  }
  throw new CacheError(
    'EFORMAT',
    `${foreign.folder} is not a plain directory (a symbolic link?); repair the cache with \`diskcache DIR check --fix\``,
    { path: foreign.folder, directory: root },
  );
}

/**
 * The file system `fs`, confined to the cache directory `root` (DESIGN.md rule 6, docs/FORMAT.md
 * "Trust model"). Right before each primitive that takes a path, every folder on the way from `root`
 * to it is checked to be a plain directory: another user of a shared directory may plant or swap in
 * a symbolic link at any time, and the cache must never read, write or remove anything through one.
 * A primitive that follows a link at the path itself (`stat`, `readdir`, `utimes`) refuses one there;
 * `stat` of anything else is answered by that `lstat` (one round trip on a network mount, not two).
 * A path it may not reach is absent to reads, listings, removals and as the source of a move, and
 * a `CacheError` `'EFORMAT'` to writes. `root` itself may be a link. A folder found plain is not
 * looked at again until the next operation starts (any operation's, on either surface), so each
 * folder is checked once per operation. What is left is the moment between a check and the calls
 * it covers.
 */
export function confineFileSystem(fs: FileSystem, root: string): FileSystem {
  /** Folders found plain since the latest operation started (any operation's start forgets them). */
  const plain = new Set<string>();
  const sync = { ...fs.sync } as Record<string, (...args: unknown[]) => unknown>;
  const async = { ...fs.async } as Record<string, (...args: unknown[]) => Promise<unknown>>;
  for (const [name, rule] of Object.entries(RULES) as [keyof SyncFileSystem, Rule][]) {
    const callSync = fs.sync[name] as (...args: unknown[]) => unknown;
    const callAsync = fs.async[name] as (...args: unknown[]) => Promise<unknown>;
    sync[name] = (...args) => {
      const { foreign, looked } = checkSync(fs.sync, foreignIn(root, rule, args, plain));
      if (foreign !== undefined) return refuse(rule, root, args, foreign);
      return rule.answeredByCheck === true && looked !== undefined ? looked.info : callSync(...args);
    };
    async[name] = async (...args) => {
      const { foreign, looked } = await checkAsync(fs.async, foreignIn(root, rule, args, plain));
      if (foreign !== undefined) return refuse(rule, root, args, foreign);
      return rule.answeredByCheck === true && looked !== undefined ? looked.info : callAsync(...args);
    };
  }
  return {
    ...fs,
    sync: sync as unknown as SyncFileSystem,
    async: async as unknown as AsyncFileSystem,
    beginOperation() {
      plain.clear();
      fs.beginOperation?.();
    },
  };
}
