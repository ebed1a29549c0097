import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import * as zlib from 'node:zlib';
import { CacheError } from '../errors.js';
import { type Op, twin } from '../fs/runner.js';

/** The compression choices. */
export type CompressionName = 'none' | 'gzip' | 'brotli' | 'zstd' | 'lz4';

/** How a stored value is compressed; one byte in each entry. */
export enum CompressionKind {
  None = 0,
  Gzip = 1,
  Brotli = 2,
  Zstd = 3,
  Lz4 = 4,
}

/** One compression method, both ways, each in a synchronous and an asynchronous (thread pool) form. */
interface Method {
  compress(bytes: Uint8Array): Uint8Array;
  compressAsync(bytes: Uint8Array): Promise<Uint8Array>;
  /** Inflates `bytes`, refusing to produce more than `expectedLength` bytes. */
  decompress(bytes: Uint8Array, expectedLength: number): Uint8Array;
  /** A stream that inflates chunk by chunk; methods without one inflate the whole value at its end. */
  decompressStream?(): Transform;
  decompressAsync(bytes: Uint8Array, expectedLength: number): Promise<Uint8Array>;
}

type Done = (error: Error | null, result: Buffer) => void;
type Limit = { maxOutputLength: number };

/**
 * Values of at least this many bytes are compressed and inflated on the thread pool by the async
 * surface: gzip takes about 0.5 ms for 128 KiB here, already half a turn's budget (see fs/turns.ts),
 * while a thread-pool round trip costs about 0.1 ms.
 */
export const OFFLOAD_BYTES = 128 * 1024;

type ZstdZlib = {
  zstdCompressSync(bytes: Uint8Array): Buffer;
  zstdCompress(bytes: Uint8Array, done: Done): void;
  zstdDecompressSync(bytes: Uint8Array, options: Limit): Buffer;
  zstdDecompress(bytes: Uint8Array, options: Limit, done: Done): void;
  createZstdDecompress(): Transform;
};

interface Lz4Napi {
  compressSync(bytes: Buffer): Buffer;
  compress(bytes: Buffer): Promise<Buffer>;
  uncompressSync(bytes: Buffer): Buffer;
  uncompress(bytes: Buffer): Promise<Buffer>;
}

const limit = (expectedLength: number) => ({ maxOutputLength: Math.max(1, expectedLength) });

/** A promise of what a zlib call with a callback gives. */
function promised(start: (done: Done) => void): Promise<Uint8Array> {
  return new Promise((resolve, reject) =>
    start((error, result) => (error ? reject(error) : resolve(result))),
  );
}

/** A method over zlib calls, given each way in its synchronous and its callback form. */
function zlibMethod(
  compressSync: (bytes: Uint8Array) => Buffer,
  compress: (bytes: Uint8Array, done: Done) => void,
  decompressSync: (bytes: Uint8Array, options: Limit) => Buffer,
  decompress: (bytes: Uint8Array, options: Limit, done: Done) => void,
  decompressStream: () => Transform,
): Method {
  return {
    decompressStream,
    compress: compressSync,
    compressAsync: (bytes) => promised((done) => compress(bytes, done)),
    decompress: (bytes, expectedLength) => decompressSync(bytes, limit(expectedLength)),
    decompressAsync: (bytes, expectedLength) =>
      promised((done) => decompress(bytes, limit(expectedLength), done)),
  };
}

const GZIP: zlib.ZlibOptions = { level: 6 };
const gzip = zlibMethod(
  (bytes) => zlib.gzipSync(bytes, GZIP),
  (bytes, done) => zlib.gzip(bytes, GZIP, done),
  zlib.gunzipSync,
  zlib.gunzip,
  () => zlib.createGunzip(),
);

const BROTLI: zlib.BrotliOptions = { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 5 } };
const brotli = zlibMethod(
  (bytes) => zlib.brotliCompressSync(bytes, BROTLI),
  (bytes, done) => zlib.brotliCompress(bytes, BROTLI, done),
  zlib.brotliDecompressSync,
  zlib.brotliDecompress,
  () => zlib.createBrotliDecompress(),
);

function zstd(): Method {
  const z = zlib as unknown as Partial<ZstdZlib>;
  if (
    typeof z.zstdCompressSync !== 'function' ||
    typeof z.zstdDecompressSync !== 'function' ||
    typeof z.createZstdDecompress !== 'function'
  ) {
    throw new RangeError(
      `diskcache-ts: compression 'zstd' needs a Node.js whose zlib has zstd (22.15 or later)`,
    );
  }
  const { zstdCompressSync, zstdCompress, zstdDecompressSync, zstdDecompress, createZstdDecompress } =
    z as ZstdZlib;
  return zlibMethod(zstdCompressSync, zstdCompress, zstdDecompressSync, zstdDecompress, () =>
    createZstdDecompress(),
  );
}

let lz4Module: Lz4Napi | undefined;

/**
 * LZ4 through the optional package `lz4-napi`, loaded only when asked for, from where the
 * application runs. Stored as an LZ4 block preceded by its uncompressed length (u32 LE).
 */
function lz4(): Method {
  if (lz4Module === undefined) {
    try {
      lz4Module = createRequire(join(process.cwd(), 'index.js'))('lz4-napi') as Lz4Napi;
    } catch (cause) {
      throw new RangeError(
        `diskcache-ts: compression 'lz4' needs the package lz4-napi (npm install lz4-napi)`,
        {
          cause,
        },
      );
    }
  }
  const { compressSync, compress, uncompressSync, uncompress } = lz4Module;
  const view = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const checked = (bytes: Uint8Array, expectedLength: number) => {
    const prefix = view(bytes);
    // The block says how large it inflates; refuse before allocating if that is not what the header says.
    if (prefix.length < 4 || prefix.readUInt32LE(0) !== expectedLength)
      throw new RangeError('lz4 length mismatch');
    return prefix;
  };
  return {
    compress: (bytes) => compressSync(view(bytes)),
    compressAsync: (bytes) => compress(view(bytes)),
    decompress: (bytes, expectedLength) => uncompressSync(checked(bytes, expectedLength)),
    decompressAsync: async (bytes, expectedLength) => uncompress(checked(bytes, expectedLength)),
  };
}

const KINDS: Record<CompressionName, CompressionKind> = {
  none: CompressionKind.None,
  gzip: CompressionKind.Gzip,
  brotli: CompressionKind.Brotli,
  zstd: CompressionKind.Zstd,
  lz4: CompressionKind.Lz4,
};

function method(kind: number): Method {
  switch (kind) {
    case CompressionKind.Gzip:
      return gzip;
    case CompressionKind.Brotli:
      return brotli;
    case CompressionKind.Zstd:
      return zstd();
    case CompressionKind.Lz4:
      return lz4();
    default:
      throw new RangeError(`unknown compression kind ${kind}`);
  }
}

/** Whether `name` is one of the compression choices (an own, known name: not `'toString'`). */
export function isCompressionName(name: unknown): name is CompressionName {
  return typeof name === 'string' && Object.hasOwn(KINDS, name);
}

/** The compression kind for an option value; a `RangeError` if unknown or not available here. */
export function compressionKind(name: string): CompressionKind {
  const kind = isCompressionName(name) ? KINDS[name] : undefined;
  if (kind === undefined) {
    throw new RangeError(
      `diskcache-ts: unknown compression "${name}"; use 'none', 'gzip', 'brotli', 'zstd' or 'lz4'`,
    );
  }
  if (kind !== CompressionKind.None) method(kind);
  return kind;
}

/** How a value is stored: its bytes, compressed or not. */
export interface StoredValue {
  bytes: Uint8Array;
  compression: CompressionKind;
}

/**
 * The stored form of `bytes`: compressed with `kind` if they are at least `threshold` bytes long and
 * that makes them smaller. Large values are compressed on the thread pool by the async surface.
 */
export function* pack(kind: CompressionKind, threshold: number, bytes: Uint8Array): Op<StoredValue> {
  if (kind === CompressionKind.None || bytes.byteLength < threshold) {
    return { bytes, compression: CompressionKind.None };
  }
  const m = method(kind);
  const packed =
    bytes.byteLength < OFFLOAD_BYTES
      ? m.compress(bytes)
      : yield* twin(
          () => m.compress(bytes),
          () => m.compressAsync(bytes),
        );
  return packed.byteLength < bytes.byteLength
    ? { bytes: packed, compression: kind }
    : { bytes, compression: CompressionKind.None };
}

/**
 * Reverses {@link pack}, refusing to inflate past `expectedLength` bytes; large values are inflated
 * on the thread pool by the async surface.
 */
export function* unpack(kind: number, bytes: Uint8Array, expectedLength: number): Op<Uint8Array> {
  const m = method(kind);
  if (expectedLength < OFFLOAD_BYTES) return m.decompress(bytes, expectedLength);
  return yield* twin(
    () => m.decompress(bytes, expectedLength),
    () => m.decompressAsync(bytes, expectedLength),
  );
}

/** A stage that passes bytes through, failing unless they add up to exactly `expectedLength`. */
function exactLength(expectedLength: number): Transform {
  let length = 0;
  const mismatch = () =>
    new CacheError('EFORMAT', `the value does not inflate to its recorded ${expectedLength} bytes`);
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      length += chunk.length;
      done(length > expectedLength ? mismatch() : null, chunk);
    },
    flush(done) {
      done(length === expectedLength ? null : mismatch());
    },
  });
}

/** A stage that collects the whole stored value and inflates it at the end (a block format). */
function whole(m: Method, expectedLength: number): Transform {
  const chunks: Buffer[] = [];
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      chunks.push(chunk);
      done();
    },
    flush(done) {
      try {
        done(null, m.decompress(Buffer.concat(chunks), expectedLength));
      } catch (cause) {
        done(new CacheError('EFORMAT', 'the value does not decompress', { cause }));
      }
    },
  });
}

/**
 * The streams that inflate a stored value of compression `kind`, to pipe in order: they produce
 * exactly `expectedLength` bytes (the raw length its header records), or fail with a `CacheError`
 * `'EFORMAT'`. The streaming counterpart of {@link unpack}.
 */
export function decompressionStages(kind: number, expectedLength: number): [Transform, Transform] {
  const m = method(kind);
  const inflate = m.decompressStream?.() ?? whole(m, expectedLength);
  return [inflate, exactLength(expectedLength)];
}
