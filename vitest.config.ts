import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    // .stryker-tmp holds mutation sandboxes (npm run mutation): copies of these tests.
    exclude: ['node_modules/**', '.stryker-tmp/**', 'mutation-report/**'],
    testTimeout: 120_000,
    pool: 'forks',
  },
});
