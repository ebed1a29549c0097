import { afterEach, beforeEach, describe } from 'vitest';
import type { CacheOptions } from '../../src/index.js';
import { type ManualClock, manualClock } from './clock.js';
import { batchTests } from './contract/batch.js';
import { bookkeepingTests } from './contract/bookkeeping.js';
import { evictionTests } from './contract/eviction.js';
import { expiryTests } from './contract/expiry.js';
import { keyAndValueTests } from './contract/keys-values.js';
import { lifecycleTests } from './contract/lifecycle.js';
import { operationTests } from './contract/operations.js';
import { queueTests } from './contract/queue.js';
import {
  asyncSurface,
  type CacheFactory,
  type Surface,
  type SurfaceFactory,
  surfaceFactory,
  syncSurface,
} from './surface.js';
import { makeTempDir, removeDir } from './tmp.js';

/** What each group of contract tests gets: fresh caches on fresh directories, and the clock they share. */
/** What sets a cache variant apart, where the contract allows it. */
export interface Traits {
  /**
   * Size limits apply to the cache as a whole, so eviction picks victims over all entries. `false`
   * for FanoutCache, where (as in python-diskcache) each shard evicts within its share of the limit.
   */
  globalEviction: boolean;
}

export interface ContractContext {
  /** What sets the variant under test apart. */
  readonly traits: Traits;
  /** `'async'` or `'sync'`: the surface under test. */
  readonly kind: Surface['kind'];
  /** The manual clock passed to every cache this test opens (unless the options say otherwise). */
  readonly clock: ManualClock;
  /** A new empty directory, removed after the test. */
  tempDir(): string;
  /** Opens the variant under test on `dir`, with the test's clock; closed after the test. */
  openAt(dir: string, options?: CacheOptions): Surface;
  /** Opens the variant under test on a new directory. */
  fresh(options?: CacheOptions): Surface;
  /** The factory itself, without the clock (to test what it throws). */
  rawOpen(dir: string, options?: CacheOptions): Surface;
}

/**
 * Registers the contract suite for one surface of one cache variant. The same tests run over every
 * variant (Cache, FanoutCache, the memory tier, …) and over both the async and the sync surface.
 */
export function registerContractSuite(
  name: string,
  open: SurfaceFactory,
  traits: Traits = { globalEviction: true },
): void {
  describe(name, () => {
    let clock = manualClock();
    const dirs: string[] = [];
    const opened: Surface[] = [];
    let kind: Surface['kind'] | undefined;

    beforeEach(() => {
      clock = manualClock();
    });
    afterEach(async () => {
      for (const surface of opened.splice(0)) {
        try {
          await surface.close();
        } catch {
          // A test may have broken the cache on purpose; the directory goes anyway.
        }
      }
      for (const dir of dirs.splice(0)) removeDir(dir);
      // Let the event loop turn: back-to-back synchronous tests otherwise starve vitest's worker
      // messages, and on a slow network mount its 60 s RPC timeout fires although every test passed.
      await new Promise((resolve) => setImmediate(resolve));
    });

    const tempDir = () => {
      const dir = makeTempDir();
      dirs.push(dir);
      return dir;
    };
    const rawOpen = (dir: string, options?: CacheOptions) => {
      const surface = open(dir, options);
      kind = surface.kind;
      opened.push(surface);
      return surface;
    };
    const openAt = (dir: string, options: CacheOptions = {}) => rawOpen(dir, { clock, ...options });
    const ctx: ContractContext = {
      traits,
      get kind() {
        if (kind === undefined) throw new Error('open a cache first');
        return kind;
      },
      get clock() {
        return clock;
      },
      tempDir,
      openAt,
      fresh: (options) => openAt(tempDir(), options),
      rawOpen,
    };

    lifecycleTests(ctx);
    keyAndValueTests(ctx);
    operationTests(ctx);
    expiryTests(ctx);
    bookkeepingTests(ctx);
    evictionTests(ctx);
    queueTests(ctx);
    batchTests(ctx);
  });
}

/** Registers the contract suite twice for a cache variant: over its async and over its sync surface. */
export function registerContractSuites(name: string, factory: CacheFactory, traits?: Traits): void {
  registerContractSuite(`${name} (async surface)`, surfaceFactory(factory, asyncSurface), traits);
  registerContractSuite(`${name} (sync surface)`, surfaceFactory(factory, syncSurface), traits);
}
