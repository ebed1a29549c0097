import { createInterface } from 'node:readline';
import {
  type Competitor,
  entries,
  fill,
  KiB,
  keys,
  lengthOf,
  makeValues,
  measure,
  median,
  openStore,
  random,
  report,
  type Scenario,
  type Surface,
  startTrial,
  surfaceOf,
} from '../lib.js';

const KEYS = 1_000;
const WORKERS = 2;

interface WorkerResult {
  ops: number;
  ms: number;
  latencies: number[];
  wrong: number;
  errors: number;
  firstError?: string;
}

/**
 * Two processes on one directory, each doing `ops / 2` operations on 1,000 shared keys: 90% get,
 * 10% set (1 KiB). Throughput is all operations over the wall time of the slower process; gets that
 * return a wrong value (torn or foreign) and thrown errors are counted.
 */
const mixed: Scenario = {
  name: 'mixed-2proc',
  title: 'mixed 90% get / 10% set, 2 processes on one directory',
  metric: 'ops/s',
  surfaces: 'all',
  ops: 10_000,
  skip: (c) =>
    c.memoryOnly
      ? 'memory only: not shared between processes'
      : c.remote
        ? 'driven over a pipe: not measured here'
        : c.singleProcess
          ? 'one process at a time: its offsets are private to the process'
          : undefined,
  async run({ competitor, surface, ops, dir, budgetMs }) {
    const store = await openStore(competitor, dir);
    await fill(store, entries(Math.min(KEYS, ops)));
    await store.close();
    const perWorker = Math.floor(ops / WORKERS);
    const children = Array.from({ length: WORKERS }, (_, w) =>
      startTrial([
        'probe',
        'mixed-2proc',
        competitor.name,
        surface,
        dir,
        String(perWorker),
        String(w + 1),
        String(budgetMs),
      ]),
    );
    await Promise.all(children.map((c) => c.next())); // both are open and ready
    for (const c of children) c.process.stdin?.write('go\n');
    const results = (await Promise.all(children.map((c) => c.next()))) as WorkerResult[];
    await Promise.all(children.map((c) => c.exited));
    const total = results.reduce((sum, r) => sum + r.ops, 0);
    const wallMs = Math.max(...results.map((r) => r.ms));
    const wrong = results.reduce((sum, r) => sum + r.wrong, 0);
    const errors = results.reduce((sum, r) => sum + r.errors, 0);
    const notes: string[] = [];
    if (wrong > 0) notes.push(`INVALID: ${wrong} gets returned a wrong value`);
    if (errors > 0)
      notes.push(`${errors} operations threw (${results.find((r) => r.firstError)?.firstError})`);
    return {
      value: (total * 1000) / wallMs,
      medianUs: median(results.flatMap((r) => r.latencies)),
      ops: total,
      notes,
    };
  },
  async probe(competitor: Competitor, [surface, dir, ops, seed, budgetMs]) {
    const n = Number(ops);
    const store = await openStore(competitor, dir as string);
    const s = surfaceOf(store, surface as Surface);
    const values = makeValues(n, KiB, Number(seed) * n);
    const ks = keys(Math.min(KEYS, n * WORKERS));
    const next = random(Number(seed));
    const plan = Array.from({ length: n }, () => ({
      get: next() < 0.9,
      key: ks[Math.floor(next() * ks.length)] as string,
    }));
    const result: WorkerResult = { ops: 0, ms: 0, latencies: [], wrong: 0, errors: 0 };
    const failed = (error: unknown) => {
      result.errors++;
      result.firstError ??= String((error as Error)?.message ?? error).slice(0, 120);
    };
    const op = (i: number): unknown => {
      const step = plan[i] as { get: boolean; key: string };
      try {
        const r = step.get ? s.get(step.key) : s.set(step.key, values[i] as string);
        if (typeof (r as PromiseLike<unknown>)?.then !== 'function') return check(step.get, r);
        return Promise.resolve(r).then((v) => check(step.get, v), failed);
      } catch (error) {
        failed(error);
      }
    };
    const check = (isGet: boolean, got: unknown) => {
      if (!isGet || got === undefined || got === null) return; // a miss is allowed
      if (lengthOf(got as string) !== KiB) result.wrong++;
    };
    report({ ready: true });
    await new Promise<void>((resolve) =>
      createInterface({ input: process.stdin }).once('line', () => resolve()),
    );
    const start = performance.now();
    const t = await measure(n, surface as Surface, op, { budgetMs: Number(budgetMs) });
    result.ms = performance.now() - start;
    result.ops = t.ops;
    result.latencies = Array.from(t.latencies);
    await store.close();
    return result;
  },
};

export default mixed;
