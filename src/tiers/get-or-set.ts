import type { Factory, FactoryContext, GetOrSetOptions } from '../cache/get-or-set.js';
import { planGetOrSet } from '../cache/get-or-set.js';
import type { Key } from '../format/key.js';
import { call, type Op, twin } from '../fs/runner.js';
import { decodeEnvelope, encodeEnvelope, readEnvelope } from './envelope.js';
import { envelopeOf, lookup, noteFailure, store, type TieredState } from './operations.js';

/** What the factory decided about its value (`setTtl`, `setTag`, `skip`), and whether it threw. */
interface Decisions {
  ttl: number | null | undefined;
  tag: Key | null;
  skipped: boolean;
  threw: boolean;
}

/**
 * The position of the tier that coordinates `getOrSet`: the last writable `Cache` tier, whose
 * `getOrSet` computes a key once across every process and host that shares its directory.
 */
function coordinatorOf(s: TieredState): number | undefined {
  for (let i = s.tiers.length - 1; i >= 0; i--) {
    const tier = s.tiers[i];
    if (tier !== undefined && tier.writes !== 'none' && tier.backend.shared !== undefined) return i;
  }
  return undefined;
}

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
  const cache = c === undefined ? undefined : s.tiers[c]?.backend.shared;
  if (c === undefined || cache === undefined) return yield* computeHere(s, key, factory, decided);

  const wrapped = (context: FactoryContext) => {
    const finish = (value: unknown) => encodeEnvelope(envelopeOf(s, key, value, decided.ttl, decided.tag));
    const result = invoke(factory, context, decided);
    return result instanceof Promise ? result.then(finish) : finish(result);
  };
  const passed = { ...given, ttl };
  let stored: unknown;
  try {
    stored = yield* twin(
      () => cache.getOrSetSync(key, wrapped, passed),
      () => cache.getOrSet(key, wrapped, passed),
    );
  } catch (error) {
    if (decided.threw || error instanceof TypeError || s.tiers[c]?.whenDown !== 'skip') throw error;
    noteFailure(s, c, 'getOrSet', key, error, false);
    return yield* computeHere(s, key, factory, { ...decided, threw: false });
  }
  const envelope = decodeEnvelope(stored, key);
  // The coordinating tier held something else under the key: compute, and replace it everywhere.
  if (envelope === undefined) return yield* computeHere(s, key, factory, decided);
  if (!decided.skipped) yield* store(s, { ...envelope, verifiedAt: Date.now() }, c);
  return envelope.value;
}
