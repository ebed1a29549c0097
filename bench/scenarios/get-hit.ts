import {
  checker,
  fillRange,
  KiB,
  keys,
  openStore,
  reopen,
  runPlan,
  type Scenario,
  shuffled,
} from '../lib.js';

/**
 * `get` of present keys (1 KiB values) in a shuffled order, after the store was closed and reopened.
 * The store holds `ops` entries (or `--entries`; with more entries than gets, the gets draw from all).
 */
const getHit: Scenario = {
  name: 'get-hit',
  title: 'get, hit (1 KiB values)',
  metric: 'ops/s',
  surfaces: 'all',
  ops: 10_000,
  async run({ competitor, surface, ops: n, dir, budgetMs, entries = n }) {
    const filled = await openStore(competitor, dir);
    await fillRange(filled, entries);
    const store = await reopen(competitor, filled, dir);
    const all = shuffled(keys(entries));
    const order = Array.from({ length: n }, (_, i) => all[i % all.length] as string);
    const c = checker(KiB);
    const t = await runPlan(store, surface, { op: 'get', keys: order }, { budgetMs });
    for (const length of t.returned) c.checkLength(length);
    await store.close();
    return { value: t.opsPerSec, medianUs: t.medianUs, ops: t.ops, notes: c.notes() };
  },
};

export default getHit;
