import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
/** The child script of the stress suite; see `children/worker.ts` for its commands. */
export const WORKER = fileURLToPath(new URL('../children/worker.ts', import.meta.url));

/** A child process running `node --import tsx worker.ts <command> …`, killed when it outlives its time limit. */
export interface Worker {
  readonly process: ChildProcess;
  readonly pid: number;
  /** Every stdout line so far, parsed as JSON where it is JSON. */
  readonly messages: unknown[];
  /** What the child wrote on stderr so far. */
  stderr(): string;
  /** Resolves with the first message that `match` accepts; rejects if the child exits before printing it. */
  waitFor(match: (message: unknown) => boolean): Promise<unknown>;
  /** Writes a line on the child's stdin (the racing commands wait for one before they start). */
  send(line: string): void;
  /** Resolves when the child has exited, however. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves with the last message once the child exits with status 0; rejects (with its stderr) otherwise. */
  result(): Promise<unknown>;
  /** SIGKILLs the child and waits for it to be gone. */
  kill(): Promise<void>;
}

const running = new Set<ChildProcess>();

function killEverything(): void {
  for (const child of running) child.kill('SIGKILL');
}

// No child outlives the test file (nor, through {@link inScratch}, the test that started it).
afterAll(killEverything);
process.once('exit', killEverything);

/** Starts the worker with `command` and `args`; SIGKILLed after `timeoutMs`. */
export function startWorker(command: string, args: readonly (string | number)[], timeoutMs = 60_000): Worker {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER, command, ...args.map(String)], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  running.add(child);
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
    // 'close', not 'exit': by then every line the child printed has been read.
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      running.delete(child);
      resolve({ code, signal });
    });
  });
  const describe = (what: string) =>
    new Error(
      `worker ${command} ${args.join(' ')} ${what}${timedOut ? ` (killed: still running after ${timeoutMs} ms)` : ''}\n${stderr}`,
    );
  if (child.pid === undefined) throw describe('could not be started');
  const pid = child.pid;
  return {
    process: child,
    pid,
    messages,
    stderr: () => stderr,
    exited,
    waitFor(match) {
      const seen = messages.find(match);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        waiters.push({ match, resolve });
        void exited.then(() =>
          setImmediate(() => reject(describe('exited before printing the expected line'))),
        );
      });
    },
    send(line) {
      child.stdin?.write(`${line}\n`);
    },
    async result() {
      const { code, signal } = await exited;
      if (code !== 0) throw describe(`exited with ${code ?? signal}`);
      return messages[messages.length - 1];
    },
    async kill() {
      child.kill('SIGKILL');
      await exited;
    },
  };
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

/** A new empty directory, and a function that removes it. */
export function scratchDirectory(label: string): { dir: string; remove: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `dct-stress-${label}-`));
  return { dir, remove: () => fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 }) };
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
  const { dir, remove } = scratchDirectory(label);
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
    remove();
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
