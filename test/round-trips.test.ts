/**
 * The primitives that `set`, `get` and `delete` of the `files` engine make: on a network mount each is
 * a round trip or more, so that one more is a regression of every operation there (BENCHMARKS.md,
 * "Network filesystems"). `cullLimit: 0` keeps eviction's own reads out of the counts.
 */
import { describe, expect, it } from 'vitest';
import { Cache } from '../src/index.js';
import { type FileSystem, nodeFileSystem } from '../src/internal.js';
import { countingFileSystem } from './helpers/counting-fs.js';
import { useTempDirs } from './helpers/tmp.js';

const VALUE = Buffer.alloc(1024, 0x61);

/** node:fs without hard links, as SMB mounts answer them (EPERM), optionally with a rename that does its work and then fails. */
function withoutLinks(renameFailsAfter = false): FileSystem {
  const refuse = () => {
    throw Object.assign(new Error('EPERM: operation not permitted, link'), { code: 'EPERM' });
  };
  let failed = false;
  const rename = (from: string, to: string) => {
    nodeFileSystem.sync.rename(from, to);
    if (renameFailsAfter && !failed && to.includes('/entries/')) {
      failed = true;
      throw Object.assign(new Error(`EIO: i/o error, rename '${from}'`), { code: 'EIO' });
    }
  };
  return { ...nodeFileSystem, sync: { ...nodeFileSystem.sync, link: refuse, rename } };
}

describe('files engine: the primitives of one set, get and delete', () => {
  const tempDir = useTempDirs();

  function open(base?: FileSystem) {
    const counting = countingFileSystem(base);
    const cache = new Cache(tempDir(), { engine: 'files', cullLimit: 0, fileSystem: counting.fileSystem });
    const calls = (run: () => unknown) => {
      counting.calls.length = 0;
      run();
      return [...counting.calls];
    };
    return { cache, calls };
  }

  it('set, get and delete of a key, with hard links', () => {
    const { cache, calls } = open();
    cache.setSync('warm', VALUE); // the private folder exists, and the delta file is open
    cache.setSync('key', VALUE);
    cache.deleteSync('key');
    const folders = ['lstatSync', 'lstatSync']; // each folder on the way, once per operation
    // A new key: linked in, exactly once across processes.
    expect(calls(() => cache.setSync('key', VALUE))).toEqual([
      ...folders,
      'writeFileSync',
      ...folders,
      'linkSync',
      'unlinkSync',
      'writeAtSync',
    ]);
    // An existing key: the link is refused, the temp file is looked at (an NFS retransmit's EEXIST),
    // the entry replaced is looked at (its size), and no stat of the temp file precedes the rename.
    expect(calls(() => cache.setSync('key', VALUE))).toEqual([
      ...folders,
      'writeFileSync',
      ...folders,
      'linkSync',
      'lstatSync',
      'lstatSync',
      'renameSync',
    ]);
    expect(calls(() => expect(cache.getSync('key')).toEqual(VALUE))).toEqual([...folders, 'readFileSync']);
    expect(calls(() => expect(cache.deleteSync('key')).toBe(true))).toEqual([
      ...folders,
      'readHeadSync',
      'unlinkSync',
      'writeAtSync',
    ]);
    expect(cache.countSync()).toBe(1);
    expect(cache.checkSync().problems).toEqual([]);
    cache.closeSync();
  });

  it('set of a new and of an existing key, without hard links: one look at the entry, then the rename', () => {
    const { cache, calls } = open(withoutLinks());
    cache.setSync('warm', VALUE); // the first link refused: links are not tried again
    cache.setSync('key', VALUE); // the key's shard folder exists
    cache.deleteSync('key');
    const folders = ['lstatSync', 'lstatSync'];
    // The look at the entry gives `created` and the size replaced; no stat of the temp file.
    const expected = [...folders, 'writeFileSync', ...folders, 'lstatSync', 'renameSync'];
    expect(calls(() => cache.setSync('key', VALUE))).toEqual([...expected, 'writeAtSync']);
    expect(calls(() => cache.setSync('key', VALUE))).toEqual(expected);
    expect(cache.countSync()).toBe(2);
    expect(cache.checkSync().problems).toEqual([]);
    cache.closeSync();
  });

  it('a rename that did its work and then failed counts as done: the entry holds the bytes written', () => {
    const { cache } = open(withoutLinks(true));
    cache.setSync('key', VALUE);
    expect(cache.getSync('key')).toEqual(VALUE);
    expect(cache.countSync()).toBe(1);
    expect(cache.checkSync().problems).toEqual([]);
    cache.closeSync();
  });
});
