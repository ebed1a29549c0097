/**
 * `TieredCache` over real network mounts: two "hosts" (two processes, `child.ts tiers host`), each
 * with its own local tier (a `log` `Cache` in the system temp directory) over one shared tier (a
 * `files` `Cache`) reached through mount A by host 1 and through mount B (the same export, another
 * client) by host 2. Needs `DISKCACHE_TEST_ROOT` and `DISKCACHE_TEST_OTHER_ROOT` as
 * `two-mounts.test.ts` does. The fault test also needs `DISKCACHE_NETFS_BACKEND` and
 * `DISKCACHE_NETFS_SHARED` (the backend and the shared netfs scripts, set by `npm run test:netfs`):
 * it starts a server and two mounts of its own with `setup.sh`, so that killing that server
 * disturbs no other test. Without them the tests are skipped, with the reason in the suite's name.
 *
 * Knobs: `NETFS_TIER_STALENESS_MS` (the hosts' `maxStaleness`, default 1000) and
 * `NETFS_TIER_MOUNT_LAG_MS` (how long a mount may show an older state of a file another client
 * replaced, default 2500: the suite in `two-mounts.test.ts` measured up to 1.25 s).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { HostOptions } from '../fixtures/children/tiers.js';
import { type Child, killAll, sleep, startChild } from '../helpers/children.js';
import { makeTempDir, onOtherMount, removeDir } from '../helpers/tmp.js';
import { CONFIGURED, knob, REASON, removeShared, report } from './mounts.js';

const BACKEND = process.env.DISKCACHE_NETFS_BACKEND ?? '';
const SCRIPTS = process.env.DISKCACHE_NETFS_SHARED ?? '';
/** The backends whose second server the shared `setup.sh` can start (nfs has one ganesha per machine here). */
const OWN_SERVER = ['smb', 'sshfs'];
const FAULTS = CONFIGURED && OWN_SERVER.includes(BACKEND) && fs.existsSync(path.join(SCRIPTS, 'setup.sh'));
const FAULT_REASON = OWN_SERVER.includes(BACKEND)
  ? 'skipped: set DISKCACHE_NETFS_BACKEND and DISKCACHE_NETFS_SHARED (the backend and the shared netfs scripts; npm run test:netfs does) to start a server of its own'
  : `skipped on ${BACKEND || 'no backend'}: this test kills a server of its own, started by the shared setup.sh, which serves ${OWN_SERVER.join(' and ')} only`;

const MAX_STALENESS = knob('NETFS_TIER_STALENESS_MS', 1000);
const MOUNT_LAG = knob('NETFS_TIER_MOUNT_LAG_MS', 2500);
const CHILD_MS = 240_000;
const TEST_MS = 300_000;

type Answer = { id: number; ok: boolean; code?: string; message?: string } & Record<string, unknown>;
type Seen = number | string;

/** A host: a `child.ts tiers host` process, driven by requests (see the child's module). */
interface Host {
  readonly child: Child;
  /** Resolves with the answer, ok or not. */
  ask(op: string, args?: Record<string, unknown>): Promise<Answer>;
  /** Resolves with the answer; rejects if it is a failure. */
  call(op: string, args?: Record<string, unknown>): Promise<Answer>;
}

async function startHost(sharedDir: string, options: Omit<HostOptions, 'lifetimeMs'>): Promise<Host> {
  const child = startChild(
    'tiers',
    'host',
    [sharedDir, JSON.stringify({ ...options, lifetimeMs: CHILD_MS })],
    CHILD_MS,
  );
  let next = 0;
  const ask = (op: string, args: Record<string, unknown> = {}) => {
    const id = ++next;
    child.send(JSON.stringify({ id, op, ...args }));
    return child.waitFor((m) => (m as Answer | null)?.id === id) as Promise<Answer>;
  };
  await child.waitFor((m) => m === 'ready');
  return {
    child,
    ask,
    async call(op, args) {
      const answer = await ask(op, args);
      if (!answer.ok) throw new Error(`host ${options.host} ${op}: ${answer.code} ${answer.message}`);
      return answer;
    },
  };
}

/** Asks `host` for `op` until `done` accepts its answer, for at most 10 s; the last answer. */
async function poll(host: Host, op: string, done: (answer: Answer) => boolean): Promise<Answer> {
  const deadline = performance.now() + 10_000;
  for (;;) {
    const answer = await host.call(op);
    if (done(answer) || performance.now() > deadline) return answer;
    await sleep(200);
  }
}

/** A read seen by `watch`: the value (seq or 'miss'), the tier that served it, when first and last. */
type Run = [Seen, string | null, number, number];

const round = (n: number) => Math.round(n * 10) / 10;

describe.skipIf(!CONFIGURED)(
  `TieredCache over two mounts of one export${CONFIGURED ? '' : ` (${REASON})`}`,
  () => {
    let dirA = '';
    let dirB = '';

    /** Host 1 on mount A, host 2 on mount B, one shared directory. */
    async function twoHosts(
      options: Partial<Omit<HostOptions, 'host' | 'lifetimeMs'>>,
      second: Partial<Omit<HostOptions, 'host' | 'lifetimeMs'>> = options,
    ): Promise<[Host, Host]> {
      dirA = makeTempDir('dct-tiers-');
      dirB = onOtherMount(dirA) as string;
      const base = { maxStaleness: MAX_STALENESS, whenDown: 'fail' as const };
      // One after the other: the first creates the directory (and its settings).
      const one = await startHost(dirA, { ...base, ...options, host: 1 });
      const two = await startHost(dirB, { ...base, ...second, host: 2 });
      return [one, two];
    }

    afterEach(async () => {
      await killAll();
      if (dirA) await removeShared(dirA);
      dirA = '';
    }, 120_000);

    it(
      'read-through and copy-up across hosts: host 2 reads what host 1 wrote, then from its own local tier',
      async () => {
        const [one, two] = await twoHosts({});
        await one.call('set', { key: 'k', seq: 1, size: 3000 });
        // Mount B may not show the new file for a while (its client's caches): misses until then.
        const watched = await two.call('watch', { key: 'k', until: 1, ms: 10_000 });
        const reads = watched.reads as Run[];
        expect(watched.done, JSON.stringify(reads)).toBe(true);
        expect(
          reads.slice(0, -1).every(([seen]) => seen === 'miss'),
          JSON.stringify(reads),
        ).toBe(true);
        expect(reads.at(-1)?.[1]).toBe('shared');
        const again = await two.call('get', { key: 'k' });
        expect([again.seen, again.tier]).toEqual([1, 'local']);
        const own = await one.call('get', { key: 'k' });
        expect([own.seen, own.tier]).toEqual([1, 'local']);
      },
      TEST_MS,
    );

    it(
      `maxStaleness ${MAX_STALENESS} ms: host 1 stops serving a value host 2 replaced or deleted within maxStaleness + ${MOUNT_LAG} ms (the mount's lag)`,
      async () => {
        const [one, two] = await twoHosts({});
        const rounds: Record<string, unknown>[] = [];
        const problems: string[] = [];
        let worst = 0;
        for (let round_ = 0; round_ < 6; round_++) {
          const key = `s${round_}`;
          const deleting = round_ % 2 === 1;
          await two.call('set', { key, seq: 1 });
          const copied = await one.call('watch', { key, until: 1, ms: 10_000 });
          if (!copied.done) problems.push(`${key}: host 1 never read seq 1: ${JSON.stringify(copied.reads)}`);
          // Let host 1's copy age by a different part of maxStaleness in each round.
          await sleep((MAX_STALENESS * round_) / 6);
          const until = deleting ? 'miss' : 2;
          const watch = one.call('watch', { key, until, ms: MAX_STALENESS + MOUNT_LAG + 10_000 });
          await sleep(50); // host 1 is reading the old value before the write starts
          const written = deleting
            ? await two.call('delete', { key })
            : await two.call('set', { key, seq: 2 });
          const at = written.at as number;
          const watched = await watch;
          const reads = watched.reads as Run[];
          const firstNew = reads.findIndex(([seen]) => seen === until);
          // A miss is no wrong value (a read of the shared tier may find the file mid-replacement).
          const oldAfterNew = reads.slice(firstNew + 1).filter(([seen]) => seen === 1);
          const wrong = reads.filter(([seen]) => seen !== 1 && seen !== until && seen !== 'miss');
          const lastOld = reads.filter(([seen]) => seen === 1).at(-1)?.[3] ?? Number.NaN;
          const staleMs = lastOld - at;
          worst = Math.max(worst, staleMs);
          rounds.push({
            key,
            change: deleting ? 'delete' : 'replace',
            oldServedAfterWriteMs: round(staleMs),
            newSeenAfterWriteMs: round((reads[firstNew]?.[2] ?? Number.NaN) - at),
            servedBy: [...new Set(reads.map(([seen, tier]) => `${seen}@${tier}`))],
          });
          if (!watched.done)
            problems.push(`${key}: host 1 never stopped serving seq 1: ${JSON.stringify(reads)}`);
          if (watched.bad !== 0 || wrong.length > 0)
            problems.push(`${key}: wrong values ${JSON.stringify(wrong)}`);
          if (oldAfterNew.length > 0) problems.push(`${key}: seq 1 served again after ${until}`);
          if (staleMs > MAX_STALENESS + MOUNT_LAG)
            problems.push(`${key}: seq 1 served ${round(staleMs)} ms after the write`);
        }
        report('tiers-staleness', {
          maxStaleness: MAX_STALENESS,
          mountLag: MOUNT_LAG,
          worstMs: round(worst),
          rounds,
        });
        expect(problems).toEqual([]);
      },
      TEST_MS,
    );

    it(
      'getOrSet from both hosts at once with a slow factory computes each key once',
      async () => {
        const [one, two] = await twoHosts({});
        const count = path.join(makeTempDir('dct-tiers-count-', os.tmpdir()), 'calls');
        fs.writeFileSync(count, '');
        try {
          const seen: Seen[][] = [];
          for (const key of ['g0', 'g1', 'g2']) {
            const answers = await Promise.all(
              [one, two].map((host) => host.call('getOrSet', { key, delayMs: 1500, count })),
            );
            seen.push(answers.map((a) => a.seen as Seen));
          }
          const calls = fs.readFileSync(count, 'utf8').trim().split('\n');
          expect(calls.map((line) => line.split(' ')[1])).toEqual(['g0', 'g1', 'g2']);
          // Both hosts got the value of the one host that computed it (its number is the value's seq).
          expect(seen).toEqual(calls.map((line) => [Number(line.split(' ')[0]), Number(line.split(' ')[0])]));
        } finally {
          removeDir(path.dirname(count));
        }
      },
      TEST_MS,
    );

    it(
      'only the trimmer evicts: host 2 (trim: false) writes past sizeLimit and evicts nothing; host 1 brings the directory within it',
      async () => {
        const sizeLimit = 64 * 1024;
        const [one, two] = await twoHosts(
          { shared: { sizeLimit, cullLimit: 10 } },
          { shared: { trim: false } },
        );
        const filled = await two.call('fill', { prefix: 'f', n: 40, size: 4096 });
        expect(filled.count).toBe(40);
        expect(filled.volume as number).toBeGreaterThan(sizeLimit);
        // Host 1's view through the other mount: the same 40 entries, once its client shows them.
        expect((await poll(one, 'shared', (a) => a.count === 40)).count).toBe(40);
        const volumes: number[] = [];
        let last = filled;
        for (let i = 0; i < 20 && (last.volume as number) > sizeLimit; i++) {
          last = await one.call('fill', { prefix: `t${i}-`, n: 1, size: 100 });
          volumes.push(last.volume as number);
        }
        last = await poll(one, 'shared', (a) => (a.volume as number) <= sizeLimit);
        report('tiers-trim', { sizeLimit, afterHost2: filled, trimmerWrites: volumes.length, volumes });
        expect(last.volume as number).toBeLessThanOrEqual(sizeLimit);
        expect(last.count as number).toBeLessThan(40);
      },
      TEST_MS,
    );
  },
);

/** A TCP port nothing listens on now. */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Every process below `pid`. */
function descendants(pid: number): number[] {
  let children: number[] = [];
  try {
    children = execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map(Number);
  } catch {} // ps exits 1 when there are none
  return children.flatMap((child) => [child, ...descendants(child)]);
}

describe.skipIf(!FAULTS)(
  `TieredCache when the shared tier's server is killed${FAULTS ? ` (${BACKEND})` : ` (${FAULT_REASON})`}`,
  () => {
    const state = FAULTS ? makeTempDir('dct-tiers-fault-', os.tmpdir()) : '';
    const mounts = [path.join(state, 'mnt-a'), path.join(state, 'mnt-b')];
    let env: NodeJS.ProcessEnv = {};
    const script = (name: string, args: string[] = []) =>
      execFileSync('bash', [path.join(SCRIPTS, name), ...args], { env, timeout: 120_000, stdio: 'pipe' });
    /** The pid file of the server setup.sh started. */
    const serverPid = () =>
      Number(
        fs.readFileSync(
          BACKEND === 'smb'
            ? path.join(state, 'smb/smb/pid/smbd.pid')
            : path.join(state, BACKEND, 'sshd.pid'),
          'utf8',
        ),
      );

    beforeAll(async () => {
      const port = String(await freePort());
      env = {
        ...process.env,
        NETFS_BACKEND: BACKEND,
        NETFS_STATE: state,
        NETFS_SMB_PORT: port,
        NETFS_SSH_PORT: port,
        NETFS_DELAY_MS: '0',
        NETFS_PROXY: '0',
      };
      script('setup.sh', mounts);
    }, 150_000);

    afterAll(async () => {
      await killAll();
      try {
        script('teardown.sh');
      } finally {
        removeDir(state);
      }
    }, 150_000);

    it(
      "no wrong value is served; whenDown 'fail' rejects, 'skip' serves the local tier and tells of it",
      async () => {
        const dirA = path.join(mounts[0] as string, 'tiers');
        fs.mkdirSync(dirA);
        const dirB = path.join(mounts[1] as string, 'tiers');
        const failing = await startHost(dirA, { host: 1, maxStaleness: MAX_STALENESS, whenDown: 'fail' });
        const skipping = await startHost(dirB, { host: 2, maxStaleness: MAX_STALENESS, whenDown: 'skip' });
        const keys = ['d0', 'd1', 'd2'];
        for (const key of keys) await failing.call('set', { key, seq: 1, size: 2000 });
        for (const key of keys) {
          const copied = await skipping.call('watch', { key, until: 1, ms: 10_000 });
          expect(copied.done, JSON.stringify(copied.reads)).toBe(true);
        }

        const server = serverPid();
        for (const pid of [server, ...descendants(server)]) process.kill(pid, 'SIGKILL');
        const killedAt = performance.now();
        await sleep(MAX_STALENESS); // every copy is now due for its check against the shared tier

        // Both hosts at once, every request at once: each failure takes the retries of a remote EIO.
        const [down, copies, fresh, written, stored] = await Promise.all([
          Promise.all([
            failing.ask('get', { key: 'd0' }),
            failing.ask('get', { key: 'never' }),
            failing.ask('set', { key: 'd1', seq: 5 }),
          ]),
          Promise.all(keys.map((key) => skipping.ask('get', { key }))),
          skipping.ask('get', { key: 'never' }),
          skipping.ask('set', { key: 'w', seq: 7 }),
          failing.ask('getOrSet', { key: 'g', delayMs: 0, count: path.join(state, 'calls') }),
        ]);
        const downMs = performance.now() - killedAt;
        const readBack = await skipping.ask('get', { key: 'w' });
        const events = (await skipping.call('degraded')).events as { tier: string; operation: string }[];
        report(`tiers-server-down-${BACKEND}`, {
          failing: [...down, stored].map((a) => (a.ok ? a.seen : a.code)),
          skipping: [...copies, fresh, written, readBack].map((a) => (a.ok ? (a.seen ?? 'ok') : a.code)),
          degraded: events.map((e) => `${e.tier} ${e.operation}`),
          secondsWhileDown: round(downMs / 1000),
        });

        // 'fail': whatever has to ask the shared tier rejects, with the mount's error.
        for (const answer of [...down, stored]) expect(answer.ok, JSON.stringify(answer)).toBe(false);
        expect(
          fs.existsSync(path.join(state, 'calls')),
          'getOrSet ran its factory with the shared tier down',
        ).toBe(false);
        // 'skip': the local tier serves its copies, the right ones; a write lands in the local tier.
        expect(copies.map((a) => [a.ok, a.seen, a.tier])).toEqual(keys.map(() => [true, 1, 'local']));
        expect([fresh.ok, fresh.seen]).toEqual([true, 'miss']);
        expect(written.ok, JSON.stringify(written)).toBe(true);
        expect([readBack.seen, readBack.tier]).toEqual([7, 'local']);
        // … and every failure skipped is told, by operation.
        const told = new Set(events.map((e) => `${e.tier} ${e.operation}`));
        for (const e of ['shared verify', 'shared read', 'shared set']) expect(told).toContain(e);

        // The server comes back: both hosts read the right values again through their mounts.
        script('setup.sh', mounts);
        const healed = await failing.call('watch', { key: 'd0', until: 1, ms: 30_000 });
        expect(healed.done, JSON.stringify(healed.reads)).toBe(true);
        for (const [seen] of healed.reads as Run[])
          expect(seen === 1 || /^error /.test(String(seen))).toBe(true);
        // The write the shared tier refused never reached it; host 1's rejected write changed nothing.
        expect((await failing.call('get', { key: 'w' })).seen).toBe('miss');
        expect((await failing.call('get', { key: 'd1' })).seen).toBe(1);
      },
      TEST_MS,
    );
  },
);
