import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const WORKER = fileURLToPath(new URL('../fixtures/recipes-worker.ts', import.meta.url));
const ROOT = path.resolve(path.dirname(WORKER), '../..');

/** A new empty directory under the system temp directory; remove it with {@link removeTemp}. */
export function makeTemp(prefix = 'dct-recipes-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Removes a directory made by {@link makeTemp}. */
export function removeTemp(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
}

interface Running {
  child: ChildProcess;
  ready: Promise<void>;
  result: Promise<unknown>;
}

function start(args: string[], timeoutMs: number): Running {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER, ...args], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let onReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => {
    onReady = resolve;
  });
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    if (stdout.includes('"ready"')) onReady();
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const result = new Promise<unknown>((resolve, reject) => {
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      onReady();
      const lines = stdout.trim().split('\n');
      if (code !== 0) {
        reject(new Error(`worker ${args.join(' ')} exited with ${code ?? signal}:\n${stderr}\n${stdout}`));
        return;
      }
      resolve(JSON.parse(lines.at(-1) ?? 'null'));
    });
  });
  return { child, ready, result };
}

/**
 * Runs one worker process per argument list (`test/fixtures/recipes-worker.ts`), starts them all at
 * once when every one is ready, and resolves with their results (the last JSON line of each).
 * Each worker is killed after `timeoutMs`.
 */
export async function runWorkers(argLists: string[][], timeoutMs = 45_000): Promise<unknown[]> {
  const running = argLists.map((args) => start(args, timeoutMs));
  await Promise.all(running.map((r) => r.ready));
  for (const r of running) r.child.stdin?.end('go\n');
  return Promise.all(running.map((r) => r.result));
}
