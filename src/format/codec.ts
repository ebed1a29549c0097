import * as v8 from 'node:v8';

/** A user-supplied value codec. It must never run code found in the data: the directory may be shared. */
export interface Codec {
  /** Recorded in each entry; a reader needs a codec of the same name to decode the entry. */
  readonly name: string;
  encode(value: unknown): Uint8Array;
  decode(bytes: Uint8Array): unknown;
}

/** The names of the built-in codecs. */
export type CodecName = 'structured' | 'json' | 'raw';

/** How a stored value's bytes are to be read back; one byte in each entry. */
export enum ValueKind {
  Bytes = 1,
  Utf8 = 2,
  Structured = 3,
  Json = 4,
  Float64 = 5,
  Custom = 6,
}

/** A value in stored form. */
export interface EncodedValue {
  kind: ValueKind;
  bytes: Uint8Array;
  /** The custom codec's name, for {@link ValueKind.Custom}. */
  codecName: string;
}

/**
 * What decoding a stored value gave: the value; or, for bytes that pass their checksums but that
 * their value kind or codec cannot decode (forged or damaged), why not; or, when the entry needs a
 * custom codec that this reader lacks (`foreign`), why not — the entry may be fine for others.
 */
export type Decoded = { ok: true; value: unknown } | { ok: false; reason: string; foreign: boolean };

/** Turns values into stored form and back, for one configured codec. */
export interface ValueCodec {
  readonly name: string;
  encode(value: unknown): EncodedValue;
  /** Decodes a stored value; never throws. */
  decode(kind: number, bytes: Uint8Array, codecName: string): Decoded;
}

const float = (value: number): EncodedValue => {
  const bytes = Buffer.allocUnsafe(8);
  bytes.writeDoubleLE(value);
  return { kind: ValueKind.Float64, bytes, codecName: '' };
};
const utf8 = (value: string): EncodedValue => ({
  kind: ValueKind.Utf8,
  bytes: Buffer.from(value, 'utf8'),
  codecName: '',
});
const raw = (value: Uint8Array): EncodedValue => ({ kind: ValueKind.Bytes, bytes: value, codecName: '' });

function refuse(codec: string, value: unknown, cause?: unknown): never {
  const what = value === null ? 'null' : typeof value === 'object' ? value.constructor?.name : typeof value;
  throw new TypeError(`diskcache-ts: the ${codec} codec cannot store a value of type ${what}`, { cause });
}

function view(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Whether UTF-8 keeps a string as it is (it replaces lone surrogates). */
export function isWellFormed(text: string): boolean {
  return (text as string & { isWellFormed(): boolean }).isWellFormed();
}

function structuredEncode(value: unknown): EncodedValue {
  if (value instanceof Uint8Array) return raw(value);
  if (typeof value === 'string' && isWellFormed(value)) return utf8(value);
  if (typeof value === 'number') return float(value);
  try {
    return { kind: ValueKind.Structured, bytes: v8.serialize(value), codecName: '' };
  } catch (error) {
    return refuse('structured', value, error);
  }
}

function jsonEncode(value: unknown): EncodedValue {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    refuse('json', value, error);
  }
  if (text === undefined) refuse('json', value);
  return { kind: ValueKind.Json, bytes: Buffer.from(text, 'utf8'), codecName: '' };
}

function rawEncode(value: unknown): EncodedValue {
  if (value instanceof Uint8Array) return raw(value);
  if (typeof value === 'string' && isWellFormed(value)) return utf8(value);
  return refuse('raw', value);
}

/** How each built-in kind reads back, and what it is called in messages. */
const BUILTIN_KINDS: Record<number, { what: string; decode(bytes: Uint8Array): unknown }> = {
  [ValueKind.Bytes]: { what: 'bytes', decode: (bytes) => Buffer.from(bytes) },
  [ValueKind.Utf8]: { what: 'a string', decode: (bytes) => view(bytes).toString('utf8') },
  [ValueKind.Structured]: { what: 'structured data', decode: (bytes) => v8.deserialize(bytes) },
  [ValueKind.Json]: { what: 'JSON', decode: (bytes) => JSON.parse(view(bytes).toString('utf8')) },
  [ValueKind.Float64]: {
    what: 'a float64',
    decode(bytes) {
      if (bytes.byteLength !== 8) throw new RangeError(`${bytes.byteLength} bytes, not 8`);
      return view(bytes).readDoubleLE(0);
    },
  },
};

const failure = (reason: string, foreign = false): Decoded => ({ ok: false, reason, foreign });

/** Runs a decoder; whatever it throws makes the value undecodable, never an error of the caller. */
function attempt(what: string, decode: () => unknown): Decoded {
  try {
    return { ok: true, value: decode() };
  } catch (error) {
    return failure(`the value does not decode as ${what} (${(error as Error)?.message ?? String(error)})`);
  }
}

/** Decodes the built-in kinds, whatever codec the reader is configured with. */
function decodeBuiltin(kind: number, bytes: Uint8Array): Decoded {
  const builtinKind = Object.hasOwn(BUILTIN_KINDS, kind) ? BUILTIN_KINDS[kind] : undefined;
  if (builtinKind === undefined) return failure(`unknown value kind ${kind}`);
  return attempt(builtinKind.what, () => builtinKind.decode(bytes));
}

function builtin(name: CodecName, encode: (value: unknown) => EncodedValue): ValueCodec {
  return {
    name,
    encode,
    decode(kind, bytes, codecName) {
      if (kind === ValueKind.Custom) {
        return failure(
          `entry was written with the custom codec "${codecName}"; pass it as options.codec`,
          true,
        );
      }
      return decodeBuiltin(kind, bytes);
    },
  };
}

function custom(codec: Codec): ValueCodec {
  return {
    name: codec.name,
    encode(value) {
      const bytes = codec.encode(value);
      if (!(bytes instanceof Uint8Array)) {
        throw new TypeError(`diskcache-ts: codec "${codec.name}" encode() must return a Uint8Array`);
      }
      return { kind: ValueKind.Custom, bytes, codecName: codec.name };
    },
    decode(kind, bytes, codecName) {
      if (kind !== ValueKind.Custom) return decodeBuiltin(kind, bytes);
      if (codecName !== codec.name) {
        return failure(
          `entry was written with the codec "${codecName}", but this cache has "${codec.name}"`,
          true,
        );
      }
      return attempt(`codec "${codec.name}"`, () => codec.decode(bytes));
    },
  };
}

const BUILTIN: Record<CodecName, ValueCodec> = {
  structured: builtin('structured', structuredEncode),
  json: builtin('json', jsonEncode),
  raw: builtin('raw', rawEncode),
};

/** The {@link ValueCodec} for a `codec` option. */
export function resolveCodec(codec: CodecName | Codec): ValueCodec {
  if (typeof codec === 'string') {
    const found = Object.hasOwn(BUILTIN, codec) ? BUILTIN[codec] : undefined;
    if (found === undefined) {
      throw new RangeError(
        `diskcache-ts: unknown codec "${codec}"; use 'structured', 'json', 'raw' or a Codec object`,
      );
    }
    return found;
  }
  if (
    codec === null ||
    typeof codec !== 'object' ||
    typeof codec.name !== 'string' ||
    codec.name === '' ||
    typeof codec.encode !== 'function' ||
    typeof codec.decode !== 'function'
  ) {
    throw new TypeError('diskcache-ts: options.codec must be a codec name or { name, encode, decode }');
  }
  return custom(codec);
}
