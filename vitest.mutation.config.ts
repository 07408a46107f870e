// The tests Stryker runs (stryker.config.mjs): the tests that check the
// checker. Per mutant Stryker runs only the tests that execute it, but
// nearly every test runs a scenario, and so every property and the ideal
// memory, so each file here costs time for every mutant. Left out:
// - the campaigns and the shrinker benchmarks (campaigns/, the fuzz tests,
//   the shrinker tests other than the oracle's): they re-check what the
//   tests below pin, at 10-100x the cost; shrinkers/oracle.test.ts covers
//   the oracle itself;
// - the report and CLI tests: the CLI runs in child processes that never
//   see the active mutant, and the report tests run every saved
//   counterexample in beforeAll, which Stryker cannot attribute to a test
//   (it would run the whole suite for 80% of the mutants).
// Leaving tests out can only let mutants survive, never kill one: the score
// is a lower bound on what `npm test` catches.

import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

// Not mergeConfig: it would append to the base include list, not replace it.
export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: [
      'properties/**/*.test.ts',
      'model/ideal/**/*.test.ts',
      'model/kernel/**/*.test.ts',
      'shrinkers/oracle.test.ts',
      'test/mutants.test.ts',
      'test/mshare.test.ts',
      'test/linux_holds.test.ts',
      'test/corpus.test.ts',
    ],
    exclude: ['node_modules/**', '.stryker-tmp/**'],
    // Keep isolate (the default): with isolate false a module loaded in an
    // earlier mutant run never sees the next active mutant, and Stryker
    // reports killed mutants as survivors (seen here: 100 false survivors).
  },
});
