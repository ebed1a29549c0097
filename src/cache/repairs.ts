/** The `code` of the process warnings that report a repair. */
export const REPAIR_WARNING = 'DISKCACHE_REPAIRED';

/**
 * Repairs made outside `check()` (while opening, by recovery): each is reported at once by a process
 * warning (`process.on('warning')`, code {@link REPAIR_WARNING}), and kept until the next `check()`
 * reports it among its problems.
 */
export class Repairs {
  private pending: string[] = [];

  constructor(private readonly directory: string) {}

  /** Records one repair, in words (`'<path>: what was wrong, what was done'`). */
  record(problem: string): void {
    this.pending.push(problem);
    this.warn(problem);
  }

  /** Emits a warning about this cache directory (code {@link REPAIR_WARNING}) without recording it. */
  warn(message: string): void {
    process.emitWarning(`diskcache-ts: ${this.directory}: ${message.replace(/^diskcache-ts: /, '')}`, {
      type: 'DiskcacheWarning',
      code: REPAIR_WARNING,
    });
  }

  /** The repairs recorded since the last call, which forgets them. */
  drain(): string[] {
    return this.pending.splice(0);
  }
}
