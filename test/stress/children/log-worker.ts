/**
 * The child process of the log-engine stress tests: `node --import tsx log-worker.ts <command> <json>`,
 * where <json> holds the command's arguments. It uses the cache only through its public API (and a
 * `fileSystem` wrapper that can SIGKILL the process at a chosen primitive, see {@link KillAt}). It
 * prints one JSON line per message on stdout; stdout is a pipe, written synchronously, so every line
 * printed before a SIGKILL reaches the parent. Racing commands print "ready" and wait for a line on
 * stdin before they start.
 */
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { Cache } from '../../../src/index.js';
import {
  type AsyncFileSystem,
  type FileSystem,
  nodeFileSystem,
  type SyncFileSystem,
} from '../../../src/internal.js';
import { Random } from '../helpers/random.js';
import { checkedValue, checkValue } from '../helpers/values.js';

const [command = '', json = '{}'] = process.argv.slice(2);

function say(message: unknown): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

async function ready(): Promise<void> {
  say('ready');
  const lines = createInterface({ input: process.stdin });
  for await (const _ of lines) break;
  lines.close();
}

/**
 * Where the process SIGKILLs itself: at the `nth` call (1-based) of primitive `op` whose path (the
 * path a descriptor was opened on, for descriptor calls; the destination, for calls with two paths)
 * relative to the cache directory matches
 * `path`, and, for `append`, whose record kind (byte 12 of the data) is `kind`; for `writeFile`,
 * `generation` requires the first chunk to be a bucket file header of at least that generation.
 * `when` says whether the call is made first.
 */
interface KillAt {
  op: string;
  path?: string;
  kind?: number;
  generation?: number;
  nth?: number;
  when: 'before' | 'after';
}

const TWO_PATHS = new Set(['link', 'rename', 'placeDirectory']);

function killingFileSystem(root: string, at: KillAt | undefined): FileSystem {
  if (at === undefined) return nodeFileSystem;
  const fds = new Map<number, string>();
  const pattern = at.path === undefined ? undefined : new RegExp(at.path);
  let seen = 0;
  const matches = (name: string, args: unknown[]): boolean => {
    if (name !== at.op) return false;
    // Calls with two paths (link, rename, placeDirectory) are about their destination.
    const first = TWO_PATHS.has(name) ? args[1] : args[0];
    const where = typeof first === 'number' ? fds.get(first) : typeof first === 'string' ? first : undefined;
    if (pattern !== undefined && (where === undefined || !pattern.test(path.relative(root, where))))
      return false;
    if (at.kind !== undefined && (args[1] as Uint8Array | undefined)?.[12] !== at.kind) return false;
    if (at.generation !== undefined) {
      const head = Buffer.from((args[1] as Uint8Array[] | undefined)?.[0] ?? []);
      if (head.length < 16 || head.toString('ascii', 0, 8) !== 'DCLOG001') return false;
      if (head.readUInt32LE(8) < at.generation) return false;
    }
    seen++;
    return seen === (at.nth ?? 1);
  };
  const die = (): never => {
    process.kill(process.pid, 'SIGKILL');
    throw new Error('unreachable');
  };
  const track = (name: string, args: unknown[], result: unknown) => {
    if (name.startsWith('open') && typeof result === 'number') fds.set(result, String(args[0]));
  };
  const sync = Object.fromEntries(
    Object.entries(nodeFileSystem.sync).map(([name, fn]) => [
      name,
      (...args: unknown[]) => {
        const hit = matches(name, args);
        if (hit && at.when === 'before') die();
        const result = (fn as (...a: unknown[]) => unknown)(...args);
        track(name, args, result);
        if (hit) die();
        return result;
      },
    ]),
  ) as unknown as SyncFileSystem;
  const async = Object.fromEntries(
    Object.entries(nodeFileSystem.async).map(([name, fn]) => [
      name,
      async (...args: unknown[]) => {
        const hit = matches(name, args);
        if (hit && at.when === 'before') die();
        const result = await (fn as (...a: unknown[]) => Promise<unknown>)(...args);
        track(name, args, result);
        if (hit) die();
        return result;
      },
    ]),
  ) as unknown as AsyncFileSystem;
  return { sync, async };
}

const args = JSON.parse(json) as Record<string, unknown>;
const dir = args.dir as string;
const killAt = args.killAt as KillAt | undefined;
const open = () => new Cache(dir, { fileSystem: killingFileSystem(dir, killAt), timeout: 20_000 });

switch (command) {
  // appender {dir, id, rounds, counter, adds, own, hot, seed}: per round, concurrently (async) or
  // one after another (sync): incr(counter), add(adds[round]) if there is one, set(own key) to
  // "<id>:<round>", set(hot key) to 1 KiB (dead bytes: compactions). Prints
  // { returned: [what each incr returned], wins: [rounds whose add won], own: { key: last value } }.
  case 'appender': {
    const id = args.id as number;
    const rounds = args.rounds as number;
    const counter = args.counter as string;
    const adds = args.adds as string[];
    const own = args.own as string[];
    const hot = args.hot as string[];
    const random = new Random(args.seed as number);
    const cache = open();
    await ready();
    const returned: number[] = [];
    const wins: number[] = [];
    const last: Record<string, string> = {};
    for (let round = 0; round < rounds; round++) {
      const ownKey = own[round % own.length] as string;
      const hotKey = hot[round % hot.length] as string;
      const filler = Buffer.alloc(1024, (id * 31 + round) & 0xff);
      const addKey = adds[round];
      last[ownKey] = `${id}:${round}`;
      if (random.next() < 0.5) {
        returned.push(Number(cache.incrSync(counter)));
        if (addKey !== undefined && cache.addSync(addKey, `child-${id}`)) wins.push(round);
        cache.setSync(ownKey, `${id}:${round}`);
        cache.setSync(hotKey, filler);
      } else {
        await Promise.all([
          cache.incr(counter).then((n) => returned.push(Number(n))),
          addKey === undefined
            ? undefined
            : cache.add(addKey, `child-${id}`).then((won) => {
                if (won) wins.push(round);
              }),
          cache.set(ownKey, `${id}:${round}`),
          cache.set(hotKey, filler),
        ]);
      }
    }
    await cache.close();
    say({ returned, wins, own: last });
    break;
  }

  // acker {dir, id, keys, counter, seq, seed, size, killAt?}: until killed (or 20 s): set a key of
  // `keys` to a self-checking value of about `size` bytes (sequence numbers from `seq` on), delete
  // one, or incr(counter); sync or async at random. Prints "go" once open, then before each
  // operation { b: [op, key, seq] } and after it { a: [op, key, seq or the incr's result] }.
  case 'acker': {
    const id = args.id as number;
    const keys = args.keys as string[];
    const counter = args.counter as string;
    const size = args.size as number;
    const random = new Random(args.seed as number);
    let seq = args.seq as number;
    const cache = open();
    say('go');
    const stopAt = Date.now() + 20_000;
    while (Date.now() < stopAt) {
      const roll = random.next();
      const sync = random.next() < 0.5;
      const key = random.pick(keys);
      seq++;
      if (roll < 0.75) {
        const value = checkedValue(
          key,
          id,
          seq,
          random.bytes(random.between(size / 2, size)),
          random.next() < 0.3,
        );
        say({ b: ['set', key, seq] });
        if (sync) cache.setSync(key, value);
        else await cache.set(key, value);
        say({ a: ['set', key, seq] });
      } else if (roll < 0.85) {
        say({ b: ['delete', key, seq] });
        if (sync) cache.deleteSync(key);
        else await cache.delete(key);
        say({ a: ['delete', key, seq] });
      } else {
        say({ b: ['incr', counter, seq] });
        const n = sync ? cache.incrSync(counter) : await cache.incr(counter);
        say({ a: ['incr', counter, Number(n)] });
      }
    }
    say('timeout');
    break;
  }

  // tx {dir, id, keys, from, seed, killAt?}: until killed (or 20 s): transactions n = from+1, … that
  // set every key of `keys` to a self-checking value of sequence n (now and then one above 32 KiB:
  // a blob), sync or async at random. Prints "go" once open, { b: n } before each, { a: n } after.
  case 'tx': {
    const id = args.id as number;
    const keys = args.keys as string[];
    const random = new Random(args.seed as number);
    let n = args.from as number;
    const cache = open();
    say('go');
    const stopAt = Date.now() + 20_000;
    while (Date.now() < stopAt) {
      n++;
      const values = keys.map((key) =>
        checkedValue(key, id, n, random.bytes(random.next() < 0.1 ? 40_000 : random.int(600)), false),
      );
      say({ b: n });
      if (random.next() < 0.5) {
        cache.transactSync((tx) => {
          for (const [i, key] of keys.entries()) tx.setSync(key, values[i]);
        });
      } else {
        await cache.transact(async (tx) => {
          for (const [i, key] of keys.entries()) await tx.set(key, values[i]);
        });
      }
      say({ a: n });
    }
    say('timeout');
    break;
  }

  // transact-once {dir, id, set: {key: value}, delete: [key], killAt?}: one transaction; prints "done".
  case 'transact-once': {
    const cache = open();
    const sets = args.set as Record<string, string>;
    cache.transactSync((tx) => {
      for (const [key, value] of Object.entries(sets)) tx.setSync(key, value);
      for (const key of args.delete as string[]) tx.deleteSync(key);
    });
    say('done');
    cache.closeSync();
    break;
  }

  // overwrite {dir, key, ms, size}: sets key to self-checking values of `size` bytes, for ms; prints { writes }.
  // reread {dir, key, ms}: gets key for ms; prints { reads, misses, bad: [first problems] }.
  case 'overwrite':
  case 'reread': {
    const key = args.key as string;
    const ms = args.ms as number;
    const cache = open();
    await ready();
    const deadline = Date.now() + ms;
    let count = 0;
    let misses = 0;
    const bad: string[] = [];
    const random = new Random(7);
    while (Date.now() < deadline) {
      count++;
      const sync = count % 2 === 0;
      if (command === 'overwrite') {
        const value = checkedValue(key, 1, count, random.bytes(args.size as number), false);
        if (sync) cache.setSync(key, value);
        else await cache.set(key, value);
      } else {
        const value = sync ? cache.getSync(key) : await cache.get(key);
        if (value === undefined) misses++;
        else {
          const problem = checkValue(key, value);
          if (problem !== undefined && bad.length < 10) bad.push(problem);
        }
      }
    }
    await cache.close();
    say(command === 'overwrite' ? { writes: count } : { reads: count, misses, bad });
    break;
  }

  default:
    throw new Error(`log-worker: unknown command "${command}"`);
}
