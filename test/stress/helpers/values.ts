import { createHash } from 'node:crypto';
import { Random, seedOf } from './random.js';

/**
 * Values that carry their own checksum, for the torn-read test: `sha256(rest) ‖ u16 meta length ‖
 * meta JSON { key, writer, seq } ‖ payload`. Stored as a Buffer, or as the Buffer's base64 text (a
 * string value), so both raw value kinds are exercised.
 */
export function checkedValue(key: string, writer: number, seq: number, payload: Buffer, asText: boolean) {
  const meta = Buffer.from(JSON.stringify({ key, writer, seq }));
  const length = Buffer.alloc(2);
  length.writeUInt16LE(meta.length);
  const rest = Buffer.concat([length, meta, payload]);
  const bytes = Buffer.concat([createHash('sha256').update(rest).digest(), rest]);
  return asText ? bytes.toString('base64') : bytes;
}

/** Why `value`, read under `key`, is not an intact value written for that key; `undefined` if it is. */
export function checkValue(key: string, value: unknown): string | undefined {
  let bytes: Buffer;
  if (typeof value === 'string') bytes = Buffer.from(value, 'base64');
  else if (value instanceof Uint8Array) bytes = Buffer.from(value);
  else return `${key}: a ${typeof value} instead of a Buffer or string`;
  if (bytes.length < 34) return `${key}: only ${bytes.length} bytes`;
  const rest = bytes.subarray(32);
  if (!createHash('sha256').update(rest).digest().equals(bytes.subarray(0, 32))) {
    return `${key}: checksum mismatch in ${bytes.length} bytes (torn value)`;
  }
  const metaLength = rest.readUInt16LE(0);
  let meta: { key?: unknown };
  try {
    meta = JSON.parse(rest.subarray(2, 2 + metaLength).toString('utf8')) as { key?: unknown };
  } catch {
    return `${key}: unreadable metadata`;
  }
  if (meta.key !== key) return `${key}: got the value written for ${String(meta.key)} (foreign value)`;
  return undefined;
}

/**
 * The value the crash-loop child writes for `key` at generation `gen`: `key|gen|` followed by bytes
 * derived from both, 0 to ~150 KiB long (so that values above the 64 KiB inline limit take the
 * thread-pool path of the async API). The parent regenerates it to compare byte for byte.
 */
export function crashValue(key: string, gen: string): Buffer {
  const random = new Random(seedOf(`${key}|${gen}`));
  const roll = random.next();
  const size =
    roll < 0.7
      ? random.int(200)
      : roll < 0.9
        ? random.between(1_000, 20_000)
        : random.between(70_000, 150_000);
  return Buffer.concat([Buffer.from(`${key}|${gen}|`), random.bytes(size)]);
}

/** The generation of a crash-loop value read under `key`, or why it is not one that was written. */
export function crashGeneration(key: string, value: unknown): { gen: string } | { bad: string } {
  if (!(value instanceof Uint8Array)) return { bad: `${key}: a ${typeof value} instead of a Buffer` };
  const bytes = Buffer.from(value);
  const text = bytes.subarray(0, 64).toString('latin1');
  const parts = text.split('|');
  if (parts.length < 3 || parts[0] !== key) return { bad: `${key}: not a value written for this key` };
  const gen = parts[1] as string;
  if (!crashValue(key, gen).equals(bytes)) return { bad: `${key}: generation ${gen} has the wrong bytes` };
  return { gen };
}
/** The writer and sequence number carried by a value made by `checkedValue` (above). */
export function metaOf(value: unknown): { writer: number; seq: number } {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'base64') : Buffer.from(value as Uint8Array);
  const rest = bytes.subarray(32);
  return JSON.parse(rest.subarray(2, 2 + rest.readUInt16LE(0)).toString('utf8')) as {
    writer: number;
    seq: number;
  };
}
