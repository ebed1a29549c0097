import {
  type Competitor,
  fillRange,
  KiB,
  key,
  lengthOf,
  median,
  openStore,
  type Scenario,
  startTrial,
} from '../lib.js';

const PROBES = 5;

interface Probe {
  importMs: number;
  openGetMs: number;
  length: number | undefined;
}

/**
 * Fills a store with 10,000 entries (or `--entries`), closes it, then starts fresh processes that each
 * time, from inside the process (Node or Python start-up excluded), the library import, then the open
 * and the first get (a competitor with `coldOpen` starts its own process, python-diskcache a Python one).
 * The value is open + first get: the import goes through tsx's loader in this harness, which adds a
 * per-module cost to every library (reported beside it). The files are in the page cache: this is a
 * new process, not a cold disk.
 */
const coldOpen: Scenario = {
  name: 'cold-open',
  title: 'cold open + first get of a filled store (fresh process)',
  metric: 'ms',
  surfaces: 'one',
  ops: 10_000,
  fixedOps: true,
  trials: 1,
  skip: (c) => (c.memoryOnly ? 'memory only: nothing to open' : undefined),
  async run({ competitor, ops, dir, entries }) {
    const n = entries ?? ops;
    const store = await openStore(competitor, dir);
    await fillRange(store, n);
    await store.close();
    const probes: Probe[] = [];
    for (let i = 0; i < PROBES; i++) {
      if (competitor.coldOpen) {
        probes.push(await competitor.coldOpen(dir, key(n >> 1)));
        continue;
      }
      const child = startTrial(['probe', 'cold-open', competitor.name, dir, key(n >> 1)]);
      probes.push((await child.next()) as Probe);
      await child.exited;
    }
    const bad = probes.filter((p) => p.length !== KiB).length;
    return {
      value: median(probes.map((p) => p.openGetMs)),
      ops: n,
      extra: {
        importMs: median(probes.map((p) => p.importMs)),
        totalMs: median(probes.map((p) => p.importMs + p.openGetMs)),
      },
      notes: bad > 0 ? [`INVALID: ${bad} first gets missed`] : [],
    };
  },
  async probe(competitor: Competitor, [dir, first]) {
    const t0 = performance.now();
    const open = await competitor.load();
    const t1 = performance.now();
    const store = await open(dir as string);
    const got = store.sync ? store.sync.get(first as string) : await store.async?.get(first as string);
    const t2 = performance.now();
    await store.close();
    return { importMs: t1 - t0, openGetMs: t2 - t1, length: lengthOf(got) } satisfies Probe;
  },
};

export default coldOpen;
