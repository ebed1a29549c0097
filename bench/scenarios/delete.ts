import {
  checker,
  entries,
  fill,
  measure,
  openStore,
  reopen,
  type Scenario,
  shuffled,
  surfaceOf,
} from '../lib.js';

/** `delete` of present keys (1 KiB values) in a shuffled order; then checks that they are gone. */
const del: Scenario = {
  name: 'delete',
  title: 'delete',
  metric: 'ops/s',
  surfaces: 'all',
  ops: 10_000,
  async run({ competitor, surface, ops: n, dir, budgetMs }) {
    const filled = await openStore(competitor, dir);
    const data = entries(n);
    await fill(filled, data);
    const store = await reopen(competitor, filled, dir);
    const s = surfaceOf(store, surface);
    const remove = s.delete?.bind(s);
    if (remove === undefined) {
      await store.close();
      return { value: 0, ops: 0, skip: `no ${surface} delete` };
    }
    const order = shuffled(data.map(([k]) => k));
    const t = await measure(n, surface, (i) => remove(order[i] as string), { budgetMs });
    const probe = await reopen(competitor, store, dir);
    const c = checker(undefined);
    c.check(await surfaceOf(probe, surface).get(order[0] as string));
    await probe.close();
    return { value: t.opsPerSec, medianUs: t.medianUs, ops: t.ops, notes: c.notes() };
  },
};

export default del;
