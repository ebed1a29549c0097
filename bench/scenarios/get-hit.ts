import {
  after,
  checker,
  entries,
  fill,
  KiB,
  measure,
  openStore,
  reopen,
  type Scenario,
  shuffled,
  surfaceOf,
} from '../lib.js';

/** `get` of present keys (1 KiB values) in a shuffled order, after the store was closed and reopened. */
const getHit: Scenario = {
  name: 'get-hit',
  title: 'get, hit (1 KiB values)',
  metric: 'ops/s',
  surfaces: 'all',
  ops: 10_000,
  async run({ competitor, surface, ops: n, dir, budgetMs }) {
    const filled = await openStore(competitor, dir);
    const data = entries(n);
    await fill(filled, data);
    const store = await reopen(competitor, filled, dir);
    const s = surfaceOf(store, surface);
    const order = shuffled(data.map(([k]) => k));
    const c = checker(KiB);
    const t = await measure(n, surface, (i) => after(s.get(order[i] as string), c.check), { budgetMs });
    await store.close();
    return { value: t.opsPerSec, medianUs: t.medianUs, ops: t.ops, notes: c.notes() };
  },
};

export default getHit;
