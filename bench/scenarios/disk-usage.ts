import { diskUsage, fillRange, openStore, type Scenario } from '../lib.js';

const PER = 10_000;

/** Allocated bytes (`du`: blocks of files and directories) after storing 10,000 1 KiB entries, scaled to 10,000. */
const diskUsageScenario: Scenario = {
  name: 'disk-usage',
  title: 'disk bytes per 10,000 1 KiB entries (allocated blocks)',
  metric: 'bytes',
  surfaces: 'one',
  ops: PER,
  fixedOps: true,
  trials: 1,
  skip: (c) => (c.memoryOnly ? 'memory only: no files' : undefined),
  async run({ competitor, ops: n, dir }) {
    const store = await openStore(competitor, dir);
    await fillRange(store, n);
    await store.close();
    const bytes = diskUsage(dir);
    return { value: (bytes * PER) / n, ops: n, extra: { bytesPerEntry: bytes / n } };
  },
};

export default diskUsageScenario;
