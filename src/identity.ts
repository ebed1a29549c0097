import { hostname } from 'node:os';

/**
 * Who this process is, as the files it leaves name it, and whether the process that left a file
 * is gone. Shared by every layer (the store names private files after {@link OWNER}, locks record
 * {@link HOST} and the pid), so it imports only Node's modules.
 */

/** This host's name, reduced to characters that are safe in file names. */
export const HOST =
  hostname()
    .replace(/[^A-Za-z0-9-]/g, '-')
    .slice(0, 64) || 'host';

/**
 * Who writes a private file: `host~pid~nonce` (an owner tag). The nonce tells apart two loads of
 * this module in one process, and a later process that reuses the pid.
 */
export const OWNER = `${HOST}~${process.pid}~${Math.random().toString(36).slice(2, 8)}`;

/** The form of an owner tag, for the patterns of the names that begin with one. */
export const OWNER_TAG = '[A-Za-z0-9-]+~\\d+~[a-z0-9]+';
const OWNER_TAG_ONLY = new RegExp(`^${OWNER_TAG}$`);

let sequence = 0;

/** The next number (base 36) of this process's one sequence, which names its private files and tokens apart. */
export function nextSequence(): string {
  sequence = (sequence + 1) % Number.MAX_SAFE_INTEGER;
  return sequence.toString(36);
}

/** A token that no other writer, anywhere, uses: `host~pid~nonce~seq`. */
export function uniqueToken(): string {
  return `${OWNER}~${nextSequence()}`;
}

/** A process, as a lock or an owner tag names it. */
export interface ProcessId {
  host: string;
  pid: number;
}

/** The host and pid named by an owner tag (`host~pid~nonce`), or `undefined` if `tag` is not one. */
export function processOfOwnerTag(tag: string): ProcessId | undefined {
  if (!OWNER_TAG_ONLY.test(tag)) return undefined;
  const [host, pid] = tag.split('~') as [string, string];
  return { host, pid: Number(pid) };
}

/** `host:pid` for messages, or `an unknown holder`. */
export function describeProcess(holder: ProcessId | undefined): string {
  return holder === undefined ? 'an unknown holder' : `${holder.host}:${holder.pid}`;
}

/**
 * Whether a process that left a file behind is provably gone: it ran on this host and its pid is
 * not alive. A process on another host is never provably gone; leases decide there.
 */
export function provablyDead(host: string, pid: number): boolean {
  if (host !== HOST || !Number.isInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
