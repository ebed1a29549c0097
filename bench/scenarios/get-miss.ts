import {
  after,
  checker,
  entries,
  fill,
  keys,
  measure,
  openStore,
  reopen,
  type Scenario,
  surfaceOf,
} from '../lib.js';

/** `get` of absent keys in a store that holds as many other keys. */
const getMiss: Scenario = {
  name: 'get-miss',
  title: 'get, miss',
  metric: 'ops/s',
  surfaces: 'all',
  ops: 10_000,
  async run({ competitor, surface, ops: n, dir, budgetMs }) {
    const filled = await openStore(competitor, dir);
    await fill(filled, entries(n));
    const store = await reopen(competitor, filled, dir);
    const s = surfaceOf(store, surface);
    const absent = keys(n, n);
    const c = checker(undefined);
    const t = await measure(n, surface, (i) => after(s.get(absent[i] as string), c.check), { budgetMs });
    await store.close();
    return { value: t.opsPerSec, medianUs: t.medianUs, ops: t.ops, notes: c.notes() };
  },
};

export default getMiss;
