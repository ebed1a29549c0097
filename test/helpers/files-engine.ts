/**
 * Imported first by the test files about the `files` engine's own format (entry files, lock
 * folders, shard directories): the caches they create, and those of their child processes, use the
 * `files` engine whatever the run's default. The `log` engine's format has tests of its own
 * (test/log/).
 */
process.env.DISKCACHE_ENGINE = 'files';
