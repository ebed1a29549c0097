/** "Did you mean …?" for the command line: the nearest of a few names, or a habit from elsewhere. */

/** Edits (insert, delete, substitute, swap two neighbours) between `a` and `b`. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const row = d[i] as number[];
      const above = d[i - 1] as number[];
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min(
        (above[j] as number) + 1,
        (row[j - 1] as number) + 1,
        (above[j - 1] as number) + cost,
      );
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        row[j] = Math.min(row[j] as number, ((d[i - 2] as number[])[j - 2] as number) + 1);
      }
    }
  }
  return (d[a.length] as number[])[b.length] as number;
}

/**
 * The name among `names` that `word` was probably meant to be: one that `aliases` maps it to (a
 * habit from another tool), the only one it is a prefix of, or the nearest within a third of its
 * length in edits (one at least); `undefined` if none is close.
 */
export function suggest(
  word: string,
  names: readonly string[],
  aliases: Readonly<Record<string, string>> = {},
): string | undefined {
  const lower = word.toLowerCase();
  const alias = Object.hasOwn(aliases, lower) ? aliases[lower] : undefined;
  if (alias !== undefined && names.includes(alias)) return alias;
  const prefixed = names.filter((name) => name.startsWith(lower));
  if (lower.length >= 2 && prefixed.length === 1) return prefixed[0];
  const withoutDashes = lower.replace(/-/g, '');
  const joined = names.find((name) => name.replace(/-/g, '') === withoutDashes);
  if (joined !== undefined) return joined;
  let best: string | undefined;
  let bestDistance = Math.max(1, Math.floor(lower.length / 3)) + 1;
  for (const name of names) {
    const distance = editDistance(lower, name);
    if (distance < bestDistance) {
      best = name;
      bestDistance = distance;
    }
  }
  return best;
}
