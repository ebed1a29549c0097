/**
 * A key that always has a value is never read as missing while another process replaces it: one
 * child overwrites a key with values above the log engine's 32 KiB record limit (blobs, each a file
 * of its own that the next write removes), another reads it in a loop. Every read must return an
 * intact value of that key; a miss is a read that saw the key's entry but not its value. Run over
 * both engines (the files engine renames each new entry over the old one).
 */
import { describe, expect, it } from 'vitest';
import { Cache } from '../../src/index.js';
import { startLogChild, startTogether } from '../helpers/children.js';
import { makeTempDir, removeDir } from '../helpers/tmp.js';
import { checkedValue } from './helpers/values.js';
import './helpers/watchdog.js';

const MS = 2_500;

describe('log engine: reads of a blob being replaced', () => {
  it.each(['files', 'log'] as const)(
    '%s: a reader never misses a key that always has a value',
    async (engine) => {
      const dir = makeTempDir('dct-stress-log-blob-reads-');
      try {
        const key = 'big';
        const cache = new Cache(dir, { engine });
        cache.setSync(key, checkedValue(key, 0, 0, Buffer.alloc(40_000, 1), false));
        cache.closeSync();
        const writer = startLogChild('overwrite', { dir, key, ms: MS, size: 40_000 }, 20_000);
        const reader = startLogChild('reread', { dir, key, ms: MS }, 20_000);
        await startTogether([writer, reader]);
        const [written, read] = (await Promise.all([writer.result(), reader.result()])) as [
          { writes: number },
          { reads: number; misses: number; bad: string[] },
        ];
        expect(written.writes).toBeGreaterThan(50);
        expect(read.reads).toBeGreaterThan(50);
        expect(read.bad).toEqual([]);
        expect(read.misses, `${read.misses} of ${read.reads} reads missed the key`).toBe(0);
      } finally {
        removeDir(dir);
      }
    },
  );
});
