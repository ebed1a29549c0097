import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach } from 'vitest';

const CHILD = fileURLToPath(new URL('./child.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** A child process of `test/netfs/child.ts`, SIGKILLed when it outlives its time limit. */
export interface NetfsChild {
  readonly process: ChildProcess;
  /** Resolves with the first message `match` accepts; rejects if the child exits first. */
  waitFor(match: (message: unknown) => boolean): Promise<unknown>;
  /** Writes a line on the child's stdin (racing commands wait for one). */
  send(line: string): void;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The last message, once the child exits with status 0; rejects with its stderr otherwise. */
  result(): Promise<unknown>;
  kill(): Promise<void>;
  stderr(): string;
}

const running = new Set<ChildProcess>();

/** SIGKILLs every child still running and waits until they are gone (so that their files can be removed). */
export async function killAll(): Promise<void> {
  const left = [...running];
  for (const child of left) child.kill('SIGKILL');
  await Promise.all(
    left.map((child) =>
      child.exitCode !== null || child.signalCode !== null
        ? undefined
        : new Promise((resolve) => child.once('exit', resolve)),
    ),
  );
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
  const argv = ['--import', 'tsx', CHILD, command, dir, ...args.map(String)];
  const child = spawn(process.execPath, argv, { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  running.add(child);
  const messages: unknown[] = [];
  const waiters: { match: (m: unknown) => boolean; resolve: (m: unknown) => void }[] = [];
  let pending = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    pending += chunk;
    for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
      const text = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      let message: unknown;
      try {
        message = JSON.parse(text);
      } catch {
        message = text;
      }
      messages.push(message);
      for (const w of waiters.filter((w) => w.match(message))) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(message);
      }
    }
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  child.stdin?.on('error', () => {});
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, limitMs);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      running.delete(child);
      resolve({ code, signal });
    });
  });
  const failure = (what: string) =>
    new Error(
      `netfs child ${command} ${dir} ${args.join(' ')} ${what}${timedOut ? ` (killed after ${limitMs} ms)` : ''}\n${stderr}`,
    );
  return {
    process: child,
    stderr: () => stderr,
    exited,
    waitFor(match) {
      const seen = messages.find(match);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        waiters.push({ match, resolve });
        void exited.then(() =>
          setImmediate(() => reject(failure('exited before printing the expected line'))),
        );
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
