/**
 * kill -9 during a transaction's commit (log engine). A child loops over transactions that each set
 * the same six keys, one in each of six buckets, to self-checking values of the transaction's
 * number (now and then one large enough to be a blob), and prints each number before and after its
 * transaction. The commit writes a journal (the commit point) and then appends to the six buckets
 * one after another: a kill lands before the journal, between the appends, or before the journal is
 * removed. After the next open (whose recovery completes journals), the six keys hold one and the
 * same transaction: the last acknowledged one or the one in flight, never a mix; no journal is
 * left; `check({ fix: true })` and then `check()` find nothing.
 *
 * And a journal's replay must not undo what was written after the transaction it completes: a
 * transaction whose records were all appended, killed just before its journal was removed, and
 * then overwritten by another process, is not replayed over the newer values at the next open.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Cache } from '../../src/index.js';
import type { KillAt } from '../fixtures/children/log.js';
import { type Child, sleep, startLogChild } from '../helpers/children.js';
import { makeTempDir, removeDir } from '../helpers/tmp.js';
import { keysInDistinctBuckets } from '../log/helpers/format.js';
import { SEED } from './helpers/env.js';
import { Random } from './helpers/random.js';
import { checkValue, metaOf } from './helpers/values.js';
import './helpers/watchdog.js';

const KEYS = keysInDistinctBuckets('tx-', 6);

/** The last transaction acknowledged, and the one in flight when the child died. */
function progress(worker: Child): { acked: number | undefined; inFlight: number | undefined } {
  let acked: number | undefined;
  let inFlight: number | undefined;
  for (const message of worker.messages) {
    const m = message as { a?: number; b?: number };
    if (m.b !== undefined) inFlight = m.b;
    if (m.a !== undefined) {
      acked = m.a;
      inFlight = undefined;
    }
  }
  return { acked, inFlight };
}

/** The transaction number every key holds, after a fresh open; fails on a mix or a damaged value. */
function heldTransaction(dir: string): number | undefined {
  const cache = new Cache(dir);
  try {
    const held = KEYS.map((key) => {
      const value = cache.getSync(key);
      if (value === undefined) return 'absent';
      expect(checkValue(key, value)).toBeUndefined();
      return metaOf(value).seq;
    });
    expect(new Set(held).size, `the keys hold ${held.join(', ')}: not one transaction`).toBe(1);
    const journal = path.join(dir, 'journal');
    expect(fs.existsSync(journal) ? fs.readdirSync(journal) : []).toEqual([]);
    const first = held[0];
    return first === 'absent' ? undefined : (first as number);
  } finally {
    cache.closeSync();
  }
}

function fixAndCheck(dir: string): void {
  const cache = new Cache(dir);
  try {
    const first = cache.checkSync({ fix: true }).problems;
    expect(cache.checkSync().problems, `after check({ fix: true }) found ${JSON.stringify(first)}`).toEqual(
      [],
    );
  } finally {
    cache.closeSync();
  }
}

describe(`log engine: kill -9 during a transaction's commit (seed ${SEED})`, () => {
  it('killed at random moments, round after round: each transaction is all or nothing', async () => {
    const dir = makeTempDir('dct-stress-log-tx-crash-');
    const random = new Random(SEED);
    let worker: Child | undefined;
    try {
      new Cache(dir, { engine: 'log' }).closeSync();
      let held: number | undefined;
      for (let round = 1; round <= 6; round++) {
        worker = startLogChild(
          'tx',
          { dir, id: 1, keys: KEYS, from: round * 1_000_000, seed: SEED + round },
          25_000,
        );
        await worker.waitFor((m) => m === 'go');
        await sleep(random.between(50, 800));
        await worker.kill();
        expect(worker.messages, worker.stderr()).not.toContain('timeout');
        const { acked, inFlight } = progress(worker);
        const now = heldTransaction(dir);
        const allowed = [acked ?? held, ...(inFlight === undefined ? [] : [inFlight])];
        expect(allowed, `round ${round}: the keys hold transaction ${now}`).toContain(now);
        held = now;
        fixAndCheck(dir);
      }
    } finally {
      await worker?.kill();
      removeDir(dir);
    }
  }, 60_000);

  const STEPS: [string, KillAt, 'acked' | 'inFlight'][] = [
    ['before its journal is written', { op: 'rename', path: '^journal/', nth: 3, when: 'before' }, 'acked'],
    [
      'right after its journal is written',
      { op: 'rename', path: '^journal/', nth: 3, when: 'after' },
      'inFlight',
    ],
    [
      'after the first of its six appends',
      { op: 'append', path: '^log/', nth: 2 * 6 + 1, when: 'after' },
      'inFlight',
    ],
    [
      'after four of its six appends',
      { op: 'append', path: '^log/', nth: 2 * 6 + 4, when: 'after' },
      'inFlight',
    ],
    [
      'with every record appended, before its journal is removed',
      { op: 'unlink', path: '^journal/', nth: 3, when: 'before' },
      'inFlight',
    ],
  ];

  it.each(STEPS)('the third transaction killed %s', async (_what, killAt, expected) => {
    const dir = makeTempDir('dct-stress-log-tx-step-');
    let worker: Child | undefined;
    try {
      new Cache(dir, { engine: 'log' }).closeSync();
      worker = startLogChild('tx', { dir, id: 1, keys: KEYS, from: 0, seed: SEED, killAt }, 25_000);
      const { signal } = await worker.exited;
      expect(signal, worker.stderr()).toBe('SIGKILL');
      const { acked, inFlight } = progress(worker);
      expect([acked, inFlight]).toEqual([2, 3]);
      expect(heldTransaction(dir)).toBe(expected === 'acked' ? acked : inFlight);
      fixAndCheck(dir);
    } finally {
      await worker?.kill();
      removeDir(dir);
    }
  });

  it.each(['files', 'log'] as const)(
    'a %s journal whose transaction was complete is not replayed over later writes',
    async (engine) => {
      const dir = makeTempDir('dct-stress-log-tx-stale-');
      try {
        const [k, d] = KEYS as [string, string];
        // Opened before the transaction: its open has nothing to recover.
        const other = new Cache(dir, { engine });
        other.setSync(d, 'before');
        const worker = startLogChild('transact-once', {
          dir,
          set: { [k]: 'from-tx' },
          delete: [d],
          killAt: { op: 'unlink', path: '^journal/', when: 'before' },
        });
        expect((await worker.exited).signal, worker.stderr()).toBe('SIGKILL');
        expect(fs.readdirSync(path.join(dir, 'journal'))).toHaveLength(1);
        expect([other.getSync(k), other.getSync(d)]).toEqual(['from-tx', undefined]);
        // Written after the transaction, and acknowledged.
        other.setSync(k, 'newer');
        other.setSync(d, 'newer');
        other.closeSync();

        const fresh = new Cache(dir);
        try {
          expect(fs.readdirSync(path.join(dir, 'journal'))).toEqual([]);
          expect([fresh.getSync(k), fresh.getSync(d)]).toEqual(['newer', 'newer']);
        } finally {
          fresh.closeSync();
        }
      } finally {
        removeDir(dir);
      }
    },
  );
});
