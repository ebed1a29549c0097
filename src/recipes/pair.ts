/**
 * A pair of numbers stored by a recipe as a JSON string (so that every codec can store it), such as
 * an average's `[total, count]`; `undefined` if `value` is not one.
 */
export function parsePair(value: unknown): [number, number] | undefined {
  if (typeof value !== 'string') return undefined;
  try {
    const pair = JSON.parse(value) as unknown;
    return Array.isArray(pair) && typeof pair[0] === 'number' && typeof pair[1] === 'number'
      ? [pair[0], pair[1]]
      : undefined;
  } catch {
    return undefined;
  }
}
