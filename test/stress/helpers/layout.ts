import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { hostname } from 'node:os';
import * as path from 'node:path';

/**
 * What the stress tests need to know of the on-disk layout (docs/FORMAT.md), computed here rather
 * than imported, so that the tests check the documented format.
 */

/** This host's name as lock files and owner tags record it. */
export const HOST =
  hostname()
    .replace(/[^A-Za-z0-9-]/g, '-')
    .slice(0, 64) || 'host';

/** The 32-hex-digit name of a string key's entry file: SHA-256 of type byte 1 and the UTF-8 bytes. */
export function keyHash(key: string): string {
  return createHash('sha256')
    .update(Buffer.concat([Buffer.from([1]), Buffer.from(key, 'utf8')]))
    .digest('hex')
    .slice(0, 32);
}

/** `<dir>/entries/<shard>/<hash>` of a string key. */
export function entryPath(dir: string, key: string): string {
  const hash = keyHash(key);
  return path.join(dir, 'entries', hash.slice(0, 2), hash);
}

/** `<dir>/entries/<shard>/<hash>.lock`, the lock directory read-modify-write operations on `key` hold. */
export function lockPath(dir: string, key: string): string {
  return `${entryPath(dir, key)}.lock`;
}

/** A string key starting with `prefix` whose entry lives in the shard directory `shard` (two hex digits). */
export function keyInShard(prefix: string, shard: string): string {
  for (let i = 0; ; i++) {
    const key = `${prefix}${i}`;
    if (keyHash(key).startsWith(shard)) return key;
  }
}

/** The lock record of docs/FORMAT.md. */
export interface LockRecord {
  host: string;
  pid: number;
  owner: string;
  token: string;
  acquiredAt: number;
  leaseMs: number;
}

/** The owner record of the lock directory `lock`, as text. */
export function readLock(lock: string): string {
  return fs.readFileSync(path.join(lock, 'owner'), 'utf8');
}

/** Writes a lock in the documented format (a directory with an `owner` record), as a holder `pid` on `host` would. */
export function writeLock(
  file: string,
  holder: { pid: number; host?: string; acquiredAt?: number; leaseMs?: number },
) {
  const host = holder.host ?? HOST;
  const record: LockRecord = {
    host,
    pid: holder.pid,
    owner: `${host}~${holder.pid}~zz9test`,
    token: `${host}~${holder.pid}~zz9test~1`,
    acquiredAt: holder.acquiredAt ?? Date.now(),
    leaseMs: holder.leaseMs ?? 60 * 60 * 1000,
  };
  fs.mkdirSync(file, { recursive: true });
  fs.writeFileSync(path.join(file, 'owner'), JSON.stringify(record));
  return record;
}

/** The names in `<dir>/tmp/` (one private directory per writer process). */
export function privateDirectories(dir: string): string[] {
  return safeList(path.join(dir, 'tmp'));
}

/** The files in this process's private directories, `<dir>/tmp/<host>~<our pid>~<nonce>/`. */
export function ownPrivateFiles(dir: string): string[] {
  const mine = privateDirectories(dir).filter((name) => name.startsWith(`${HOST}~${process.pid}~`));
  return mine.flatMap((name) => safeList(path.join(dir, 'tmp', name)).map((file) => `tmp/${name}/${file}`));
}

/** The files in `<dir>/journal/`. */
export function journalFiles(dir: string): string[] {
  return safeList(path.join(dir, 'journal'));
}

/** Every lock in the shard directories. */
export function shardLocks(dir: string): string[] {
  const entries = path.join(dir, 'entries');
  return safeList(entries).flatMap((shard) =>
    safeList(path.join(entries, shard))
      .filter((name) => name.endsWith('.lock'))
      .map((name) => path.join(entries, shard, name)),
  );
}

function safeList(dir: string): string[] {
  try {
    return fs.readdirSync(dir).sort();
  } catch {
    return [];
  }
}

/** The pid of a process that existed and has exited (a child spawned and reaped here). */
export async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  const pid = child.pid;
  await new Promise((resolve) => child.on('exit', resolve));
  if (pid === undefined) throw new Error('could not spawn a process');
  return pid;
}

/** Whether a process with this pid exists. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}
