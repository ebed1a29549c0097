/**
 * Key locks, on both engines (docs/FORMAT.md "Locks" for the `files` engine's lock folders, "The lock
 * queue" for the `log` engine's lock records): a lock whose holder is provably gone (same host, pid
 * not alive) or whose lease ran out is taken over; a live holder's lock with a lease to run is never
 * stolen, and the waiter gets a `LockTimeoutError` (code 'ELOCKTIMEOUT') naming the holder. Damage
 * particular to one engine's locks (an unreadable owner record, a torn lock record) is tested on it.
 *
 * A takeover must come from the holder's death, not from its lease: the waiters that take over have
 * a timeout shorter than the lease their holder has left (a `files` holder's 60 s or 1 h, and a `log`
 * waiter's lease of at least 10 s counted from when its holder took the lock).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, type ExpectStatic, expect, it } from 'vitest';
import { Cache, CacheError, LockTimeoutError } from '../../src/index.js';
import { inScratch, sleep } from '../helpers/children.js';
import { engineOfNewCaches, keyLockHolders, plantKeyLock } from '../helpers/stored.js';
import { makeTempDir } from '../helpers/tmp.js';
import { bucketOf, currentFile, encodeRecord, Kind } from '../log/helpers/format.js';
import { deadPid, HOST, keyHash, lockPath } from './helpers/layout.js';
import './helpers/watchdog.js';

const ENGINE = engineOfNewCaches(makeTempDir);

/** The holders of `key`'s lock in the cache at `dir`, first the one that holds it. */
const holdersOf = (dir: string, key: string) => keyLockHolders(dir, keyHash(key));

async function expectLockTimeout(call: () => unknown, holder: string): Promise<void> {
  const started = performance.now();
  let error: unknown;
  try {
    await call();
  } catch (e) {
    error = e;
  }
  const waited = performance.now() - started;
  expect(error, 'the call should have timed out').toBeInstanceOf(LockTimeoutError);
  expect(error).toBeInstanceOf(CacheError);
  const timeout = error as LockTimeoutError;
  expect(timeout.code).toBe('ELOCKTIMEOUT');
  expect(timeout.holder).toBe(holder);
  expect(timeout.message).toContain(holder);
  expect(waited).toBeGreaterThanOrEqual(250);
}

/** A cache at `dir` in which the key `key` holds `value`, open with `options`. */
function cacheHolding(dir: string, key: string, value: number, options: { timeout?: number } = {}): Cache {
  const cache = new Cache(dir, options);
  cache.setSync(key, value);
  return cache;
}

/** A `files` cache at `dir` in which `k` holds 1, and the path of `k`'s lock folder (not there yet). */
function withKeyLock(dir: string, options: { timeout: number }): { cache: Cache; lock: string } {
  return { cache: cacheHolding(dir, 'k', 1, options), lock: lockPath(dir, 'k') };
}

/** That `call` (an increment of the key whose lock is `lock`) gives `value`, and the lock is gone. */
async function expectTakenOver(
  expect: ExpectStatic,
  lock: string,
  call: () => unknown,
  value: number,
): Promise<void> {
  expect(await call()).toBe(value);
  expect(fs.existsSync(lock)).toBe(false);
}

// Concurrent: most of the time goes into waiting for locks, in separate directories.
describe.concurrent('locks', () => {
  it('takes over a key lock left by a holder killed with SIGKILL inside incr', ({ expect }) =>
    inScratch('lock-killed', async (dir, spawn) => {
      new Cache(dir).closeSync();
      const holder = spawn('hold-key-lock', [dir, 'held']);
      await holder.waitFor((m) => m === 'holding');
      expect(holdersOf(dir, 'held')).toEqual([{ host: HOST, pid: holder.pid }]);
      await holder.kill();

      const cache = new Cache(dir, { timeout: 5_000 });
      expect(cache.incrSync('held')).toBe(1);
      expect(await cache.incr('held')).toBe(2);
      expect(holdersOf(dir, 'held')).toEqual([]);
      cache.checkSync({ fix: true }); // folds the dead holder's leftovers
      expect(cache.checkSync()).toEqual({ problems: [], fixed: 0 });
      cache.closeSync();
    }));

  it('takes over a lock naming a dead process of this host', ({ expect }) =>
    inScratch('lock-dead', async (dir) => {
      const cache = cacheHolding(dir, 'k', 41, { timeout: 5_000 });
      plantKeyLock(dir, keyHash('k'), { pid: await deadPid() });
      expect(holdersOf(dir, 'k')).toHaveLength(1);
      expect(await cache.incr('k')).toBe(42);
      expect(holdersOf(dir, 'k')).toEqual([]);
      expect(cache.checkSync()).toEqual({ problems: [], fixed: 0 });
      cache.closeSync();
    }));

  it('takes over a stale lock in a process that has closed and reopened the cache (run in a child, 20 s limit)', ({
    expect,
  }) =>
    inScratch('lock-reopen', async (dir, spawn) => {
      const worker = spawn('takeover-after-reopen', [dir, await deadPid()], 20_000);
      const result = (await worker.result()) as { value: number; ms: number };
      expect(result.value).toBe(1);
      expect(holdersOf(dir, 'n')).toEqual([]);
    }));

  it('takes over a lock of another host whose lease has run out', ({ expect }) =>
    inScratch('lock-lease', async (dir) => {
      const cache = new Cache(dir, { timeout: 5_000 });
      cache.getSync('k'); // makes the key's bucket file, on log
      plantKeyLock(dir, keyHash('k'), {
        host: 'other-host',
        pid: 4242,
        since: Date.now() - 60_000,
        leaseMs: 1_000,
      });
      expect(cache.incrSync('k')).toBe(1);
      expect(holdersOf(dir, 'k')).toEqual([]);
      cache.closeSync();
    }));

  it.runIf(ENGINE === 'files')(
    'treats a lock whose owner record is unreadable (written short by a holder that died) as stale after 5 s, in check() too',
    ({ expect }) =>
      inScratch('lock-empty', async (dir) => {
        const { cache, lock } = withKeyLock(dir, { timeout: 10_000 });
        const leaveUnreadableLock = (ageMs: number) => {
          fs.mkdirSync(lock, { recursive: true });
          fs.writeFileSync(path.join(lock, 'owner'), '{"host":');
          const then = new Date(Date.now() - ageMs);
          fs.utimesSync(lock, then, then);
        };
        // A young one is respected: its holder may still be writing it.
        leaveUnreadableLock(0);
        const impatient = new Cache(dir, { timeout: 300 });
        await expectLockTimeout(() => impatient.incrSync('k'), 'an unknown holder');
        impatient.closeSync();
        fs.rmSync(lock, { recursive: true });

        leaveUnreadableLock(10_000);
        await expectTakenOver(expect, lock, () => cache.incrSync('k'), 2);

        // check() reports such a lock and check({ fix: true }) removes it, by the same 5 s rule.
        leaveUnreadableLock(10_000);
        expect.soft(cache.checkSync().problems.filter((p) => p.includes('.lock'))).toHaveLength(1);
        cache.checkSync({ fix: true });
        expect
          .soft(fs.existsSync(lock), 'the unreadable lock is still there after check({ fix: true })')
          .toBe(false);
        cache.closeSync();
      }),
  );

  it.runIf(ENGINE === 'log')(
    'a lock record torn by a holder that died while appending it holds no lock, and check({ fix: true }) removes its bytes',
    ({ expect }) =>
      inScratch('lock-torn', async (dir) => {
        const cache = cacheHolding(dir, 'k', 1, { timeout: 5_000 });
        const payload = Buffer.alloc(12);
        payload.writeUInt32LE(process.pid, 0);
        payload.writeDoubleLE(Date.now(), 4);
        const record = encodeRecord({
          kind: Kind.Lock,
          hash: keyHash('k'),
          payload: Buffer.concat([payload, Buffer.from(HOST)]),
        });
        const file = currentFile(dir, bucketOf('k'));
        fs.appendFileSync(file, record.subarray(0, record.length - 3));
        expect(holdersOf(dir, 'k')).toEqual([]);
        // The records appended after the torn bytes are read past them.
        expect(cache.incrSync('k')).toBe(2);
        expect(await cache.incr('k')).toBe(3);
        const other = new Cache(dir, { timeout: 5_000 });
        expect(other.getSync('k')).toBe(3);
        other.closeSync();
        expect(cache.checkSync().problems).toEqual([expect.stringMatching(/^log\/.*no intact record/)]);
        cache.checkSync({ fix: true });
        expect(cache.checkSync()).toEqual({ problems: [], fixed: 0 });
        expect(cache.getSync('k')).toBe(3);
        cache.closeSync();
      }),
  );

  it.runIf(ENGINE === 'files')(
    'takes an empty lock directory at once, and a plain file where a lock belongs (an older format) too',
    ({ expect }) =>
      inScratch('lock-leftovers', async (dir) => {
        // A timeout shorter than the lease of the record below (1 h): only its form makes it stale.
        const { cache, lock } = withKeyLock(dir, { timeout: 5_000 });
        fs.mkdirSync(lock, { recursive: true });
        await expectTakenOver(expect, lock, () => cache.incrSync('k'), 2);

        fs.writeFileSync(lock, JSON.stringify({ host: HOST, pid: process.pid, token: 'x', owner: 'x' }));
        await expectTakenOver(expect, lock, () => cache.incr('k'), 3);
        expect(cache.checkSync()).toEqual({ problems: [], fixed: 0 });
        cache.closeSync();
      }),
  );

  describe('never steals the lock of a live holder', () => {
    async function expectRespected(dir: string, pid: number, host = HOST): Promise<void> {
      const holders = holdersOf(dir, 'k');
      expect(holders).toEqual([{ host, pid }]);
      const cache = new Cache(dir, { timeout: 300 });
      await expectLockTimeout(() => cache.incrSync('k'), `${host}:${pid}`);
      await expectLockTimeout(() => cache.incr('k', 5), `${host}:${pid}`);
      await expectLockTimeout(() => cache.pop('k'), `${host}:${pid}`);
      // check({ fix: true }) does not remove it either.
      expect(cache.checkSync({ fix: true }).problems.filter((p) => p.includes('lock'))).toEqual([]);
      expect(holdersOf(dir, 'k')).toEqual(holders);
      expect(cache.getSync('k')).toBe(7);
      cache.closeSync();
    }

    it('a lock naming this (live) process', () =>
      inScratch('lock-self', async (dir) => {
        cacheHolding(dir, 'k', 7).closeSync();
        plantKeyLock(dir, keyHash('k'), { pid: process.pid });
        await expectRespected(dir, process.pid);
      }));

    it('a lock naming a live idle child', ({ expect }) =>
      inScratch('lock-idle', async (dir, spawn) => {
        cacheHolding(dir, 'k', 7).closeSync();
        const idle = spawn('idle', []);
        await idle.waitFor((m) => m === 'idle');
        plantKeyLock(dir, keyHash('k'), { pid: idle.pid });
        await expectRespected(dir, idle.pid);
        // Once the holder is gone, the lock is taken over.
        await idle.kill();
        const after = new Cache(dir, { timeout: 5_000 });
        expect(after.incrSync('k')).toBe(8);
        after.closeSync();
      }));

    it('a lock of another host whose lease has not run out', () =>
      inScratch('lock-remote', async (dir) => {
        cacheHolding(dir, 'k', 7).closeSync();
        plantKeyLock(dir, keyHash('k'), { host: 'other-host', pid: 4242 });
        await expectRespected(dir, 4242, 'other-host');
      }));

    it('a child holding the key lock inside incr, until it is killed', ({ expect }) =>
      inScratch('lock-live', async (dir, spawn) => {
        const cache = cacheHolding(dir, 'held', 10, { timeout: 300 });
        const holder = spawn('hold-key-lock', [dir, 'held']);
        await holder.waitFor((m) => m === 'holding');
        await expectLockTimeout(() => cache.incrSync('held'), `${HOST}:${holder.pid}`);
        await expectLockTimeout(() => cache.decr('held'), `${HOST}:${holder.pid}`);
        expect(cache.getSync('held')).toBe(10);
        await holder.kill();
        expect(cache.incrSync('held')).toBe(11);
        cache.closeSync();
      }));

    it('a child that waited its turn longer than a lease, from the moment it takes the lock (about 12 s)', ({
      expect,
    }) =>
      inScratch('lock-waited', async (dir, spawn) => {
        const cache = cacheHolding(dir, 'held', 10, { timeout: 300 });
        const first = spawn('hold-key-lock', [dir, 'held']);
        await first.waitFor((m) => m === 'holding');
        // The second waits behind the first (its timeout: 60 s) for longer than the lease of the
        // cache above (10 s, the least there is), then takes the lock over from the killed first.
        const second = spawn('hold-key-lock', [dir, 'held']);
        if (ENGINE === 'log') {
          while ((holdersOf(dir, 'held') as unknown[]).length < 2) await sleep(50);
        } else await sleep(2_000);
        await sleep(10_500);
        await first.kill();
        await second.waitFor((m) => m === 'holding');
        await expectLockTimeout(() => cache.incrSync('held'), `${HOST}:${second.pid}`);
        expect(cache.getSync('held')).toBe(10);
        await second.kill();
        expect(cache.incrSync('held')).toBe(11);
        cache.closeSync();
      }));
  });

  it('takes over the transaction lock of a killed holder, whose transaction left no trace', ({ expect }) =>
    inScratch('tx-killed', async (dir, spawn) => {
      new Cache(dir).closeSync();
      const holder = spawn('hold-transaction', [dir]);
      await holder.waitFor((m) => m === 'holding');
      const waiter = new Cache(dir, { timeout: 300 });
      await expectLockTimeout(() => waiter.transactSync((tx) => tx.setSync('x', 1)), `${HOST}:${holder.pid}`);
      waiter.closeSync();
      await holder.kill();

      // A timeout shorter than the transaction lock's lease: only the holder's death frees it.
      const cache = new Cache(dir, { timeout: 5_000 });
      cache.transactSync((tx) => tx.setSync('x', 2));
      expect(cache.getSync('x')).toBe(2);
      expect(cache.getSync('inside')).toBeUndefined();
      cache.checkSync({ fix: true });
      expect(cache.checkSync()).toEqual({ problems: [], fixed: 0 });
      cache.closeSync();
    }));
});
