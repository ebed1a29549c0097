/**
 * Event-loop benchmark (issue 19): the worst lateness of a 5 ms timer during bursts of async calls on
 * a local disk (`asyncIO: 'auto'`, 1 KiB values), and the throughput of those bursts. Each run is a
 * fresh process on a new directory; a cell is the median of the runs' throughput and the worst of
 * their lateness. Run it alone on the machine; to compare with an older commit, run the same command
 * in a worktree of that commit.
 *
 *   npx tsx bench/event-loop.ts             # 5 runs
 *   npx tsx bench/event-loop.ts --runs 9
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Cache } from '../src/index.js';

const OPS = 2000;
const WORKLOADS = [
  'sequential set',
  'concurrent set',
  'sequential get',
  'concurrent get',
  'keys() of 20,000',
] as const;
type Workload = (typeof WORKLOADS)[number];
interface Sample {
  opsPerSecond: number;
  worstLateMs: number;
}

/** Runs `body` while a 5 ms interval records how late it fires; returns the throughput and the worst lateness. */
async function measure(ops: number, body: () => Promise<void>): Promise<Sample> {
  const period = 5;
  let last = performance.now();
  let worst = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last - period);
    last = now;
  }, period);
  const started = performance.now();
  await body();
  const elapsed = performance.now() - started;
  worst = Math.max(worst, performance.now() - last - period);
  clearInterval(timer);
  return { opsPerSecond: (ops / elapsed) * 1000, worstLateMs: Math.max(0, worst) };
}

async function child(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'dct-bench-loop-'));
  try {
    const cache = new Cache(dir);
    const value = 'v'.repeat(1024);
    const keys = Array.from({ length: OPS }, (_, i) => `key-${i}`);
    const results: Record<Workload, Sample> = {
      'sequential set': await measure(OPS, async () => {
        for (const key of keys) await cache.set(key, value);
      }),
      'concurrent set': await measure(OPS, async () => {
        await Promise.all(keys.map((key) => cache.set(key, value)));
      }),
      'sequential get': await measure(OPS, async () => {
        for (const key of keys) await cache.get(key);
      }),
      'concurrent get': await measure(OPS, async () => {
        await Promise.all(keys.map((key) => cache.get(key)));
      }),
      'keys() of 20,000': await (async () => {
        for (let i = OPS; i < 20_000; i++) cache.setSync(`key-${i}`, value);
        return measure(20_000, async () => {
          for await (const _ of cache.keys());
        });
      })(),
    };
    await cache.close();
    process.stdout.write(`${JSON.stringify(results)}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

function main(): void {
  const at = process.argv.indexOf('--runs');
  const runs = at > 0 ? Number(process.argv[at + 1]) : 5;
  const script = fileURLToPath(import.meta.url);
  const samples: Record<Workload, Sample>[] = [];
  for (let run = 0; run < runs; run++) {
    const out = execFileSync(process.execPath, ['--import', 'tsx', script, '--child'], { encoding: 'utf8' });
    samples.push(JSON.parse(out.trim().split('\n').at(-1) ?? '{}'));
  }
  console.log(`| workload (${runs} runs) | ops/s (median) | worst timer lateness |`);
  console.log('|---|--:|--:|');
  for (const workload of WORKLOADS) {
    const ops = median(samples.map((s) => s[workload].opsPerSecond));
    const late = Math.max(...samples.map((s) => s[workload].worstLateMs));
    console.log(`| ${workload} | ${Math.round(ops).toLocaleString('en')} | ${late.toFixed(1)} ms |`);
  }
}

if (process.argv.includes('--child')) await child();
else main();
