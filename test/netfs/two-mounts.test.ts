/**
 * The multi-process guarantees on a real network filesystem, with the processes split across two
 * mounts of one export (two "hosts" sharing one drive). Needs `DISKCACHE_TEST_ROOT` (mount A) and
 * `DISKCACHE_TEST_OTHER_ROOT` (mount B, the same export): `npm run test:netfs` sets them up; without
 * them every test here is skipped, with the reason in the suite's name.
 *
 * Sizes are smaller than the local stress suite's (each operation is a few network round trips);
 * the knobs are `NETFS_INCR_OPS`, `NETFS_ADD_KEYS`, `NETFS_POP_ITEMS`, `NETFS_CRASH_KILLS` and
 * `NETFS_STALE_MS`. With `DISKCACHE_NETFS_REPORT=<dir>`, measured numbers are written there as JSON.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Cache } from '../../src/index.js';
import { type Child, killAll, results, startChild, startTogether } from '../helpers/children.js';
import { anHourAgo } from '../helpers/clock.js';
import { makeTempDir, onOtherMount, removeDir } from '../helpers/tmp.js';
import { CONFIGURED, knob, REASON, removeShared, report } from './mounts.js';
import {
  applyOp,
  CRASH_KEYS,
  type CrashOp,
  type CrashState,
  crashGeneration,
  stateDifferences,
} from './plan.js';

const INCR_OPS = knob('NETFS_INCR_OPS', 100);
const ADD_KEYS = knob('NETFS_ADD_KEYS', 90);
const POP_ITEMS = knob('NETFS_POP_ITEMS', 120);
const CRASH_KILLS = knob('NETFS_CRASH_KILLS', 12);
const STALE_MS = knob('NETFS_STALE_MS', 5_000);
/** How long after the writer stops readers may take to see its last values (the staleness bound asserted). */
const STALE_TAIL_MS = knob('NETFS_STALE_TAIL_MS', 30_000);
/** How long the crash loop's recoverer waits for the other mount to show the dead writer's last state. */
const SETTLE_MS = knob('NETFS_SETTLE_MS', 30_000);
const CHILD_MS = 240_000;
const TEST_MS = 300_000;

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] as number;
}

const round = (n: number) => Math.round(n * 10) / 10;

describe.skipIf(!CONFIGURED)(`two mounts of one network export${CONFIGURED ? '' : ` (${REASON})`}`, () => {
  let dirA = '';
  let dirB = '';
  const open: Cache[] = [];

  function fresh(): void {
    dirA = makeTempDir();
    dirB = onOtherMount(dirA) as string;
  }
  /** Mount A for even `i`, mount B for odd. */
  const side = (i: number) => (i % 2 === 0 ? dirA : dirB);
  const openAt = (dir: string) => {
    const cache = new Cache(dir, { timeout: 30_000 });
    open.push(cache);
    return cache;
  };

  /** Closes every cache this process opened (one process must not open one cache through two mounts: see the note). */
  const closeAll = () => {
    for (const cache of open.splice(0)) {
      try {
        cache.closeSync();
      } catch {}
    }
  };

  afterEach(async () => {
    // Children a failed test left running would keep writing into the directory being removed.
    await killAll();
    closeAll();
    if (dirA) await removeShared(dirA);
  }, 120_000);

  it(
    'a reader on mount B never moves aside a value just replaced through mount A (stale attributes)',
    async () => {
      fresh();
      const setOnA = async (key: string, size: number, fill: number) =>
        startChild('netfs', 'set', [dirA, key, size, fill], 60_000).result();
      const reader = openAt(dirB);
      const rounds: { waitMs: number; readsOnB: string[]; newValueAfterMs: number }[] = [];
      let value: Buffer | undefined;
      // Between B's read and A's replacement: none, past the kernel's attribute cache (1 s), and more.
      for (const [i, waitMs] of [0, 1_200, 2_500].entries()) {
        const key = `k${i}`;
        await setOnA(key, 300, 1);
        expect(Buffer.from(reader.getSync(key) as Buffer)).toEqual(Buffer.alloc(300, 1));
        await new Promise((resolve) => setTimeout(resolve, waitMs));
        await setOnA(key, 3_000, 2);
        const readsOnB: string[] = [];
        const start = performance.now();
        while (performance.now() - start < SETTLE_MS) {
          value = reader.getSync(key) as Buffer | undefined;
          const seen = value === undefined ? 'miss' : `${value.length} B of ${value[0]}`;
          if (readsOnB.at(-1) !== seen) readsOnB.push(seen);
          if (value?.length === 3_000) break;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        rounds.push({ waitMs, readsOnB, newValueAfterMs: round(performance.now() - start) });
        if (value?.length !== 3_000) break;
      }
      const corrupt = fs.existsSync(path.join(dirA, 'corrupt'))
        ? fs.readdirSync(path.join(dirA, 'corrupt'))
        : [];
      report('stale-attributes', { rounds, corrupt });
      const seen = JSON.stringify(rounds);
      expect(corrupt, `a good entry was moved to corrupt/: ${seen}`).toEqual([]);
      expect(value, `B never read the new value: ${seen}`).toEqual(Buffer.alloc(3_000, 2));
    },
    TEST_MS,
  );

  it(
    `incr: 4 processes (2 per mount) × ${INCR_OPS} on one key give exactly ${4 * INCR_OPS}`,
    async () => {
      fresh();
      openAt(dirA).closeSync();
      const children = [0, 1, 2, 3].map((id) =>
        startChild('netfs', 'incr', [side(id), id, INCR_OPS], CHILD_MS),
      );
      await startTogether(children);
      const done = (await results(children)) as { returned: number[] }[];
      const returned = done.flatMap((d) => d.returned).sort((a, b) => a - b);
      // Every incr returned a different total: together exactly 1 … 4n (no two held the lock at once).
      const duplicates = returned.filter((v, i) => i > 0 && returned[i - 1] === v);
      expect(duplicates, 'totals returned twice: the key lock was held by two processes at once').toEqual([]);
      expect(openAt(dirA).getSync('counter')).toBe(4 * INCR_OPS);
      expect(openAt(dirB).getSync('counter')).toBe(4 * INCR_OPS);
      expect(returned).toEqual(Array.from({ length: 4 * INCR_OPS }, (_, i) => i + 1));
    },
    TEST_MS,
  );

  it(
    `add: 4 processes (2 per mount) race on ${ADD_KEYS} keys, exactly one winner each`,
    async () => {
      fresh();
      // Every third key holds an expired entry, which add must replace under the key's lock.
      const past = new Cache(dirA, { timeout: 30_000, clock: anHourAgo });
      for (let i = 0; i < ADD_KEYS; i += 3) past.setSync(`add-${i}`, 'expired', { ttl: 1000 });
      past.closeSync();
      const children = [0, 1, 2, 3].map((id) =>
        startChild('netfs', 'add', [side(id), id, ADD_KEYS], CHILD_MS),
      );
      await startTogether(children);
      const done = (await results(children)) as { wins: number[] }[];
      const winner = new Map<number, number>();
      const twice: string[] = [];
      done.forEach(({ wins }, id) => {
        for (const i of wins) {
          if (winner.has(i)) twice.push(`add-${i}: children ${winner.get(i)} and ${id}`);
          winner.set(i, id);
        }
      });
      expect(twice).toEqual([]);
      const lost = Array.from({ length: ADD_KEYS }, (_, i) => i).filter((i) => !winner.has(i));
      expect(lost, 'keys no child won').toEqual([]);
      const reader = openAt(dirB);
      const wrong: string[] = [];
      for (let i = 0; i < ADD_KEYS; i++) {
        const value = reader.getSync(`add-${i}`);
        if (value !== `child-${winner.get(i)}`)
          wrong.push(`add-${i}: ${String(value)}, won by ${winner.get(i)}`);
      }
      expect(wrong).toEqual([]);
      expect(reader.countSync(), countersSeen(dirA, dirB)).toBe(ADD_KEYS);
    },
    TEST_MS,
  );

  it(
    `pop: ${POP_ITEMS} items popped by 4 processes (2 per mount), each exactly once`,
    async () => {
      fresh();
      const cache = openAt(dirA);
      for (let i = 0; i < POP_ITEMS; i++) cache.setSync(`item-${i}`, { i });
      const children = [0, 1, 2, 3].map((id) =>
        startChild('netfs', 'pop', [side(id), POP_ITEMS, 1000 + id], CHILD_MS),
      );
      await startTogether(children);
      const done = (await results(children)) as { got: [number, { i: number }][] }[];
      const seen = new Map<number, number>();
      const problems: string[] = [];
      done.forEach(({ got }, id) => {
        for (const [i, value] of got) {
          if (seen.has(i)) problems.push(`item-${i} popped by ${seen.get(i)} and ${id}`);
          if (value?.i !== i) problems.push(`item-${i} popped as ${JSON.stringify(value)}`);
          seen.set(i, id);
        }
      });
      expect(problems).toEqual([]);
      expect(seen.size).toBe(POP_ITEMS);
      expect(openAt(dirB).countSync(), countersSeen(dirA, dirB)).toBe(0);
    },
    TEST_MS,
  );

  it(
    `pull: ${POP_ITEMS} items pushed by 2 producers reach 2 consumers once each, in order (one of each per mount)`,
    async () => {
      fresh();
      openAt(dirA).closeSync();
      const half = POP_ITEMS / 2;
      const producers = [0, 1].map((id) => startChild('netfs', 'produce', [side(id), id, half], CHILD_MS));
      const consumers = [0, 1].map((id) =>
        startChild('netfs', 'consume', [side(id + 1), id, 2, CHILD_MS - 30_000], CHILD_MS),
      );
      await startTogether([...producers, ...consumers]);
      await results(producers);
      const done = (await results(consumers)) as { got: [string, number, number][]; finished: boolean }[];
      const problems: string[] = [];
      const delivered = new Set<string>();
      done.forEach(({ got, finished }, consumer) => {
        if (!finished) problems.push(`consumer ${consumer} ran out of time`);
        const last = [-1, -1];
        for (const [, p, s] of got) {
          const item = `${p}/${s}`;
          if (delivered.has(item)) problems.push(`item ${item} delivered twice`);
          delivered.add(item);
          if (s <= (last[p] as number))
            problems.push(`consumer ${consumer} got ${item} after ${p}/${last[p]}`);
          last[p] = s;
        }
      });
      expect(problems).toEqual([]);
      expect(delivered.size).toBe(POP_ITEMS);
    },
    TEST_MS,
  );

  it(
    `survives ${CRASH_KILLS} SIGKILLs of a writer on one mount, recovered from the other`,
    async () => {
      fresh();
      const logs = makeTempDir('dct-netfs-logs-', os.tmpdir());
      openAt(dirA).closeSync();
      let state: CrashState = new Map();
      const violations: string[] = [];
      const inFlight: Record<string, number> = {};
      let completedOps = 0;
      let kills = 0;
      const settleTimes: number[] = [];
      const started = performance.now();
      try {
        for (let iteration = 0; iteration < CRASH_KILLS && violations.length === 0; iteration++) {
          const writer = side(iteration + 1);
          const recoverer = side(iteration);
          const where = `kill ${iteration} (writer on mount ${iteration % 2 ? 'A' : 'B'})`;
          const log = path.join(logs, `${iteration}.log`);
          const child: Child = startChild(
            'netfs',
            'crash',
            [writer, log, 7919 * (iteration + 1), iteration],
            60_000,
          );
          await child.waitFor((m) => m === 'go');
          // Let it run long enough for a few operations on a slow mount, then kill at a random moment.
          await new Promise((resolve) => setTimeout(resolve, 100 + Math.random() * 400));
          let selfExit: string | undefined;
          void child.exited.then(({ code }) => {
            if (code !== null) selfExit = `${where}: the child exited by itself (${code}): ${child.stderr()}`;
          });
          await child.kill();
          if (selfExit !== undefined) {
            violations.push(selfExit);
            break;
          }
          kills++;

          const { completed, last } = readLog(log);
          completedOps += completed.length;
          inFlight[last?.op ?? 'none'] = (inFlight[last?.op ?? 'none'] ?? 0) + 1;
          const without = completed.reduce(applyOp, state);
          const withIt = last === undefined ? without : applyOp(without, last);

          let cache = new Cache(recoverer, { timeout: 10_000 });
          try {
            // The other mount may show an older state for a while (attribute and lookup caches),
            // and its first open may not list the dead writer's journal yet (a cached listing of
            // journal/): read again, opening anew as the next process would (an open completes the
            // journals of dead writers), until the state is one of the two allowed, for at most
            // SETTLE_MS.
            const settleStart = performance.now();
            let { actual, bad } = readState(cache);
            let missed = stateDifferences(actual, without);
            let missedWith = stateDifferences(actual, withIt);
            while (
              (bad.length > 0 || (missed.length > 0 && missedWith.length > 0)) &&
              performance.now() - settleStart < SETTLE_MS
            ) {
              await new Promise((resolve) => setTimeout(resolve, 250));
              cache.closeSync();
              cache = new Cache(recoverer, { timeout: 10_000 });
              ({ actual, bad } = readState(cache));
              missed = stateDifferences(actual, without);
              missedWith = stateDifferences(actual, withIt);
            }
            const settled = performance.now() - settleStart;
            if (settled > 1) settleTimes.push(Math.round(settled));
            violations.push(...bad.map((b) => `${where}: ${b}`));
            if (missed.length > 0 && missedWith.length > 0) {
              violations.push(
                `${where}: neither before nor after ${JSON.stringify(last)}: ${missed.join('; ')} / ${missedWith.join('; ')}`,
              );
            }
            for (const i of [0, 1]) {
              if (actual.get(`a${i}`) !== actual.get(`b${i}`))
                violations.push(`${where}: transaction ${i} torn`);
            }
            state = actual;
            // The dead child's locks are taken over: a key lock and the transaction lock.
            for (const key of ['c0', 'c1']) state.set(key, Number(cache.incrSync(key, 0)));
            cache.transactSync(() => undefined);
            const left = fs
              .readdirSync(path.join(recoverer, 'tmp'))
              .filter((n) => !n.includes(`~${process.pid}~`));
            if (left.length > 0) violations.push(`${where}: tmp/ still holds ${left.join(', ')}`);
            const fixed = cache.checkSync({ fix: true });
            const unexpected = fixed.problems.filter((p) => !/stale lock|^counters say/.test(p));
            if (unexpected.length > 0)
              violations.push(`${where}: check({ fix: true }) found ${unexpected.join('; ')}`);
            const after = cache.checkSync();
            if (after.problems.length > 0)
              violations.push(`${where}: check() after the fix: ${after.problems.join('; ')}`);
          } catch (error) {
            violations.push(`${where}: recovery threw ${(error as Error).stack}`);
          } finally {
            cache.closeSync();
          }
        }
      } finally {
        removeDir(logs);
      }
      report('crash-loop', {
        kills,
        completedOps,
        killedInFlight: inFlight,
        staleReadsSettledAfterMs: settleTimes,
        seconds: round((performance.now() - started) / 1000),
        violations: violations.length,
      });
      expect(violations).toEqual([]);
      expect(kills).toBe(CRASH_KILLS);
    },
    TEST_MS,
  );

  it(
    `a writer on mount B, readers on A and B (${STALE_MS} ms): no torn or foreign value, bounded staleness`,
    async () => {
      fresh();
      openAt(dirA).closeSync();
      const keys = 4;
      // Readers go on after the writer stops until they have seen its last values, for at most `tail`.
      const tail = STALE_TAIL_MS;
      const writer = startChild('netfs', 'writer', [dirB, 0, STALE_MS, keys, 15], CHILD_MS);
      const readerA = startChild('netfs', 'reader', [dirA, STALE_MS + tail, keys], CHILD_MS);
      const readerB = startChild('netfs', 'reader', [dirB, STALE_MS + tail, keys], CHILD_MS);
      await startTogether([writer, readerA, readerB]);
      const written = (await writer.result()) as {
        sets: [string, number, number][];
        errors: Record<string, number>;
      };
      const finalSeqs: Record<string, number> = {};
      for (const [key, seq] of written.sets) finalSeqs[key] = seq;
      for (const reader of [readerA, readerB]) reader.send(`final ${JSON.stringify(finalSeqs)}`);
      type Read = {
        seen: [string, number, number][];
        reads: number;
        hits: number;
        bad: string[];
        older: string[];
        errors: Record<string, number>;
        last: Record<string, string>;
      };
      const reads = (await results([readerA, readerB])) as Read[];
      const returnedAt = new Map(written.sets.map(([key, seq, at]) => [`${key}/${seq}`, at]));
      const lastSeq = new Map<string, number>();
      for (const [key, seq] of written.sets) lastSeq.set(key, seq);
      const summary = reads.map((r, i) => {
        const lag = r.seen
          .map(([key, seq, at]) => at - (returnedAt.get(`${key}/${seq}`) ?? Number.NaN))
          .filter((d) => !Number.isNaN(d))
          .sort((a, b) => a - b);
        const finalSeen = [...lastSeq].filter(([key, seq]) =>
          r.seen.some(([k, s]) => k === key && s === seq),
        );
        const finalLag = finalSeen.map(([key, seq]) => {
          const at = r.seen.find(([k, s]) => k === key && s === seq)?.[2] as number;
          return at - (returnedAt.get(`${key}/${seq}`) as number);
        });
        const finalMissed = [...lastSeq]
          .filter(([key, seq]) => !r.seen.some(([k, s]) => k === key && s === seq))
          .map(([key, seq]) => `${key}: last written ${seq}, last read ${r.last[key] ?? 'nothing'}`);
        return {
          mount: i === 0 ? 'A (other mount)' : 'B (writer mount)',
          reads: r.reads,
          hits: r.hits,
          versionsSeen: r.seen.length,
          versionsWritten: written.sets.length,
          lagMs: {
            p50: round(percentile(lag, 0.5)),
            p95: round(percentile(lag, 0.95)),
            max: round(lag.at(-1) ?? Number.NaN),
          },
          finalValuesSeen: `${finalSeen.length}/${lastSeq.size}`,
          finalLagMaxMs: round(Math.max(...finalLag)),
          finalMissed,
          torn: r.bad.length,
          olderAfterNewer: r.older.length,
          errors: r.errors,
          firstProblems: [...r.bad, ...r.older].slice(0, 5),
        };
      });
      report('staleness', { writerErrors: written.errors, readers: summary });
      for (const r of reads) expect(r.bad).toEqual([]);
      expect(written.sets.length).toBeGreaterThan(20);
      for (const s of summary) {
        expect(s.hits).toBeGreaterThan(20);
        // Bounded staleness: the last value of every key was seen within the tail.
        expect(s.finalValuesSeen, `${s.mount}: the last value of some key was never seen in ${tail} ms`).toBe(
          `${lastSeq.size}/${lastSeq.size}`,
        );
      }
      expect.soft(written.errors, 'errors thrown to the writer').toEqual({});
      for (const r of reads) expect.soft(r.errors, 'errors thrown to a reader').toEqual({});
    },
    TEST_MS,
  );
});

/** The counter files as each mount shows them, for a failure message. */
function countersSeen(...dirs: string[]): string {
  return dirs
    .map((dir) => {
      const counters = path.join(dir, 'counters');
      let names: string[] = [];
      try {
        names = fs.readdirSync(counters);
      } catch (error) {
        return `${dir}: ${(error as NodeJS.ErrnoException).code}`;
      }
      const shown = names.map((name) => {
        try {
          const bytes = fs.readFileSync(path.join(counters, name));
          if (name.endsWith('.delta') && bytes.length >= 16) return `${name}=count ${bytes.readDoubleLE(8)}`;
          return `${name}=${bytes.toString('utf8')}`;
        } catch (error) {
          return `${name}=${(error as NodeJS.ErrnoException).code}`;
        }
      });
      return `${dir}/counters: ${shown.join(' | ')}`;
    })
    .join('\n');
}

/** The operations the crash log says completed, and the one that was in flight. */
function readLog(file: string): { completed: CrashOp[]; last: CrashOp | undefined } {
  const started = new Map<number, CrashOp>();
  const finished = new Set<number>();
  const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  for (const line of text.split('\n')) {
    if (line.startsWith('B ')) {
      const space = line.indexOf(' ', 2);
      started.set(Number(line.slice(2, space)), JSON.parse(line.slice(space + 1)) as CrashOp);
    } else if (line.startsWith('E ')) finished.add(Number(line.slice(2)));
  }
  const completed: CrashOp[] = [];
  let last: CrashOp | undefined;
  for (const n of [...started.keys()].sort((a, b) => a - b)) {
    if (finished.has(n)) completed.push(started.get(n) as CrashOp);
    else last = started.get(n);
  }
  return { completed, last };
}

function readState(cache: Cache): { actual: CrashState; bad: string[] } {
  const actual: CrashState = new Map();
  const bad: string[] = [];
  for (const key of CRASH_KEYS) {
    const value = cache.getSync(key);
    if (value === undefined) continue;
    if (key.startsWith('c')) {
      if (typeof value === 'number') actual.set(key, value);
      else bad.push(`${key}: ${String(value)} is not a count`);
      continue;
    }
    const found = crashGeneration(key, value);
    if ('bad' in found) bad.push(found.bad);
    else actual.set(key, found.gen);
  }
  for (const key of cache.keysSync())
    if (!CRASH_KEYS.includes(String(key))) bad.push(`unexpected key ${String(key)}`);
  return { actual, bad };
}
