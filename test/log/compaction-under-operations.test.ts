/**
 * Operations of one process that meet another process's compaction at the same time. Two caches on
 * one directory in one process stand for two processes; the first goes through a file system whose
 * asynchronous calls (all of them: `asyncIO: 'threadpool'`) the test can hold, so that its operations interleave exactly where the race is:
 * - two reads that move on to the next generation together both see the keys in it (the one that
 *   came second must not read the new file before it has been replayed);
 * - a generation removed (compacted again) between a look at it and its open is not made again;
 * - an `add` or a `pop` whose record landed just before the seal, while another operation of the
 *   same process moved the bucket on before the first learnt how its record turned out, reports what
 *   its record did (the compaction copied it): the add won, the pop got the value.
 */
import { describe, expect, it } from 'vitest';
import { Cache } from '../../src/index.js';
import { type AsyncFileSystem, type FileSystem, nodeFileSystem } from '../../src/internal.js';
import { useTempDirs } from '../helpers/tmp.js';
import { generations, keysInBucket } from './helpers/format.js';

const BUCKET = 0x2a;
const [FIRST, SECOND, HOT, NEW] = keysInBucket('under-', BUCKET, 4) as [string, string, string, string];

/** A hold on the next async call of `name` (after `times` calls of `after`, if given): it waits for `release`. */
interface Hold {
  name: string;
  after?: string;
  times: number;
  armed: boolean;
  reached: Promise<void>;
  release: () => void;
}

/** The node file system, whose async calls wait while a matching {@link Hold} is set. */
function holdingFileSystem(): {
  fileSystem: FileSystem;
  hold: (name: string, after?: string, times?: number) => Hold;
} {
  let current: Hold | undefined;
  let reached: () => void = () => {};
  const target = nodeFileSystem.async;
  const async = Object.fromEntries(
    Object.entries(target).map(([name, fn]) => [
      name,
      async (...args: unknown[]) => {
        const hold = current;
        if (hold?.armed && hold.name === name) {
          current = undefined;
          reached();
          await new Promise<void>((resolve) => {
            hold.release = resolve;
          });
        }
        const result = await (fn as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        if (hold !== undefined && !hold.armed && hold.after === name) hold.armed = --hold.times === 0;
        return result;
      },
    ]),
  ) as unknown as AsyncFileSystem;
  const hold = (name: string, after?: string, times = 1): Hold => {
    const next: Hold = {
      name,
      after,
      times,
      armed: after === undefined,
      reached: new Promise<void>((resolve) => {
        reached = resolve;
      }),
      release: () => {},
    };
    current = next;
    return next;
  };
  return { fileSystem: { sync: nodeFileSystem.sync, async }, hold };
}

/** Overwrites HOT through `other` until the bucket has been compacted once more. */
function compactOnce(other: Cache, dir: string): void {
  const before = generations(dir, BUCKET).at(-1) ?? 1;
  let i = 0;
  while ((generations(dir, BUCKET).at(-1) ?? 1) === before)
    other.setSync(HOT, Buffer.alloc(1024, i++ & 0xff));
}

/**
 * Runs `scenario` on two caches of one new directory, `mine` (through a holding file system, every
 * async call on the thread pool) and `other`, holding FIRST = 'first' and SECOND = 'second'.
 */
async function withTwoProcesses(
  dir: string,
  scenario: (
    mine: Cache,
    other: Cache,
    hold: ReturnType<typeof holdingFileSystem>['hold'],
    dir: string,
  ) => Promise<void>,
): Promise<void> {
  const { fileSystem, hold } = holdingFileSystem();
  const mine = new Cache(dir, { engine: 'log', fileSystem, asyncIO: 'threadpool' });
  const other = new Cache(dir);
  try {
    await mine.set(FIRST, 'first');
    await mine.set(SECOND, 'second');
    await scenario(mine, other, hold, dir);
  } finally {
    await mine.close();
    other.closeSync();
  }
}

describe('log engine: a compaction meets several operations of one process', () => {
  const tempDir = useTempDirs();

  it('two reads that move on to the next generation together both find their keys', () =>
    withTwoProcesses(tempDir(), async (mine, other, hold, dir) => {
      compactOnce(other, dir);
      // The first read to open the next generation stops before it has replayed it.
      const held = hold('fstat', 'openForAppend');
      const reads = Promise.all([mine.get(FIRST), mine.get(SECOND)]);
      await held.reached;
      await new Promise((resolve) => setTimeout(resolve, 50));
      held.release();
      expect(await reads).toEqual(['first', 'second']);
    }));

  it('a generation removed between the look at it and the open is not made again (as an empty file)', () =>
    withTwoProcesses(tempDir(), async (mine, other, hold, dir) => {
      compactOnce(other, dir);
      // The read that moves on to the next generation has looked at it, and stops before opening it
      // while the other process compacts again (and removes it).
      const held = hold('openForAppend');
      const read = mine.get(FIRST);
      await held.reached;
      compactOnce(other, dir);
      const current = generations(dir, BUCKET);
      held.release();
      expect(await read).toBe('first');
      expect(generations(dir, BUCKET)).toEqual(current);
      expect((await mine.check()).problems).toEqual([]);
    }));

  it.each([
    // add appends one record; pop a lock record first, then its removal.
    ['add', NEW, (cache: Cache) => cache.add(NEW, 'added'), 1, true, 'added'],
    ['pop', FIRST, (cache: Cache) => cache.pop(FIRST), 2, 'first', undefined],
  ] as const)(
    '%s whose record was copied by a compaction reports what the record did',
    (_name, key, operate, appends, expected, after) =>
      withTwoProcesses(tempDir(), async (mine, other, hold, dir) => {
        // The operation appends its record, then stops before it reads how the record turned out.
        const held = hold('fstat', 'append', appends);
        const operation = operate(mine);
        await held.reached;
        // Meanwhile the other process compacts the bucket (the record is before its seal), and
        // another operation of this process moves the bucket on to the next generation.
        compactOnce(other, dir);
        expect(await mine.get(SECOND)).toBe('second');
        held.release();
        expect(await operation).toBe(expected);
        expect(await mine.get(key)).toBe(after);
        expect(other.getSync(key)).toBe(after);
      }),
  );
});
