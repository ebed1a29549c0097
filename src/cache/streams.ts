import { CacheError } from '../errors.js';
import { ValueKind } from '../format/codec.js';
import { CompressionKind } from '../format/compression.js';
import { crc32 } from '../format/crc32.js';
import { type EntryHeader, encodeHeader, headerLength, parseHeader, staleUntil } from '../format/entry.js';
import type { Key } from '../format/key.js';
import { call, emit, io, type Op } from '../fs/runner.js';
import { inPrivateDirectory } from '../store/entries.js';
import { type CacheContext, isLiveFor, locate, type WriteOptions, writeTerms } from './context.js';
import { publishCounted } from './single.js';

const CHUNK = 64 * 1024;

function toBytes(chunk: unknown): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk;
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  throw new TypeError('diskcache-ts: setStream reads Buffers, Uint8Arrays or strings from the stream');
}

/**
 * `setStream(key, source, { ttl, tag })`: stores the bytes of a stream as the value of `key`,
 * chunk by chunk, never holding the whole value in memory. The value is written to a private temp
 * file, after room for the header; the header (with the length and checksum, known only at the end)
 * is written last, then the file is published atomically. A stream that fails leaves no entry and no
 * temp file. The value reads back as a Buffer (uncompressed, whatever the compression option).
 */
export function* setStream(
  ctx: CacheContext,
  key: Key,
  source: AsyncIterable<unknown>,
  options?: WriteOptions,
): Op<true> {
  const at = locate(ctx, key);
  if (source === null || typeof (source as AsyncIterable<unknown>)[Symbol.asyncIterator] !== 'function') {
    throw new TypeError('diskcache-ts: setStream needs a readable stream or another async iterable');
  }
  const terms = writeTerms(ctx, options);
  const { expiresAt, graceMs, tag } = terms;
  const storedAt = ctx.clock.now();
  const fields = {
    key: at.encoded,
    tag,
    valueKind: ValueKind.Bytes,
    codecName: '',
    storedAt,
    expiresAt,
    graceMs,
  };
  const headerSize = encodeHeader({
    ...fields,
    compression: 0,
    valueLength: 0,
    rawLength: 0,
    valueCrc: 0,
  }).length;
  const temp = ctx.layout.privatePath(at.path, 'tmp');
  const iterator = source[Symbol.asyncIterator]();
  const fd = yield* inPrivateDirectory(ctx.store, () => io('openForUpdate', temp, ctx.store.fileMode));
  let length = 0;
  let valueCrc = 0;
  try {
    for (;;) {
      const step = yield* call(() => iterator.next());
      if (step.done) break;
      const bytes = toBytes(step.value);
      yield* io('writeAt', fd, bytes, headerSize + length);
      valueCrc = crc32(bytes, valueCrc);
      length += bytes.byteLength;
    }
    const header = encodeHeader({
      ...fields,
      compression: 0,
      valueLength: length,
      rawLength: length,
      valueCrc,
    });
    yield* io('writeAt', fd, header, 0);
    if (ctx.store.fsync) yield* io('syncFile', fd);
  } catch (error) {
    yield* io('close', fd);
    yield* io('unlink', temp);
    yield* call(() => iterator.return?.());
    throw error;
  }
  yield* io('close', fd);
  yield* publishCounted(ctx, temp, at, {
    chunks: [],
    size: headerSize + length,
    staleUntil: staleUntil(terms),
  });
  return true;
}

/** An entry file opened for streaming, with its verified header. */
export interface OpenedEntry {
  fd: number;
  header: EntryHeader;
  /** Where the entry starts in the file. */
  offset: number;
}

/** Opens the live entry of `key` for streaming; `undefined` if there is none. */
export function* openEntry(ctx: CacheContext, key: Key): Op<OpenedEntry | undefined> {
  const at = locate(ctx, key);
  const place = yield* ctx.slots.placeOf(at.path);
  if (place === undefined) return undefined;
  const { offset } = place;
  const fd = yield* io('openForRead', place.file);
  if (fd === undefined) return undefined;
  try {
    let head = yield* io('readAt', fd, CHUNK, offset);
    const needed = headerLength(head) ?? 0;
    if (needed > head.length) head = yield* io('readAt', fd, needed, offset);
    const size = place.size ?? (yield* io('fstat', fd)).size;
    const parsed = parseHeader(head, size);
    if (parsed.ok && isLiveFor(parsed.entry, at, ctx.clock.now())) {
      const { valueKind } = parsed.entry;
      if (valueKind !== ValueKind.Bytes && valueKind !== ValueKind.Utf8) {
        throw new CacheError(
          'ECODEC',
          `the value of key ${String(key)} is not bytes or a string; use get()`,
          {
            key,
            directory: ctx.layout.directory,
          },
        );
      }
      return { fd, header: parsed.entry, offset };
    }
  } catch (error) {
    yield* io('close', fd);
    throw error;
  }
  yield* io('close', fd);
  return undefined;
}

/**
 * Emits the stored value bytes of an opened entry in chunks, checking the checksum at the end
 * (a mismatch is a `CacheError` `'EFORMAT'` on the stream), and closes the file.
 */
export function* streamEntry(ctx: CacheContext, opened: OpenedEntry): Op<void> {
  const { fd, header, offset: start } = opened;
  try {
    let crc = 0;
    for (let offset = 0; offset < header.valueLength; ) {
      const chunk = yield* io(
        'readAt',
        fd,
        Math.min(CHUNK, header.valueLength - offset),
        start + header.valueOffset + offset,
      );
      if (chunk.length === 0) break;
      crc = crc32(chunk, crc);
      offset += chunk.length;
      yield* emit(chunk);
    }
    if (crc !== header.valueCrc) {
      throw new CacheError('EFORMAT', 'the entry failed its checksum while streaming (corrupt or torn)', {
        directory: ctx.layout.directory,
      });
    }
  } finally {
    yield* io('close', fd);
  }
}

/** Whether an opened entry's stored bytes need inflating. */
export function isCompressed(opened: OpenedEntry): boolean {
  return opened.header.compression !== CompressionKind.None;
}
