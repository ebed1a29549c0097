/**
 * What the children of the counting tests do, written once for the child that does it and the parent
 * that knows what to expect.
 */

/** The delta of operation `i` of child `id` in the mixed `incr`/`decr` test (+3, +1 or -2). */
export function mixedDelta(id: number, i: number): number {
  const r = (i * 7 + id * 3) % 5;
  return r < 2 ? 3 : r < 4 ? -2 : 1;
}

/** The sum of the deltas child `id` applies in `n` mixed operations. */
export function mixedSum(id: number, n: number): number {
  let sum = 0;
  for (let i = 0; i < n; i++) sum += mixedDelta(id, i);
  return sum;
}

/** The keys of the crash loop, by role. */
export const CRASH_KEYS = {
  /** Set and deleted one at a time. */
  single: Array.from({ length: 8 }, (_, i) => `s${i}`),
  /** Incremented and decremented. */
  counters: Array.from({ length: 4 }, (_, i) => `c${i}`),
  /** Written in pairs `a<i>`/`b<i>` by transactions, always to the same generation. */
  pairs: 4,
  /** Incremented by every transaction. */
  transactions: 'tx-count',
} as const;

/** Every key the crash loop writes. */
export function crashKeys(): string[] {
  const pairs = Array.from({ length: CRASH_KEYS.pairs }, (_, i) => [`a${i}`, `b${i}`]).flat();
  return [...CRASH_KEYS.single, ...CRASH_KEYS.counters, ...pairs, CRASH_KEYS.transactions];
}

/** One operation of the crash-loop child, as logged before it starts. */
export type CrashOp =
  | { op: 'set'; key: string; gen: string }
  | { op: 'delete'; key: string }
  | { op: 'incr'; key: string; delta: number }
  | { op: 'tx'; pairs: { i: number; gen: string | null }[] };
