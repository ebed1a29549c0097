/**
 * `TieredCache` (issue 16): the latency of a hit in each tier, side by side with a plain store of the
 * same kind in the same run, and the hit ratios of two hosts sharing one tier on a network mount.
 *
 *   npx tsx bench/tiers.ts local [N=20000] [--redis redis://127.0.0.1:PORT]
 *     a hit in a MemoryCache tier, in a local `log` Cache tier (sync and async), and in a Redis tier,
 *     each beside the plain store's own get
 *   npx tsx bench/tiers.ts network MOUNT_A_DIR MOUNT_B_DIR LABEL [N=300]
 *     a hit in a shared `files` Cache tier on the mount (read through a local tier that does not
 *     hold it, then copied up; and as the only tier) beside a plain `Cache` get there; then the
 *     two-host workload: two processes, each with its own local tier over one shared directory
 *     (mount A for one, mount B for the other), each doing WORKLOAD_OPS getOrSet of Zipf-distributed
 *     keys out of 1000 (2000 each, or TIERS_WORKLOAD_OPS)
 *
 * Values are 1 KiB. Each mode prints one JSON line; latencies are medians and 90th percentiles in µs,
 * the pairs measured in alternating rounds so that drift of the machine hits both alike.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import KeyvRedis from '@keyv/redis';
import { Cache, MemoryCache, TieredCache } from '../src/index.js';
import { makeValue, random } from './lib.js';

const SELF = fileURLToPath(import.meta.url);
const VALUE = makeValue(1024);
const KEYS = 1000;
const WORKLOAD_KEYS = 1000;
const WORKLOAD_OPS = Number(process.env.TIERS_WORKLOAD_OPS ?? 2000);
/** How long the workload's factory takes (a computation worth caching). */
const COMPUTE_MS = 2;

const round = (n: number) => Math.round(n * 10) / 10;

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'dct-bench-tiers-'));
}

/** Median and 90th percentile of `samples` (µs). */
function summary(samples: number[]): { p50: number; p90: number } {
  const s = [...samples].sort((a, b) => a - b);
  const at = (p: number) => round(s[Math.min(s.length - 1, Math.floor(s.length * p))] ?? Number.NaN);
  return { p50: at(0.5), p90: at(0.9) };
}

type Get = (key: string) => unknown;

/**
 * Times `n` gets of each of `contenders` (keys `k0…k<keys - 1>` in turn, which every one holds), in
 * 10 alternating rounds; checks that every get returned the value.
 */
async function race(
  n: number,
  keys: number,
  contenders: Record<string, Get>,
): Promise<Record<string, { p50: number; p90: number }>> {
  const names = Object.keys(contenders);
  const samples: Record<string, number[]> = Object.fromEntries(names.map((name) => [name, []]));
  const rounds = 10;
  for (let r = 0; r < rounds; r++) {
    for (const name of r % 2 === 0 ? names : [...names].reverse()) {
      const get = contenders[name] as Get;
      const into = samples[name] as number[];
      for (let i = 0; i < n / rounds; i++) {
        const key = `k${(r * n + i) % keys}`;
        const start = performance.now();
        const result = get(key);
        const value = result instanceof Promise ? await result : result;
        into.push((performance.now() - start) * 1000);
        if (value !== VALUE) throw new Error(`${name}: ${key} did not return its value`);
      }
    }
  }
  return Object.fromEntries(names.map((name) => [name, summary(samples[name] as number[])]));
}

async function local(n: number, redisUrl: string | undefined): Promise<void> {
  const dirs = [tempDir(), tempDir(), tempDir(), tempDir()];
  const memory = new MemoryCache<string>();
  const [plain, localTier, belowMemory, belowLocal] = dirs.map(
    (dir) => new Cache(dir, { engine: 'log' }),
  ) as [Cache<string>, Cache, Cache, Cache];
  // Each tiered cache over a last tier of its own (a local directory): the hits are in its first tier.
  const overMemory = new TieredCache<string>({ tiers: [new MemoryCache(), belowMemory] });
  const overLocal = new TieredCache<string>({ tiers: [localTier, belowLocal] });
  for (let i = 0; i < KEYS; i++) {
    memory.setSync(`k${i}`, VALUE);
    plain.setSync(`k${i}`, VALUE);
    overMemory.setSync(`k${i}`, VALUE);
    overLocal.setSync(`k${i}`, VALUE);
  }
  const result: Record<string, unknown> = {
    mode: 'local',
    n,
    memory: await race(n, KEYS, { plain: (k) => memory.getSync(k), tier: (k) => overMemory.getSync(k) }),
    logSync: await race(n, KEYS, { plain: (k) => plain.getSync(k), tier: (k) => overLocal.getSync(k) }),
    logAsync: await race(n, KEYS, { plain: (k) => plain.get(k), tier: (k) => overLocal.get(k) }),
  };
  if (redisUrl !== undefined) {
    const store = new KeyvRedis<string>(redisUrl);
    const overRedis = new TieredCache<string>({ tiers: [store] });
    for (let i = 0; i < KEYS; i++) {
      await store.set(`plain-k${i}`, VALUE);
      await overRedis.set(`k${i}`, VALUE);
    }
    result.redis = await race(n / 4, KEYS, {
      plain: (k) => store.get(`plain-${k}`),
      tier: (k) => overRedis.get(k),
    });
    await store.clear();
    await store.disconnect();
  }
  for (const c of [plain, localTier, belowMemory, belowLocal]) c.closeSync();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  console.log(JSON.stringify(result));
}

async function network(dirA: string, dirB: string, label: string, n: number): Promise<void> {
  const name = `tiers-${process.pid}`;
  const shared = new Cache<string>(join(dirA, name), { engine: 'files', timeout: 30_000 });
  const onlyShared = new TieredCache<string>({ tiers: [shared] });
  for (let i = 0; i < n; i++) {
    shared.setSync(`plain-k${i}`, VALUE);
    onlyShared.setSync(`k${i}`, VALUE);
  }
  // A hit in the shared tier through a local tier that does not hold it yet: each key read once.
  const localDir = tempDir();
  const localTier = new Cache(localDir, { engine: 'log' });
  const readThrough = new TieredCache<string>({ tiers: [localTier, shared] });
  const latency = await race(n, n, {
    plain: (k) => shared.getSync(`plain-${k}`),
    sharedOnly: (k) => onlyShared.getSync(k),
  });
  const copied: number[] = [];
  for (let i = 0; i < n; i++) {
    const start = performance.now();
    if (readThrough.getSync(`k${i}`) !== VALUE) throw new Error(`k${i} was not read through`);
    copied.push((performance.now() - start) * 1000);
  }
  localTier.closeSync();
  rmSync(localDir, { recursive: true, force: true });
  const { hosts, computedTwice } = await twoHosts(join(dirA, name, 'workload'), join(dirB, name, 'workload'));
  shared.closeSync();
  console.log(
    JSON.stringify({
      mode: 'network',
      label,
      n,
      plainGet: latency.plain,
      sharedOnlyTier: latency.sharedOnly,
      readThroughAndCopyUp: summary(copied),
      workload: {
        keys: WORKLOAD_KEYS,
        opsPerHost: WORKLOAD_OPS,
        computeMs: COMPUTE_MS,
        hosts,
        computedTwice,
      },
    }),
  );
  await removeOnMount(join(dirA, name));
}

/**
 * Removes a directory on a mount; a client's cached listing may miss names the other client created
 * (ENOTEMPTY) for a while, so it tries again for up to 10 s, then leaves it (with a warning).
 */
async function removeOnMount(dir: string): Promise<void> {
  for (let attempt = 0; attempt < 20; attempt++) {
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: 10 });
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
  console.error(`tiers.ts: could not remove ${dir}`);
}

/** What one host of the workload counted. */
interface HostCounts {
  local: number;
  shared: number;
  /** The factory ran here, for these keys. */
  computed: number;
  computedKeys?: string[];
  /** getOrSet returned a value another host computed meanwhile (it waited for it, or found it). */
  fromOther: number;
  seconds: number;
}

/**
 * Starts the two hosts at once, one on each mount; their counts, and how many keys both computed
 * (0 when `getOrSet` computes once across the hosts).
 */
async function twoHosts(dirA: string, dirB: string): Promise<{ hosts: HostCounts[]; computedTwice: number }> {
  const children = [dirA, dirB].map((dir, i) =>
    spawn(process.execPath, ['--import', 'tsx', SELF, 'host', dir, String(i + 1)], {
      stdio: ['pipe', 'pipe', 'inherit'],
    }),
  );
  const lines = children.map((child) => createInterface({ input: child.stdout })[Symbol.asyncIterator]());
  for (const line of lines)
    if ((await line.next()).value !== 'ready') throw new Error('a host did not start');
  for (const child of children) child.stdin.write('go\n');
  const hosts = await Promise.all(
    lines.map(async (line) => JSON.parse((await line.next()).value as string) as HostCounts),
  );
  const [one, two] = hosts.map((h) => new Set(h.computedKeys));
  const computedTwice = [...(one ?? [])].filter((key) => two?.has(key)).length;
  for (const h of hosts) delete h.computedKeys;
  return { hosts, computedTwice };
}

/** One host of the workload (`tiers.ts host DIR ID`): its own local tier over the shared directory. */
async function host(dir: string, id: number): Promise<void> {
  const localDir = tempDir();
  const localTier = new Cache(localDir, { engine: 'log' });
  const shared = new Cache(dir, { engine: 'files', timeout: 30_000 });
  const tiered = new TieredCache<string>({
    tiers: [
      { store: localTier, name: 'local' },
      { store: shared, name: 'shared' },
    ],
  });
  // Zipf (s = 1) over the keys, from a seed of each host's own.
  const weights = Array.from({ length: WORKLOAD_KEYS }, (_, i) => 1 / (i + 1));
  const total = weights.reduce((a, b) => a + b, 0);
  const next = random(id * 7919);
  const pick = () => {
    let r = next() * total;
    for (let i = 0; i < WORKLOAD_KEYS; i++) {
      r -= weights[i] as number;
      if (r <= 0) return i;
    }
    return WORKLOAD_KEYS - 1;
  };
  const counts: HostCounts = { local: 0, shared: 0, computed: 0, fromOther: 0, seconds: 0, computedKeys: [] };
  console.log('ready');
  const input = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
  await input.next();
  const start = performance.now();
  for (let i = 0; i < WORKLOAD_OPS; i++) {
    const key = `w${pick()}`;
    const entry = await tiered.getEntry(key);
    if (entry !== undefined) {
      if (entry.tier === 'local') counts.local++;
      else counts.shared++;
      continue;
    }
    let ran = false;
    await tiered.getOrSet(key, async () => {
      ran = true;
      await new Promise((resolve) => setTimeout(resolve, COMPUTE_MS));
      return VALUE;
    });
    if (ran) counts.computedKeys?.push(key);
    else counts.fromOther++;
  }
  counts.seconds = round((performance.now() - start) / 1000);
  counts.computed = counts.computedKeys?.length ?? 0;
  await tiered.close();
  localTier.closeSync();
  shared.closeSync();
  rmSync(localDir, { recursive: true, force: true });
  console.log(JSON.stringify(counts));
  process.exit(0);
}

const [mode, ...args] = process.argv.slice(2);
if (mode === 'local') {
  const redisAt = args.indexOf('--redis');
  const redisUrl = redisAt >= 0 ? args[redisAt + 1] : undefined;
  const n = Number(args.find((a, i) => /^\d+$/.test(a) && args[i - 1] !== '--redis') ?? 20_000);
  await local(n, redisUrl);
} else if (mode === 'network' && args.length >= 3) {
  await network(args[0] as string, args[1] as string, args[2] as string, Number(args[3] ?? 300));
} else if (mode === 'host') {
  await host(args[0] as string, Number(args[1]));
} else {
  console.error('usage: tiers.ts local [N] [--redis URL] | network MOUNT_A_DIR MOUNT_B_DIR LABEL [N]');
  process.exit(2);
}
