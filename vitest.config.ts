import { configDefaults, defineConfig } from 'vitest/config';

/**
 * The stress suite (`npm run test:stress`): crash loops, processes racing on one directory, fault
 * injection, and whatever else takes long (among them the contract suite run again over
 * `FanoutCache` and over the memory tier; over `Cache` it is a unit test). Every other test file is
 * in the unit suite (`npm run test:unit`), so a new file is always in exactly one of the two.
 */
export const STRESS = [
  'test/stress/**/*.test.ts',
  'test/netfs/**/*.test.ts',
  'test/redis/**/*.test.ts',
  'test/cli.test.ts',
  'test/concurrent-create.test.ts',
  'test/corruption.test.ts',
  'test/fanout.test.ts',
  'test/memory-tier.test.ts',
  'test/multiprocess.test.ts',
  'test/package.test.ts',
  'test/recipes.test.ts',
  'test/volume.test.ts',
];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, ...STRESS],
        },
      },
      { extends: true, test: { name: 'stress', include: STRESS } },
    ],
  },
});
