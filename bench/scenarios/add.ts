import {
  KiB,
  keys,
  lengthAt,
  makeValues,
  openStore,
  prefill,
  reopen,
  runPlan,
  type Scenario,
  supports,
} from '../lib.js';

/**
 * `add` of fresh keys (1 KiB values): each call stores, atomically across processes where the library
 * promises it, only because the key is absent. Into an empty store (or one of `--entries` other
 * entries); every add must report that it stored, and the last one must read back.
 */
const add: Scenario = {
  name: 'add',
  title: 'add, new keys (1 KiB values)',
  metric: 'ops/s',
  surfaces: 'all',
  ops: 10_000,
  async run({ competitor, surface, ops: n, dir, budgetMs, entries }) {
    const store = await openStore(competitor, dir);
    if (!supports(store, surface, 'add')) {
      await store.close();
      return { value: 0, ops: 0, skip: `no ${surface} add` };
    }
    await prefill(store, entries);
    const ks = keys(n);
    const t = await runPlan(
      store,
      surface,
      { op: 'add', keys: ks, values: makeValues(n, KiB) },
      { budgetMs },
    );
    const notes: string[] = [];
    const refused = t.returned.filter((stored) => stored !== true).length;
    if (refused > 0) notes.push(`INVALID: ${refused} adds of a new key did not store`);
    const probe = await reopen(competitor, store, dir);
    if ((await lengthAt(probe, surface, ks[t.ops - 1] as string)) !== KiB)
      notes.push('INVALID: the last add is not readable');
    await probe.close();
    return { value: t.opsPerSec, medianUs: t.medianUs, ops: t.ops, notes };
  },
};

export default add;
