import type { Factory, FactoryContext, GetOrSetOptions } from '../cache/get-or-set.js';
import { planGetOrSet } from '../cache/get-or-set.js';
import type { AnyCache } from '../cache/verbs.js';
import type { Key } from '../format/key.js';
import { call, type Op, sleep, twin } from '../fs/runner.js';
import { uniqueToken } from '../identity.js';
import { decodeEnvelope, isExpired, readEnvelope } from './envelope.js';
import { envelopeOf, lookup, noteFailure, store, type TieredState } from './operations.js';
import type { Backend, Lease } from './tier.js';

/** What the factory decided about its value (`setTtl`, `setTag`, `skip`), and whether it threw. */
interface Decisions {
  ttl: number | null | undefined;
  tag: Key | null;
  skipped: boolean;
  threw: boolean;
}

/**
 * The position of the tier that coordinates `getOrSet`: the last writable tier that can, a `Cache`
 * (whose `getOrSet` computes a key once across every process and host that shares its directory)
 * or a Redis store (by a lease on the key).
 */
function coordinatorOf(s: TieredState): number | undefined {
  for (let i = s.tiers.length - 1; i >= 0; i--) {
    const tier = s.tiers[i];
    if (tier === undefined || tier.writes === 'none') continue;
    if (tier.backend.shared !== undefined || tier.backend.lease !== undefined) return i;
  }
  return undefined;
}

/** How often a caller waiting for another host's lease looks for its result. */
const LEASE_POLL_MS = 25;
/** A lease's length when the call has no hard timeout: how long a computation may hold the key. */
const DEFAULT_LEASE_MS = 60_000;

/**
 * Runs `factory` with `context` (its stale value unwrapped from its envelope), noting its decisions
 * in `decided`, and whether it threw.
 */
function invoke(factory: Factory<unknown>, context: FactoryContext, decided: Decisions): unknown {
  const view: FactoryContext = {
    key: context.key,
    stale: readEnvelope(context.stale)?.value,
    signal: context.signal,
    setTtl(ttl) {
      decided.ttl = ttl;
      context.setTtl(ttl);
    },
    setTag(tag) {
      decided.tag = tag;
      context.setTag(tag);
    },
    skip() {
      decided.skipped = true;
      context.skip();
    },
  };
  try {
    const result = factory(view);
    return result instanceof Promise
      ? result.catch((error: unknown) => {
          decided.threw = true;
          throw error;
        })
      : result;
  } catch (error) {
    decided.threw = true;
    throw error;
  }
}

/** Computes in this process alone (no tier can coordinate), and stores the result in every tier. */
function* computeHere(s: TieredState, key: Key, factory: Factory<unknown>, decided: Decisions): Op<unknown> {
  const context: FactoryContext = {
    key,
    stale: undefined,
    signal: new AbortController().signal,
    setTtl: () => {},
    setTag: () => {},
    skip: () => {},
  };
  const value = yield* call(() => invoke(factory, context, decided));
  if (!decided.skipped) yield* store(s, envelopeOf(s, key, value, decided.ttl, decided.tag));
  return value;
}

/**
 * `getOrSet(key, factory, options)` over the tiers: a hit in any tier, else one computation for
 * every host that shares the coordinating tier (see {@link coordinatorOf}), stored in every tier.
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
  const ttl = given.ttl === undefined ? (s.defaultTtl ?? 0) : given.ttl;
  const decided: Decisions = { ttl, tag: given.tag ?? null, skipped: false, threw: false };
  const c = coordinatorOf(s);
  const backend = c === undefined ? undefined : s.tiers[c]?.backend;
  if (c === undefined || backend === undefined) return yield* computeHere(s, key, factory, decided);
  try {
    return backend.shared !== undefined
      ? yield* viaCache(s, c, backend.shared, key, factory, given, decided)
      : yield* viaLease(s, c, backend, key, factory, given, decided);
  } catch (error) {
    if (decided.threw || error instanceof TypeError || s.tiers[c]?.whenDown !== 'skip') throw error;
    noteFailure(s, c, 'getOrSet', key, error, false);
    return yield* computeHere(s, key, factory, { ...decided, threw: false });
  }
}

/** `getOrSet` coordinated by the `Cache` tier `c`: its own `getOrSet` stores the envelope. */
function* viaCache(
  s: TieredState,
  c: number,
  cache: AnyCache,
  key: Key,
  factory: Factory<unknown>,
  given: GetOrSetOptions,
  decided: Decisions,
): Op<unknown> {
  const wrapped = (context: FactoryContext) => {
    const finish = (value: unknown) => envelopeOf(s, key, value, decided.ttl, decided.tag);
    const result = invoke(factory, context, decided);
    return result instanceof Promise ? result.then(finish) : finish(result);
  };
  const passed = { ...given, ttl: decided.ttl };
  const stored = yield* twin(
    () => cache.getOrSetSync(key, wrapped, passed),
    () => cache.getOrSet(key, wrapped, passed),
  );
  const envelope = decodeEnvelope(stored, key);
  // The coordinating tier held something else under the key: compute, and replace it everywhere.
  if (envelope === undefined) return yield* computeHere(s, key, factory, decided);
  if (!decided.skipped) yield* store(s, { ...envelope, verifiedAt: Date.now() }, c);
  return envelope.value;
}

/**
 * `getOrSet` coordinated by a lease on the key in tier `c` (Redis): the holder computes and stores;
 * the others wait for its result to appear there, or for the lease to be free (its holder failed,
 * skipped, or died and the lease ran out).
 */
function* viaLease(
  s: TieredState,
  c: number,
  backend: Backend,
  key: Key,
  factory: Factory<unknown>,
  given: GetOrSetOptions,
  decided: Decisions,
): Op<unknown> {
  const lease = backend.lease as Lease;
  const token = uniqueToken();
  const leaseMs = given.hardTimeout === undefined ? DEFAULT_LEASE_MS : given.hardTimeout + 5_000;
  const storedThere = function* () {
    const there = yield* backend.read(key);
    if (there === undefined || isExpired(there, Date.now())) return undefined;
    yield* store(s, { ...there, verifiedAt: Date.now() }, c);
    return there;
  };
  for (;;) {
    if (yield* lease.take(key, token, leaseMs)) {
      try {
        const there = yield* storedThere();
        return there === undefined ? yield* computeHere(s, key, factory, decided) : there.value;
      } finally {
        yield* lease.release(key, token);
      }
    }
    yield* sleep(LEASE_POLL_MS);
    const there = yield* storedThere();
    if (there !== undefined) return there.value;
  }
}
