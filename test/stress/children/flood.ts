/**
 * A child of the descriptor tests: `node --import tsx flood.ts <dir> <path> <n>`, meant to run under
 * `ulimit -n 1024`. It starts `n` mixed operations on a new cache all at once (first writes, adds,
 * reads, membership tests; through streams for `path` = `streams`), waits for them all, checks every
 * value, and prints `{ failures, count }`: the first few failures (errors or wrong values) and
 * `count()` afterwards.
 */
import { Readable } from 'node:stream';
import { Cache } from '../../../src/index.js';

const [dir = '', path = '', n = '0'] = process.argv.slice(2);
const total = Number(n);
/** Values over the 64 KiB that the inline path reads and writes itself. */
const size = path === 'large' ? 64 * 1024 + 1 : 1024;

function value(i: number): Buffer {
  const bytes = Buffer.alloc(size, i % 251);
  bytes.writeUInt32LE(i, 0);
  return bytes;
}

const cache = new Cache<Buffer>(dir, {
  asyncIO: path === 'threadpool' ? 'threadpool' : 'inline',
  codec: 'raw',
});
const failures: string[] = [];
const fail = (what: string) => {
  if (failures.length < 10) failures.push(what);
};

async function streamed(key: string): Promise<Buffer | undefined> {
  const stream = await cache.createReadStream(key);
  if (stream === undefined) return undefined;
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Operation `i`: a write of key `k<i>` (i % 4 is 0 or 1), or a read of the key written two before. */
async function operation(i: number): Promise<void> {
  const key = `k${i}`;
  const earlier = `k${i - 2}`;
  switch (i % 4) {
    case 0:
      if (path === 'streams') await cache.setStream(key, Readable.from([value(i)]));
      else await cache.set(key, value(i));
      return;
    case 1:
      if (!(await cache.add(key, value(i)))) fail(`add ${key} found the key taken`);
      return;
    case 2: {
      const read = path === 'streams' ? await streamed(earlier) : await cache.get(earlier);
      if (read !== undefined && !Buffer.from(read).equals(value(i - 2))) fail(`${earlier} read wrong bytes`);
      return;
    }
    default:
      await cache.has(earlier);
  }
}

const settled = await Promise.allSettled(Array.from({ length: total }, (_, i) => operation(i)));
for (const outcome of settled) {
  if (outcome.status === 'rejected') fail(String((outcome.reason as Error)?.stack ?? outcome.reason));
}
for (let i = 0; i < total; i++) {
  if (i % 4 > 1) continue;
  const read = await cache.get(`k${i}`).catch((error: unknown) => error);
  if (!(read instanceof Uint8Array) || !Buffer.from(read).equals(value(i))) fail(`k${i} did not read back`);
}
const count = await cache.count().catch((error: unknown) => String(error));
await cache.close();
process.stdout.write(`${JSON.stringify({ failures, count })}\n`);
