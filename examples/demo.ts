/**
 * The demo behind `npm start`: a real cache directory shared by this process and a child process,
 * with expiry, tags, atomic counters, statistics and timings.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cache } from '../src/index.js';

const directory = mkdtempSync(join(tmpdir(), 'diskcache-demo-'));
let now = Date.now();
const clock = { now: () => now };
const cache = new Cache(directory, { statistics: true, clock });
console.log(`cache directory: ${directory}\n`);

function time(label: string, count: number, work: () => void): void {
  const start = performance.now();
  work();
  const ms = performance.now() - start;
  console.log(
    `${label.padEnd(34)} ${(count / (ms / 1000)).toFixed(0).padStart(8)} ops/s  (${((ms * 1000) / count).toFixed(1)} µs/op)`,
  );
}

// 1. Values written by this process...
await cache.set('greeting', 'hello from the parent');
await cache.set('config', { retries: 3, started: new Date(), tags: new Set(['a', 'b']) });
await cache.set('session', 'short-lived', { ttl: 60_000, tag: 'sessions' });

// ...are read by another process, which writes its own.
const child = `
  import { Cache } from ${JSON.stringify(new URL('../src/index.ts', import.meta.url).pathname)};
  const cache = new Cache(${JSON.stringify(directory)});
  console.log('child read greeting:', await cache.get('greeting'));
  console.log('child read config.retries:', (await cache.get('config')).retries);
  await cache.set('from-child', { pid: process.pid });
  for (let i = 0; i < 100; i++) await cache.incr('visits');
  await cache.close();
`;
const childOutput = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', child], {
  encoding: 'utf8',
});
process.stdout.write(childOutput.replace(/^/gm, '  '));
console.log('parent read from-child:', await cache.get('from-child'));
for (let i = 0; i < 100; i++) await cache.incr('visits');
console.log('visits counted by both processes:', await cache.get('visits'));

// 2. Expiry: move the injected clock past the session's time to live (no waiting: the cache's
// `clock` option is this demo's own, and it jumps 61 s ahead at once).
console.log('\nsession before expiry:', await cache.get('session'));
now += 61_000;
console.log('session after 61 s (a simulated clock, moved ahead):', await cache.get('session', '(expired)'));
console.log('entries removed by expire():', await cache.expire());

// 3. Tags, atomic add, pop.
for (let i = 0; i < 5; i++) await cache.set(`report-${i}`, `report ${i}`, { tag: 'reports' });
console.log(
  '\nadd on a new key:',
  await cache.add('lock', 'me'),
  '; add again:',
  await cache.add('lock', 'you'),
);
console.log('pop:', await cache.pop('lock'), '; evicted by tag "reports":', await cache.evict('reports'));

// 4. Timings on this machine (1 KiB values).
console.log('');
const value = Buffer.alloc(1024, 1);
const n = 2000;
time('setSync (1 KiB)', n, () => {
  for (let i = 0; i < n; i++) cache.setSync(`bench-${i}`, value);
});
time('getSync hit', n, () => {
  for (let i = 0; i < n; i++) cache.getSync(`bench-${i}`);
});
time('getSync miss', n, () => {
  for (let i = 0; i < n; i++) cache.getSync(`missing-${i}`);
});
time('deleteSync', n, () => {
  for (let i = 0; i < n; i++) cache.deleteSync(`bench-${i}`);
});

// 5. Bookkeeping and statistics.
console.log('\ncount:', await cache.count(), ' volume:', await cache.volume(), 'bytes');
console.log('stats:', await cache.stats());
console.log('check:', await cache.check());
await cache.close();
rmSync(directory, { recursive: true, force: true });
console.log('\ndone; the demo directory was removed.');
