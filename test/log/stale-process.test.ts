/**
 * A process that has not used a bucket for a while still writes where every process reads: while
 * it kept the bucket's file open, other processes compacted the bucket twice or more (each
 * compaction writes the next generation and removes the one before). Its next write must land in
 * the current generation, be read by the others and by a fresh open, and no older generation may
 * come back. Two caches on one directory in one process stand for two processes: each has its own
 * index and its own open bucket files.
 */
import { describe, expect, it } from 'vitest';
import { Cache } from '../../src/index.js';
import { useTempDirs } from '../helpers/tmp.js';
import { generations, keysInBucket } from './helpers/format.js';

const BUCKET = 0x09;
const [OLD, HOT, LATE] = keysInBucket('stale-', BUCKET, 3) as [string, string, string];

describe('log engine: a process that lagged behind compactions', () => {
  const tempDir = useTempDirs();

  it.each([1, 2, 5])(
    'writes into the current generation after %i compaction(s) by another process',
    (compactions) => {
      const dir = tempDir();
      const idle = new Cache(dir, { engine: 'log' });
      const busy = new Cache(dir);
      try {
        idle.setSync(OLD, 'old');
        // 1 KiB overwrites of one key: a compaction each time the dead bytes pass 64 KiB.
        let i = 0;
        while ((generations(dir, BUCKET).at(-1) ?? 1) < 1 + compactions)
          busy.setSync(HOT, Buffer.alloc(1024, i++ & 0xff));
        const current = generations(dir, BUCKET);
        expect(current).toEqual([1 + compactions]);

        idle.setSync(LATE, 'written late');
        expect(
          generations(dir, BUCKET),
          'generations after the late write (an older one came back?)',
        ).toEqual(current);
        expect(busy.getSync(LATE)).toBe('written late');
        expect(idle.getSync(LATE)).toBe('written late');
        const fresh = new Cache(dir);
        try {
          expect([fresh.getSync(OLD), fresh.getSync(LATE)]).toEqual(['old', 'written late']);
          expect(fresh.checkSync().problems).toEqual([]);
        } finally {
          fresh.closeSync();
        }
        // And the busy one's later writes are seen by the one that lagged.
        busy.setSync(HOT, 'last');
        expect(idle.getSync(HOT)).toBe('last');
      } finally {
        idle.closeSync();
        busy.closeSync();
      }
    },
  );
});
