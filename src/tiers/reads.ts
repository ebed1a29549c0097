import { assertKey, type Key } from '../format/key.js';
import type { Op } from '../fs/runner.js';
import { type Envelope, isExpired } from './envelope.js';
import { skipFailure, type TieredState, tierAt, writtenSince } from './state.js';
import { copyUp } from './writes.js';

/** A value found, with its envelope and the tier it came from. */
export interface Found {
  envelope: Envelope;
  tier: number;
}

/** A tier that could not be read (and says `whenDown: 'skip'`). */
const UNKNOWN = Symbol('unknown');

/** What tier `i` holds for `key`: its queued write if it has one (newer than its store), else its store's. */
function* heldBy(
  s: TieredState,
  i: number,
  key: Key,
  operation: 'read' | 'verify',
): Op<Envelope | undefined | typeof UNKNOWN> {
  const latest = s.queues[i]?.latest(key);
  if (latest !== undefined) return latest.envelope;
  try {
    return yield* tierAt(s, i).backend.read(key);
  } catch (error) {
    skipFailure(s, i, { operation, key }, error);
    return UNKNOWN;
  }
}

/**
 * Whether a copy found in tier `i` must be checked before it is served: it is older than
 * `maxStaleness`, and some tier below answers for it (the last writable tier, if it is below, and
 * read-only tiers below for a copy made from them).
 */
function needsCheck(s: TieredState, i: number, envelope: Envelope, now: number): boolean {
  if (now - envelope.verifiedAt < s.maxStaleness) return false;
  if (i < s.authority) return true;
  return envelope.copied === true && i < s.tiers.length - 1;
}

/**
 * What the tiers below `i` that answer for `key` hold: the last writable tier first (if it is below
 * `i`), then the read-only ones; the first live value wins. `UNKNOWN` if one of them could not be
 * asked (and said `whenDown: 'skip'`).
 */
function* truthBelow(
  s: TieredState,
  i: number,
  key: Key,
  now: number,
): Op<Envelope | undefined | typeof UNKNOWN> {
  const order = s.authority > i ? [s.authority] : [];
  for (let j = i + 1; j < s.tiers.length; j++) if (tierAt(s, j).writes === 'none') order.push(j);
  for (const j of order) {
    const held = yield* heldBy(s, j, key, 'verify');
    if (held === UNKNOWN) return UNKNOWN;
    if (held !== undefined && !isExpired(held, now)) return held;
  }
  return undefined;
}

/**
 * Checks a copy found in tier `i` against the tiers that answer for it: the copy again (now
 * verified), their newer version, or `undefined` if they no longer hold it; the copies above and in
 * tier `i` are brought up to date unless the key was written meanwhile. If they cannot be asked, the
 * copy is served as it is (and the failure told of).
 */
function* verify(
  s: TieredState,
  i: number,
  copy: Envelope,
  now: number,
  since: number,
): Op<Envelope | undefined> {
  const truth = yield* truthBelow(s, i, copy.key, now);
  if (truth === UNKNOWN) return copy;
  if (truth === undefined) {
    if (!writtenSince(s, copy.key, since)) yield* copyUp(s, { key: copy.key, envelope: undefined }, i + 1);
    return undefined;
  }
  const fresh: Envelope = {
    ...(truth.version === copy.version ? copy : truth),
    verifiedAt: now,
    copied: true,
  };
  if (!writtenSince(s, copy.key, since)) yield* copyUp(s, { key: copy.key, envelope: fresh }, i + 1);
  return fresh;
}

/**
 * The live value of `key` from the first tier that has it, copied into the tiers above that one
 * (with its remaining time to live and its tag); a copy older than `maxStaleness` is first checked
 * against the tiers that answer for it. Nothing is copied if the key is written while it is read.
 */
export function* lookup(s: TieredState, key: Key): Op<Found | undefined> {
  assertKey(key);
  const since = s.writes.now;
  const now = Date.now();
  for (let i = 0; i < s.tiers.length; i++) {
    const held = yield* heldBy(s, i, key, 'read');
    if (held === UNKNOWN || held === undefined || isExpired(held, now)) continue;
    if (needsCheck(s, i, held, now)) {
      const checked = yield* verify(s, i, held, now, since);
      return checked === undefined ? undefined : { envelope: checked, tier: i };
    }
    if (i > 0 && !writtenSince(s, key, since)) {
      const copy: Envelope = { ...held, copied: true, ...(i >= s.authority ? { verifiedAt: now } : {}) };
      yield* copyUp(s, { key, envelope: copy }, i);
    }
    return { envelope: held, tier: i };
  }
  return undefined;
}
