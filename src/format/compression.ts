import * as zlib from 'node:zlib';

/** The compression choices. */
export type CompressionName = 'none' | 'gzip' | 'brotli';

/** How a stored value is compressed; one byte in each entry. */
export enum CompressionKind {
  None = 0,
  Gzip = 1,
  Brotli = 2,
}

const KINDS: Record<CompressionName, CompressionKind> = {
  none: CompressionKind.None,
  gzip: CompressionKind.Gzip,
  brotli: CompressionKind.Brotli,
};

/** The compression kind for an option value, or a `RangeError`. */
export function compressionKind(name: string): CompressionKind {
  const kind = KINDS[name as CompressionName];
  if (kind === undefined) {
    throw new RangeError(`diskcache-ts: unknown compression "${name}"; use 'none', 'gzip' or 'brotli'`);
  }
  return kind;
}

/** The compressed bytes, or `undefined` when compressing would not make them smaller. */
export function compress(kind: CompressionKind, bytes: Uint8Array): Uint8Array | undefined {
  const packed =
    kind === CompressionKind.Gzip
      ? zlib.gzipSync(bytes, { level: 6 })
      : kind === CompressionKind.Brotli
        ? zlib.brotliCompressSync(bytes, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 5 } })
        : undefined;
  return packed !== undefined && packed.byteLength < bytes.byteLength ? packed : undefined;
}

/** Reverses {@link compress}, refusing to inflate past `expectedLength` bytes. */
export function decompress(kind: number, bytes: Uint8Array, expectedLength: number): Uint8Array {
  const options = { maxOutputLength: Math.max(1, expectedLength) };
  if (kind === CompressionKind.Gzip) return zlib.gunzipSync(bytes, options);
  if (kind === CompressionKind.Brotli) return zlib.brotliDecompressSync(bytes, options);
  throw new RangeError(`unknown compression kind ${kind}`);
}
