/**
 * Per-operation cost on one directory (a network mount): the cache's `setSync`/`getSync`/`deleteSync`
 * of a 1 KiB value, side by side with the raw file operations they are built on (write a temp file
 * and rename it over the final name; read; unlink), and a staleness probe through a second mount.
 *
 *   node --import tsx scripts/netfs/bench.ts DIR [N=300] [LABEL] [OTHER_MOUNT_DIR]
 *
 * Prints one JSON line: { label, n, raw: {write, rewrite, read, unlink}, rawSharded, cache: {set,
 * reset, get, delete}, ratio, ratioSharded, visibility } with mean/p50/p99 in microseconds. `reset`
 * sets the same keys again, over their entries, against `rewrite` of the same files. `raw` keeps its
 * files in one folder; `rawSharded` does the same over 256 folders, as the cache spreads its entries
 * (a network client then looks up a folder it has not seen lately for most operations). The cache's
 * 256 shard folders exist before `set` is timed, as in any cache that has held a few thousand
 * entries (their one-time creation is not counted). `visibility` (only with OTHER_MOUNT_DIR, the same
 * directory through the other mount): for each of 20 keys set through DIR, the time until a reader on
 * the other mount first gets the new value.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Cache } from '../../src/index.js';

const READER = fileURLToPath(new URL('./visibility-reader.ts', import.meta.url));

const [dirArg, nArg, labelArg, otherArg] = process.argv.slice(2);
if (dirArg === undefined) throw new Error('usage: bench.ts DIR [N] [LABEL] [OTHER_MOUNT_DIR]');
const N = Number(nArg ?? 300);
const label = labelArg ?? dirArg;
const name = `bench-${process.pid}`;
const dir = path.join(dirArg, name);
fs.mkdirSync(dir, { recursive: true });
const value = Buffer.alloc(1024, 0x61);

interface Timing {
  mean: number;
  p50: number;
  p99: number;
}

function phase(fn: (i: number) => void): Timing {
  const t = new Float64Array(N);
  const start = performance.now();
  for (let i = 0; i < N; i++) {
    const a = performance.now();
    fn(i);
    t[i] = (performance.now() - a) * 1000;
  }
  const total = (performance.now() - start) * 1000;
  t.sort();
  const r = (x: number) => Math.round(x);
  return { mean: r(total / N), p50: r(t[N >> 1] as number), p99: r(t[Math.floor(N * 0.99)] as number) };
}

const hex = (n: number) => n.toString(16).padStart(2, '0');

/**
 * Raw file operations, as the cache does them: a temp file, renamed over the final name (a new one,
 * then again over the existing one: `rewrite`).
 */
function rawPhases(file: (i: number) => string): Record<'write' | 'rewrite' | 'read' | 'unlink', Timing> {
  const writeOne = (i: number) => {
    const tmp = `${file(i)}.tmp`;
    fs.writeFileSync(tmp, value, { flag: 'wx' });
    fs.renameSync(tmp, file(i));
  };
  const write = phase(writeOne);
  const rewrite = phase(writeOne);
  const read = phase((i) => {
    if (fs.readFileSync(file(i)).length !== value.length) throw new Error('short read');
  });
  return { write, rewrite, read, unlink: phase((i) => fs.unlinkSync(file(i))) };
}

const raw = path.join(dir, 'raw');
fs.mkdirSync(raw);
const rawOne = rawPhases((i) => path.join(raw, `e${i % 64}.${Math.floor(i / 64)}`));
const sharded = path.join(dir, 'raw-sharded');
for (let n = 0; n < 256; n++) fs.mkdirSync(path.join(sharded, hex(n)), { recursive: true });
// Consecutive files in folders far apart, as consecutive keys' hashes are.
const rawSpread = rawPhases((i) => path.join(sharded, hex((i * 97) % 256), `e${i}`));

// The same through the cache (its own directory layout: shards, private temp directory, counters).
const cacheDir = path.join(dir, 'cache');
const cache = new Cache(cacheDir);
const key = (i: number) => `key-${i}`;
cache.setSync('warm-up', value);
for (let n = 0; n < 256; n++) fs.mkdirSync(path.join(cacheDir, 'entries', hex(n)), { recursive: true });
const set = phase((i) => cache.setSync(key(i), value));
const reset = phase((i) => cache.setSync(key(i), value));
const get = phase((i) => {
  const got = cache.getSync(key(i)) as Buffer | undefined;
  if (got?.length !== value.length) throw new Error(`get ${key(i)} missed`);
});
const del = phase((i) => {
  if (!cache.deleteSync(key(i))) throw new Error(`delete ${key(i)} found nothing`);
});

// Visibility on the other mount: set through this mount, a reader process on the other mount polls
// (another process, as another host would be: one process must not open one cache through two mounts).
let visibility: { samples: number; p50: number; max: number; unseenAfter5s: number } | undefined;
if (otherArg !== undefined) {
  const reader = spawn(process.execPath, ['--import', 'tsx', READER, path.join(otherArg, name, 'cache')], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: reader.stdout });
  const replies: string[] = [];
  let wake: (() => void) | undefined;
  lines.on('line', (line) => {
    replies.push(line);
    wake?.();
  });
  const reply = async () => {
    while (replies.length === 0) await new Promise<void>((resolve) => (wake = resolve));
    return replies.shift() as string;
  };
  await reply(); // "ready"
  const lags: number[] = [];
  let unseen = 0;
  for (let i = 0; i < 20; i++) {
    const k = `vis-${i % 4}`;
    const marker = `${i}:${Math.random()}`;
    cache.setSync(k, marker);
    reader.stdin.write(`${k} ${marker}\n`);
    const answer = await reply();
    if (answer === 'unseen') unseen++;
    else lags.push(Number(answer));
  }
  reader.stdin.end();
  await new Promise((resolve) => reader.on('exit', resolve));
  lags.sort((a, b) => a - b);
  const ms = (x: number | undefined) => (x === undefined ? null : Math.round(x * 10) / 10) as number;
  visibility = {
    samples: lags.length,
    p50: ms(lags[lags.length >> 1]),
    max: ms(lags.at(-1)),
    unseenAfter5s: unseen,
  };
}
cache.closeSync();
fs.rmSync(dir, { recursive: true, force: true });

const ratio = (a: Timing, b: Timing) => Math.round((a.mean / b.mean) * 100) / 100;
console.log(
  JSON.stringify({
    label,
    n: N,
    raw: rawOne,
    rawSharded: rawSpread,
    cache: { set, reset, get, delete: del },
    ratio: {
      set: ratio(set, rawOne.write),
      reset: ratio(reset, rawOne.rewrite),
      get: ratio(get, rawOne.read),
      delete: ratio(del, rawOne.unlink),
    },
    ratioSharded: {
      set: ratio(set, rawSpread.write),
      reset: ratio(reset, rawSpread.rewrite),
      get: ratio(get, rawSpread.read),
      delete: ratio(del, rawSpread.unlink),
    },
    visibility,
  }),
);
