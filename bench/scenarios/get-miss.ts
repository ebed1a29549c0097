import { checker, fillRange, keys, openStore, reopen, runPlan, type Scenario } from '../lib.js';

/** `get` of absent keys in a store that holds as many other keys (or `--entries`). */
const getMiss: Scenario = {
  name: 'get-miss',
  title: 'get, miss',
  metric: 'ops/s',
  surfaces: 'all',
  ops: 10_000,
  async run({ competitor, surface, ops: n, dir, budgetMs, entries = n }) {
    const filled = await openStore(competitor, dir);
    await fillRange(filled, entries);
    const store = await reopen(competitor, filled, dir);
    const c = checker(undefined);
    const t = await runPlan(store, surface, { op: 'get', keys: keys(n, entries) }, { budgetMs });
    for (const length of t.returned) c.checkLength(length);
    await store.close();
    return { value: t.opsPerSec, medianUs: t.medianUs, ops: t.ops, notes: c.notes() };
  },
};

export default getMiss;
