/**
 * Shared code of the benchmark suite: the competitor and scenario contracts, values and keys,
 * timing, the disk-usage walk, and the child-process protocol used by the runner and the scenarios.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { lstatSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export type Surface = 'sync' | 'async';
/** What a `get` returns: the stored 1 KiB or 100 KiB string, as a string or as bytes. */
export type Got = string | Uint8Array | undefined;

/** The synchronous surface of an open store. Every write returns once the data is in the file system. */
export interface SyncStore {
  set(key: string, value: string): void;
  get(key: string): Got;
  delete?(key: string): void;
  /** One batch or transaction; absent where the library has none. */
  setMany?(entries: readonly (readonly [string, string])[]): void;
  /** Stores the value only if the key is absent; whether it did. Absent where the library has none. */
  add?(key: string, value: string): boolean;
  /** Adds `delta` to the number under the key (0 if absent) and returns the result. */
  incr?(key: string, delta: number): number;
}

/** The Promise-returning surface; each call is awaited before the next one starts. */
export interface AsyncStore {
  set(key: string, value: string): Promise<unknown>;
  get(key: string): Promise<Got> | Got;
  delete?(key: string): Promise<unknown>;
  setMany?(entries: readonly (readonly [string, string])[]): Promise<unknown>;
  add?(key: string, value: string): Promise<boolean>;
  incr?(key: string, delta: number): Promise<number>;
}

/**
 * A timed loop written as data: what `runPlan` runs on a store's surface, or sends whole to a store
 * that lives in another process (`Store.loop`), which times it there.
 */
export type Plan =
  | { op: 'set' | 'add'; keys: readonly string[]; values: readonly string[] }
  | { op: 'get' | 'delete'; keys: readonly string[] }
  | { op: 'incr'; key: string; delta: number; count: number }
  | { op: 'setMany'; batches: readonly (readonly (readonly [string, string])[])[] };

export type Operation = Plan['op'];

/** What a store's own timed loop reports (see `Store.loop`). */
export interface LoopResult {
  /** Calls made (fewer than planned if the budget ran out). */
  calls: number;
  /** The loop's time, from before its first call to after its last. */
  ms: number;
  /** Microseconds of each call. */
  latenciesUs: number[];
  /** What each call returned where it is checked: get → the value's length or null, add → a boolean, incr → the number. */
  returned: unknown[];
}

export interface Store {
  sync?: SyncStore;
  async?: AsyncStore;
  /** The fastest way to load many entries before a timed phase, if not `setMany` or single sets. */
  fill?(entries: readonly (readonly [string, string])[]): void | Promise<void>;
  /**
   * A store driven in another process (python-diskcache): runs the whole plan there, timing each call
   * there as `measure` does, so that the pipe between the processes is not counted. It stands for the
   * competitor's first surface; such a store has no `sync` or `async` object.
   */
  loop?(plan: Plan, budgetMs: number): Promise<LoopResult>;
  close(): void | Promise<void>;
}

export type Kind = 'ours' | 'floor' | 'file-peer' | 'local-only' | 'memory';

/** One competitor: how to load the library (timed by the cold-open scenario) and open a store. */
export interface Competitor {
  /** Command-line name. */
  name: string;
  /** npm package whose version goes in the tables. */
  pkg?: string;
  label: string;
  kind: Kind;
  surfaces: Surface[];
  /** How it was configured and what it does not guarantee; printed under the tables. */
  note?: string;
  /**
   * Fewer operations (or entries) for slow stores, so that the full run keeps to its time: `default`
   * lowers every scenario whose size is not fixed; a scenario's name lowers that one (fixed or not).
   */
  opsCap?: Readonly<Record<string, number>>;
  /** Run only these scenarios (a variant that matters only for some). */
  only?: string[];
  /** Nothing is persisted (memory reference): the scenarios about files do not apply. */
  memoryOnly?: boolean;
  /** Driven over a pipe in a child process (`Store.loop`): only the scenarios written as plans apply. */
  remote?: boolean;
  /** Keeps state that other processes cannot see or update (an offset map): not for two processes on one directory. */
  singleProcess?: boolean;
  /** Why it cannot run on this machine (a missing package), checked once by the runner. */
  unavailable?(): string | undefined;
  /** The version for the tables, where it is not an npm package's. */
  version?(): string;
  /** Times its own cold open (import, open, first get) in a fresh process of its own. */
  coldOpen?(
    dir: string,
    firstKey: string,
  ): Promise<{ importMs: number; openGetMs: number; length: number | undefined }>;
  /** Imports the library; resolves to a function that opens (creating) a store in `dir`. */
  load(): Promise<(dir: string) => Promise<Store>>;
}

/** A labelled measurement of one trial. */
export interface TrialResult {
  /** Operations per second (or the scenario's own unit, see `Scenario.metric`). */
  value: number;
  /** Median microseconds per operation, where it applies. */
  medianUs?: number;
  ops: number;
  notes?: string[];
  /** Extra numbers a scenario reports (for example cold open with and without the import). */
  extra?: Record<string, number>;
  /** The scenario does not apply to this competitor and surface (a reason). */
  skip?: string;
}

export interface TrialContext {
  competitor: Competitor;
  surface: Surface;
  /** The operation count chosen by the runner for this competitor. */
  ops: number;
  /** A fresh empty temp directory, removed after the trial. */
  dir: string;
  /** Timed loops stop after this many milliseconds (a safety net for slow stores; see `measure`). */
  budgetMs: number;
  /**
   * Entries the store holds before the timed phase (`--entries`); undefined: the scenario's own
   * (none for the writes, `ops` for reads and deletes, 10,000 for cold open).
   */
  entries?: number;
}

export interface Scenario {
  name: string;
  title: string;
  /** `ops/s`: higher is better; `ms` and `bytes`: lower is better. */
  metric: 'ops/s' | 'ms' | 'bytes';
  /** Surfaces that make sense here (`all` → every surface of the competitor; `one` → its first). */
  surfaces: 'all' | 'one';
  /** Default operation (or entry) count; quick mode divides it. */
  ops: number;
  /** Count fixed by the scenario (a 10,000-entry store): not lowered by `Competitor.opsCap`. */
  fixedOps?: boolean;
  /** Trials to run (a deterministic measurement needs one). */
  trials?: number;
  /** Why it does not apply to this competitor, if it does not. */
  skip?(competitor: Competitor): string | undefined;
  run(ctx: TrialContext): Promise<TrialResult>;
  /** Work done in a child process started by `run` (cold open, the two mixed workers). */
  probe?(competitor: Competitor, args: string[]): Promise<unknown>;
}

export const KiB = 1024;

/** Deterministic pseudo-random numbers (mulberry32), so that every competitor gets the same work. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** A string of `bytes` ASCII characters (so also `bytes` bytes in UTF-8) that does not compress much. */
export function makeValue(bytes: number, seed = 1): string {
  const next = random(seed);
  let s = '';
  for (let i = 0; i < bytes; i++) s += ALPHABET[Math.floor(next() * 64)];
  return s;
}

export function key(i: number): string {
  return `key-${String(i).padStart(7, '0')}`;
}

export function keys(n: number, from = 0): string[] {
  return Array.from({ length: n }, (_, i) => key(from + i));
}

/** `list` in a fixed shuffled order. */
export function shuffled<T>(list: readonly T[], seed = 42): T[] {
  const out = [...list];
  const next = random(seed);
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

export function lengthOf(got: Got): number | undefined {
  return got === undefined || got === null ? undefined : got.length;
}

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

export interface Timing {
  ops: number;
  opsPerSec: number;
  medianUs: number;
  /** Per-operation latencies in µs. */
  latencies: Float64Array;
}

/**
 * Runs `op(i)` for i < n, one at a time (an async op is awaited before the next starts), timing each
 * call; the throughput is the calls done over the loop's time. The loop stops early once it has run
 * for `budgetMs` (after at least 10 calls), so a slow store reports fewer operations, not a hang.
 * `opsPerCall` counts a batch call as that many operations.
 */
export async function measure(
  n: number,
  surface: Surface,
  op: (i: number) => unknown,
  { budgetMs = Number.POSITIVE_INFINITY, opsPerCall = 1 } = {},
): Promise<Timing> {
  const lat = new Float64Array(n);
  const start = performance.now();
  const stop = start + budgetMs;
  let i = 0;
  if (surface === 'sync') {
    for (; i < n; i++) {
      const t = performance.now();
      if (t > stop && i >= 10) break;
      op(i);
      lat[i] = performance.now() - t;
    }
  } else {
    for (; i < n; i++) {
      const t = performance.now();
      if (t > stop && i >= 10) break;
      await op(i);
      lat[i] = performance.now() - t;
    }
  }
  const ms = performance.now() - start;
  const perOp = Array.from(lat.subarray(0, i), (x) => (x * 1000) / opsPerCall);
  return {
    ops: i * opsPerCall,
    opsPerSec: (i * opsPerCall * 1000) / ms,
    medianUs: median(perOp),
    latencies: Float64Array.from(perOp),
  };
}

/** The store surface a trial uses; throws if the competitor lacks it. */
export function surfaceOf(store: Store, surface: Surface): SyncStore | AsyncStore {
  const s = store[surface];
  if (s === undefined) throw new Error(`no ${surface} surface`);
  return s;
}

const METHOD: Record<Operation, keyof SyncStore> = {
  set: 'set',
  get: 'get',
  delete: 'delete',
  add: 'add',
  incr: 'incr',
  setMany: 'setMany',
};

/** Whether the store can run `op` on `surface` (a store with its own loop runs every plan). */
export function supports(store: Store, surface: Surface, op: Operation): boolean {
  if (store.loop) return true;
  const s = store[surface];
  return s !== undefined && typeof s[METHOD[op]] === 'function';
}

/** The call that `plan` makes at index `i`, on this surface. */
function callOf(s: SyncStore | AsyncStore, plan: Plan): (i: number) => unknown {
  const missing = (): never => {
    throw new Error(`no ${plan.op} on this surface`);
  };
  switch (plan.op) {
    case 'set':
      return (i) => s.set(plan.keys[i] as string, plan.values[i] as string);
    case 'add': {
      const add = s.add?.bind(s) ?? missing();
      return (i) => add(plan.keys[i] as string, plan.values[i] as string);
    }
    case 'get':
      return (i) => after(s.get(plan.keys[i] as string), lengthOf);
    case 'delete': {
      const remove = s.delete?.bind(s) ?? missing();
      return (i) => remove(plan.keys[i] as string);
    }
    case 'incr': {
      const incr = s.incr?.bind(s) ?? missing();
      return () => incr(plan.key, plan.delta);
    }
    case 'setMany': {
      const setMany = s.setMany?.bind(s) ?? missing();
      return (i) => setMany(plan.batches[i] as []);
    }
  }
}

function callsOf(plan: Plan): number {
  return plan.op === 'incr' ? plan.count : plan.op === 'setMany' ? plan.batches.length : plan.keys.length;
}

export interface PlanTiming extends Timing {
  /** What each call returned (get: the value's length or undefined), in call order. */
  returned: unknown[];
}

/**
 * Times `plan` on the store's `surface` with `measure`, or, for a store in another process, has that
 * process run and time it (`Store.loop`) and reads the same figures from its report. A batch call
 * counts as `opsPerCall` operations.
 */
export async function runPlan(
  store: Store,
  surface: Surface,
  plan: Plan,
  { budgetMs = Number.POSITIVE_INFINITY, opsPerCall = 1 } = {},
): Promise<PlanTiming> {
  if (store.loop) {
    const r = await store.loop(plan, budgetMs);
    const perOp = r.latenciesUs.map((us) => us / opsPerCall);
    return {
      ops: r.calls * opsPerCall,
      opsPerSec: (r.calls * opsPerCall * 1000) / r.ms,
      medianUs: median(perOp),
      latencies: Float64Array.from(perOp),
      returned: r.returned.map((v) => (v === null ? undefined : v)),
    };
  }
  const call = callOf(surfaceOf(store, surface), plan);
  const keep = plan.op === 'get' || plan.op === 'add' || plan.op === 'incr';
  const returned: unknown[] = [];
  const op = keep ? (i: number) => after(call(i), (v) => void returned.push(v)) : call;
  const t = await measure(callsOf(plan), surface, op, { budgetMs, opsPerCall });
  return { ...t, returned };
}

/** The length of the value stored under `key` (undefined: a miss), through the store's surface or loop; not timed. */
export async function lengthAt(store: Store, surface: Surface, key: string): Promise<number | undefined> {
  const t = await runPlan(store, surface, { op: 'get', keys: [key] });
  return t.returned[0] as number | undefined;
}

/** Writes `entries` as fast as the store allows (a batch if it has one); not timed. */
export async function fill(store: Store, entries: readonly (readonly [string, string])[]): Promise<void> {
  const CHUNK = 1000;
  for (let at = 0; at < entries.length; at += CHUNK) await fillChunk(store, entries.slice(at, at + CHUNK));
}

async function fillChunk(store: Store, chunk: readonly (readonly [string, string])[]): Promise<void> {
  if (store.fill) await store.fill(chunk);
  else if (store.sync?.setMany) store.sync.setMany(chunk);
  else if (store.async?.setMany) await store.async.setMany(chunk);
  else if (store.sync) for (const [k, v] of chunk) store.sync.set(k, v);
  else if (store.async) for (const [k, v] of chunk) await store.async.set(k, v);
}

/**
 * Fills `n` entries with 1 KiB values under `keys(n, from)`, made a chunk at a time (a million
 * values are never all in memory at once); not timed.
 */
export async function fillRange(store: Store, n: number, from = 0): Promise<void> {
  const CHUNK = 1000;
  for (let at = 0; at < n; at += CHUNK) await fillChunk(store, entries(Math.min(CHUNK, n - at), from + at));
}

/** Where the keys of the entries that `--entries` adds before a write scenario start (apart from its own). */
export const PREFILL_FROM = 5_000_000;

/** Before a write scenario: fills the store with `ctx.entries` other entries, if `--entries` asks for them. */
export async function prefill(store: Store, entries: number | undefined): Promise<void> {
  if (entries !== undefined && entries > 0) await fillRange(store, entries, PREFILL_FROM);
}

const trialNotes = new Set<string>();

/** A note for the result of the trial running in this process (for example, an option this build ignored). */
export function noteOnce(note: string): void {
  trialNotes.add(note);
}

/** The notes `noteOnce` collected in this process. */
export function collectedNotes(): string[] {
  return [...trialNotes];
}

/** Opens the competitor's store in `dir` (library import and open included). */
export async function openStore(competitor: Competitor, dir: string): Promise<Store> {
  const open = await competitor.load();
  return open(dir);
}

/** A new empty directory on the temp file system (the same file system as the repo here). */
export function makeTempDir(): string {
  return mkdtempSync(join(tmpdir(), 'diskcache-bench-'));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
}

/** Allocated bytes under `path`, as `du` counts them: 512-byte blocks of every file and directory, each inode once. */
export function diskUsage(path: string, seen = new Set<string>()): number {
  const st = lstatSync(path);
  const id = `${st.dev}:${st.ino}`;
  if (seen.has(id)) return 0;
  seen.add(id);
  let bytes = st.blocks * 512;
  if (st.isDirectory()) for (const name of readdirSync(path)) bytes += diskUsage(join(path, name), seen);
  return bytes;
}

/** Marks the line that carries a trial's result, so that library logs on stdout cannot be mistaken for it. */
export const RESULT_MARK = '@@bench ';

export const TRIAL_SCRIPT = fileURLToPath(new URL('./trial.ts', import.meta.url));

export interface Child {
  process: ChildProcess;
  /** Resolves to the JSON of the next result line. */
  next(): Promise<unknown>;
  /** Resolves when the process has exited (rejects on a non-zero exit). */
  exited: Promise<void>;
}

const running = new Set<ChildProcess>();
/** Ends the trials still running when this process exits (also on Ctrl-C or kill). */
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

/** Starts `trial.ts` with `args` in a fresh Node process (with tsx), and reads its result lines. */
export function startTrial(args: string[], timeoutMs = 300_000): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', TRIAL_SCRIPT, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  running.add(child);
  const queue: unknown[] = [];
  const waiters: ((v: unknown) => void)[] = [];
  let stderr = '';
  child.stderr?.on('data', (d) => {
    stderr = (stderr + d).slice(-4000);
  });
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
    if (!line.startsWith(RESULT_MARK)) return;
    const value = JSON.parse(line.slice(RESULT_MARK.length));
    const waiter = waiters.shift();
    if (waiter) waiter(value);
    else queue.push(value);
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const exited = new Promise<void>((resolve, reject) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      running.delete(child);
      if (code === 0) resolve();
      else reject(new Error(`trial ${args.join(' ')} exited with ${code ?? signal}: ${stderr.trim()}`));
    });
  });
  exited.catch(() => {});
  return {
    process: child,
    exited,
    next: () =>
      queue.length > 0
        ? Promise.resolve(queue.shift())
        : Promise.race([new Promise((resolve) => waiters.push(resolve)), exited.then(() => undefined)]).then(
            (v) => {
              if (v === undefined) throw new Error(`trial ${args.join(' ')} exited without a result`);
              return v;
            },
          ),
  };
}

/** Sends a result line to the parent process. */
export function report(value: unknown): void {
  process.stdout.write(`${RESULT_MARK}${JSON.stringify(value)}\n`);
}

/** Closes `store` and opens the same directory again, so that reads hit what was persisted (memory stores stay open). */
export async function reopen(competitor: Competitor, store: Store, dir: string): Promise<Store> {
  if (competitor.memoryOnly) return store;
  await store.close();
  return openStore(competitor, dir);
}

/** Counts gets that returned something other than the `size`-byte value (or, with `size` undefined, anything). */
export function checker(size: number | undefined): {
  check(got: Got): void;
  /** The same check, given the length a get returned (as `runPlan` reports it). */
  checkLength(length: unknown): void;
  notes(): string[];
} {
  let wrong = 0;
  return {
    check(got) {
      if (lengthOf(got) !== size) wrong++;
    },
    checkLength(length) {
      if (length !== size) wrong++;
    },
    notes: () => (wrong > 0 ? [`INVALID: ${wrong} gets returned a wrong value`] : []),
  };
}

/** The `set` scenarios: `ops` fresh keys with `size`-byte values into an empty store. */
export function setScenario(name: string, title: string, size: number, ops: number): Scenario {
  return {
    name,
    title,
    metric: 'ops/s',
    surfaces: 'all',
    ops,
    async run({ competitor, surface, ops: n, dir, budgetMs, entries }) {
      const store = await openStore(competitor, dir);
      await prefill(store, entries);
      const values = makeValues(n, size);
      const ks = keys(n);
      const t = await runPlan(store, surface, { op: 'set', keys: ks, values }, { budgetMs });
      const probe = await reopen(competitor, store, dir);
      const c = checker(size);
      c.checkLength(await lengthAt(probe, surface, ks[t.ops - 1] as string));
      await probe.close();
      return { value: t.opsPerSec, medianUs: t.medianUs, ops: t.ops, notes: c.notes() };
    },
  };
}

/**
 * `n` distinct values of `size` bytes: a shared random body with the index in front, so that no store
 * can deduplicate them (flat-cache's serializer and cacache's content addressing would). Each is a
 * flat string, so that no timed call pays for flattening a rope.
 */
export function makeValues(n: number, size: number, from = 0): string[] {
  const body = makeValue(size).slice(10);
  return Array.from({ length: n }, (_, i) =>
    Buffer.from(`${String(from + i).padStart(10, '0')}${body}`, 'latin1').toString('latin1'),
  );
}

/** `n` entries with distinct 1 KiB values under `keys(n)`, as `fill` takes them. */
export function entries(n: number, from = 0): [string, string][] {
  const values = makeValues(n, KiB, from);
  return keys(n, from).map((k, i) => [k, values[i] as string]);
}

/** Applies `f` to `v`, once it resolves if it is a Promise: sync calls stay sync. */
export function after<T, R>(v: T | PromiseLike<T>, f: (x: T) => R): R | Promise<R> {
  return typeof (v as PromiseLike<T>)?.then === 'function'
    ? Promise.resolve(v as PromiseLike<T>).then(f)
    : f(v as T);
}
