/**
 * `add` is atomic across processes: of four children adding the same 500 keys, exactly one wins each,
 * whether the key was missing (published by a hard link) or held an expired entry (replaced under
 * the key's lock).
 */
import { describe, expect, it } from 'vitest';
import { Cache } from '../../src/index.js';
import { inScratch, results, startTogether } from '../helpers/children.js';
import { anHourAgo } from '../helpers/clock.js';
import './helpers/watchdog.js';

const PROCESSES = 4;
const KEYS = 500;

describe('add raced by 4 processes', () => {
  it(
    `has exactly one winner for each of ${KEYS} keys, missing or expired`,
    () =>
      inScratch('add', async (dir, spawn) => {
        // Two keys in three hold an expired entry, which add must replace under the key's lock; the rest are missing.
        const past = new Cache(dir, { clock: anHourAgo });
        for (let i = 0; i < KEYS; i++) if (i % 3 !== 0) past.setSync(`add-${i}`, 'expired', { ttl: 1000 });
        past.closeSync();
        const cache = new Cache(dir);
        const workers = Array.from({ length: PROCESSES }, (_, id) => spawn('add', [dir, id, KEYS], 240_000));
        await startTogether(workers);
        const done = (await results(workers)) as { wins: number[] }[];

        const winner = new Map<number, number>();
        const twice: string[] = [];
        done.forEach(({ wins }, id) => {
          for (const i of wins) {
            if (winner.has(i))
              twice.push(
                `add-${i}${i % 3 !== 0 ? ' (expired)' : ''}: won by children ${winner.get(i)} and ${id}`,
              );
            winner.set(i, id);
          }
        });
        expect.soft(twice).toEqual([]);
        expect.soft(done.reduce((sum, d) => sum + d.wins.length, 0)).toBe(KEYS);
        const wrong: string[] = [];
        for (let i = 0; i < KEYS; i++) {
          const value = cache.getSync(`add-${i}`);
          if (value !== `child-${winner.get(i)}`)
            wrong.push(`add-${i}: ${String(value)}, won by ${winner.get(i)}`);
        }
        expect.soft(wrong).toEqual([]);
        expect(cache.countSync()).toBe(KEYS);
        expect(cache.checkSync()).toEqual({ problems: [], fixed: 0 });
        cache.closeSync();
      }),
    300_000,
  );
});
