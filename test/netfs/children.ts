import { fileURLToPath } from 'node:url';
import { afterAll, afterEach } from 'vitest';
import { type JsonChild, spawnJsonChild } from '../helpers/json-child.js';

const CHILD = fileURLToPath(new URL('./child.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** A child process of `test/netfs/child.ts`, SIGKILLed when it outlives its time limit. */
export type NetfsChild = JsonChild;

const running = new Set<NetfsChild>();

/** SIGKILLs every child still running and waits until they are gone (so that their files can be removed). */
export async function killAll(): Promise<void> {
  await Promise.all([...running].map((child) => child.kill()));
}
afterEach(killAll);
afterAll(killAll);

/** Starts `child.ts <command> <dir> <args…>`. */
export function startChild(
  command: string,
  dir: string,
  args: readonly (string | number)[],
  limitMs: number,
): NetfsChild {
  const child = spawnJsonChild(['--import', 'tsx', CHILD, command, dir, ...args.map(String)], {
    cwd: ROOT,
    timeoutMs: limitMs,
    label: `netfs child ${command} ${dir} ${args.join(' ')}`,
  });
  running.add(child);
  void child.exited.then(() => running.delete(child));
  return child;
}

/** Waits until every child says "ready", then lets them all go at once. */
export async function startTogether(children: readonly NetfsChild[]): Promise<void> {
  await Promise.all(children.map((c) => c.waitFor((m) => m === 'ready')));
  for (const c of children) c.send('go');
}

/** Every child's final message, in order. */
export function results(children: readonly NetfsChild[]): Promise<unknown[]> {
  return Promise.all(children.map((c) => c.result()));
}
