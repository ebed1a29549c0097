/**
 * Several appenders per bucket (log engine): four child processes, started together, do incr, add
 * and set on keys that all live in ONE bucket file, each round either one call after another (sync)
 * or all four at once (async, interleaved inside the process), while 1 KiB overwrites of a few hot
 * keys keep the bucket compacting under them. Afterwards:
 * - no increment is lost or doubled: the counter is the number of incr calls, and the values the
 *   calls returned are exactly 1 … total, each once;
 * - every add key has exactly one winner, and holds the winner's value;
 * - every key reads back as its writer last set it, the bucket was compacted meanwhile, and
 *   `check()` finds nothing.
 */
import { describe, expect, it } from 'vitest';
import { Cache } from '../../src/index.js';
import { startLogChild, startTogether } from '../helpers/children.js';
import { makeTempDir, removeDir } from '../helpers/tmp.js';
import { generations, keysInBucket } from '../log/helpers/format.js';
import { SEED } from './helpers/env.js';
import './helpers/watchdog.js';

const CHILDREN = 4;
const ROUNDS = 120;
const BUCKET = 0x11;

interface Report {
  returned: number[];
  wins: number[];
  own: Record<string, string>;
}

describe(`log engine: several appenders per bucket (seed ${SEED})`, () => {
  it('no increment lost, one add winner per key, every value readable, check clean', async () => {
    const dir = makeTempDir('dct-stress-log-appenders-');
    try {
      const keys = keysInBucket('app-', BUCKET, 2 + ROUNDS + CHILDREN * 3 + 3);
      const counter = keys[0] as string;
      const adds = keys.slice(1, 1 + ROUNDS);
      const own = (id: number) => keys.slice(1 + ROUNDS + id * 3, 1 + ROUNDS + id * 3 + 3);
      const hot = keys.slice(-3);
      new Cache(dir, { engine: 'log' }).closeSync();

      const workers = Array.from({ length: CHILDREN }, (_, id) =>
        startLogChild(
          'appender',
          { dir, id, rounds: ROUNDS, counter, adds, own: own(id), hot, seed: SEED + id },
          25_000,
        ),
      );
      await startTogether(workers);
      const reports = (await Promise.all(workers.map((w) => w.result()))) as Report[];

      const total = CHILDREN * ROUNDS;
      const returned = reports.flatMap((r) => r.returned).sort((a, b) => a - b);
      expect(returned.length).toBe(total);
      expect(returned).toEqual(Array.from({ length: total }, (_, i) => i + 1));

      const cache = new Cache(dir);
      try {
        expect(cache.getSync(counter)).toBe(total);
        for (const [round, key] of adds.entries()) {
          const winners = reports.flatMap((r, id) => (r.wins.includes(round) ? [id] : []));
          expect(winners, `add ${key} (round ${round})`).toHaveLength(1);
          expect(cache.getSync(key)).toBe(`child-${winners[0]}`);
        }
        for (const report of reports) {
          for (const [key, value] of Object.entries(report.own)) expect(cache.getSync(key), key).toBe(value);
        }
        for (const key of hot) {
          const value = cache.getSync(key) as Buffer;
          expect(Buffer.isBuffer(value) && value.length === 1024 && value.every((b) => b === value[0])).toBe(
            true,
          );
        }
        // The appends raced with compactions of the bucket they went to.
        expect(generations(dir, BUCKET).at(-1)).toBeGreaterThan(1);
        expect(cache.checkSync().problems).toEqual([]);
        expect(cache.countSync()).toBe(1 + ROUNDS + CHILDREN * 3 + hot.length);
      } finally {
        cache.closeSync();
      }
    } finally {
      removeDir(dir);
    }
  });
});
