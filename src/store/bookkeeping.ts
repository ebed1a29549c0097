import type { Op } from '../fs/runner.js';
import type { StoreSettings } from './entries.js';

/** Whether an error is the file system's "read-only file system". */
export function isReadOnlyError(error: unknown): boolean {
  return (error as NodeJS.ErrnoException)?.code === 'EROFS';
}

/**
 * Runs a write that no caller asked for (bookkeeping: moving a corrupt entry aside, an access time,
 * statistics, recovery and repairs while opening). Skipped when the store is read-only; on
 * read-only media the first EROFS makes the store read-only, and the write is skipped. `undefined`
 * when skipped.
 */
export function* bookkeeping<T>(store: StoreSettings, write: () => Op<T>): Op<T | undefined> {
  if (store.readOnly) return undefined;
  try {
    return yield* write();
  } catch (error) {
    if (!isReadOnlyError(error)) throw error;
    store.readOnly = true;
    return undefined;
  }
}
