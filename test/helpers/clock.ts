import type { Clock } from '../../src/index.js';

/** A clock that only moves when told to: TTL tests move time, they never sleep. */
export interface ManualClock extends Clock {
  /** Moves the clock forward by `ms` milliseconds and returns the new time. */
  advance(ms: number): number;
  /** Sets the time (epoch milliseconds). */
  set(ms: number): void;
}

/** A {@link ManualClock} starting at `start` (epoch milliseconds; an arbitrary fixed date by default). */
export function manualClock(start = Date.UTC(2024, 0, 1)): ManualClock {
  let now = start;
  return {
    now: () => now,
    advance(ms) {
      now += ms;
      return now;
    },
    set(ms) {
      now = ms;
    },
  };
}

/** The real clock an hour behind: an entry written through it with a short `ttl` is expired already. */
export const anHourAgo: Clock = { now: () => Date.now() - 3_600_000 };
