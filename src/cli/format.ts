/** How the CLI shows sizes, times, keys and values to people and to scripts. */
import type { Key } from '../format/key.js';

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** `1536` → `'1.5 KiB'`: binary units, one decimal from KiB on. */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${UNITS[unit]}`;
}

/** `1234567` → `'1,234,567'`. */
export function formatCount(count: number): string {
  return count.toLocaleString('en-US');
}

/** A duration in milliseconds as `'3d 4h'`, `'5m 3s'`, `'2.5s'` or `'120ms'`: the two largest units. */
export function formatDuration(ms: number): string {
  const abs = Math.abs(ms);
  if (abs < 1000) return `${Math.round(abs)}ms`;
  if (abs < 10_000) return `${(abs / 1000).toFixed(1)}s`;
  const parts: Array<[number, string]> = [
    [Math.floor(abs / 86_400_000), 'd'],
    [Math.floor(abs / 3_600_000) % 24, 'h'],
    [Math.floor(abs / 60_000) % 60, 'm'],
    [Math.floor(abs / 1000) % 60, 's'],
  ];
  const first = parts.findIndex(([n]) => n > 0);
  return parts
    .slice(first, first + 2)
    .filter(([n]) => n > 0)
    .map(([n, unit]) => `${n}${unit}`)
    .join(' ');
}

/** When an entry expires, relative to `now`: `'never'`, `'in 5m 3s'` or `'expired'`. */
export function formatExpiry(expiresAt: number | null, now: number): string {
  if (expiresAt === null) return 'never';
  return expiresAt > now ? `in ${formatDuration(expiresAt - now)}` : 'expired';
}

/** The key types the CLI reads with `--key-type` and reports as `keyType`. */
export const KEY_TYPES = ['string', 'number', 'bigint', 'base64'] as const;
/** A key type the CLI reads with `--key-type` and reports as `keyType`. */
export type KeyTypeName = (typeof KEY_TYPES)[number];

/** A key as text and the `--key-type` that reads that text back into the same key. */
export interface RenderedKey {
  text: string;
  type: KeyTypeName;
}

/** Renders a key (or tag) so that `--key-type type` with `text` names it again. */
export function renderKey(key: Key): RenderedKey {
  if (typeof key === 'string') return { text: key, type: 'string' };
  if (typeof key === 'number') return { text: String(key), type: 'number' };
  if (typeof key === 'bigint') return { text: key.toString(), type: 'bigint' };
  return { text: Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('base64'), type: 'base64' };
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it looks for.
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f]|^\s|\s$|^$/;

/** A key (or tag) for a terminal: strings as they are unless unprintable (then quoted), others with their type. */
export function keyForTerminal(key: Key): string {
  const { text, type } = renderKey(key);
  if (type === 'string') return UNPRINTABLE.test(text) ? JSON.stringify(text) : text;
  return `${text} (${type})`;
}

/** The type of a stored value as the CLI reports it (`valueType` in `get --json`). */
export function valueType(value: unknown): string {
  if (value === null) return 'null';
  if (value instanceof Uint8Array) return 'bytes';
  if (Array.isArray(value)) return 'array';
  if (value instanceof Map) return 'map';
  if (value instanceof Set) return 'set';
  if (value instanceof Date) return 'date';
  if (value instanceof RegExp) return 'regexp';
  if (ArrayBuffer.isView(value)) return 'typed-array';
  return typeof value;
}

/**
 * A value converted for `JSON.stringify`, for display: bigint → decimal string, bytes → base64,
 * Map → object (string keys) or array of pairs, Set and typed arrays → arrays, Date → ISO string,
 * RegExp → its source text, `undefined` → `null`, a cycle → `'[Circular]'`. Lossy on purpose.
 */
export function toDisplayJson(value: unknown, seen = new Set<object>()): unknown {
  switch (typeof value) {
    case 'bigint':
      return value.toString();
    case 'undefined':
    case 'function':
    case 'symbol':
      return null;
    case 'object':
      break;
    default:
      return value;
  }
  if (value === null) return null;
  if (value instanceof Uint8Array)
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (value instanceof RegExp) return String(value);
  if (ArrayBuffer.isView(value))
    return Array.from(value as unknown as ArrayLike<unknown>, (v) => toDisplayJson(v));
  if (seen.has(value)) return '[Circular]';
  seen.add(value);
  try {
    if (Array.isArray(value)) return value.map((v) => toDisplayJson(v, seen));
    if (value instanceof Set) return [...value].map((v) => toDisplayJson(v, seen));
    if (value instanceof Map) {
      const entries = [...value.entries()];
      if (entries.every(([k]) => typeof k === 'string')) {
        return Object.fromEntries(entries.map(([k, v]) => [k, toDisplayJson(v, seen)]));
      }
      return entries.map(([k, v]) => [toDisplayJson(k, seen), toDisplayJson(v, seen)]);
    }
    if (value instanceof Error) return { name: value.name, message: value.message };
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toDisplayJson(v, seen)]));
  } finally {
    seen.delete(value);
  }
}

/** Left-aligned columns separated by two spaces; the last column is not padded. */
export function formatTable(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      if (i < row.length - 1) widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  }
  return rows
    .map((row) => row.map((cell, i) => (i < row.length - 1 ? cell.padEnd(widths[i] ?? 0) : cell)).join('  '))
    .join('\n');
}
