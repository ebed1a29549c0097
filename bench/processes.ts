/**
 * Multi-process and tier benchmark (issues 4 and 5): throughput of set, get and incr with 1, 2 and
 * 4 processes on one directory, lock acquire + release, Cache against FanoutCache with several
 * writer processes, and the memory tier on a hot key. Every worker is a fresh process.
 *
 *   npm run bench:processes
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(import.meta.url);
const DURATION_MS = 3000;
const value = Buffer.alloc(1024, 7);

type Op = 'set' | 'get' | 'incr';

/** Worker: `op` for DURATION_MS on keys of its own (set, get) or one shared key (incr); prints ops. */
async function worker(kind: string, dir: string, op: Op, id: number): Promise<void> {
  const { Cache, FanoutCache } = await import('../src/index.js');
  const cache = kind === 'fanout' ? new FanoutCache(dir, { shards: 8 }) : new Cache(dir);
  if (op === 'get') for (let i = 0; i < 1000; i++) cache.setSync(`w${id}-${i}`, value);
  const deadline = performance.now() + DURATION_MS;
  let ops = 0;
  while (performance.now() < deadline) {
    const key = `w${id}-${ops % 1000}`;
    if (op === 'set') cache.setSync(key, value);
    else if (op === 'get') cache.getSync(key);
    else cache.incrSync('shared');
    ops++;
  }
  cache.closeSync();
  process.stdout.write(`${ops}\n`);
}

function run(kind: string, op: Op, processes: number): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'diskcache-procs-'));
  const children = Array.from({ length: processes }, (_, id) =>
    spawn(process.execPath, ['--import', 'tsx', SCRIPT, 'worker', kind, dir, op, String(id)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    }),
  );
  return Promise.all(
    children.map(
      (child) =>
        new Promise<number>((resolve) => {
          let out = '';
          child.stdout.on('data', (d) => {
            out += d;
          });
          child.on('close', () => resolve(Number(out.trim()) || 0));
        }),
    ),
  ).then((counts) => {
    rmSync(dir, { recursive: true, force: true });
    return counts.reduce((a, b) => a + b, 0) / (DURATION_MS / 1000);
  });
}

/** In-process measurements: lock cost and the memory tier. */
async function local(): Promise<Record<string, number>> {
  const { Cache, Lock } = await import('../src/index.js');
  const result: Record<string, number> = {};
  const time = (n: number, work: () => void) => {
    const t = performance.now();
    for (let i = 0; i < n; i++) work();
    return ((performance.now() - t) * 1000) / n;
  };
  const cache = new Cache();
  const lock = new Lock(cache, 'bench-lock');
  result['Lock acquireSync + releaseSync, µs'] = time(1000, () => {
    lock.acquireSync();
    lock.releaseSync();
  });
  result['incrSync (key lock held for the update), µs'] = time(1000, () => cache.incrSync('n'));
  for (const [label, bytes, n] of [
    ['1 KiB', 1024, 20_000],
    ['1 MiB', 1024 * 1024, 300],
  ] as const) {
    const tiered = new Cache(undefined, { memory: { maxEntries: 100, maxBytes: 64 * 2 ** 20 } });
    const plain = new Cache();
    const v = Buffer.alloc(bytes, 3);
    tiered.setSync('hot', v);
    plain.setSync('hot', v);
    result[`hot-key getSync ${label}, disk only, µs`] = time(n, () => plain.getSync('hot'));
    result[`hot-key getSync ${label}, memory tier, µs`] = time(n, () => tiered.getSync('hot'));
  }
  return result;
}

async function main(): Promise<void> {
  const [mode, ...rest] = process.argv.slice(2);
  if (mode === 'worker') return worker(rest[0] as string, rest[1] as string, rest[2] as Op, Number(rest[3]));
  if (mode === 'local') {
    process.stdout.write(JSON.stringify(await local()));
    return;
  }
  const rows: string[] = [];
  for (const op of ['set', 'get', 'incr'] as Op[]) {
    const cells: string[] = [];
    for (const n of [1, 2, 4]) cells.push((await run('cache', op, n)).toFixed(0));
    rows.push(`| Cache ${op}Sync${op === 'incr' ? ' (one shared key)' : ''} | ${cells.join(' | ')} |`);
  }
  for (const kind of ['cache', 'fanout']) {
    const cells: string[] = [];
    for (const n of [1, 2, 4]) cells.push((await run(kind, 'set', n)).toFixed(0));
    rows.push(
      `| ${kind === 'cache' ? 'Cache' : 'FanoutCache (8 shards)'} setSync, again | ${cells.join(' | ')} |`,
    );
  }
  const localResults = JSON.parse(
    execFileSync(process.execPath, ['--import', 'tsx', SCRIPT, 'local'], { encoding: 'utf8' }),
  ) as Record<string, number>;
  const md = [
    `Command: \`npm run bench:processes\` — Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}; ${DURATION_MS / 1000} s per cell, 1 KiB values, each worker a fresh process on its own keys (incr: one shared key).`,
    '',
    '| total ops/s over all processes | 1 process | 2 processes | 4 processes |',
    '|---|--:|--:|--:|',
    ...rows,
    '',
    '| in one process | µs per operation |',
    '|---|--:|',
    ...Object.entries(localResults).map(([k, v]) => `| ${k} | ${v.toFixed(1)} |`),
  ].join('\n');
  const results = join(fileURLToPath(new URL('.', import.meta.url)), 'results');
  mkdirSync(results, { recursive: true });
  writeFileSync(join(results, 'processes.md'), `${md}\n`);
  console.log(md);
}

await main();
