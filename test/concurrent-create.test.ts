import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Cache } from '../src/index.js';
import { type FileSystem, nodeFileSystem } from '../src/internal.js';
import { runTogether } from './helpers/children.js';
import { makeTempDir, removeDir } from './helpers/tmp.js';

/**
 * Several processes creating one cache at the same moment: whatever order their steps interleave
 * in, they must all end up with the one engine the directory records, and see each other's writes.
 */

const ROUNDS = 12;
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) removeDir(dir);
});

interface Opened {
  pid: number;
  engines: string[];
}

/** Runs one `open-fresh` worker per engine option, all opening each round's new cache at once. */
async function openTogether(engineOptions: string[]): Promise<{ base: string; workers: Opened[] }> {
  const base = makeTempDir('dct-create-');
  dirs.push(base);
  // Far enough ahead for every worker to have started (tsx takes a while on a loaded machine).
  const startAt = String(Date.now() + 8_000);
  const workers = (await runTogether(
    'recipes',
    engineOptions.map((engine) => ['open-fresh', base, String(ROUNDS), startAt, engine]),
    60_000,
  )) as Opened[];
  return { base, workers };
}

/** Runs one `fanout-fresh` worker per shard count, all creating each round's new fan-out at once. */
async function fanoutTogether(shards: number[]): Promise<{ base: string; counts: (number | string)[][] }> {
  const base = makeTempDir('dct-create-');
  dirs.push(base);
  const startAt = String(Date.now() + 8_000);
  const workers = (await runTogether(
    'recipes',
    shards.map((n) => ['fanout-fresh', base, String(ROUNDS), startAt, String(n)]),
    60_000,
  )) as { counts: (number | string)[] }[];
  return { base, counts: workers.map((w) => w.counts) };
}

/** What the cache of round `i` records, read by a new process-local open. */
function recorded(base: string, i: number): { engine: string; pids: number[] } {
  const cache = new Cache(`${base}/${i}`);
  try {
    const pids = [...cache.keysSync()].map((k) => cache.getSync(k) as number).sort();
    return { engine: cache.options.engine, pids };
  } finally {
    cache.closeSync();
  }
}

describe('several processes creating one cache at once', () => {
  it('an open that finds no settings file, then finds one made meanwhile, adopts those settings', () => {
    const base = makeTempDir('dct-create-');
    dirs.push(base);
    const model = new Cache(path.join(base, 'model'), { engine: 'log' });
    model.closeSync();
    const settings = fs.readFileSync(path.join(model.directory, 'diskcache.json'));
    const dir = path.join(base, 'raced');
    fs.mkdirSync(dir);
    // Between this open's read of the settings file and its look at the folders, another process
    // creates the cache: writes its settings, then its first folders (not yet log/).
    let raced = false;
    const sync = {
      ...nodeFileSystem.sync,
      readdir(at: string) {
        if (at === dir && !raced) {
          raced = true;
          fs.writeFileSync(path.join(dir, 'diskcache.json'), settings);
          fs.mkdirSync(path.join(dir, 'counters'));
        }
        return nodeFileSystem.sync.readdir(at);
      },
    };
    const fileSystem: FileSystem = { sync, async: nodeFileSystem.async };
    const cache = new Cache(dir, { fileSystem, engine: 'auto' });
    expect(raced).toBe(true);
    expect(cache.options.engine).toBe('log');
    cache.closeSync();
    expect(fs.readFileSync(path.join(dir, 'diskcache.json'))).toEqual(settings);
  });

  it('all use the engine the directory records, and every write is seen', async () => {
    const { base, workers } = await openTogether(['auto', 'auto', 'auto', 'auto']);
    for (let i = 0; i < ROUNDS; i++) {
      const { engine, pids } = recorded(base, i);
      expect(
        workers.map((w) => w.engines[i]),
        `round ${i}`,
      ).toEqual(workers.map(() => engine));
      expect(pids, `round ${i}`).toEqual(workers.map((w) => w.pid).sort());
    }
  }, 90_000);

  it('with engine options that differ, the first one wins and the others are refused, never split', async () => {
    const { base, workers } = await openTogether(['files', 'log', 'files', 'log']);
    for (let i = 0; i < ROUNDS; i++) {
      const { engine, pids } = recorded(base, i);
      const got = workers.map((w) => w.engines[i]);
      const options = ['files', 'log', 'files', 'log'];
      // Each worker either opened the recorded engine (its option was that one) or was refused.
      expect(
        got.map((g, w) => (g === 'EOPTION' ? options[w] !== engine : g === engine && options[w] === engine)),
        `round ${i}: ${got.join(' ')} with ${engine} recorded`,
      ).toEqual([true, true, true, true]);
      const opened = workers.filter((w) => w.engines[i] === engine).map((w) => w.pid);
      expect(pids, `round ${i}`).toEqual(opened.sort());
      expect(fs.existsSync(`${base}/${i}/diskcache.json`)).toBe(true);
    }
  }, 90_000);

  it('FanoutCache: with shard counts that differ, the first one wins and the others are refused', async () => {
    const wanted = [2, 3, 4, 5];
    const { base, counts } = await fanoutTogether(wanted);
    for (let i = 0; i < ROUNDS; i++) {
      const recorded = JSON.parse(fs.readFileSync(`${base}/${i}/fanout.json`, 'utf8')).shards;
      const got = counts.map((c) => c[i]);
      expect(
        got.map((g, w) =>
          g === 'EOPTION' ? wanted[w] !== recorded : g === recorded && wanted[w] === recorded,
        ),
        `round ${i}: ${got.join(' ')} with ${recorded} recorded`,
      ).toEqual([true, true, true, true]);
    }
  }, 90_000);
});
