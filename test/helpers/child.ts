import { type ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('../fixtures/child.ts', import.meta.url));
const ROOT = path.resolve(path.dirname(CHILD), '../..');

/** A running child process of `test/fixtures/child.ts`, killed if it outlives its time limit. */
export interface Child {
  process: ChildProcess;
  /** Resolves with the first stdout line (parsed as JSON) that `match` accepts. */
  line(match?: (message: unknown) => boolean): Promise<unknown>;
  /** Tells a racing child to start. */
  go(): void;
  /** Resolves with the last JSON line once the child exits with status 0; rejects otherwise. */
  result(): Promise<unknown>;
  /** Resolves when the child has exited, however. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `child.ts <dir> <command> [n]` with `node --import tsx`, killed after `timeoutMs`. */
export function startChild(dir: string, command: string, n?: number, timeoutMs = 30_000): Child {
  const args = ['--import', 'tsx', CHILD, dir, command, ...(n === undefined ? [] : [String(n)])];
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  const messages: unknown[] = [];
  const waiters: { match: (m: unknown) => boolean; resolve: (m: unknown) => void }[] = [];
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    let newline = stdout.indexOf('\n');
    while (newline >= 0) {
      const text = stdout.slice(0, newline);
      stdout = stdout.slice(newline + 1);
      newline = stdout.indexOf('\n');
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
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, timeoutMs);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal });
    });
  });
  const failure = (what: string) =>
    new Error(`child ${command} ${what}${timedOut ? ` (killed after ${timeoutMs} ms)` : ''}\n${stderr}`);

  return {
    process: child,
    exited,
    line(match = () => true) {
      const seen = messages.find(match);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        waiters.push({ match, resolve });
        exited.then(() => reject(failure('exited before printing the expected line')));
      });
    },
    go() {
      child.stdin.write('go\n');
      child.stdin.end();
    },
    async result() {
      const { code, signal } = await exited;
      if (code !== 0) throw failure(`exited with ${code ?? signal}`);
      return messages[messages.length - 1];
    },
  };
}
