import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';
import type { Area } from '../fixtures/child.js';
import type { KillAt } from '../fixtures/children/log.js';
import { makeTempDir, removeDir } from './tmp.js';

/**
 * The one child-process harness of the tests. It starts the one child script of the tests,
 * `test/fixtures/child.ts`, with an area and one of its commands (or any `node` command line), and
 * reads what the child says: one message per stdout line, JSON where it parses (see
 * `test/fixtures/children/protocol.ts`). Every child is SIGKILLed when it outlives its time limit,
 * and every child still running when its test file ends is SIGKILLed then ({@link inScratch} kills
 * its children when its test ends; a file whose tests run one at a time can also call
 * {@link killAll} in an `afterEach`).
 */
export interface Child {
  readonly process: ChildProcess;
  readonly pid: number;
  /** Every stdout line so far, parsed as JSON where it is JSON. */
  readonly messages: unknown[];
  /** What the child wrote on stderr so far. */
  stderr(): string;
  /** Resolves with the first message that `match` accepts; rejects if the child ends before printing it. */
  waitFor(match: (message: unknown) => boolean): Promise<unknown>;
  /** Writes a line on the child's stdin. */
  send(line: string): void;
  /**
   * Resolves when the child has exited and its output is all read ('close', not 'exit': at 'exit'
   * the last lines it printed may still be in the pipe).
   */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves with the last message once the child exits with status 0; rejects (with its stderr) otherwise. */
  result(): Promise<unknown>;
  /** SIGKILLs the child and waits for it to be gone. */
  kill(): Promise<void>;
}

/** The repository root: every child's working directory. */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The child script: `child.ts <area> <command> <args…>`. */
const CHILD = fileURLToPath(new URL('../fixtures/child.ts', import.meta.url));

const running = new Set<Child>();

/** SIGKILLs every child still running and waits until they are gone (so that their files can be removed). */
export async function killAll(): Promise<void> {
  await Promise.all([...running].map((child) => child.kill()));
}

// No child outlives its test file (an afterEach here would kill the children of concurrent tests).
afterAll(killAll);
process.once('exit', () => {
  for (const child of running) child.process.kill('SIGKILL');
});

/** Limits a child runs under. */
export interface Limits {
  /** Its limit of open files (`ulimit -n`, set by a shell that then becomes the child). */
  openFiles?: number;
}

/**
 * Starts `node <argv…>` as a {@link Child}, SIGKILLed after `timeoutMs`, under `limits`; `label`
 * names it in errors.
 */
export function startNode(
  argv: readonly string[],
  timeoutMs: number,
  label: string,
  limits: Limits = {},
): Child {
  const [file, args] =
    limits.openFiles === undefined
      ? [process.execPath, argv]
      : ['bash', ['-c', `ulimit -n ${limits.openFiles} && exec "$0" "$@"`, process.execPath, ...argv]];
  const child = spawn(file, args, { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  const messages: unknown[] = [];
  const waiters: { match: (m: unknown) => boolean; resolve: (m: unknown) => void }[] = [];
  let pending = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    pending += chunk;
    for (let newline = pending.indexOf('\n'); newline >= 0; newline = pending.indexOf('\n')) {
      const text = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      let message: unknown;
      try {
        message = JSON.parse(text);
      } catch {
        message = text;
      }
      messages.push(message);
      for (const waiter of waiters.filter((w) => w.match(message))) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(message);
      }
    }
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  child.stdin?.on('error', () => {}); // the child may be gone when we write
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, timeoutMs);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal });
    });
  });
  const failure = (what: string) =>
    new Error(
      `${label} ${what}${timedOut ? ` (killed: still running after ${timeoutMs} ms)` : ''}\n${stderr}`,
    );
  if (child.pid === undefined) throw failure('could not be started');
  const started: Child = {
    process: child,
    pid: child.pid,
    messages,
    stderr: () => stderr,
    exited,
    waitFor(match) {
      const seen = messages.find(match);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        waiters.push({ match, resolve });
        void exited.then(() => reject(failure('exited before printing the expected line')));
      });
    },
    send(line) {
      child.stdin?.write(`${line}\n`);
    },
    async result() {
      const { code, signal } = await exited;
      if (code !== 0) throw failure(`exited with ${code ?? signal}`);
      return messages[messages.length - 1];
    },
    async kill() {
      child.kill('SIGKILL');
      await exited;
    },
  };
  running.add(started);
  void exited.then(() => running.delete(started));
  return started;
}

/**
 * Starts `node --import tsx child.ts <area> <command> <args…>`, SIGKILLed after `timeoutMs`, under
 * `limits`.
 */
export function startChild(
  area: Area,
  command: string,
  args: readonly (string | number)[] = [],
  timeoutMs = 60_000,
  limits: Limits = {},
): Child {
  const argv = ['--import', 'tsx', CHILD, area, command, ...args.map(String)];
  return startNode(argv, timeoutMs, `${area} ${command} ${args.join(' ')}`.slice(0, 300), limits);
}

/** Starts `log <command> <JSON of args>` (the log engine's crash tests), SIGKILLed after `timeoutMs`. */
export function startLogChild(
  command: string,
  args: Record<string, unknown> & { killAt?: KillAt },
  timeoutMs = 30_000,
): Child {
  return startChild('log', command, [JSON.stringify(args)], timeoutMs);
}

/** Waits until every child says "ready", then lets them all go at once. */
export async function startTogether(children: readonly Child[]): Promise<void> {
  await Promise.all(children.map((c) => c.waitFor((m) => m === 'ready')));
  for (const c of children) c.send('go');
}

/** Every child's final message, in order; rejects with the first failure's stderr. */
export function results(children: readonly Child[]): Promise<unknown[]> {
  return Promise.all(children.map((c) => c.result()));
}

/**
 * Starts one child of `area` per argument list (`[command, ...args]`), lets them go together once
 * every one is ready, and resolves with their results.
 */
export async function runTogether(
  area: Area,
  argLists: readonly string[][],
  timeoutMs = 45_000,
): Promise<unknown[]> {
  const children = argLists.map(([command = '', ...args]) => startChild(area, command, args, timeoutMs));
  await startTogether(children);
  return results(children);
}

/** Starts a child of the stress suite's area, like {@link startChild} with `stress`. */
export type StartStress = (command: string, args: readonly (string | number)[], timeoutMs?: number) => Child;

/**
 * Runs `body` with a new empty directory and a `spawn` that starts children of the stress area;
 * afterwards, however `body` ends, the children it started are killed and then the directory is
 * removed. Safe in concurrent tests.
 */
export async function inScratch<T>(
  label: string,
  body: (dir: string, spawn: StartStress) => Promise<T>,
): Promise<T> {
  const dir = makeTempDir(`dct-stress-${label}-`);
  const started: Child[] = [];
  const spawn: StartStress = (command, args, timeoutMs) => {
    const child = startChild('stress', command, args, timeoutMs);
    started.push(child);
    return child;
  };
  try {
    return await body(dir, spawn);
  } finally {
    await Promise.all(started.map((child) => child.kill()));
    removeDir(dir);
  }
}

/** Resolves after `ms` milliseconds (for tests that wait on other processes). */
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
