import { FanoutCache, type FanoutOptions } from '../src/index.js';
import { registerContractSuites } from './helpers/contract.js';
import type { CacheLike } from './helpers/surface.js';

function withShards(options: unknown): FanoutOptions {
  // Options that are not an object go through as they are: the constructor must refuse them.
  return (
    options !== null && typeof options === 'object' ? { ...options, shards: 4 } : options
  ) as FanoutOptions;
}

// The contract suite, unchanged, over a FanoutCache of 4 shards.
registerContractSuites(
  'FanoutCache',
  (directory, options) => new FanoutCache(directory, withShards(options)) as unknown as CacheLike,
  { globalEviction: false },
);
