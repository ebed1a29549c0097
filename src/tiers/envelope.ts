import { deserialize, serialize } from 'node:v8';
import { encodeKey, type Key } from '../format/key.js';

/**
 * What every tier of a `TieredCache` stores under a key: the value with what the tiers need to agree
 * on it. The same envelope (the same `version`) is written to every tier, so that a copy in an upper
 * tier can be checked against the last tier by its version alone.
 */
export interface Envelope<V = unknown> {
  /** The key, as given (a copy stored under another key, by a collision or a forger, is refused). */
  key: Key;
  value: V;
  /** Names this write: a token no other write anywhere uses. */
  version: string;
  /** Epoch ms when this copy was last known to match the last tier (set when a copy is made). */
  verifiedAt: number;
  /** Epoch ms, or `null`: never expires. */
  expiresAt: number | null;
  tag: Key | null;
  /** Set in a copy that a read made into an upper tier (unset where the write itself stored it). */
  copied?: true;
}

/** The first bytes of an envelope in a Keyv tier: its format and version. */
const MAGIC = Buffer.from('dct-tier1\n');

/** The bytes of an envelope for a store of strings or bytes (magic, then Node's structured serialization). */
export function encodeEnvelope(envelope: Envelope): Buffer {
  return Buffer.concat([MAGIC, serialize(envelope)]);
}

function sameKey(a: Key, b: Key): boolean {
  if (typeof a === 'string' || typeof b === 'string') return a === b;
  const x = encodeKey(a);
  const y = encodeKey(b);
  return x.type === y.type && Buffer.compare(x.bytes, y.bytes) === 0;
}

function isEnvelope(value: unknown): value is Envelope {
  if (typeof value !== 'object' || value === null) return false;
  const e = value as Record<string, unknown>;
  return (
    typeof e.version === 'string' &&
    typeof e.verifiedAt === 'number' &&
    (e.expiresAt === null || typeof e.expiresAt === 'number') &&
    'key' in e &&
    'value' in e &&
    'tag' in e
  );
}

/**
 * The envelope in `stored` (its bytes, or the object a `Cache` tier holds), or `undefined` if it is
 * not one: a value written by something other than a `TieredCache`, or damaged bytes.
 */
export function readEnvelope(stored: unknown): Envelope | undefined {
  let envelope: unknown = stored;
  if (stored instanceof Uint8Array) {
    const bytes = Buffer.from(stored.buffer, stored.byteOffset, stored.byteLength);
    const n = MAGIC.length;
    if (bytes.length <= n || bytes.compare(MAGIC, 0, n, 0, n) !== 0) return undefined;
    try {
      envelope = deserialize(bytes.subarray(n));
    } catch {
      return undefined;
    }
  }
  return isEnvelope(envelope) ? envelope : undefined;
}

/**
 * The envelope stored for `key`, or `undefined` if `stored` is none or is another key's (moved or
 * forged): a miss, never an error.
 */
export function decodeEnvelope(stored: unknown, key: Key): Envelope | undefined {
  const envelope = readEnvelope(stored);
  if (envelope === undefined) return undefined;
  try {
    return sameKey(envelope.key, key) ? envelope : undefined;
  } catch {
    return undefined; // A key of no key type.
  }
}

/** Whether `envelope` has expired at `now`. */
export function isExpired(envelope: Envelope, now: number): boolean {
  return envelope.expiresAt !== null && envelope.expiresAt <= now;
}
