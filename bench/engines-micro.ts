/**
 * One process, sync API, 1 KiB values: mean µs per operation of one engine, a loop of each
 * operation on a fresh cache (`npx tsx bench/engines-micro.ts log 10000`). A quick look, not the
 * benchmark: `npm run bench` measures side by side.
 */

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cache } from '../src/index.js';

const engine = (process.argv[2] ?? 'log') as 'log' | 'files';
const N = Number(process.argv[3] ?? 10000);
const c = new Cache<string>(mkdtempSync(join(tmpdir(), 'dct-micro-')), { engine });
const v = 'x'.repeat(1024);
function t(name: string, n: number, f: (i: number) => void) {
  const s = performance.now();
  for (let i = 0; i < n; i++) f(i);
  console.log(name.padEnd(10), (((performance.now() - s) * 1000) / n).toFixed(2), 'µs');
}
t('set', N, (i) => c.setSync(`k${i}`, v));
t('get hit', N, (i) => c.getSync(`k${i}`));
t('get miss', N, (i) => c.getSync(`m${i}`));
t('add', N, (i) => c.addSync(`a${i}`, v));
t('incr', N, () => c.incrSync('n'));
t('tx100', N / 100, (j) =>
  c.transactSync((x) => {
    for (let i = 0; i < 100; i++) x.setSync(`t${j * 100 + i}`, v);
  }),
);
t('delete', N, (i) => c.deleteSync(`k${i}`));
c.closeSync();
