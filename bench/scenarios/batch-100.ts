import { entries, KiB, keys, measure, openStore, reopen, type Scenario, surfaceOf } from '../lib.js';

const BATCH = 100;

/**
 * Writes in batches of 100 sets, each batch one transaction where the library has one (diskcache-ts:
 * `transact` once it exists); where it has none, 100 single sets. Counted in sets per second.
 */
const batch: Scenario = {
  name: 'batch-100',
  title: '100 sets in one batch/transaction (1 KiB values)',
  metric: 'ops/s',
  surfaces: 'all',
  ops: 10_000,
  async run({ competitor, surface, ops, dir, budgetMs }) {
    const store = await openStore(competitor, dir);
    const s = surfaceOf(store, surface);
    const batches = Math.max(1, Math.floor(ops / BATCH));
    const lists = Array.from({ length: batches }, (_, b) => entries(BATCH, b * BATCH));
    const setMany = s.setMany?.bind(s);
    const notes = setMany ? [] : [`no ${surface} batch API: 100 single sets`];
    const one = async (list: readonly (readonly [string, string])[]) => {
      for (const [k, v] of list) await s.set(k, v);
    };
    const oneSync = (list: readonly (readonly [string, string])[]) => {
      for (const [k, v] of list) s.set(k, v);
    };
    const write = setMany ?? (surface === 'sync' ? oneSync : one);
    const t = await measure(batches, surface, (b) => write(lists[b] as []), { budgetMs, opsPerCall: BATCH });
    const probe = await reopen(competitor, store, dir);
    const last = await surfaceOf(probe, surface).get(keys(1, t.ops - 1)[0] as string);
    if (last?.length !== KiB) notes.push('INVALID: the last batch is not readable');
    await probe.close();
    return { value: t.opsPerSec, medianUs: t.medianUs, ops: t.ops, notes };
  },
};

export default batch;
