import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';
import { type JsonChild, spawnJsonChild } from '../../helpers/json-child.js';
import { makeTempDir, removeDir } from '../../helpers/tmp.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
/** The child script of the stress suite; see `children/worker.ts` for its commands. */
export const WORKER = fileURLToPath(new URL('../children/worker.ts', import.meta.url));

/** A child process running `node --import tsx worker.ts <command> …`, killed when it outlives its time limit. */
export type Worker = JsonChild;

const running = new Set<ChildProcess>();

function killEverything(): void {
  for (const child of running) child.kill('SIGKILL');
}

// No child outlives the test file (nor, through {@link inScratch}, the test that started it).
afterAll(killEverything);
process.once('exit', killEverything);

/** Starts the worker with `command` and `args`; SIGKILLed after `timeoutMs`. */
export function startWorker(command: string, args: readonly (string | number)[], timeoutMs = 60_000): Worker {
  const worker = spawnJsonChild(['--import', 'tsx', WORKER, command, ...args.map(String)], {
    cwd: ROOT,
    timeoutMs,
    label: `worker ${command} ${args.join(' ')}`,
  });
  running.add(worker.process);
  void worker.exited.then(() => running.delete(worker.process));
  return worker;
}

/** Starts the workers, waits until each says it is ready, then lets them all go at once. */
export async function startTogether(workers: readonly Worker[]): Promise<void> {
  await Promise.all(workers.map((w) => w.waitFor((m) => m === 'ready')));
  for (const w of workers) w.send('go');
}

/** Every worker's final message, in order; rejects with the first failure's stderr. */
export function results(workers: readonly Worker[]): Promise<unknown[]> {
  return Promise.all(workers.map((w) => w.result()));
}

/**
 * Runs `body` with a new empty directory and a `spawn` that starts workers like {@link startWorker};
 * afterwards, however `body` ends, the workers still running are killed and the directory is removed.
 * Safe in concurrent tests.
 */
export async function inScratch<T>(
  label: string,
  body: (dir: string, spawn: typeof startWorker) => Promise<T>,
): Promise<T> {
  const dir = makeTempDir(`dct-stress-${label}-`);
  const started: Worker[] = [];
  const spawn: typeof startWorker = (...args) => {
    const worker = startWorker(...args);
    started.push(worker);
    return worker;
  };
  try {
    return await body(dir, spawn);
  } finally {
    await Promise.all(started.map((worker) => worker.kill()));
    removeDir(dir);
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
