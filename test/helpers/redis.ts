import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createServer, Socket } from 'node:net';
import { afterAll } from 'vitest';

/** Whether Debian's `redis-server` is on this machine (`npm run test:stress` installs it where it can). */
export const HAS_REDIS = (() => {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** Why the Redis tests did not run, for a suite's name; CI must have Redis, so there they fail instead. */
export const NO_REDIS = 'skipped: no redis-server on this machine (apt-get install redis-server)';

/** A `redis-server` of the tests' own, on 127.0.0.1 and a free port, with nothing saved to disk. */
export interface RedisServer {
  readonly url: string;
  /** SIGKILLs the server (as a crash or a lost host would end it). */
  kill(): Promise<void>;
  /** Starts it again on the same port, empty. */
  start(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** Whether the server on `port` answers PING. */
function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
    socket.connect(port, '127.0.0.1', () => socket.write('PING\r\n'));
  });
}

const servers = new Set<ChildProcess>();
afterAll(() => {
  for (const server of servers) server.kill('SIGKILL');
});
process.once('exit', () => {
  for (const server of servers) server.kill('SIGKILL');
});

/** Starts a `redis-server` for the calling test file; it is killed when the file ends. */
export async function startRedis(): Promise<RedisServer> {
  if (!HAS_REDIS) throw new Error(`redis-server is missing; ${NO_REDIS}`);
  const port = await freePort();
  let server: ChildProcess | undefined;
  const start = async () => {
    if (server !== undefined && server.exitCode === null && server.signalCode === null) return;
    const child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    server = child;
    servers.add(child);
    child.once('exit', () => servers.delete(child));
    for (let i = 0; i < 100; i++) {
      if (await answers(port)) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`redis-server did not answer on port ${port} within 5 s`);
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    async kill() {
      const child = server;
      if (child === undefined || child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    },
    start,
  };
}
