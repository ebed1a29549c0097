import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Competitor, LoopResult, Store } from '../lib.js';

/** Debian's interpreter, into which bench/setup.sh installs python3-diskcache (a pyenv or venv python3 on PATH would not see it). */
const PYTHON = process.env.DISKCACHE_BENCH_PYTHON ?? '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('./python-diskcache.py', import.meta.url));

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

/** Runs `python3 -c code`; its stdout, or undefined if it failed. */
function python(code: string): string | undefined {
  const r = spawnSync(PYTHON, ['-c', code], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/** The Python child of one open store: one JSON request a line, one JSON answer a line, in turn. */
function serve(): { request(message: object): Promise<Record<string, unknown>>; exited: Promise<void> } {
  const child = spawn(PYTHON, [SCRIPT, 'serve'], { stdio: ['pipe', 'pipe', 'pipe'] });
  children.add(child);
  let stderr = '';
  child.stderr?.on('data', (d) => {
    stderr = (stderr + d).slice(-4000);
  });
  const waiters: ((line: string | undefined) => void)[] = [];
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
    if (line.startsWith('{')) waiters.shift()?.(line);
  });
  const exited = new Promise<void>((resolve) =>
    child.on('close', () => {
      children.delete(child);
      for (const w of waiters.splice(0)) w(undefined);
      resolve();
    }),
  );
  return {
    exited,
    request(message) {
      return new Promise((resolve, reject) => {
        waiters.push((line) => {
          if (line === undefined) return reject(new Error(`python-diskcache child exited: ${stderr.trim()}`));
          const answer = JSON.parse(line) as Record<string, unknown>;
          if (typeof answer.error === 'string') reject(new Error(`python-diskcache: ${answer.error}`));
          else resolve(answer);
        });
        child.stdin?.write(`${JSON.stringify(message)}\n`);
      });
    },
  };
}

/**
 * python-diskcache (Debian's python3-diskcache, installed by bench/setup.sh), driven over a pipe:
 * each timed loop is sent whole to a Python child, which runs and times it around its own loop
 * (bench/competitors/python-diskcache.py), so the pipe is not counted. Its sync API only.
 */
const pythonDiskcache: Competitor = {
  name: 'python-diskcache',
  label: 'python-diskcache (sync API)',
  kind: 'local-only',
  surfaces: ['sync'],
  remote: true,
  note: `not network-filesystem safe (SQLite); Debian’s python3-diskcache with ${PYTHON}, default Cache options (SQLite WAL, synchronous=NORMAL, 1 GiB size limit as diskcache-ts); sync API in a Python child process that times each call of a loop itself (pipe not counted); batch is \`with cache.transact():\`; fill is sets inside transact(); cold open times \`import diskcache\`, then \`Cache(dir)\` + first get, in a fresh Python process`,
  unavailable: () =>
    python('import diskcache') === undefined
      ? `python-diskcache not importable by ${PYTHON}: run bench/setup.sh`
      : undefined,
  version: () =>
    python('import diskcache, sys; print(diskcache.__version__, "(Python", sys.version.split()[0] + ")")') ??
    'not installed',
  async coldOpen(dir, firstKey) {
    const r = spawnSync(PYTHON, [SCRIPT, 'cold-open', dir, firstKey], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`python-diskcache cold open failed: ${r.stderr.trim()}`);
    const { importMs, openGetMs, length } = JSON.parse(r.stdout.trim().split('\n').pop() as string);
    return { importMs, openGetMs, length: length ?? undefined };
  },
  async load() {
    return async (dir): Promise<Store> => {
      const child = serve();
      await child.request({ cmd: 'open', dir });
      return {
        loop: async (plan, budgetMs) =>
          (await child.request({ cmd: 'loop', plan, budgetMs })) as unknown as LoopResult,
        fill: async (entries) => void (await child.request({ cmd: 'fill', entries })),
        async close() {
          await child.request({ cmd: 'close' });
          await child.exited;
        },
      };
    };
  },
};

export default pythonDiskcache;
