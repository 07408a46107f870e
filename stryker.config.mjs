// Mutation testing of the checker itself (issue 15): `npm run mutation`.
// Not part of `npm test`. Stryker mutates the checks (properties/), the
// reference (model/ideal/), the usable-translation rule (model/kernel/tlb.ts)
// and the shrinker's oracle, then runs the tests that cover each mutant; a
// mutant that no test kills is a check that can break silently. Results and
// the survivors that are equivalent: docs/mutation.md.

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  // The tests that check the checker; the campaigns, shrinker benchmarks,
  // report and CLI tests are left out for time (vitest.mutation.config.ts).
  vitest: { configFile: 'vitest.mutation.config.ts', related: false },
  checkers: ['typescript'],
  // No "// @ts-nocheck" in sandbox files (vitest does not type-check, the
  // checker above does): the corpus replay compares variants/*.ts byte for
  // byte with the source embedded in saved counterexamples.
  disableTypeChecks: false,
  tsconfigFile: 'tsconfig.json',
  typescriptChecker: { prioritizePerformanceOverAccuracy: true },
  mutate: [
    'properties/**/*.ts',
    '!properties/**/*.test.ts',
    // the generator feeds campaigns (campaigns/); it checks nothing
    '!properties/generate/**',
    'model/ideal/**/*.ts',
    '!model/ideal/**/*.test.ts',
    'model/kernel/tlb.ts',
    'shrinkers/oracle.ts',
  ],
  // Run only the tests that execute a mutant (Stryker's per-test coverage).
  coverageAnalysis: 'perTest',
  // Two cores, shared with other work.
  concurrency: 2,
  // Test time only is budgeted; with vitest's isolate each run also re-imports
  // modules (seconds on a shared machine). Real loops hit Stryker's hit limit.
  timeoutMS: 30000,
  ignorePatterns: ['out', '.scratch', 'mutation-report'],
  tempDirName: '.stryker-tmp',
  incrementalFile: 'mutation-report/stryker-incremental.json',
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'mutation-report/mutation.html' },
  jsonReporter: { fileName: 'mutation-report/mutation.json' },
  thresholds: { high: 95, low: 90, break: null },
};
