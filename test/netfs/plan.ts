/**
 * What the children of the network-filesystem suite write, shared by the child that writes it and
 * the parent that checks it.
 */
import { createHash } from 'node:crypto';

/** Wall-clock epoch milliseconds with sub-millisecond resolution (children and parent share one host clock). */
export function now(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * A value that carries its own checksum and the key it was written for:
 * `sha256(rest) ‖ u16 meta length ‖ meta JSON { key, writer, seq } ‖ filler`.
 */
export function sealed(key: string, writer: number, seq: number, size: number): Buffer {
  const meta = Buffer.from(JSON.stringify({ key, writer, seq }));
  const length = Buffer.alloc(2);
  length.writeUInt16LE(meta.length);
  const filler = Buffer.alloc(size, (seq * 31 + writer) & 0xff);
  const rest = Buffer.concat([length, meta, filler]);
  return Buffer.concat([createHash('sha256').update(rest).digest(), rest]);
}

/** The sequence number of a sealed value read under `key`, or why it is torn or foreign. */
export function unseal(key: string, value: unknown): { seq: number } | { bad: string } {
  if (!(value instanceof Uint8Array)) return { bad: `${key}: a ${typeof value} instead of a Buffer` };
  const bytes = Buffer.from(value);
  if (bytes.length < 34) return { bad: `${key}: only ${bytes.length} bytes (torn)` };
  const rest = bytes.subarray(32);
  if (!createHash('sha256').update(rest).digest().equals(bytes.subarray(0, 32))) {
    return { bad: `${key}: checksum mismatch in ${bytes.length} bytes (torn value)` };
  }
  const meta = JSON.parse(rest.subarray(2, 2 + rest.readUInt16LE(0)).toString('utf8')) as {
    key: string;
    seq: number;
  };
  if (meta.key !== key) return { bad: `${key}: got the value written for ${meta.key} (foreign value)` };
  return { seq: meta.seq };
}

/** One operation of the crash-loop child, as logged before it starts. */
export type CrashOp =
  | { op: 'set'; key: string; gen: string }
  | { op: 'delete'; key: string }
  | { op: 'incr'; key: string; delta: number }
  | { op: 'tx'; i: number; gen: string | null };

/** Every key the crash-loop child writes. */
export const CRASH_KEYS = ['s0', 's1', 's2', 's3', 'c0', 'c1', 'a0', 'b0', 'a1', 'b1'];

/** The value the crash-loop child writes for `key` at generation `gen` (a few bytes to ~100 KiB). */
export function crashValue(key: string, gen: string): Buffer {
  const digest = createHash('sha256').update(`${key}|${gen}`).digest();
  const size = (digest[0] as number) < 26 ? 70_000 + (digest[1] as number) * 100 : (digest[1] as number) * 4;
  const filler = Buffer.alloc(size);
  for (let i = 0; i < size; i += 32) digest.copy(filler, i, 0, Math.min(32, size - i));
  return Buffer.concat([Buffer.from(`${key}|${gen}|`), filler]);
}

/** The generation of a crash-loop value read under `key`, or why it is not one that was written. */
export function crashGeneration(key: string, value: unknown): { gen: string } | { bad: string } {
  if (!(value instanceof Uint8Array)) return { bad: `${key}: a ${typeof value} instead of a Buffer` };
  const bytes = Buffer.from(value);
  const parts = bytes.subarray(0, 64).toString('latin1').split('|');
  if (parts.length < 3 || parts[0] !== key) return { bad: `${key}: not a value written for this key` };
  const gen = parts[1] as string;
  if (!crashValue(key, gen).equals(bytes)) return { bad: `${key}: generation ${gen} has the wrong bytes` };
  return { gen };
}

/** What the crash-loop keys hold: absent, a generation, or a count. */
export type CrashState = Map<string, string | number>;

/** The state after `op`. */
export function applyOp(state: CrashState, op: CrashOp): CrashState {
  const next = new Map(state);
  switch (op.op) {
    case 'set':
      next.set(op.key, op.gen);
      break;
    case 'delete':
      next.delete(op.key);
      break;
    case 'incr': {
      const was = next.get(op.key);
      next.set(op.key, (typeof was === 'number' ? was : 0) + op.delta);
      break;
    }
    case 'tx':
      for (const key of [`a${op.i}`, `b${op.i}`]) {
        if (op.gen === null) next.delete(key);
        else next.set(key, op.gen);
      }
      break;
  }
  return next;
}

/** The keys whose value differs between two states, described. */
export function stateDifferences(actual: CrashState, expected: CrashState): string[] {
  const show = (v: string | number | undefined) => (v === undefined ? 'absent' : String(v));
  return CRASH_KEYS.filter((key) => actual.get(key) !== expected.get(key)).map(
    (key) => `${key}: ${show(actual.get(key))} instead of ${show(expected.get(key))}`,
  );
}
