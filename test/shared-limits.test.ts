import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Cache } from '../src/index.js';
import { makeTempDir, removeDir } from './helpers/tmp.js';

const SRC = fileURLToPath(new URL('../src/index.ts', import.meta.url));

/** Runs `code` (with `cache` open on `dir`) in two child processes at once; resolves with their outputs. */
function inTwoChildren(dir: string, code: (id: number) => string): Promise<string[]> {
  return Promise.all(
    [0, 1].map(
      (id) =>
        new Promise<string>((resolve, reject) => {
          const script = `import { Cache } from ${JSON.stringify(SRC)};\nconst cache = new Cache(${JSON.stringify(dir)});\n${code(id)}\ncache.closeSync();`;
          const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
            stdio: ['ignore', 'pipe', 'pipe'],
            timeout: 60_000,
          });
          let out = '';
          let err = '';
          child.stdout.on('data', (d) => {
            out += d;
          });
          child.stderr.on('data', (d) => {
            err += d;
          });
          child.on('close', (status) =>
            status === 0 ? resolve(out) : reject(new Error(`child ${id}: ${err}`)),
          );
        }),
    ),
  );
}

describe('limits and statistics shared by processes', () => {
  it('adds up hits and misses from two processes exactly', async () => {
    const dir = makeTempDir();
    try {
      const cache = new Cache(dir, { statistics: true });
      for (let i = 0; i < 50; i++) cache.setSync(i, i);
      cache.closeSync();
      // Each child: 300 hits and 200 misses.
      await inTwoChildren(
        dir,
        () => `for (let i = 0; i < 500; i++) cache.getSync(i < 300 ? i % 50 : 'missing-' + i);`,
      );
      const reader = new Cache(dir);
      expect(reader.statsSync()).toEqual({ hits: 600, misses: 400 });
      reader.closeSync();
    } finally {
      removeDir(dir);
    }
  }, 90_000);

  it('keeps the volume within sizeLimit plus a cullLimit window while two processes write', async () => {
    const dir = makeTempDir();
    try {
      const limit = 300_000;
      new Cache(dir, { sizeLimit: limit, cullLimit: 10 }).closeSync();
      const outputs = await inTwoChildren(
        dir,
        (id) => `let max = 0;
const pause = new Int32Array(new SharedArrayBuffer(4));
for (let i = 0; i < 800; i++) {
  Atomics.wait(pause, 0, 0, 1);
  cache.setSync('p${id}-' + i, Buffer.alloc(2000, i % 256));
  if (i % 20 === 0) max = Math.max(max, cache.volumeSync());
}
console.log(max);`,
      );
      const cache = new Cache(dir);
      const entrySize = cache.getEntrySync('p0-799')?.size ?? 2200;
      // A writer evicts cullLimit entries per write once its view of the volume is over the limit, and
      // sees the other writer's writes within 50 ms: the overshoot is what the other writer adds in
      // that window, not a drift that grows with the write loop. Each writer pauses 1 ms before every
      // write, so that window holds at most about 50 of its entries however fast or loaded the machine
      // is (unpaced, a fast writer adds over 100 in 50 ms, and the bound would measure the machine).
      const window = 100 * entrySize;
      for (const max of outputs.map(Number)) expect(max).toBeLessThanOrEqual(limit + window);
      expect(cache.volumeSync()).toBeLessThanOrEqual(limit + window);
      cache.cullSync();
      expect(cache.volumeSync()).toBeLessThanOrEqual(limit);
      expect(cache.checkSync().problems).toEqual([]);
      cache.closeSync();
    } finally {
      removeDir(dir);
    }
  }, 90_000);
});
