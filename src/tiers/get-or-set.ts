import type { Factory, FactoryContext, GetOrSetOptions } from '../cache/get-or-set.js';
import { planGetOrSet } from '../cache/get-or-set.js';
import { checkTtl } from '../cache/ttl.js';
import type { AnyCache } from '../cache/verbs.js';
import { assertKey, type Key } from '../format/key.js';
import { call, type Op, sleep, twin } from '../fs/runner.js';
import { uniqueToken } from '../identity.js';
import { decodeEnvelope, type Envelope, isExpired, readEnvelope } from './envelope.js';
import { lookup } from './reads.js';
import { noteFailure, type TieredState, tierAt } from './state.js';
import type { Lease } from './tier.js';
import { envelopeOf, store } from './writes.js';

/** One `getOrSet` call: the factory's decisions (`setTtl`, `setTag`, `skip`) and how far it got. */
interface Computation {
  readonly key: Key;
  readonly factory: Factory<unknown>;
  readonly options: GetOrSetOptions;
  ttl: number | null | undefined;
  tag: Key | null;
  skipped: boolean;
  /** The factory was called (so it must not be called again for this call). */
  called: boolean;
  /** What it returned, in the envelope it is stored in, once it has. */
  made: Envelope | undefined;
}

/** How often a caller waiting for another host's lease looks for its result. */
const LEASE_POLL_MS = 25;
/** A lease's length when the call has no hard timeout: how long a computation may hold the key. */
const DEFAULT_LEASE_MS = 60_000;

/**
 * The position of the tier that coordinates `getOrSet`: the last writable tier, if it can (a
 * `Cache`, whose `getOrSet` computes a key once across every process and host that shares its
 * directory, or a Redis store, by a lease on the key); otherwise `undefined`.
 */
function coordinatorOf(s: TieredState): number | undefined {
  if (s.authority < 0) return undefined;
  const { backend } = tierAt(s, s.authority);
  return backend.shared !== undefined || backend.lease !== undefined ? s.authority : undefined;
}

/**
 * Calls the factory with `context` (its stale value unwrapped from its envelope), noting its
 * decisions in `c`; then wraps what it returns in its envelope (kept in `c.made`).
 */
function runFactory(s: TieredState, c: Computation, context: FactoryContext): Envelope | Promise<Envelope> {
  const view: FactoryContext = {
    key: context.key,
    stale: readEnvelope(context.stale)?.value,
    signal: context.signal,
    setTtl(ttl) {
      checkTtl(ttl);
      c.ttl = ttl;
      context.setTtl(ttl);
    },
    setTag(tag) {
      if (tag !== null) assertKey(tag, 'tag');
      c.tag = tag;
      context.setTag(tag);
    },
    skip() {
      c.skipped = true;
      context.skip();
    },
  };
  c.called = true;
  const wrap = (value: unknown) => {
    c.made = envelopeOf(s, c.key, value, c.ttl, c.tag);
    return c.made;
  };
  const result = c.factory(view);
  return result instanceof Promise ? result.then(wrap) : wrap(result);
}

/** Calls the factory here, with the caller's signal (the timeouts belong to a `Cache` coordinator). */
function compute(s: TieredState, c: Computation): Op<Envelope> {
  const context: FactoryContext = {
    key: c.key,
    stale: undefined,
    signal: c.options.signal ?? new AbortController().signal,
    setTtl: () => {},
    setTag: () => {},
    skip: () => {},
  };
  return call(() => runFactory(s, c, context));
}

/** Computes in this process alone, and stores the result in every tier. */
function* computeHere(s: TieredState, c: Computation): Op<unknown> {
  const envelope = yield* compute(s, c);
  if (!c.skipped) yield* store(s, envelope);
  return envelope.value;
}

/**
 * `getOrSet(key, factory, options)` over the tiers: a hit in any tier, else one computation for
 * every host that shares the coordinating tier (see {@link coordinatorOf}), stored in every tier.
 * If that tier fails and says `whenDown: 'skip'`, the call goes on without it: it computes here if
 * the factory was not called yet, and keeps the factory's value if it was.
 */
export function* getOrSet(
  s: TieredState,
  key: Key,
  factory: Factory<unknown>,
  options: GetOrSetOptions | undefined,
  sync: boolean,
): Op<unknown> {
  planGetOrSet(factory, options, sync);
  const found = yield* lookup(s, key);
  if (found !== undefined) return found.envelope.value;
  const given = options ?? {};
  const c: Computation = {
    key,
    factory,
    options: given,
    ttl: given.ttl === undefined ? (s.defaultTtl ?? 0) : given.ttl,
    tag: given.tag ?? null,
    skipped: false,
    called: false,
    made: undefined,
  };
  const at = coordinatorOf(s);
  if (at === undefined) return yield* computeHere(s, c);
  const { backend, whenDown } = tierAt(s, at);
  try {
    // A queued write of the key goes first, so that the coordinating tier holds what this process wrote.
    const queue = s.queues[at];
    if (queue !== undefined) yield* queue.writeNow(key);
    return backend.shared !== undefined
      ? yield* viaCache(s, at, backend.shared, c)
      : yield* viaLease(s, at, backend.lease as Lease, c);
  } catch (error) {
    if (whenDown !== 'skip' || (c.called && c.made === undefined)) throw error;
    noteFailure(s, at, 'getOrSet', key, error, c.called);
    if (!c.called) return yield* computeHere(s, c);
    const made = c.made as Envelope;
    if (!c.skipped) yield* store(s, made, at);
    return made.value;
  }
}

/** `getOrSet` coordinated by the `Cache` tier `at`: its own `getOrSet` stores the envelope. */
function* viaCache(s: TieredState, at: number, cache: AnyCache, c: Computation): Op<unknown> {
  const factory = (context: FactoryContext) => runFactory(s, c, context);
  const passed = { ...c.options, ttl: c.ttl };
  const stored = yield* twin(
    () => cache.getOrSetSync(c.key, factory, passed),
    () => cache.getOrSet(c.key, factory, passed),
  );
  const envelope = decodeEnvelope(stored, c.key);
  // The coordinating tier held something else under the key: compute, and replace it everywhere.
  if (envelope === undefined) return c.called ? (c.made as Envelope).value : yield* computeHere(s, c);
  if (!c.skipped) yield* store(s, { ...envelope, verifiedAt: Date.now() }, at);
  return envelope.value;
}

/**
 * `getOrSet` coordinated by a lease on the key in tier `at` (Redis): the holder computes, writes the
 * result to that tier, then to the others, and releases the lease; the others wait for the result
 * to appear there, or for the lease to be free (its holder failed, skipped, or died and the lease ran
 * out). A release that fails is told of: the lease then runs out by itself.
 */
function* viaLease(s: TieredState, at: number, lease: Lease, c: Computation): Op<unknown> {
  const { backend } = tierAt(s, at);
  const token = uniqueToken();
  const leaseMs = c.options.hardTimeout === undefined ? DEFAULT_LEASE_MS : c.options.hardTimeout + 5_000;
  const storedThere = function* () {
    const there = yield* backend.read(c.key);
    if (there === undefined || isExpired(there, Date.now())) return undefined;
    yield* store(s, { ...there, verifiedAt: Date.now() }, at);
    return there;
  };
  for (;;) {
    if (yield* lease.take(c.key, token, leaseMs)) {
      try {
        const there = yield* storedThere();
        if (there !== undefined) return there.value;
        const envelope = yield* compute(s, c);
        if (c.skipped) return envelope.value;
        yield* backend.write(envelope);
        yield* store(s, envelope, at);
        return envelope.value;
      } finally {
        try {
          yield* lease.release(c.key, token);
        } catch (error) {
          noteFailure(s, at, 'getOrSet', c.key, error, false);
        }
      }
    }
    c.options.signal?.throwIfAborted();
    yield* sleep(LEASE_POLL_MS);
    const there = yield* storedThere();
    if (there !== undefined) return there.value;
  }
}
