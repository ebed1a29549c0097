import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach } from 'vitest';

/** A new empty directory under the system temp directory. */
export function makeTempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'dct-'));
}

/** Removes a directory made by {@link makeTempDir}, whatever is in it. */
export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
}

/**
 * Registers an `afterEach` that removes every directory handed out during the test, and returns the
 * function that hands them out. Call it at the top of a `describe` block.
 */
export function useTempDirs(): () => string {
  const made: string[] = [];
  afterEach(() => {
    for (const dir of made.splice(0)) removeDir(dir);
  });
  return () => {
    const dir = makeTempDir();
    made.push(dir);
    return dir;
  };
}
