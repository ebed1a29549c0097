import {
  checker,
  fillRange,
  keys,
  lengthAt,
  openStore,
  reopen,
  runPlan,
  type Scenario,
  shuffled,
  supports,
} from '../lib.js';

/**
 * `delete` of present keys (1 KiB values) in a shuffled order, in a store of `ops` entries (or
 * `--entries`, at least as many as the deletes); then checks that they are gone.
 */
const del: Scenario = {
  name: 'delete',
  title: 'delete',
  metric: 'ops/s',
  surfaces: 'all',
  ops: 10_000,
  async run({ competitor, surface, ops, dir, budgetMs, entries = ops }) {
    const n = Math.min(ops, entries);
    const filled = await openStore(competitor, dir);
    await fillRange(filled, entries);
    const store = await reopen(competitor, filled, dir);
    if (!supports(store, surface, 'delete')) {
      await store.close();
      return { value: 0, ops: 0, skip: `no ${surface} delete` };
    }
    const order = shuffled(keys(entries)).slice(0, n);
    const t = await runPlan(store, surface, { op: 'delete', keys: order }, { budgetMs });
    const probe = await reopen(competitor, store, dir);
    const c = checker(undefined);
    c.checkLength(await lengthAt(probe, surface, order[0] as string));
    await probe.close();
    return { value: t.opsPerSec, medianUs: t.medianUs, ops: t.ops, notes: c.notes() };
  },
};

export default del;
