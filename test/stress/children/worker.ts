/**
 * The child process of the stress suite: `node --import tsx worker.ts <command> <args…>`.
 * It uses the cache only through its public API. It prints one JSON line per message on stdout;
 * racing commands print "ready" and wait for a line on stdin before they start, so that all children
 * really run at the same time. See each command below for its arguments and its final message.
 */
import * as fs from 'node:fs';
import { createInterface } from 'node:readline';
import { Cache } from '../../../src/index.js';
import { type FileSystem, nodeFileSystem } from '../../../src/internal.js';
import { plantKeyLock } from '../../helpers/stored.js';
import { keyHash } from '../helpers/layout.js';
import { CRASH_KEYS, type CrashOp, mixedDelta } from '../helpers/plans.js';
import { Random } from '../helpers/random.js';
import { checkedValue, checkValue, crashValue } from '../helpers/values.js';

const [command = '', ...args] = process.argv.slice(2);

function say(message: unknown): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

async function ready(): Promise<void> {
  say('ready');
  const lines = createInterface({ input: process.stdin });
  for await (const _ of lines) break;
  lines.close();
}

/** Blocks the whole process (no event loop turns) until it is killed. */
function blockForever(): never {
  const cell = new Int32Array(new SharedArrayBuffer(4));
  for (;;) Atomics.wait(cell, 0, 0, 60_000);
}

const arg = (i: number) => {
  const value = args[i];
  if (value === undefined) throw new Error(`worker ${command}: argument ${i + 1} is missing`);
  return value;
};

switch (command) {
  // incr <dir> <id> <n> <incr|mixed>: n increments of "counter" (mixed: +3/+1/-2 through incr and decr).
  // Prints { sum, returned } where returned lists what each incr returned.
  case 'incr': {
    const cache = new Cache(arg(0));
    const id = Number(arg(1));
    const n = Number(arg(2));
    const mixed = arg(3) === 'mixed';
    await ready();
    let sum = 0;
    const returned: number[] = [];
    for (let i = 0; i < n; i++) {
      const delta = mixed ? mixedDelta(id, i) : 1;
      const sync = (i + id) % 2 === 0;
      let got: number | bigint;
      if (delta >= 0) got = sync ? cache.incrSync('counter', delta) : await cache.incr('counter', delta);
      else got = sync ? cache.decrSync('counter', -delta) : await cache.decr('counter', -delta);
      returned.push(Number(got));
      sum += delta;
    }
    await cache.close();
    say({ sum, returned });
    break;
  }

  // add <dir> <id> <n>: add("add-<i>", "child-<id>") for every i; prints { wins: [i…] }.
  case 'add': {
    const cache = new Cache(arg(0));
    const id = Number(arg(1));
    const n = Number(arg(2));
    await ready();
    const wins: number[] = [];
    for (let i = 0; i < n; i++) {
      const key = `add-${i}`;
      const won = i % 2 === id % 2 ? cache.addSync(key, `child-${id}`) : await cache.add(key, `child-${id}`);
      if (won) wins.push(i);
    }
    await cache.close();
    say({ wins });
    break;
  }

  // pop <dir> <n> <seed>: pop("item-<i>") for every i in a random order; prints { got: [[i, value]…] }.
  case 'pop': {
    const cache = new Cache(arg(0));
    const n = Number(arg(1));
    const random = new Random(Number(arg(2)));
    await ready();
    const got: [number, unknown][] = [];
    for (const i of random.shuffled(n)) {
      const value = random.next() < 0.5 ? cache.popSync(`item-${i}`) : await cache.pop(`item-${i}`);
      if (value !== undefined) got.push([i, value]);
    }
    await cache.close();
    say({ got });
    break;
  }

  // produce <dir> <id> <n>: pushes { p: id, s: 0…n-1 } on queue "q", then increments "producers-done".
  case 'produce': {
    const cache = new Cache(arg(0));
    const id = Number(arg(1));
    const n = Number(arg(2));
    await ready();
    for (let s = 0; s < n; s++) {
      if (s % 2 === 0) cache.pushSync({ p: id, s }, { prefix: 'q' });
      else await cache.push({ p: id, s }, { prefix: 'q' });
    }
    await cache.incr('producers-done');
    await cache.close();
    say({ pushed: n });
    break;
  }

  // consume <dir> <id> <producers>: pulls from queue "q" until every producer is done and the queue
  // is empty; prints { got: [[key, p, s]…] } in the order pulled.
  case 'consume': {
    const cache = new Cache(arg(0));
    const id = Number(arg(1));
    const producers = Number(arg(2));
    await ready();
    const got: [string, number, number][] = [];
    for (let i = 0; ; i++) {
      // Read before pulling: if every producer had finished then, an empty queue stays empty.
      const finished = cache.getSync('producers-done') === producers;
      const item = (i + id) % 2 === 0 ? cache.pullSync({ prefix: 'q' }) : await cache.pull({ prefix: 'q' });
      if (item !== undefined) {
        const [key, value] = item as [string, { p: number; s: number }];
        got.push([key, value.p, value.s]);
      } else if (finished) break;
      else await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await cache.close();
    say({ got });
    break;
  }

  // write <dir> <id> <ms> <seed> <keys>: sets, deletes, pops and reads self-checking values for <ms>.
  // read <dir> <id> <ms> <seed> <keys>: reads them (get, getEntry, has, entries) for <ms>.
  // Both print { ops, hits, bad: [first problems] }.
  case 'write':
  case 'read': {
    const cache = new Cache(arg(0));
    const id = Number(arg(1));
    const ms = Number(arg(2));
    const random = new Random(Number(arg(3)));
    // Keys shared by every process, or (with a fifth argument 'own') this process's own.
    const prefix = args[5] === 'own' ? `t${id}-` : 't';
    const keys = Array.from({ length: Number(arg(4)) }, (_, i) => `${prefix}${i}`);
    const bad: string[] = [];
    let ops = 0;
    let hits = 0;
    const verify = (key: string, value: unknown, how: string) => {
      if (value === undefined) return;
      hits++;
      const problem = checkValue(key, value);
      if (problem !== undefined && bad.length < 20) bad.push(`${how}: ${problem}`);
    };
    await ready();
    const deadline = Date.now() + ms;
    let seq = 0;
    while (Date.now() < deadline) {
      ops++;
      const key = random.pick(keys);
      const sync = random.next() < 0.5;
      const roll = random.next();
      if (command === 'write' && roll < 0.65) {
        const r = random.next();
        const size =
          r < 0.6
            ? random.int(300)
            : r < 0.9
              ? random.between(1_000, 30_000)
              : random.between(66_000, 200_000);
        const value = checkedValue(key, id, seq++, random.bytes(size), random.next() < 0.3);
        if (sync) cache.setSync(key, value);
        else await cache.set(key, value);
      } else if (command === 'write' && roll < 0.75) {
        if (sync) cache.deleteSync(key);
        else await cache.delete(key);
      } else if (command === 'write' && roll < 0.8) {
        verify(key, sync ? cache.popSync(key) : await cache.pop(key), 'pop');
      } else if (roll < 0.85) {
        const entry = sync ? cache.getEntrySync(key) : await cache.getEntry(key);
        if (entry !== undefined && entry.key !== key && bad.length < 20)
          bad.push(`getEntry: key ${String(entry.key)} for ${key}`);
        verify(key, entry?.value, 'getEntry');
      } else if (roll < 0.995 || command === 'write') {
        verify(key, sync ? cache.getSync(key) : await cache.get(key), 'get');
        if (sync) cache.hasSync(key);
      } else {
        for (const [k, value] of cache.entriesSync()) verify(String(k), value, 'entries');
      }
    }
    await cache.close();
    say({ ops, hits, bad });
    break;
  }

  // crash <dir> <log> <seed> <iteration>: random writes until killed. Before each operation it appends
  // "B <n> <op as JSON>" to <log>, after it "E <n>"; it prints "go" once the cache is open.
  case 'crash': {
    const cache = new Cache(arg(0), { timeout: 15_000 }); // as the parent's, so that no open rewrites the settings
    const log = fs.openSync(arg(1), 'a');
    const random = new Random(Number(arg(2)));
    const iteration = arg(3);
    const note = (line: string) => fs.writeSync(log, `${line}\n`);
    say('go');
    const stopAt = Date.now() + 10_000; // never outlive a parent that forgot us
    for (let n = 0; Date.now() < stopAt; n++) {
      const gen = `${iteration}.${n}`;
      const roll = random.next();
      const sync = random.next() < 0.6;
      let op: CrashOp;
      if (roll < 0.35) op = { op: 'set', key: random.pick(CRASH_KEYS.single), gen };
      else if (roll < 0.45) op = { op: 'delete', key: random.pick(CRASH_KEYS.single) };
      else if (roll < 0.7)
        op = { op: 'incr', key: random.pick(CRASH_KEYS.counters), delta: random.pick([1, 2, 5, -1, -3]) };
      else {
        const first = random.int(CRASH_KEYS.pairs);
        const second = random.int(CRASH_KEYS.pairs);
        const pairs = [...new Set([first, second])].map((i) => ({
          i,
          gen: random.next() < 0.8 ? `${gen}.${i}` : null,
        }));
        op = { op: 'tx', pairs };
      }
      note(`B ${n} ${JSON.stringify(op)}`);
      switch (op.op) {
        case 'set':
          if (sync) cache.setSync(op.key, crashValue(op.key, op.gen));
          else await cache.set(op.key, crashValue(op.key, op.gen));
          break;
        case 'delete':
          if (sync) cache.deleteSync(op.key);
          else await cache.delete(op.key);
          break;
        case 'incr':
          if (op.delta < 0) {
            if (sync) cache.decrSync(op.key, -op.delta);
            else await cache.decr(op.key, -op.delta);
          } else if (sync) cache.incrSync(op.key, op.delta);
          else await cache.incr(op.key, op.delta);
          break;
        case 'tx': {
          const pairs = op.pairs;
          if (sync) {
            cache.transactSync((tx) => {
              for (const { i, gen: g } of pairs) {
                for (const key of [`a${i}`, `b${i}`]) {
                  if (g === null) tx.deleteSync(key);
                  else tx.setSync(key, crashValue(key, g));
                }
              }
              tx.incrSync(CRASH_KEYS.transactions);
            });
          } else {
            await cache.transact(async (tx) => {
              for (const { i, gen: g } of pairs) {
                for (const key of [`a${i}`, `b${i}`]) {
                  if (g === null) await tx.delete(key);
                  else await tx.set(key, crashValue(key, g));
                }
              }
              await tx.incr(CRASH_KEYS.transactions);
            });
          }
          break;
        }
      }
      note(`E ${n}`);
    }
    say('timeout');
    break;
  }

  // hold-key-lock <dir> <key>: incr(key), stopping for good inside it, after the key's lock is taken:
  // at the first write of the new entry (files: its temp file, the first write of incr that is
  // neither the lock's owner record nor a new bucket file; log: the append of its put or blob
  // record). Prints "holding" then. Its timeout is 60 s.
  case 'hold-key-lock': {
    let armed = false;
    const writesEntry = (chunks: readonly Uint8Array[], path: string) =>
      armed &&
      !path.endsWith('/owner') &&
      Buffer.from(chunks[0] ?? []).toString('ascii', 0, 8) !== 'DCLOG001';
    // A log record: magic "DCLG", kind at byte 12 (1 put, 3 blob).
    const appendsEntry = (data: Uint8Array) =>
      armed && Buffer.from(data).toString('ascii', 0, 4) === 'DCLG' && (data[12] === 1 || data[12] === 3);
    const blocking: FileSystem = {
      async: nodeFileSystem.async,
      sync: {
        ...nodeFileSystem.sync,
        writeFile(path, chunks, options) {
          if (writesEntry(chunks, path)) {
            say('holding');
            blockForever();
          }
          nodeFileSystem.sync.writeFile(path, chunks, options);
        },
        append(fd, data) {
          if (appendsEntry(data)) {
            say('holding');
            blockForever();
          }
          return nodeFileSystem.sync.append(fd, data);
        },
      },
    };
    // Whatever the directory's settings say: a holder's lease, and a waiter's patience, of 60 s.
    const cache = new Cache(arg(0), { fileSystem: blocking, timeout: 60_000 });
    armed = true;
    cache.incrSync(arg(1));
    break;
  }

  // hold-transaction <dir>: stops for good inside transactSync (holding the transaction lock).
  case 'hold-transaction': {
    const cache = new Cache(arg(0));
    cache.transactSync((tx) => {
      tx.setSync('inside', 1);
      say('holding');
      blockForever();
    });
    break;
  }

  // takeover-after-reopen <dir> <dead pid>: uses the cache (a pop, which claims an entry into this
  // process's private directory; and a read of key "n", which makes its bucket file on log), closes
  // it (which removes that directory), plants a lock of a dead process on key "n", reopens the cache
  // and increments "n". Prints { value, ms }.
  case 'takeover-after-reopen': {
    const first = new Cache(arg(0), { timeout: 3_000 });
    first.setSync('k', 1);
    first.popSync('k');
    first.getSync('n');
    first.closeSync();
    plantKeyLock(arg(0), keyHash('n'), { pid: Number(arg(1)) });
    const second = new Cache(arg(0), { timeout: 3_000 });
    const started = Date.now();
    const value = second.incrSync('n');
    say({ value, ms: Date.now() - started });
    second.closeSync();
    break;
  }

  // incr-skewed <dir> <n> <skew ms>: n increments of "counter" (alternating sync and async) on a
  // cache whose clock is off by <skew ms> from every other process's. Prints { returned }.
  case 'incr-skewed': {
    const skew = Number(arg(2));
    const cache = new Cache(arg(0), { clock: { now: () => Date.now() + skew } });
    const n = Number(arg(1));
    await ready();
    const returned: number[] = [];
    for (let i = 0; i < n; i++) {
      returned.push(Number(i % 2 === 0 ? cache.incrSync('counter') : await cache.incr('counter')));
    }
    await cache.close();
    say({ returned });
    break;
  }

  // set-in-order <dir> <n>: sets "k" to 1, 2, … n in order (sync and async in turn); prints "done".
  case 'set-in-order': {
    const cache = new Cache(arg(0));
    const n = Number(arg(1));
    await ready();
    for (let i = 1; i <= n; i++) {
      if (i % 2 === 0) cache.setSync('k', i);
      else await cache.set('k', i);
    }
    await cache.close();
    say('done');
    break;
  }

  // touch-until <dir> <n>: touches "k" (sync and async in turn) until it reads <n>; prints { touches }.
  case 'touch-until': {
    const cache = new Cache(arg(0));
    const n = Number(arg(1));
    await ready();
    let touches = 0;
    while (cache.getSync('k') !== n) {
      if (touches % 2 === 0) cache.touchSync('k', { ttl: 3_600_000 });
      else await cache.touch('k', { ttl: 3_600_000 });
      touches++;
    }
    await cache.close();
    say({ touches });
    break;
  }

  // read-until <dir> <n>: reads "k" until it is <n>; prints { reads, regressions: [[before, after]…] }
  // where a regression is a value older than one read before it.
  case 'read-until': {
    const cache = new Cache(arg(0));
    const n = Number(arg(1));
    await ready();
    let newest = 0;
    let reads = 0;
    const regressions: [number, number][] = [];
    for (;;) {
      const value = cache.getSync('k') as number | undefined;
      reads++;
      if (value === undefined) continue;
      if (value < newest) regressions.push([newest, value]);
      newest = Math.max(newest, value);
      if (value === n) break;
    }
    await cache.close();
    say({ reads, regressions: regressions.slice(0, 20), regressionCount: regressions.length });
    break;
  }

  // idle: prints "idle" and waits to be killed (a live process whose pid a lock file can name).
  case 'idle':
    say('idle');
    setInterval(() => {}, 60_000);
    break;

  // ops <dir> <json>: runs [[method, ...args]…] on a cache with a 3 s lock timeout, sync then async;
  // prints { results: [[ok|error code|thrown class]…] }. For hostile directories that may hang a reader.
  case 'ops': {
    const cache = new Cache(arg(0), { timeout: 3_000 }) as unknown as Record<
      string,
      (...a: unknown[]) => unknown
    >;
    const calls = JSON.parse(arg(1)) as [string, ...unknown[]][];
    const results: string[] = [];
    for (const [method, ...rest] of calls) {
      for (const name of [`${method}Sync`, method]) {
        try {
          const value = await (cache[name] as (...a: unknown[]) => unknown).apply(cache, rest);
          results.push(`${name}: ok ${JSON.stringify(value) ?? 'undefined'}`);
        } catch (error) {
          const e = error as { name?: string; code?: string; message?: string };
          results.push(`${name}: ${e.name} ${e.code ?? ''} ${e.message ?? ''}`);
        }
      }
    }
    say({ results });
    break;
  }

  default:
    throw new Error(`worker: unknown command "${command}"`);
}
