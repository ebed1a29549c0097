import { statfsSync } from 'node:fs';

/** The allocation unit assumed where the file system does not tell one (or tells one out of range). */
export const DEFAULT_ALLOCATION_UNIT = 4096;
/** The smallest and largest allocation units believed: beyond them `statfs` describes something else (an NFS client's transfer size). */
const UNIT_RANGE = [512, 64 * 1024] as const;

/** Whether `unit` is an allocation unit the cache accepts (a power of two within the sane range). */
export function isAllocationUnit(unit: unknown): unit is number {
  return (
    typeof unit === 'number' &&
    Number.isInteger(unit) &&
    unit >= UNIT_RANGE[0] &&
    unit <= UNIT_RANGE[1] &&
    (unit & (unit - 1)) === 0
  );
}

/**
 * The unit in which the file system holding `directory` allocates file space: `statfs`'s block
 * size, if it is a sane one ({@link isAllocationUnit}), else {@link DEFAULT_ALLOCATION_UNIT}.
 * Measured once when a cache is created (or its counting is migrated) and stored in its settings, so
 * that every process counts with the same unit.
 */
export function measureAllocationUnit(directory: string): number {
  try {
    const { bsize } = statfsSync(directory);
    return isAllocationUnit(bsize) ? bsize : DEFAULT_ALLOCATION_UNIT;
  } catch {
    return DEFAULT_ALLOCATION_UNIT;
  }
}

/** `bytes` rounded up to a whole number of `unit`s: the space a file of that size takes. */
export function allocated(bytes: number, unit: number): number {
  return Math.ceil(bytes / unit) * unit;
}
