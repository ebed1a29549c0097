import { constants } from 'node:os';
import {
  type AsyncFileSystem,
  type FileSystem,
  nodeFileSystem,
  type SyncFileSystem,
} from '../../../src/internal.js';

/** A file-system primitive that can be made to fail (every one but `sleep`). */
export type Primitive = Exclude<keyof SyncFileSystem, 'sleep'>;

/**
 * How the chosen call fails:
 * - `before`: it fails with `code` without doing anything;
 * - `after`: it does its work, then reports `code` (an ambiguous error, as when an NFS reply is lost
 *   and the retransmitted request fails);
 * - `persistent`: it and every later call of the primitive fail with `code`, until disarmed;
 * - `short-fail` (`writeFile` only): part of the data is written, then the write fails with `code`
 *   (the primitive removes its partial file, as its contract says);
 * - `short-ok` (`writeFile`, `writeAt`): only part of the data is written, and the call reports success.
 */
export type FaultMode = 'before' | 'after' | 'persistent' | 'short-fail' | 'short-ok';

export interface Fault {
  primitive: Primitive;
  /** Which call of the primitive fails, counting from 1 since the fault was armed. */
  nth: number;
  code: string;
  mode: FaultMode;
}

/** An error as Node's `fs` throws it: with `code`, `errno`, `syscall` and `path`. */
export function errnoError(code: string, syscall: string, path: unknown): NodeJS.ErrnoException {
  const where = typeof path === 'string' ? `, ${syscall} '${path}'` : `, ${syscall}`;
  const error: NodeJS.ErrnoException = new Error(`${code}: injected fault${where}`);
  error.code = code;
  error.errno = -((constants.errno as Record<string, number>)[code] ?? 5);
  error.syscall = syscall;
  if (typeof path === 'string') error.path = path;
  return error;
}

function half(chunks: readonly Uint8Array[]): Uint8Array[] {
  const all = Buffer.concat(chunks.map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength)));
  return [all.subarray(0, Math.floor(all.length / 2))];
}

/**
 * Wraps a {@link FileSystem} (node's by default) so that one chosen call fails. Calls are counted per
 * primitive over the sync and async surfaces together (the async surface of a local cache runs most
 * primitives through the sync ones).
 */
export class FaultyFileSystem {
  readonly fileSystem: FileSystem;
  /** Calls per primitive since the last {@link arm} or {@link reset}. */
  readonly counts = new Map<string, number>();
  /** Every call since the last {@link arm} or {@link reset}: the primitive and its path argument, if any. */
  readonly trace: { primitive: string; path: string }[] = [];
  /** How many calls the armed fault made fail. */
  fired = 0;
  private fault: Fault | undefined;

  constructor(private readonly base: FileSystem = nodeFileSystem) {
    const names = Object.keys(base.sync) as (keyof SyncFileSystem)[];
    const sync = Object.fromEntries(
      names.map((name) => [name, this.wrapSync(name)]),
    ) as unknown as SyncFileSystem;
    const async = Object.fromEntries(
      names.map((name) => [name, this.wrapAsync(name)]),
    ) as unknown as AsyncFileSystem;
    this.fileSystem = { sync, async };
  }

  /** Makes `fault` happen; counting starts again. */
  arm(fault: Fault): void {
    this.reset();
    this.fault = fault;
  }

  /** Removes the fault (calls go through again). */
  disarm(): void {
    this.fault = undefined;
  }

  /** Starts counting calls again. */
  reset(): void {
    this.counts.clear();
    this.trace.length = 0;
    this.fired = 0;
  }

  /** The fault that this call of `name` must suffer, if any. */
  private due(name: keyof SyncFileSystem, args: readonly unknown[]): Fault | undefined {
    if (name === 'sleep') return undefined;
    const n = (this.counts.get(name) ?? 0) + 1;
    this.counts.set(name, n);
    this.trace.push({ primitive: name, path: typeof args[0] === 'string' ? args[0] : '' });
    const fault = this.fault;
    if (fault === undefined || fault.primitive !== name) return undefined;
    if (fault.mode === 'persistent' ? n < fault.nth : n !== fault.nth) return undefined;
    this.fired++;
    return fault;
  }

  private wrapSync(name: keyof SyncFileSystem) {
    const real = this.base.sync[name] as (...args: unknown[]) => unknown;
    return (...args: unknown[]) => {
      const fault = this.due(name, args);
      if (fault === undefined) return real(...args);
      const error = errnoError(fault.code, name, args[0]);
      switch (fault.mode) {
        case 'before':
        case 'persistent':
          throw error;
        case 'after':
          real(...args);
          throw error;
        case 'short-fail':
          real(args[0], half(args[1] as Uint8Array[]), args[2]);
          this.base.sync.unlink(args[0] as string);
          throw error;
        case 'short-ok':
          if (name === 'writeAt') {
            const data = args[1] as Uint8Array;
            return real(args[0], data.subarray(0, Math.floor(data.byteLength / 2)), args[2]);
          }
          return real(args[0], half(args[1] as Uint8Array[]), args[2]);
      }
    };
  }

  private wrapAsync(name: keyof SyncFileSystem) {
    const real = this.base.async[name] as (...args: unknown[]) => Promise<unknown>;
    return async (...args: unknown[]) => {
      const fault = this.due(name, args);
      if (fault === undefined) return real(...args);
      const error = errnoError(fault.code, name, args[0]);
      switch (fault.mode) {
        case 'before':
        case 'persistent':
          throw error;
        case 'after':
          await real(...args);
          throw error;
        case 'short-fail':
          await real(args[0], half(args[1] as Uint8Array[]), args[2]);
          await this.base.async.unlink(args[0] as string);
          throw error;
        case 'short-ok':
          if (name === 'writeAt') {
            const data = args[1] as Uint8Array;
            return real(args[0], data.subarray(0, Math.floor(data.byteLength / 2)), args[2]);
          }
          return real(args[0], half(args[1] as Uint8Array[]), args[2]);
      }
    };
  }
}
