import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // vitest's default leaves one core idle: on CI's two cores that ran one file at a time (15 min, not 7).
    maxWorkers: availableParallelism(),
    globalSetup: ['test/global-setup.ts'],
  },
});
