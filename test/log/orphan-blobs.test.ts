/**
 * Blob files that no record names (log engine). A writer killed between writing an entry's blob and
 * appending its record leaves one: routine crash debris, which `check()` reports and
 * `check({ fix: true })` removes without a finding, as recovery removes a dead writer's temp files.
 * A blob of a live writer is left alone while it is young: its record may be on its way.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Cache } from '../../src/index.js';
import { useTempDirs } from '../helpers/tmp.js';

/** The pid of a process that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '']);
  if (child.pid === undefined) throw new Error('no child process');
  return child.pid;
}

describe('log engine: blob files that no record names', () => {
  const tempDir = useTempDirs();

  it("a dead writer's blob is reported by check() and removed silently by check({ fix: true }); a live writer's young one stays", () => {
    const dir = tempDir();
    const cache = new Cache(dir, { engine: 'log' });
    try {
      const value = Buffer.alloc(100 * 1024, 7);
      cache.setSync('large', value);
      const blobs = path.join(dir, 'blobs');
      const [named] = fs.readdirSync(blobs);
      // Blob names start with the writer's owner tag: host~pid~nonce.
      const host = (named as string).split('~')[0] as string;
      const dead = `${host}~${deadPid()}~zz~1.blob`;
      const live = `${host}~${process.pid}~zz~2.blob`;
      for (const name of [dead, live])
        fs.copyFileSync(path.join(blobs, named as string), path.join(blobs, name));

      const reported = cache.checkSync().problems.filter((p) => p.startsWith('blobs/'));
      expect(reported).toEqual([`blobs/${dead}: a blob file that no record names`]);
      expect(fs.existsSync(path.join(blobs, dead))).toBe(true);

      expect(cache.checkSync({ fix: true }).problems).toEqual([]);
      expect(fs.readdirSync(blobs).sort()).toEqual([named, live].sort());
      expect(cache.getSync('large')).toEqual(value);
      expect(cache.checkSync().problems).toEqual([]);
    } finally {
      cache.closeSync();
    }
  });
});
