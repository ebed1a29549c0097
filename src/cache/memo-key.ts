/**
 * Deterministic cache keys for memoized calls: the same name and equal arguments always give the
 * same key, in every process and across restarts (unlike pickled tuples in python-diskcache).
 */

function scalar(value: unknown, typed: boolean): string {
  const text = JSON.stringify(String(value));
  return typed ? `${typeof value}:${text}` : text;
}

function canonical(value: unknown, typed: boolean, seen: Set<object>): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'undefined':
      return 'undefined';
    case 'string':
    case 'number':
    case 'bigint':
    case 'boolean':
      return scalar(value, typed);
    case 'object':
      break;
    default:
      throw new TypeError(`diskcache-ts: cannot derive a cache key from an argument of type ${typeof value}`);
  }
  const object = value as object;
  if (seen.has(object))
    throw new TypeError('diskcache-ts: cannot derive a cache key from a circular argument');
  seen.add(object);
  try {
    const inner = (v: unknown) => canonical(v, typed, seen);
    if (Array.isArray(object)) return `[${object.map(inner).join(',')}]`;
    if (object instanceof Uint8Array) return `bytes(${Buffer.from(object).toString('hex')})`;
    if (object instanceof Date) return `Date(${object.getTime()})`;
    if (object instanceof RegExp) return `RegExp(${JSON.stringify(object.source)},${object.flags})`;
    if (object instanceof Map) {
      const items = [...object].map(([k, v]) => `${inner(k)}=>${inner(v)}`).sort();
      return `Map{${items.join(',')}}`;
    }
    if (object instanceof Set) return `Set{${[...object].map(inner).sort().join(',')}}`;
    const prototype = Object.getPrototypeOf(object);
    if (prototype !== Object.prototype && prototype !== null) {
      throw new TypeError(
        `diskcache-ts: cannot derive a cache key from a ${object.constructor?.name ?? 'class'} instance; pass plain data`,
      );
    }
    const fields = Object.keys(object)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${inner((object as Record<string, unknown>)[k])}`);
    return `{${fields.join(',')}}`;
  } finally {
    seen.delete(object);
  }
}

/** The cache key of a call to the memoized function `name` with `args`. */
export function memoKey(name: string, args: readonly unknown[], typed: boolean): string {
  return `memoize:${name}(${args.map((a) => canonical(a, typed, new Set())).join(',')})`;
}
