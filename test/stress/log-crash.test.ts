/**
 * kill -9 during appends and during compaction (log engine). Three child processes append to ONE
 * bucket file: each sets and deletes two keys of its own (self-checking values of about 1 KiB, so
 * that the bucket is compacted every few dozen appends) and increments a counter of its own (a key
 * lock made of records in the same bucket). Each child prints what it is about to do and, once the
 * call has returned, that it did it ("acknowledged"), before going on.
 *
 * - Random kills: several rounds on one directory, each child SIGKILLed at its own random moment.
 * - Kills at each step of a compaction (and of a key lock): one child SIGKILLs itself right after the
 *   step, the others go on for a while (they must take over whatever it left: its compaction lock,
 *   a sealed bucket without a successor, a successor not yet linked or an old generation not yet
 *   removed, a lock record never released), then are killed.
 *
 * After every round a fresh open must read every acknowledged write: each key holds the value of
 * its last acknowledged set (or nothing after an acknowledged delete), or else the result of the one
 * operation that was in flight; every value is intact; each counter is its last acknowledged value
 * or one more. `check({ fix: true })` may repair what the kills left, and a second `check()` then
 * finds nothing, with one generation file per bucket; the counters' key locks are taken over.
 */
import { describe, expect, it } from 'vitest';
import { Cache } from '../../src/index.js';
import type { KillAt } from '../fixtures/children/log.js';
import { type Child, sleep, startChild, startLogChild } from '../helpers/children.js';
import { makeTempDir, removeDir } from '../helpers/tmp.js';
import { BUCKET_COUNT, generations, Kind, keysInBucket } from '../log/helpers/format.js';
import { SEED } from './helpers/env.js';
import { Random } from './helpers/random.js';
import { checkValue, metaOf } from './helpers/values.js';
import './helpers/watchdog.js';

const CHILDREN = 3;
const BUCKET = 0x07;
const KEYS = keysInBucket('crash-', BUCKET, CHILDREN * 3);
const ownKeys = (id: number) => KEYS.slice(id * 3, id * 3 + 2);
const counterOf = (id: number) => KEYS[id * 3 + 2] as string;

/** What a key holds: a value of some sequence number, nothing, or (a counter) a number. */
type Held = { seq: number } | 'absent' | number;
type Op = [op: 'set' | 'delete' | 'incr', key: string, seqOrValue: number];

const show = (held: Held | undefined) =>
  held === undefined ? 'unknown' : typeof held === 'object' ? `seq ${held.seq}` : String(held);

/** The state the acknowledged operations left, and the operations in flight when the children died. */
function replay(state: Map<string, Held>, workers: readonly Child[]): Op[] {
  const inFlight: Op[] = [];
  for (const worker of workers) {
    let pending: Op | undefined;
    for (const message of worker.messages) {
      const m = message as { b?: Op; a?: Op };
      if (m.b !== undefined) pending = m.b;
      if (m.a === undefined) continue;
      pending = undefined;
      const [op, key, x] = m.a;
      state.set(key, op === 'set' ? { seq: x } : op === 'delete' ? 'absent' : x);
    }
    if (pending !== undefined) inFlight.push(pending);
  }
  return inFlight;
}

/** Reads every key in a fresh cache and returns what is wrong, and what the keys hold. */
function verify(
  dir: string,
  acked: Map<string, Held>,
  inFlight: readonly Op[],
): { wrong: string[]; now: Map<string, Held> } {
  const wrong: string[] = [];
  const now = new Map<string, Held>();
  const cache = new Cache(dir);
  try {
    expect(cache.options.engine).toBe('log');
    for (let id = 0; id < CHILDREN; id++) {
      for (const key of ownKeys(id)) {
        const value = cache.getSync(key);
        let held: Held = 'absent';
        if (value !== undefined) {
          const problem = checkValue(key, value);
          if (problem !== undefined) {
            wrong.push(problem);
            continue;
          }
          held = { seq: metaOf(value).seq };
        }
        now.set(key, held);
        const allowed = [acked.get(key) ?? 'absent'];
        for (const [op, k, seq] of inFlight) if (k === key) allowed.push(op === 'set' ? { seq } : 'absent');
        if (!allowed.some((a) => show(a) === show(held))) {
          wrong.push(
            `${key}: ${show(held)}, but the acknowledged state is ${allowed.map(show).join(' or ')}`,
          );
        }
      }
      const counter = counterOf(id);
      const value = cache.getSync(counter);
      const held = value === undefined ? 0 : (value as number);
      now.set(counter, held);
      const base = (acked.get(counter) as number | undefined) ?? 0;
      const allowed = [
        base,
        ...(inFlight.some(([op, k]) => op === 'incr' && k === counter) ? [base + 1] : []),
      ];
      if (!allowed.includes(held)) wrong.push(`${counter}: ${held}, acknowledged ${allowed.join(' or ')}`);
    }
  } finally {
    cache.closeSync();
  }
  return { wrong, now };
}

/** check({ fix }) then check(): the second must be clean; returns what the first found. */
function fixAndCheck(dir: string): string[] {
  const cache = new Cache(dir);
  try {
    const first = cache.checkSync({ fix: true }).problems;
    expect(cache.checkSync().problems, `after check({ fix: true }) found ${JSON.stringify(first)}`).toEqual(
      [],
    );
    return first;
  } finally {
    cache.closeSync();
  }
}

function startAckers(dir: string, round: number, killAt?: KillAt): Child[] {
  return Array.from({ length: CHILDREN }, (_, id) =>
    startLogChild(
      'acker',
      {
        dir,
        id,
        keys: ownKeys(id),
        counter: counterOf(id),
        seq: round * 1_000_000,
        seed: SEED + round * 10 + id,
        size: 1200,
        ...(id === 0 && killAt !== undefined ? { killAt } : {}),
      },
      25_000,
    ),
  );
}

const acks = (worker: Child) => worker.messages.filter((m) => (m as { a?: unknown }).a !== undefined).length;

/** Waits until `worker` has printed `count` more acknowledgements than now; fails after `ms`. */
async function moreAcks(worker: Child, count: number, ms: number, what: string): Promise<void> {
  const target = acks(worker) + count;
  const deadline = Date.now() + ms;
  while (acks(worker) < target) {
    if (Date.now() > deadline)
      throw new Error(`${what}: fewer than ${count} operations done in ${ms} ms\n${worker.stderr()}`);
    await sleep(10);
  }
}

/** The counters' key locks are free to take: an incr (sync and async) of each goes through in a child. */
async function countersTakeable(dir: string, acked: Map<string, Held>): Promise<void> {
  const calls = Array.from({ length: CHILDREN }, (_, id) => ['incr', counterOf(id)]);
  const worker = startChild('stress', 'ops', [dir, JSON.stringify(calls)], 15_000);
  const { results } = (await worker.result()) as { results: string[] };
  for (const [i, result] of results.entries())
    expect(result, JSON.stringify(calls[i >> 1])).toMatch(/: ok \d+$/);
  for (let id = 0; id < CHILDREN; id++)
    acked.set(counterOf(id), ((acked.get(counterOf(id)) as number) ?? 0) + 2);
}

describe(`log engine: kill -9 during appends and compaction (seed ${SEED})`, () => {
  it('random kills of several appenders of one bucket, round after round: every acknowledged write survives', async () => {
    const dir = makeTempDir('dct-stress-log-crash-');
    const random = new Random(SEED);
    let acked = new Map<string, Held>();
    const generationsSeen = new Set<number>();
    let workers: Child[] = [];
    try {
      new Cache(dir, { engine: 'log' }).closeSync();
      for (let round = 1; round <= 6; round++) {
        workers = startAckers(dir, round);
        await Promise.all(workers.map((w) => w.waitFor((m) => m === 'go')));
        await Promise.all(
          workers.map(async (worker) => {
            await sleep(random.between(40, 700));
            await worker.kill();
          }),
        );
        for (const worker of workers) expect(worker.messages, worker.stderr()).not.toContain('timeout');
        const inFlight = replay(acked, workers);
        const { wrong, now } = verify(dir, acked, inFlight);
        expect(wrong, `round ${round}`).toEqual([]);
        acked = now;
        for (const g of generations(dir, BUCKET)) generationsSeen.add(g);
        fixAndCheck(dir);
        for (let b = 0; b < BUCKET_COUNT; b++) expect(generations(dir, b).length).toBeLessThanOrEqual(1);
      }
      // The kills fell among many compactions of the bucket.
      expect(Math.max(...generationsSeen)).toBeGreaterThan(6);
      await countersTakeable(dir, acked);
      expect(verify(dir, acked, []).wrong).toEqual([]);
    } finally {
      await Promise.all(workers.map((w) => w.kill()));
      removeDir(dir);
    }
  }, 60_000);

  const STEPS: [string, KillAt][] = [
    [
      'holding the compaction lock, before the seal',
      { op: 'placeDirectory', path: '^log/[0-9a-f]{2}\\.lock$', when: 'after' },
    ],
    ['right after appending the seal', { op: 'append', kind: Kind.Seal, when: 'after' }],
    ['with the next generation written, not linked', { op: 'writeFile', generation: 2, when: 'after' }],
    [
      'with the next generation linked, the old one not removed',
      { op: 'link', path: '^log/[0-9a-f]{2}\\.([2-9]|[1-9][0-9]+)$', when: 'after' },
    ],
    [
      'with the old generation removed, the lock still held',
      { op: 'unlink', path: '^log/[0-9a-f]{2}\\.[0-9]+$', when: 'after' },
    ],
    ['holding a key lock (a lock record, never released)', { op: 'append', kind: Kind.Lock, when: 'after' }],
    [
      'right after appending a value, before acknowledging it',
      { op: 'append', kind: Kind.Put, nth: 20, when: 'after' },
    ],
  ];

  it.each(STEPS)(
    'a child killed %s: the others take over, every acknowledged write survives',
    async (_what, killAt) => {
      const dir = makeTempDir('dct-stress-log-crash-step-');
      let workers: Child[] = [];
      try {
        new Cache(dir, { engine: 'log' }).closeSync();
        const acked = new Map<string, Held>();
        workers = startAckers(dir, 1, killAt);
        const [victim, ...others] = workers as [Child, ...Child[]];
        const killed = await Promise.race([victim.exited, sleep(15_000).then(() => undefined)]);
        expect(killed?.signal, `the child never reached the step\n${victim.stderr()}`).toBe('SIGKILL');
        // The others go on past whatever the dead one left behind.
        await Promise.all(others.map((w, i) => moreAcks(w, 30, 10_000, `child ${i + 1} after the kill`)));
        await Promise.all(others.map((w) => w.kill()));
        const inFlight = replay(acked, workers);
        const { wrong, now } = verify(dir, acked, inFlight);
        expect(wrong).toEqual([]);
        fixAndCheck(dir);
        for (let b = 0; b < BUCKET_COUNT; b++) expect(generations(dir, b).length).toBeLessThanOrEqual(1);
        await countersTakeable(dir, now);
        expect(verify(dir, now, []).wrong).toEqual([]);
      } finally {
        await Promise.all(workers.map((w) => w.kill()));
        removeDir(dir);
      }
    },
  );
});
