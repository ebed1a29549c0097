import {
  entries,
  KiB,
  keys,
  lengthAt,
  measure,
  openStore,
  prefill,
  reopen,
  runPlan,
  type Scenario,
  surfaceOf,
} from '../lib.js';

const BATCH = 100;

/**
 * Writes in batches of 100 sets, each batch one transaction where the library has one (diskcache-ts:
 * `transact`; python-diskcache: `with cache.transact():`); where it has none, 100 single sets.
 * Counted in sets per second.
 */
const batch: Scenario = {
  name: 'batch-100',
  title: '100 sets in one batch/transaction (1 KiB values)',
  metric: 'ops/s',
  surfaces: 'all',
  ops: 10_000,
  async run({ competitor, surface, ops, dir, budgetMs, entries: prefilled }) {
    const store = await openStore(competitor, dir);
    await prefill(store, prefilled);
    const batches = Math.max(1, Math.floor(ops / BATCH));
    const lists = Array.from({ length: batches }, (_, b) => entries(BATCH, b * BATCH));
    const timing = { budgetMs, opsPerCall: BATCH };
    let t: { ops: number; opsPerSec: number; medianUs: number };
    const notes: string[] = [];
    if (store.loop !== undefined || surfaceOf(store, surface).setMany !== undefined) {
      t = await runPlan(store, surface, { op: 'setMany', batches: lists }, timing);
    } else {
      notes.push(`no ${surface} batch API: 100 single sets`);
      const s = surfaceOf(store, surface);
      const one = async (list: readonly (readonly [string, string])[]) => {
        for (const [k, v] of list) await s.set(k, v);
      };
      const oneSync = (list: readonly (readonly [string, string])[]) => {
        for (const [k, v] of list) s.set(k, v);
      };
      const write = surface === 'sync' ? oneSync : one;
      t = await measure(batches, surface, (b) => write(lists[b] as []), timing);
    }
    const probe = await reopen(competitor, store, dir);
    const last = await lengthAt(probe, surface, keys(1, t.ops - 1)[0] as string);
    if (last !== KiB) notes.push('INVALID: the last batch is not readable');
    await probe.close();
    return { value: t.opsPerSec, medianUs: t.medianUs, ops: t.ops, notes };
  },
};

export default batch;
