import { join } from 'node:path';
import { io, type Op } from '../fs/runner.js';
import { ensureDirectory, forgetDirectory } from '../store/directories.js';
import { claim, moveToCorrupt, type StoreSettings } from '../store/entries.js';
import { TOP_LEVEL_FOLDERS } from '../store/names.js';
import { type Finding, step } from './recovery.js';

/** `corrupt/` first: the others' misplaced files go there. */
const ORDER = ['corrupt', ...TOP_LEVEL_FOLDERS.filter((folder) => folder !== 'corrupt')];

/**
 * Checks that each top-level folder of the cache (`entries/`, `tmp/`, `counters/`, `journal/`,
 * `queues/`, `corrupt/`) is a plain folder or absent; with `fix`, a symbolic link in its place is
 * removed (not what it points to) and a file is moved into `corrupt/`, and a plain folder is made.
 */
export function* restoreFolders(store: StoreSettings, fix: boolean): Op<Finding[]> {
  const findings: Finding[] = [];
  for (const folder of ORDER) {
    const path = join(store.layout.directory, folder);
    yield* step(findings, folder, function* () {
      const info = yield* io('lstat', path);
      if (info === undefined || (info.isDirectory && !info.isSymbolicLink)) return;
      const link = info.isSymbolicLink;
      const problem = `${folder}: ${link ? 'a symbolic link' : 'a file'}, not a folder`;
      forgetDirectory(store, path);
      if (!fix) {
        findings.push({ problem, fixed: false });
        return;
      }
      if (link) yield* io('unlink', path);
      else if (folder === 'corrupt') {
        const claimed = yield* claim(store, path);
        yield* ensureDirectory(store, path);
        if (claimed !== undefined) yield* moveToCorrupt(store, claimed);
      } else yield* moveToCorrupt(store, path);
      yield* ensureDirectory(store, path);
      findings.push({
        problem: `${problem}; ${link ? 'the link was removed' : 'moved to corrupt/'} and a folder made`,
        fixed: true,
        damage: true,
      });
    });
  }
  return findings;
}
