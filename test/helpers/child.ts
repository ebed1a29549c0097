import type { ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnJsonChild } from './json-child.js';

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
  const argv = ['--import', 'tsx', CHILD, dir, command, ...(n === undefined ? [] : [String(n)])];
  const child = spawnJsonChild(argv, { cwd: ROOT, timeoutMs, label: `child ${command}` });
  return {
    process: child.process,
    exited: child.exited,
    line: (match = () => true) => child.waitFor(match),
    go() {
      child.process.stdin?.end('go\n');
    },
    result: () => child.result(),
  };
}
