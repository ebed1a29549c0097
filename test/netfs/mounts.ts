/** What the network-filesystem suites share: their configuration, their report, removing a directory on a mount. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { removeDir } from '../helpers/tmp.js';

/** Whether two mounts of one export are given (`DISKCACHE_TEST_ROOT` and `DISKCACHE_TEST_OTHER_ROOT`). */
export const CONFIGURED = Boolean(process.env.DISKCACHE_TEST_ROOT && process.env.DISKCACHE_TEST_OTHER_ROOT);

/** Why the suites are skipped when they are not. */
export const REASON =
  'skipped: set DISKCACHE_TEST_ROOT and DISKCACHE_TEST_OTHER_ROOT to two mounts of one export (npm run test:netfs does)';

/** The positive number in the environment variable `name`, rounded, or `fallback`. */
export function knob(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number`);
  return Math.round(value);
}

/** Prints `data` as measured, and writes it to `$DISKCACHE_NETFS_REPORT/<name>.json` where that is set. */
export function report(name: string, data: unknown): void {
  const dir = process.env.DISKCACHE_NETFS_REPORT;
  console.log(`netfs ${name}: ${JSON.stringify(data)}`);
  if (dir) fs.writeFileSync(path.join(dir, `${name}.json`), `${JSON.stringify(data, null, 2)}\n`);
}

/**
 * Removes a test directory on a mount. A client's cached directory listing may miss names another
 * client created, so `rmdir` can fail with ENOTEMPTY for a while: retry, for at most 10 s.
 */
export async function removeShared(dir: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      removeDir(dir);
      return;
    } catch (error) {
      if (attempt >= 20) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}
