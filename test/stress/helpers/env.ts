/**
 * Knobs of the stress suite, read from the environment so that a long local run needs no edit:
 *
 * - `STRESS_SECONDS`: how long the readers-and-writers test runs (default 6).
 * - `STRESS_CRASH_KILLS`: how many children the crash loop SIGKILLs (default 200).
 * - `STRESS_CRASH_LANES`: how many crash loops run side by side, each on its own directory (default 2).
 * - `STRESS_SEED`: seed of every random choice (default: a new one per run). Every test file that
 *   imports this module prints it once, before its tests, so that any run can be replayed.
 */
import { beforeAll } from 'vitest';

function positive(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0)
    throw new Error(`${name} must be a positive number, got "${raw}"`);
  return value;
}

export const STRESS_SECONDS = positive('STRESS_SECONDS', 6);
export const CRASH_KILLS = Math.round(positive('STRESS_CRASH_KILLS', 200));
export const CRASH_LANES = Math.round(positive('STRESS_CRASH_LANES', 2));
export const SEED = Math.round(positive('STRESS_SEED', 1 + Math.floor(Math.random() * 2 ** 31)));

beforeAll(() => {
  console.log(`STRESS_SEED=${SEED} (replay with STRESS_SEED=${SEED} npx vitest run <this file>)`);
});
