/**
 * The child process of the network-filesystem suite: `node --import tsx child.ts <command> <dir> …`.
 * Each child opens the cache at `<dir>`, which is one of two mounts of one export (two "hosts").
 * It prints one JSON line per message; racing commands print "ready" and wait for a line on stdin.
 * Every command stops by itself after its own time limit, so that none can outlive a lost parent.
 */
import * as fs from 'node:fs';
import { createInterface } from 'node:readline';
import { Cache } from '../../src/index.js';
import { type CrashOp, crashValue, now, sealed, unseal } from './plan.js';

const [command = '', dir = '', ...args] = process.argv.slice(2);
const arg = (i: number) => {
  const value = args[i];
  if (value === undefined) throw new Error(`netfs child ${command}: argument ${i + 2} is missing`);
  return value;
};
const say = (message: unknown) => process.stdout.write(`${JSON.stringify(message)}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function ready(): Promise<void> {
  say('ready');
  const lines = createInterface({ input: process.stdin });
  for await (const _ of lines) break;
  lines.close();
}

/** A small seeded generator (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const cache = new Cache(dir, { timeout: 30_000 });

switch (command) {
  // incr <dir> <id> <n>: n increments of "counter", sync and async alternately; prints { returned }.
  case 'incr': {
    const id = Number(arg(0));
    const n = Number(arg(1));
    await ready();
    const returned: number[] = [];
    for (let i = 0; i < n; i++) {
      const sync = (i + id) % 2 === 0;
      returned.push(Number(sync ? cache.incrSync('counter') : await cache.incr('counter')));
    }
    say({ returned });
    break;
  }

  // set <dir> <key> <size> <fill>: sets key to <size> bytes of <fill> and exits.
  case 'set':
    cache.setSync(arg(0), Buffer.alloc(Number(arg(1)), Number(arg(2))));
    say('set');
    break;

  // add <dir> <id> <n>: add("add-<i>", "child-<id>") for each i; prints { wins }.
  case 'add': {
    const id = Number(arg(0));
    const n = Number(arg(1));
    await ready();
    const wins: number[] = [];
    for (let i = 0; i < n; i++) {
      const key = `add-${i}`;
      if (i % 2 === id % 2 ? cache.addSync(key, `child-${id}`) : await cache.add(key, `child-${id}`))
        wins.push(i);
    }
    say({ wins });
    break;
  }

  // pop <dir> <n> <seed>: pop("item-<i>") for each i in a random order; prints { got: [[i, value]…] }.
  case 'pop': {
    const n = Number(arg(0));
    const next = random(Number(arg(1)));
    const order = Array.from({ length: n }, (_, i) => i).sort(() => next() - 0.5);
    await ready();
    const got: [number, unknown][] = [];
    for (const i of order) {
      const value = next() < 0.5 ? cache.popSync(`item-${i}`) : await cache.pop(`item-${i}`);
      if (value !== undefined) got.push([i, value]);
    }
    say({ got });
    break;
  }

  // produce <dir> <id> <n>: pushes { p: id, s } on queue "q" for s = 0…n-1, then incr("producers-done").
  case 'produce': {
    const id = Number(arg(0));
    const n = Number(arg(1));
    await ready();
    for (let s = 0; s < n; s++) {
      if (s % 2 === 0) cache.pushSync({ p: id, s }, { prefix: 'q' });
      else await cache.push({ p: id, s }, { prefix: 'q' });
    }
    await cache.incr('producers-done');
    say({ pushed: n });
    break;
  }

  // consume <dir> <id> <producers> <ms>: pulls from "q" until every producer is done and the queue is
  // empty (or <ms> passed); prints { got: [[key, p, s]…], finished }.
  case 'consume': {
    const id = Number(arg(0));
    const producers = Number(arg(1));
    const deadline = now() + Number(arg(2));
    await ready();
    const got: [string, number, number][] = [];
    let finished = false;
    for (let i = 0; now() < deadline; i++) {
      const done = cache.getSync('producers-done') === producers;
      const item = (i + id) % 2 === 0 ? cache.pullSync({ prefix: 'q' }) : await cache.pull({ prefix: 'q' });
      if (item !== undefined) {
        const [key, value] = item as [string, { p: number; s: number }];
        got.push([key, value.p, value.s]);
      } else if (done) {
        finished = true;
        break;
      } else await sleep(2);
    }
    say({ got, finished });
    break;
  }

  // writer <dir> <id> <ms> <keys> <gapMs>: sets sealed values (seq 0, 1, …) on keys k0…, one key per
  // step in turn, then waits <gapMs>; prints { sets: [[key, seq, returnedAt]…], errors }.
  case 'writer': {
    const id = Number(arg(0));
    const deadline = now() + Number(arg(1));
    const keys = Number(arg(2));
    const gap = Number(arg(3));
    await ready();
    const sets: [string, number, number][] = [];
    const errors: Record<string, number> = {};
    for (let seq = 0; now() < deadline; seq++) {
      const key = `k${seq % keys}`;
      const value = sealed(key, id, seq, seq % 5 === 4 ? 80_000 : 300 + (seq % 7) * 500);
      try {
        if (seq % 2 === 0) cache.setSync(key, value);
        else await cache.set(key, value);
        sets.push([key, seq, now()]);
      } catch (error) {
        const code = (error as { code?: string }).code ?? 'throw';
        errors[code] = (errors[code] ?? 0) + 1;
      }
      await sleep(gap);
    }
    say({ sets, errors });
    break;
  }

  // reader <dir> <ms> <keys>: reads k0… in a loop for <ms>, or, once a line `final {"k0": seq, …}`
  // arrives on stdin, until it has read each of those values (the writer's last ones). Prints
  // { seen: [[key, seq, firstSeenAt]…], reads, hits, bad: [torn or foreign values], older: [a key read
  // back at an older seq than seen before], errors, last: { key: seq or "miss", as last read } }.
  case 'reader': {
    const deadline = now() + Number(arg(0));
    const keys = Array.from({ length: Number(arg(1)) }, (_, i) => `k${i}`);
    let final: Record<string, number> | undefined;
    let started: () => void = () => {};
    const go = new Promise<void>((resolve) => {
      started = resolve;
    });
    const lines = createInterface({ input: process.stdin });
    lines.on('line', (line) => {
      if (line.startsWith('final ')) final = JSON.parse(line.slice(6)) as Record<string, number>;
      else started();
    });
    say('ready');
    await go;
    const newest = new Map<string, number>();
    const seen: [string, number, number][] = [];
    const bad: string[] = [];
    const older: string[] = [];
    const errors: Record<string, number> = {};
    const last: Record<string, string> = {};
    let reads = 0;
    let hits = 0;
    const allFinalSeen = () =>
      final !== undefined && Object.entries(final).every(([key, seq]) => (newest.get(key) ?? -1) >= seq);
    while (now() < deadline && !allFinalSeen()) {
      for (const key of keys) {
        reads++;
        let value: unknown;
        try {
          value = reads % 2 === 0 ? cache.getSync(key) : await cache.get(key);
        } catch (error) {
          const code = (error as { code?: string }).code ?? 'throw';
          errors[code] = (errors[code] ?? 0) + 1;
          continue;
        }
        const at = now();
        if (value === undefined) {
          last[key] = 'miss';
          continue;
        }
        hits++;
        const found = unseal(key, value);
        if ('bad' in found) {
          if (bad.length < 20) bad.push(found.bad);
          continue;
        }
        last[key] = String(found.seq);
        const before = newest.get(key) ?? -1;
        if (found.seq > before) {
          newest.set(key, found.seq);
          seen.push([key, found.seq, at]);
        } else if (found.seq < before && older.length < 20)
          older.push(`${key}: seq ${found.seq} after ${before}`);
      }
    }
    lines.close();
    say({ seen, reads, hits, bad, older, errors, last });
    break;
  }

  // crash <dir> <log> <seed> <iteration>: random writes until killed. Before each operation it appends
  // "B <n> <op as JSON>" to <log>, after it "E <n>"; it prints "go" once the cache is open.
  case 'crash': {
    const log = fs.openSync(arg(0), 'a');
    const next = random(Number(arg(1)));
    const iteration = arg(2);
    const pick = <T>(items: readonly T[]) => items[Math.floor(next() * items.length)] as T;
    say('go');
    const stopAt = now() + 20_000;
    for (let n = 0; now() < stopAt; n++) {
      const gen = `${iteration}.${n}`;
      const roll = next();
      const sync = next() < 0.5;
      let op: CrashOp;
      if (roll < 0.4) op = { op: 'set', key: pick(['s0', 's1', 's2', 's3']), gen };
      else if (roll < 0.5) op = { op: 'delete', key: pick(['s0', 's1', 's2', 's3']) };
      else if (roll < 0.75) op = { op: 'incr', key: pick(['c0', 'c1']), delta: pick([1, 2, -1]) };
      else op = { op: 'tx', i: pick([0, 1]), gen: next() < 0.8 ? gen : null };
      fs.writeSync(log, `B ${n} ${JSON.stringify(op)}\n`);
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
          if (sync) cache.incrSync(op.key, op.delta);
          else await cache.incr(op.key, op.delta);
          break;
        case 'tx': {
          const { i, gen: g } = op;
          if (sync) {
            cache.transactSync((tx) => {
              for (const key of [`a${i}`, `b${i}`]) {
                if (g === null) tx.deleteSync(key);
                else tx.setSync(key, crashValue(key, g));
              }
            });
          } else {
            await cache.transact(async (tx) => {
              for (const key of [`a${i}`, `b${i}`]) {
                if (g === null) await tx.delete(key);
                else await tx.set(key, crashValue(key, g));
              }
            });
          }
          break;
        }
      }
      fs.writeSync(log, `E ${n}\n`);
    }
    say('timeout');
    break;
  }

  default:
    throw new Error(`netfs child: unknown command "${command}"`);
}
await cache.close();
