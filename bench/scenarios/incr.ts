import { openStore, prefill, reopen, runPlan, type Scenario, supports } from '../lib.js';

const KEY = 'counter';

/**
 * `incr` of one key, `ops` times in a row (the key starts absent, at 0): each call reads, adds 1 and
 * writes, atomically across processes where the library promises it. The calls must return 1, 2, …,
 * and after a reopen the counter must hold the last of them.
 */
const incr: Scenario = {
  name: 'incr',
  title: 'incr, one key',
  metric: 'ops/s',
  surfaces: 'all',
  ops: 10_000,
  async run({ competitor, surface, ops: n, dir, budgetMs, entries }) {
    const store = await openStore(competitor, dir);
    if (!supports(store, surface, 'incr')) {
      await store.close();
      return { value: 0, ops: 0, skip: `no ${surface} incr` };
    }
    await prefill(store, entries);
    const t = await runPlan(store, surface, { op: 'incr', key: KEY, delta: 1, count: n }, { budgetMs });
    const notes: string[] = [];
    const wrong = t.returned.filter((v, i) => Number(v) !== i + 1).length;
    if (wrong > 0) notes.push(`INVALID: ${wrong} incrs returned a wrong count`);
    const probe = await reopen(competitor, store, dir);
    const after = await runPlan(probe, surface, { op: 'incr', key: KEY, delta: 0, count: 1 });
    if (Number(after.returned[0]) !== t.ops)
      notes.push(`INVALID: the counter reads ${after.returned[0]} after a reopen, not ${t.ops}`);
    await probe.close();
    return { value: t.opsPerSec, medianUs: t.medianUs, ops: t.ops, notes };
  },
};

export default incr;
