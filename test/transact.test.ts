import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Cache } from '../src/index.js';
import type { KillAt } from './fixtures/children/log.js';
import { startLogChild } from './helpers/children.js';
import { engineOfNewCaches } from './helpers/stored.js';
import { makeTempDir, removeDir } from './helpers/tmp.js';
import { keysInDistinctBuckets } from './log/helpers/format.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) removeDir(dir);
});
function open(): Cache {
  const dir = makeTempDir();
  dirs.push(dir);
  return new Cache(dir);
}

function leftovers(cache: Cache): string[] {
  const list = (sub: string) => {
    try {
      return readdirSync(join(cache.directory, sub), { recursive: true }).map(String);
    } catch {
      return [];
    }
  };
  return [...list('journal'), ...list('tmp').filter((name) => name.includes('.'))];
}

describe('transact', () => {
  it('makes the writes visible together when fn returns, and returns its result', async () => {
    const cache = open();
    await cache.set('gone', 1);
    const outside = new Cache(cache.directory);
    const result = await cache.transact(async (tx) => {
      await tx.set('a', 1);
      await tx.set('b', 2, { tag: 't' });
      await tx.delete('gone');
      expect(await tx.get('a')).toBe(1); // reads see the transaction's own writes
      expect(await tx.has('gone')).toBe(false);
      expect(await outside.get('a')).toBeUndefined(); // others see nothing yet
      expect(await outside.get('gone')).toBe(1);
      return (await tx.incr('n', 5)) as number;
    });
    expect(result).toBe(5);
    expect([
      await outside.get('a'),
      await outside.get('b'),
      await outside.get('gone'),
      await outside.get('n'),
    ]).toEqual([1, 2, undefined, 5]);
    expect(await cache.count()).toBe(3);
    expect((await cache.check()).problems).toEqual([]);
    expect(leftovers(cache)).toEqual([]);
    outside.closeSync();
  });

  it('keeps nothing when fn throws', () => {
    const cache = open();
    cache.setSync('k', 'before');
    expect(() =>
      cache.transactSync((tx) => {
        tx.setSync('k', 'during');
        tx.setSync('new', 1);
        tx.deleteSync('k');
        throw new Error('abort');
      }),
    ).toThrow('abort');
    expect(cache.getSync('k')).toBe('before');
    expect(cache.hasSync('new')).toBe(false);
    expect(cache.countSync()).toBe(1);
    expect(leftovers(cache)).toEqual([]);
  });

  it('runs nested calls in the same transaction, and refuses a Promise in transactSync', () => {
    const cache = open();
    cache.transactSync((tx) => tx.transactSync((inner) => inner.setSync('x', 1)));
    expect(cache.getSync('x')).toBe(1);
    expect(() => cache.transactSync(() => Promise.resolve(1) as never)).toThrow(TypeError);
    expect(cache.getSync('x')).toBe(1);
  });

  it('serialises transactions: read-modify-write inside them loses no update', async () => {
    const cache = open();
    await cache.set('total', 0);
    await Promise.all(
      Array.from({ length: 20 }, () =>
        cache.transact(async (tx) => {
          const total = (await tx.get('total')) as number;
          await new Promise((resolve) => setTimeout(resolve, 1));
          await tx.set('total', total + 1);
        }),
      ),
    );
    expect(await cache.get('total')).toBe(20);
  });
});

describe('a commit killed mid-way', () => {
  // Three keys in distinct buckets, so that the log engine's commit takes one append for each.
  const [a, b, gone] = keysInDistinctBuckets('crash-', 3) as [string, string, string];
  const engine = engineOfNewCaches(makeTempDir);
  /** Where the committing child SIGKILLs itself, and whether the transaction must then be visible. */
  const STEPS: [string, KillAt, 'all' | 'none'][] = [
    ['before its journal is in place', { op: 'rename', path: '^journal/', when: 'before' }, 'none'],
    ...((engine === 'log'
      ? [
          ['after the first of its appends', { op: 'append', path: '^log/', when: 'after' }, 'all'],
          ['after two of its appends', { op: 'append', path: '^log/', nth: 2, when: 'after' }, 'all'],
        ]
      : [
          [
            'after its first removal',
            { op: 'unlink', path: '^entries/[0-9a-f]{2}/[0-9a-f]{32}$', when: 'after' },
            'all',
          ],
          ['after its first rename', { op: 'rename', path: '^entries/', when: 'after' }, 'all'],
        ]) as [string, KillAt, 'all'][]),
    [
      'with every change made, before its journal is removed',
      { op: 'unlink', path: '^journal/', when: 'before' },
      'all',
    ],
  ];

  it.each(STEPS)(
    `${engine} engine: killed %s, the transaction is all or nothing after the next open`,
    async (_what, killAt, visible) => {
      const cache = open();
      cache.setSync(a, 'old');
      cache.setSync(gone, 'old');
      cache.closeSync();
      const child = startLogChild('transact-once', {
        dir: cache.directory,
        set: { [a]: 'new', [b]: 'new' },
        delete: [gone],
        killAt,
      });
      const { signal } = await child.exited;
      expect(signal, child.stderr()).toBe('SIGKILL');
      const journals = leftovers(cache).filter((name) => name.endsWith('.json')).length;
      const reopened = new Cache(cache.directory);
      try {
        const state = [reopened.getSync(a), reopened.getSync(b), reopened.getSync(gone)];
        expect(state).toEqual(visible === 'all' ? ['new', 'new', undefined] : ['old', undefined, 'old']);
        expect(reopened.countSync()).toBe(2);
        // Past the commit point, the dead writer left its journal, which the open completed and removed.
        expect(journals).toBe(visible === 'all' ? 1 : 0);
        expect(leftovers(reopened)).toEqual([]);
        // The dead writer's transaction lock is all that is left, for check({ fix: true }) to remove.
        reopened.checkSync({ fix: true });
        expect(reopened.checkSync().problems).toEqual([]);
      } finally {
        reopened.closeSync();
      }
    },
  );
});
