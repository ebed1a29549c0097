import { crc32 } from './crc32.js';

/**
 * A queue's state record (docs/FORMAT.md, "Queues"): its bounds, 32 bytes, checked by a magic
 * number and a CRC-32. Bytes only; the files are `src/cache/queue.ts`'s.
 */

/** The bounds of a queue. */
export interface QueueState {
  /** Index of the first item. */
  head: number;
  /** Index after the last item. */
  tail: number;
}

const STATE_MAGIC = 0x31514344; // "DCQ1"
const STATE_SIZE = 32;

/** The bounds in a state record; `undefined` if `bytes` are missing or not a valid record. */
export function decodeQueueState(bytes: Buffer | undefined): QueueState | undefined {
  if (bytes === undefined || bytes.length !== STATE_SIZE || bytes.readUInt32LE(0) !== STATE_MAGIC)
    return undefined;
  if (crc32(bytes.subarray(0, 24)) !== bytes.readUInt32LE(24)) return undefined;
  const head = bytes.readDoubleLE(8);
  const tail = bytes.readDoubleLE(16);
  return Number.isSafeInteger(head) && Number.isSafeInteger(tail) && head <= tail
    ? { head, tail }
    : undefined;
}

/** The state record of `state`. */
export function encodeQueueState(state: QueueState): Buffer {
  const bytes = Buffer.alloc(STATE_SIZE);
  bytes.writeUInt32LE(STATE_MAGIC, 0);
  bytes.writeDoubleLE(state.head, 8);
  bytes.writeDoubleLE(state.tail, 16);
  bytes.writeUInt32LE(crc32(bytes.subarray(0, 24)), 24);
  return bytes;
}
