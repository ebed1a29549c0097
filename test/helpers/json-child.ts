import { type ChildProcess, spawn } from 'node:child_process';

/**
 * A child process that prints one message per stdout line (JSON where it parses, else the text),
 * SIGKILLed when it outlives its time limit. The one child-process harness of the tests: the
 * suites' own harnesses (`helpers/child.ts`, `helpers/workers.ts`, `netfs/children.ts`,
 * `stress/helpers/children.ts`) are thin wrappers of it.
 */
export interface JsonChild {
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

/** How to start a {@link JsonChild}. */
export interface JsonChildOptions {
  /** The working directory. */
  cwd: string;
  /** SIGKILLed after this many milliseconds. */
  timeoutMs: number;
  /** Names the child in error messages. */
  label: string;
}

/** Starts `node <argv…>` as a {@link JsonChild}. */
export function spawnJsonChild(argv: readonly string[], options: JsonChildOptions): JsonChild {
  const child = spawn(process.execPath, argv, { cwd: options.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
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
  }, options.timeoutMs);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal });
    });
  });
  const failure = (what: string) =>
    new Error(
      `${options.label} ${what}${timedOut ? ` (killed: still running after ${options.timeoutMs} ms)` : ''}\n${stderr}`,
    );
  if (child.pid === undefined) throw failure('could not be started');
  return {
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
}
