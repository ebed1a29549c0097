/**
 * Readers never see a torn or foreign value while writers replace, delete and pop the same keys from
 * other processes. Every value carries a SHA-256 of itself and the key it was written for.
 * Runs for STRESS_SECONDS (default 6) seconds.
 */
import { describe, expect, it } from 'vitest';
import { Cache } from '../../src/index.js';
import { inScratch, results, startTogether } from '../helpers/children.js';
import { SEED, STRESS_SECONDS } from './helpers/env.js';
import { checkValue } from './helpers/values.js';
import './helpers/watchdog.js';

const KEYS = 12;

describe('readers and writers on the same keys', () => {
  it(
    `never return a torn or foreign value (2 writers, 2 readers, ${STRESS_SECONDS} s)`,
    () =>
      inScratch('torn', async (dir, spawn) => {
        new Cache(dir).closeSync();
        const ms = STRESS_SECONDS * 1000;
        const limit = ms + 120_000;
        const workers = [
          spawn('write', [dir, 0, ms, SEED, KEYS], limit),
          spawn('write', [dir, 1, ms, SEED + 1, KEYS], limit),
          spawn('read', [dir, 2, ms, SEED + 2, KEYS], limit),
          spawn('read', [dir, 3, ms, SEED + 3, KEYS], limit),
        ];
        await startTogether(workers);
        const done = (await results(workers)) as { ops: number; hits: number; bad: string[] }[];

        expect(
          done.flatMap((d) => d.bad),
          `STRESS_SEED=${SEED}`,
        ).toEqual([]);
        // Not vacuous: the readers found values, the writers wrote many.
        expect(done[2]?.hits).toBeGreaterThan(50);
        expect(done[3]?.hits).toBeGreaterThan(50);
        expect(done[0]?.ops).toBeGreaterThan(100);

        const cache = new Cache(dir);
        for (let i = 0; i < KEYS; i++) {
          const value = cache.getSync(`t${i}`);
          if (value !== undefined) expect(checkValue(`t${i}`, value)).toBeUndefined();
        }
        // Nothing on disk is corrupt (the counters may need a reconcile: see counters.test.ts).
        const report = cache.checkSync({ fix: true });
        expect(report.problems.filter((p) => !p.startsWith('counters say'))).toEqual([]);
        expect(cache.checkSync()).toEqual({ problems: [], fixed: 0 });
        cache.closeSync();
      }),
    STRESS_SECONDS * 1000 + 180_000,
  );
});
