/**
 * `pop` and `pull` deliver every item exactly once across processes, and `pull` keeps each
 * producer's order.
 */
import { describe, it } from 'vitest';
import { Cache } from '../../src/index.js';
import { inScratch, results, startTogether } from '../helpers/children.js';
import { SEED } from './helpers/env.js';
import './helpers/watchdog.js';

const ITEMS = 2_000;
const CONSUMERS = 4;

// The tests run concurrently: their work is in child processes.
describe.concurrent('pop and pull from 4 processes', () => {
  it(
    `pop: each of ${ITEMS} keys goes to exactly one of ${CONSUMERS} processes`,
    ({ expect }) =>
      inScratch('pop', async (dir, spawn) => {
        const cache = new Cache(dir);
        for (let i = 0; i < ITEMS; i++) cache.setSync(`item-${i}`, { i });
        const workers = Array.from({ length: CONSUMERS }, (_, id) =>
          spawn('pop', [dir, ITEMS, SEED + id], 120_000),
        );
        await startTogether(workers);
        const done = (await results(workers)) as { got: [number, { i: number }][] }[];

        const seen = new Map<number, number>();
        const problems: string[] = [];
        done.forEach(({ got }, id) => {
          for (const [i, value] of got) {
            if (seen.has(i)) problems.push(`item-${i} popped by ${seen.get(i)} and ${id}`);
            if (value?.i !== i) problems.push(`item-${i} popped as ${JSON.stringify(value)}`);
            seen.set(i, id);
          }
        });
        expect(problems, `seed ${SEED}`).toEqual([]);
        expect(seen.size).toBe(ITEMS);
        expect(cache.countSync()).toBe(0);
        expect(cache.checkSync()).toEqual({ problems: [], fixed: 0 });
        cache.closeSync();
      }),
    300_000,
  );

  it(
    `pull: ${ITEMS} items pushed by 2 producers reach ${CONSUMERS} consumers once each, in each producer's order`,
    ({ expect }) =>
      inScratch('pull', async (dir, spawn) => {
        const cache = new Cache(dir);
        const producers = [0, 1].map((id) => spawn('produce', [dir, id, ITEMS / 2], 240_000));
        const consumers = Array.from({ length: CONSUMERS }, (_, id) =>
          spawn('consume', [dir, id, 2], 120_000),
        );
        await startTogether([...producers, ...consumers]);
        await results(producers);
        const done = (await results(consumers)) as { got: [string, number, number][] }[];

        const problems: string[] = [];
        const byKey = new Map<string, string>();
        const delivered = new Set<string>();
        done.forEach(({ got }, consumer) => {
          const last = [-1, -1];
          for (const [key, p, s] of got) {
            const item = `${p}/${s}`;
            if (delivered.has(item)) problems.push(`item ${item} delivered twice`);
            delivered.add(item);
            if (byKey.has(key)) problems.push(`key ${key} delivered twice`);
            byKey.set(key, item);
            // FIFO as one consumer sees it: a producer's items arrive in the order they were pushed.
            if (s <= (last[p] as number))
              problems.push(`consumer ${consumer} got ${item} after ${p}/${last[p]}`);
            last[p] = s;
          }
        });
        expect(problems).toEqual([]);
        expect(delivered.size).toBe(ITEMS);
        // FIFO over the whole queue: in key order, each producer's sequence numbers increase.
        const inKeyOrder = [...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, item]) => item);
        for (const p of [0, 1]) {
          const sequence = inKeyOrder
            .filter((item) => item.startsWith(`${p}/`))
            .map((item) => Number(item.split('/')[1]));
          expect(sequence).toEqual(Array.from({ length: ITEMS / 2 }, (_, i) => i));
        }
        expect(cache.pullSync({ prefix: 'q' })).toBeUndefined();
        expect(cache.checkSync()).toEqual({ problems: [], fixed: 0 });
        cache.closeSync();
      }),
    300_000,
  );
});
