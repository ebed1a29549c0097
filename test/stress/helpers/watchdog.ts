import { type ChildProcess, spawn } from 'node:child_process';
import { afterAll, beforeAll } from 'vitest';

/**
 * A guard against endless synchronous loops in the code under test: vitest's timeouts cannot stop a
 * test whose thread never returns to the event loop, and a CI job would hang. A small watchdog
 * process gets a heartbeat from this process every second (from a timer, so only while the event
 * loop turns); if none comes for STRESS_WATCHDOG_SECONDS (default 120), it prints why on stderr and
 * SIGKILLs this test process, which vitest then reports as failed.
 */
const LIMIT_MS = Number(process.env.STRESS_WATCHDOG_SECONDS ?? 120) * 1000;

const SCRIPT = `
const [pid, limit] = process.argv.slice(1).map(Number);
let last = Date.now();
process.stdin.on('data', () => { last = Date.now(); });
process.stdin.on('end', () => process.exit(0));
setInterval(() => {
  if (Date.now() - last <= limit) return;
  process.stderr.write('\\nstress watchdog: test process ' + pid + ' has not returned to its event loop for ' +
    Math.round((Date.now() - last) / 1000) + ' s (an endless synchronous loop in the code under test?); killing it\\n');
  try { process.kill(pid, 'SIGKILL'); } catch {}
  process.exit(1);
}, 1000);
`;

let watchdog: ChildProcess | undefined;
let heartbeat: NodeJS.Timeout | undefined;

beforeAll(() => {
  if (watchdog !== undefined || !(LIMIT_MS > 0)) return;
  watchdog = spawn(process.execPath, ['-e', SCRIPT, String(process.pid), String(LIMIT_MS)], {
    stdio: ['pipe', 'ignore', 'inherit'],
  });
  watchdog.stdin?.on('error', () => {});
  watchdog.unref();
  heartbeat = setInterval(() => watchdog?.stdin?.write('.'), 1000);
  heartbeat.unref();
});

afterAll(() => {
  clearInterval(heartbeat);
  watchdog?.stdin?.end();
  watchdog?.kill();
  watchdog = undefined;
});
