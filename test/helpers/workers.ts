import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type JsonChild, spawnJsonChild } from './json-child.js';

const WORKER = fileURLToPath(new URL('../fixtures/recipes-worker.ts', import.meta.url));
const ROOT = path.resolve(path.dirname(WORKER), '../..');

interface Running {
  child: JsonChild;
  /** Resolves when the worker says it is ready, or has exited (its result then says why). */
  ready: Promise<unknown>;
}

function start(args: string[], timeoutMs: number): Running {
  const child = spawnJsonChild(['--import', 'tsx', WORKER, ...args], {
    cwd: ROOT,
    timeoutMs,
    label: `worker ${args.join(' ')}`,
  });
  const isReady = (m: unknown) => (m as { ready?: unknown } | null)?.ready === true;
  return { child, ready: child.waitFor(isReady).catch(() => undefined) };
}

/**
 * Runs one worker process per argument list (`test/fixtures/recipes-worker.ts`), starts them all at
 * once when every one is ready, and resolves with their results (the last JSON line of each).
 * Each worker is killed after `timeoutMs`.
 */
export async function runWorkers(argLists: string[][], timeoutMs = 45_000): Promise<unknown[]> {
  const running = argLists.map((args) => start(args, timeoutMs));
  await Promise.all(running.map((r) => r.ready));
  for (const r of running) r.child.process.stdin?.end('go\n');
  return Promise.all(running.map((r) => r.child.result()));
}
