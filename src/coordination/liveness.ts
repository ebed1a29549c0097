import { HOST } from '../store/layout.js';

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
