/**
 * Measures what `du` says of a cache directory (the sum of `stat.blocks * 512`, and `du -sk`) against
 * `volume()`: N distinct keys (default 50,000) of SIZE-byte values (default 200) written once, then
 * overwritten 3 times, then half of them deleted, then cleared.
 *
 *     npx tsx scripts/measure-volume.ts                        # the log engine
 *     DISKCACHE_ENGINE=files npx tsx scripts/measure-volume.ts # the files engine
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Cache } from '../src/index.js';

function blocks(dir: string): number {
  let total = 0;
  const walk = (p: string) => {
    const s = fs.lstatSync(p);
    total += s.blocks * 512;
    if (s.isDirectory()) for (const n of fs.readdirSync(p)) walk(path.join(p, n));
  };
  walk(dir);
  return total;
}
const du = (dir: string) => Number(execFileSync('du', ['-sk', dir]).toString().split('\t')[0]) * 1024;
const MiB = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
const engine = (process.env.DISKCACHE_ENGINE ?? 'log') as 'log' | 'files';
const n = Number(process.env.N ?? 50_000);
const size = Number(process.env.SIZE ?? 200);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vol-'));
const cache = new Cache(dir, { engine, sizeLimit: 2 ** 40 });
const report = (label: string) => {
  const v = cache.volumeSync();
  const b = blocks(dir);
  console.log(
    `${engine} ${label}: volume ${MiB(v)}  du(blocks) ${MiB(b)}  du -sk ${MiB(du(dir))}  du/volume ${(b / v).toFixed(2)}`,
  );
};
const value = Buffer.alloc(size, 7);
for (let i = 0; i < n; i++) cache.setSync(`key-${i}`, value);
report(`(a) ${n} x ${size} B written once`);
for (let r = 0; r < 3; r++) for (let i = 0; i < n; i++) cache.setSync(`key-${i}`, value);
report('(b) overwritten 3 times');
for (let i = 0; i < n; i += 2) cache.deleteSync(`key-${i}`);
report('(c) half deleted');
cache.clearSync();
report('(d) cleared');
cache.closeSync();
fs.rmSync(dir, { recursive: true, force: true });
