/**
 * No update is lost or reverted: processes whose clocks are an hour apart share locks exactly (a
 * lock's age is judged on the file server's clock, never by comparing two hosts' clocks), `touch`
 * never puts back an older value over a newer `set`, and a key or tag too large for the format to
 * read back is refused before anything is written.
 */
import { describe, it } from 'vitest';
import { Cache } from '../../src/index.js';
import { inScratch, results, startTogether } from '../helpers/children.js';
import './helpers/watchdog.js';

const HOUR = 60 * 60 * 1000;

describe('updates across processes', () => {
  it('3 processes × 300 incr, with clocks an hour ahead and an hour behind, end at exactly 900', ({
    expect,
  }) =>
    inScratch('skewed-incr', async (dir, spawn) => {
      new Cache(dir).closeSync();
      const workers = [0, HOUR, -HOUR].map((skew) => spawn('incr-skewed', [dir, 300, skew], 120_000));
      await startTogether(workers);
      const returned = ((await results(workers)) as { returned: number[] }[]).flatMap((r) => r.returned);
      const cache = new Cache(dir);
      expect(cache.getSync('counter')).toBe(900);
      expect(new Set(returned).size).toBe(900);
      cache.closeSync();
    }));

  it('touch never reverts a newer value: a reader never sees an older value after a newer one', ({
    expect,
  }) =>
    inScratch('touch-revert', async (dir, spawn) => {
      const n = 3000;
      const cache = new Cache(dir);
      cache.setSync('k', 0);
      cache.closeSync();
      const workers = [
        spawn('set-in-order', [dir, n], 120_000),
        spawn('touch-until', [dir, n], 120_000),
        spawn('read-until', [dir, n], 120_000),
      ];
      await startTogether(workers);
      const [, touched, read] = (await results(workers)) as [
        unknown,
        { touches: number },
        { reads: number; regressions: [number, number][]; regressionCount: number },
      ];
      expect(touched.touches).toBeGreaterThan(0);
      expect(read.regressions).toEqual([]);
      const after = new Cache(dir);
      expect(after.getSync('k')).toBe(n);
      // Only the counters may be off: a set racing another write of the same key (README, count()).
      expect(after.checkSync().problems.filter((p) => !p.startsWith('counters say'))).toEqual([]);
      after.closeSync();
    }));
});
