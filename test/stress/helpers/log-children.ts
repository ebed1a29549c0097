import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';
import { spawnJsonChild } from '../../helpers/json-child.js';
import type { Worker } from './children.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

/** The child script of the log-engine stress tests; see `children/log-worker.ts` for its commands. */
const LOG_WORKER = fileURLToPath(new URL('../children/log-worker.ts', import.meta.url));

/** Where a log worker SIGKILLs itself (see `KillAt` in `children/log-worker.ts`). */
export interface KillAt {
  op: string;
  /** A regular expression over the path relative to the cache directory. */
  path?: string;
  /** For `append`: the kind of the record appended (byte 12). */
  kind?: number;
  /** For `writeFile`: a bucket file header of at least this generation. */
  generation?: number;
  nth?: number;
  when: 'before' | 'after';
}

const running = new Set<ChildProcess>();
function killEverything(): void {
  for (const child of running) child.kill('SIGKILL');
}
// No child outlives the test file.
afterAll(killEverything);
process.once('exit', killEverything);

/** Starts `log-worker.ts <command> <JSON of args>`; SIGKILLed after `timeoutMs`, or with the test file. */
export function startLogWorker(command: string, args: Record<string, unknown>, timeoutMs = 30_000): Worker {
  const worker = spawnJsonChild(['--import', 'tsx', LOG_WORKER, command, JSON.stringify(args)], {
    cwd: ROOT,
    timeoutMs,
    label: `log-worker ${command} ${JSON.stringify({ ...args, dir: undefined })}`,
  });
  running.add(worker.process);
  void worker.exited.then(() => running.delete(worker.process));
  return worker;
}

/** The writer and sequence number carried by a value made by `checkedValue` (helpers/values.ts). */
export function metaOf(value: unknown): { writer: number; seq: number } {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'base64') : Buffer.from(value as Uint8Array);
  const rest = bytes.subarray(32);
  return JSON.parse(rest.subarray(2, 2 + rest.readUInt16LE(0)).toString('utf8')) as {
    writer: number;
    seq: number;
  };
}
