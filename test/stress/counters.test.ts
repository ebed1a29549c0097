/**
 * `incr`/`decr` are atomic across processes: four children hammer one key and no update is lost.
 * And once concurrent writers are done, the O(1) totals (`count()`, `volume()`) are exact.
 * The tests run concurrently: their work is in child processes.
 */
import { describe, it } from 'vitest';
import { Cache } from '../../src/index.js';
import { inScratch, results, startTogether } from './helpers/children.js';
import { SEED } from './helpers/env.js';
import { mixedSum } from './helpers/plans.js';

const PROCESSES = 4;
const OPS = 2_000;

describe.concurrent('incr and decr from 4 processes on one key', () => {
  it(
    `loses no increment: ${PROCESSES} × ${OPS} incr give exactly ${PROCESSES * OPS}`,
    ({ expect }) =>
      inScratch('incr', async (dir, spawn) => {
        new Cache(dir).closeSync();
        const workers = Array.from({ length: PROCESSES }, (_, id) =>
          spawn('incr', [dir, id, OPS, 'incr'], 240_000),
        );
        await startTogether(workers);
        const done = (await results(workers)) as { sum: number; returned: number[] }[];

        const cache = new Cache(dir);
        expect(cache.getSync('counter')).toBe(PROCESSES * OPS);
        // Every incr returned a different total: together, exactly 1 … 8000.
        const returned = done.flatMap((d) => d.returned).sort((a, b) => a - b);
        expect(returned).toEqual(Array.from({ length: PROCESSES * OPS }, (_, i) => i + 1));
        expect(cache.checkSync()).toEqual({ problems: [], fixed: 0 });
        cache.closeSync();
      }),
    300_000,
  );

  it(
    'gets the exact sum of increments and decrements mixed',
    ({ expect }) =>
      inScratch('incr-mixed', async (dir, spawn) => {
        const cache = new Cache(dir);
        cache.setSync('counter', 1_000);
        const workers = Array.from({ length: PROCESSES }, (_, id) =>
          spawn('incr', [dir, id, OPS, 'mixed'], 240_000),
        );
        await startTogether(workers);
        const done = (await results(workers)) as { sum: number }[];

        let expected = 1_000;
        for (let id = 0; id < PROCESSES; id++) {
          expect(done[id]?.sum).toBe(mixedSum(id, OPS));
          expected += mixedSum(id, OPS);
        }
        expect(cache.getSync('counter')).toBe(expected);
        expect(cache.checkSync()).toEqual({ problems: [], fixed: 0 });
        cache.closeSync();
      }),
    300_000,
  );

  it(
    'count() and volume() match the entries once concurrent set/delete/pop are over',
    ({ expect }) =>
      inScratch('count', async (dir, spawn) => {
        new Cache(dir).closeSync();
        const workers = Array.from({ length: PROCESSES }, (_, id) =>
          spawn('write', [dir, id, 2_000, SEED + id, 8], 120_000),
        );
        await startTogether(workers);
        await results(workers);

        const cache = new Cache(dir);
        let entries = 0;
        let volume = 0;
        for (let i = 0; i < 8; i++) {
          const entry = cache.getEntrySync(`t${i}`);
          if (entry === undefined) continue;
          entries++;
          volume += entry.size;
        }
        // Every writer has closed its cache: nothing is in flight, so the O(1) totals must be exact.
        expect({ count: cache.countSync(), volume: cache.volumeSync() }, `STRESS_SEED=${SEED}`).toEqual({
          count: entries,
          volume,
        });
        expect(cache.checkSync()).toEqual({ problems: [], fixed: 0 });
        cache.closeSync();
      }),
    180_000,
  );
});
