import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Cache, CacheError, type Key } from '../src/index.js';
import { type ManualClock, manualClock } from './helpers/clock.js';
import { keyId, keyIds } from './helpers/samples.js';
import { makeTempDir, removeDir } from './helpers/tmp.js';

/**
 * Random sequences of operations on the sync surface, checked against a plain Map. Expired entries
 * stay in the model until `expire()` or `clear()` removes them (`cullLimit: 0`, so writes never
 * remove anything), which bounds `count()`: at least the live entries, at most all the model holds.
 */

/** A small pool of keys of mixed types, all distinct (`1`, `1n`, `'1'`, bytes `'1'`, …). */
const KEYS: Key[] = [
  1,
  1n,
  '1',
  Buffer.from('1'),
  'a',
  new Uint8Array([0x61]),
  0,
  '',
  Buffer.alloc(0),
  2n ** 70n,
];
const DEFAULT = Symbol('default');

interface Slot {
  value: unknown;
  expiresAt: number | null;
  /** An expired entry that delete or pop touched: it may or may not still be on disk. */
  uncertain: boolean;
}

interface Model {
  now: number;
  slots: Map<string, Slot>;
}

interface Real {
  dir: string;
  clock: ManualClock;
  cache: Cache;
}

const isLive = (m: Model, slot: Slot | undefined): boolean =>
  slot !== undefined && (slot.expiresAt === null || slot.expiresAt > m.now);
const live = (m: Model, key: Key): Slot | undefined => {
  const slot = m.slots.get(keyId(key));
  return isLive(m, slot) ? slot : undefined;
};
const ghosts = (m: Model) => [...m.slots.values()].filter((s) => !isLive(m, s));
const liveCount = (m: Model) => m.slots.size - ghosts(m).length;
/** ttl 0 and null never expire. */
const expiry = (m: Model, ttl: number | null) => (ttl === null || ttl === 0 ? null : m.now + ttl);

/** Marks an expired entry touched by delete or pop as possibly gone. */
function touchGhost(m: Model, key: Key): void {
  const slot = m.slots.get(keyId(key));
  if (slot !== undefined && !isLive(m, slot)) slot.uncertain = true;
}

function expectCode(call: () => unknown, code: string): void {
  let error: unknown;
  try {
    call();
  } catch (caught) {
    error = caught;
  }
  expect(error).toBeInstanceOf(CacheError);
  expect((error as CacheError).code).toBe(code);
}

type Command = fc.Command<Model, Real>;

const key = fc.integer({ min: 0, max: KEYS.length - 1 }).map((i) => KEYS[i] as Key);
const value = fc.oneof(
  fc.integer({ min: -1000, max: 1000 }),
  fc.bigInt({ min: -100n, max: 100n }),
  fc.string({ maxLength: 8 }),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.uint8Array({ maxLength: 4 }).map((b) => Buffer.from(b)),
);
// Round numbers, so that the clock often lands exactly on an expiry time.
const ttl = fc.option(fc.oneof(fc.constantFrom(0, 1, 5, 10, 20), fc.integer({ min: 0, max: 50 })), {
  nil: null,
  freq: 2,
});

class SetCommand implements Command {
  constructor(
    readonly key: Key,
    readonly value: unknown,
    readonly ttl: number | null,
  ) {}
  check = () => true;
  run(m: Model, r: Real): void {
    expect(r.cache.setSync(this.key, this.value, { ttl: this.ttl })).toBe(true);
    m.slots.set(keyId(this.key), { value: this.value, expiresAt: expiry(m, this.ttl), uncertain: false });
  }
  toString = () => `set(${keyId(this.key)}, ${fc.stringify(this.value)}, ttl ${this.ttl})`;
}

class AddCommand implements Command {
  constructor(
    readonly key: Key,
    readonly value: unknown,
    readonly ttl: number | null,
  ) {}
  check = () => true;
  run(m: Model, r: Real): void {
    const expected = live(m, this.key) === undefined;
    expect(r.cache.addSync(this.key, this.value, { ttl: this.ttl })).toBe(expected);
    if (expected) {
      m.slots.set(keyId(this.key), { value: this.value, expiresAt: expiry(m, this.ttl), uncertain: false });
    }
  }
  toString = () => `add(${keyId(this.key)}, ${fc.stringify(this.value)}, ttl ${this.ttl})`;
}

class SetManyCommand implements Command {
  constructor(
    readonly entries: readonly (readonly [Key, unknown, number | null])[],
    readonly ttl: number | null,
  ) {}
  check = () => true;
  run(m: Model, r: Real): void {
    const given = this.entries.map(([key, value, own], i) =>
      i % 2 === 0 ? ([key, value] as const) : { key, value, ttl: own },
    );
    expect(r.cache.setManySync(given, { ttl: this.ttl })).toBe(true);
    this.entries.forEach(([key, value, own], i) => {
      const expiresAt = expiry(m, i % 2 === 0 ? this.ttl : own);
      m.slots.set(keyId(key), { value, expiresAt, uncertain: false });
    });
  }
  toString = () =>
    `setMany(${fc.stringify(this.entries.map(([k, v, t]) => [keyId(k), v, t]))}, ttl ${this.ttl})`;
}

class GetManyCommand implements Command {
  constructor(readonly keys: readonly Key[]) {}
  check = () => true;
  run(m: Model, r: Real): void {
    expect(r.cache.getManySync(this.keys)).toStrictEqual(this.keys.map((k) => live(m, k)?.value));
  }
  toString = () => `getMany(${this.keys.map(keyId).join(', ')})`;
}

class DeleteManyCommand implements Command {
  constructor(readonly keys: readonly Key[]) {}
  check = () => true;
  run(m: Model, r: Real): void {
    const expected = this.keys.map((k) => {
      const found = live(m, k) !== undefined;
      if (found) m.slots.delete(keyId(k));
      else touchGhost(m, k);
      return found;
    });
    expect(r.cache.deleteManySync(this.keys)).toEqual(expected);
  }
  toString = () => `deleteMany(${this.keys.map(keyId).join(', ')})`;
}

class GetCommand implements Command {
  constructor(readonly key: Key) {}
  check = () => true;
  run(m: Model, r: Real): void {
    const slot = live(m, this.key);
    expect(r.cache.getSync(this.key, DEFAULT)).toStrictEqual(slot === undefined ? DEFAULT : slot.value);
  }
  toString = () => `get(${keyId(this.key)})`;
}

class HasCommand implements Command {
  constructor(readonly key: Key) {}
  check = () => true;
  run(m: Model, r: Real): void {
    expect(r.cache.hasSync(this.key)).toBe(live(m, this.key) !== undefined);
  }
  toString = () => `has(${keyId(this.key)})`;
}

class DeleteCommand implements Command {
  constructor(readonly key: Key) {}
  check = () => true;
  run(m: Model, r: Real): void {
    const slot = live(m, this.key);
    expect(r.cache.deleteSync(this.key)).toBe(slot !== undefined);
    if (slot !== undefined) m.slots.delete(keyId(this.key));
    else touchGhost(m, this.key);
  }
  toString = () => `delete(${keyId(this.key)})`;
}

class PopCommand implements Command {
  constructor(readonly key: Key) {}
  check = () => true;
  run(m: Model, r: Real): void {
    const slot = live(m, this.key);
    expect(r.cache.popSync(this.key, DEFAULT)).toStrictEqual(slot === undefined ? DEFAULT : slot.value);
    if (slot !== undefined) m.slots.delete(keyId(this.key));
    else touchGhost(m, this.key);
  }
  toString = () => `pop(${keyId(this.key)})`;
}

class IncrCommand implements Command {
  constructor(
    readonly key: Key,
    readonly delta: number,
    readonly strict: boolean,
  ) {}
  check = () => true;
  run(m: Model, r: Real): void {
    const slot = live(m, this.key);
    const call = () => r.cache.incrSync(this.key, this.delta, this.strict ? null : 0);
    if (slot === undefined) {
      if (this.strict) {
        expectCode(call, 'EKEYMISSING');
        return;
      }
      expect(call()).toBe(this.delta);
      m.slots.set(keyId(this.key), { value: this.delta, expiresAt: null, uncertain: false });
      return;
    }
    const current = slot.value;
    if (typeof current !== 'number' && typeof current !== 'bigint') {
      expectCode(call, 'ENOTNUMBER');
      return;
    }
    const next = typeof current === 'bigint' ? current + BigInt(this.delta) : current + this.delta;
    expect(call()).toBe(next);
    slot.value = next;
  }
  toString = () => `incr(${keyId(this.key)}, ${this.delta}${this.strict ? ', null' : ''})`;
}

class TouchCommand implements Command {
  constructor(
    readonly key: Key,
    readonly ttl: number | null,
  ) {}
  check = () => true;
  run(m: Model, r: Real): void {
    const slot = live(m, this.key);
    expect(r.cache.touchSync(this.key, { ttl: this.ttl })).toBe(slot !== undefined);
    if (slot !== undefined) slot.expiresAt = expiry(m, this.ttl);
  }
  toString = () => `touch(${keyId(this.key)}, ttl ${this.ttl})`;
}

class CountCommand implements Command {
  check = () => true;
  run(m: Model, r: Real): void {
    const count = r.cache.countSync();
    expect(count).toBeGreaterThanOrEqual(liveCount(m));
    expect(count).toBeLessThanOrEqual(m.slots.size);
  }
  toString = () => 'count()';
}

class KeysCommand implements Command {
  check = () => true;
  run(m: Model, r: Real): void {
    const expected = [...m.slots.entries()].filter(([, s]) => isLive(m, s)).map(([id]) => id);
    expect(keyIds(r.cache.keysSync())).toEqual(expected.sort());
  }
  toString = () => 'keys()';
}

class ClearCommand implements Command {
  check = () => true;
  run(m: Model, r: Real): void {
    const certain = ghosts(m).filter((s) => !s.uncertain).length;
    const removed = r.cache.clearSync();
    expect(removed).toBeGreaterThanOrEqual(liveCount(m) + certain);
    expect(removed).toBeLessThanOrEqual(m.slots.size);
    m.slots.clear();
    expect(r.cache.countSync()).toBe(0);
  }
  toString = () => 'clear()';
}

class ExpireCommand implements Command {
  check = () => true;
  run(m: Model, r: Real): void {
    const expired = ghosts(m);
    const removed = r.cache.expireSync();
    expect(removed).toBeGreaterThanOrEqual(expired.filter((s) => !s.uncertain).length);
    expect(removed).toBeLessThanOrEqual(expired.length);
    for (const [id, slot] of [...m.slots]) if (!isLive(m, slot)) m.slots.delete(id);
    expect(r.cache.countSync()).toBe(m.slots.size);
  }
  toString = () => 'expire()';
}

class TickCommand implements Command {
  constructor(readonly ms: number) {}
  check = () => true;
  run(m: Model, r: Real): void {
    m.now += this.ms;
    r.clock.advance(this.ms);
  }
  toString = () => `tick(${this.ms})`;
}

class ReopenCommand implements Command {
  check = () => true;
  run(_m: Model, r: Real): void {
    r.cache.closeSync();
    r.cache = new Cache(r.dir, { clock: r.clock });
  }
  toString = () => 'reopen()';
}

const commands = [
  fc.tuple(key, value, ttl).map(([k, v, t]) => new SetCommand(k, v, t)),
  fc.tuple(key, value, ttl).map(([k, v, t]) => new AddCommand(k, v, t)),
  fc
    .tuple(fc.array(fc.tuple(key, value, ttl), { maxLength: 6 }), ttl)
    .map(([entries, t]) => new SetManyCommand(entries, t)),
  fc.array(key, { maxLength: 6 }).map((keys) => new GetManyCommand(keys)),
  fc.array(key, { maxLength: 6 }).map((keys) => new DeleteManyCommand(keys)),
  key.map((k) => new GetCommand(k)),
  key.map((k) => new HasCommand(k)),
  key.map((k) => new DeleteCommand(k)),
  key.map((k) => new PopCommand(k)),
  fc.tuple(key, fc.integer({ min: -5, max: 5 }), fc.boolean()).map(([k, d, s]) => new IncrCommand(k, d, s)),
  fc.tuple(key, ttl).map(([k, t]) => new TouchCommand(k, t)),
  fc.constant(new CountCommand()),
  fc.constant(new KeysCommand()),
  fc.constant(new ExpireCommand()),
  fc.constantFrom(1, 5, 10, 20).map((ms) => new TickCommand(ms)),
  fc.constant(new ClearCommand()),
  fc.constant(new ReopenCommand()),
];

describe('Cache against a Map model (sync surface)', () => {
  it('agrees on random operation sequences', () => {
    fc.assert(
      fc.property(fc.commands(commands, { maxCommands: 60 }), (cmds) => {
        const dir = makeTempDir();
        const clock = manualClock();
        const real: Real = { dir, clock, cache: new Cache(dir, { clock, cullLimit: 0 }) };
        try {
          fc.modelRun(() => ({ model: { now: clock.now(), slots: new Map() }, real }), cmds);
          expect(real.cache.checkSync()).toEqual({ problems: [], fixed: 0 });
        } finally {
          real.cache.closeSync();
          removeDir(dir);
        }
      }),
      { numRuns: 80, seed: Number(process.env.FC_SEED ?? 20240601) },
    );
  });
});
