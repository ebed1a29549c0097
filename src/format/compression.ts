import { createRequire } from 'node:module';
import { join } from 'node:path';
import * as zlib from 'node:zlib';

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

/** One compression method, both ways. */
interface Method {
  compress(bytes: Uint8Array): Uint8Array;
  /** Inflates `bytes`, refusing to produce more than `expectedLength` bytes. */
  decompress(bytes: Uint8Array, expectedLength: number): Uint8Array;
}

type ZstdZlib = {
  zstdCompressSync(bytes: Uint8Array): Buffer;
  zstdDecompressSync(bytes: Uint8Array, options: { maxOutputLength: number }): Buffer;
};

interface Lz4Napi {
  compressSync(bytes: Buffer): Buffer;
  uncompressSync(bytes: Buffer): Buffer;
}

const limit = (expectedLength: number) => ({ maxOutputLength: Math.max(1, expectedLength) });

const gzip: Method = {
  compress: (bytes) => zlib.gzipSync(bytes, { level: 6 }),
  decompress: (bytes, expectedLength) => zlib.gunzipSync(bytes, limit(expectedLength)),
};

const brotli: Method = {
  compress: (bytes) =>
    zlib.brotliCompressSync(bytes, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 5 } }),
  decompress: (bytes, expectedLength) => zlib.brotliDecompressSync(bytes, limit(expectedLength)),
};

function zstd(): Method {
  const z = zlib as unknown as Partial<ZstdZlib>;
  if (typeof z.zstdCompressSync !== 'function' || typeof z.zstdDecompressSync !== 'function') {
    throw new RangeError(
      `diskcache-ts: compression 'zstd' needs a Node.js whose zlib has zstd (22.15 or later)`,
    );
  }
  const { zstdCompressSync, zstdDecompressSync } = z as ZstdZlib;
  return {
    compress: (bytes) => zstdCompressSync(bytes),
    decompress: (bytes, expectedLength) => zstdDecompressSync(bytes, limit(expectedLength)),
  };
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
  const { compressSync, uncompressSync } = lz4Module;
  return {
    compress: (bytes) => compressSync(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)),
    decompress(bytes, expectedLength) {
      const prefix = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      // The block says how large it inflates; refuse before allocating if that is not what the header says.
      if (prefix.length < 4 || prefix.readUInt32LE(0) !== expectedLength)
        throw new RangeError('lz4 length mismatch');
      return uncompressSync(prefix);
    },
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

/** The compressed bytes, or `undefined` when compressing would not make them smaller. */
export function compress(kind: CompressionKind, bytes: Uint8Array): Uint8Array | undefined {
  const packed = method(kind).compress(bytes);
  return packed.byteLength < bytes.byteLength ? packed : undefined;
}

/** Reverses {@link compress}, refusing to inflate past `expectedLength` bytes. */
export function decompress(kind: number, bytes: Uint8Array, expectedLength: number): Uint8Array {
  return method(kind).decompress(bytes, expectedLength);
}
