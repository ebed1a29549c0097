/**
 * The other-mount reader of `bench.ts`: `node --import tsx visibility-reader.ts CACHE_DIR`. For each
 * line `KEY VALUE` on stdin it polls `getSync(KEY)` until it returns VALUE and prints the milliseconds
 * that took, or `unseen` after 5 s. It looks every key up once first, as a busy reader would have.
 */
import { createInterface } from 'node:readline';
import { Cache } from '../../src/index.js';

const dir = process.argv[2];
if (dir === undefined) throw new Error('usage: visibility-reader.ts CACHE_DIR');
const cache = new Cache(dir);
for (let i = 0; i < 4; i++) cache.getSync(`vis-${i}`);
process.stdout.write('ready\n');
for await (const line of createInterface({ input: process.stdin })) {
  const space = line.indexOf(' ');
  const key = line.slice(0, space);
  const expected = line.slice(space + 1);
  const t0 = performance.now();
  let answer = 'unseen';
  while (performance.now() - t0 < 5_000) {
    if (cache.getSync(key) === expected) {
      answer = String(performance.now() - t0);
      break;
    }
  }
  process.stdout.write(`${answer}\n`);
}
cache.closeSync();
