// Mutation testing (`npm run mutate`, not part of `npm test`): small bugs are put into the modules where a
// wrong answer is silent, one at a time, and the fast unit tests that cover them must notice each one.
// Stryker instruments lib/ in a sandbox, `tsc` builds it once, and the tap runner runs the compiled test
// files with plain node (4-8x faster per run than loading the .ts through tap's TypeScript loader).
// Coverage is per test file, so each mutant runs only the files that reach it; code that only runs in an
// actor's worker thread reports no coverage, hence the unit tests that call these modules directly.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  mutate: [
    'lib/pipeline/windows/**/*.ts',
    'lib/shared/time/**/*.ts',
    'lib/pipeline/aggregates/**/*.ts',
    'lib/shared/durability/wal.ts',
    // The state layout's directory listing and WAL segment names (the rest of it builds paths).
    'lib/shared/durability/state-layout.ts:27-27',
    'lib/shared/durability/state-layout.ts:38-47',
    'lib/shared/durability/state-layout.ts:111-118',
    'lib/calling-thread/sinks/exactly-once-file.ts',
    'lib/shared/keygroups.ts',
  ],
  buildCommand: 'tsc -p .',
  testRunner: 'tap',
  tap: {
    testFiles: [
      // The fast unit tests of the mutated modules (a few seconds each); the engine-level ones among them
      // (windows, event-time-range, idle-sources) cover what runs on the main thread.
      'dist/test/{window-alignment,window-specs,windows,aggregates,aggregate-merge,aggregate-bad-values}.test.js',
      'dist/test/{keygroups,source-watermarks,event-time-range,idle-sources}.test.js',
      'dist/test/{wal,wal-segments,exactly-once-file,exactly-once-file-refusals,exactly-once-file-buffering}.test.js',
    ],
  },
  checkers: ['typescript'],
  tsconfigFile: 'tsconfig.json',
  coverageAnalysis: 'perTest',
  concurrency: 2,
  ignorePatterns: ['dist', '.tap', 'bench-results', 'reports'],
  incrementalFile: 'reports/mutation/stryker-incremental.json',
  reporters: ['clear-text', 'progress-append-only', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  tempDirName: '.stryker-tmp',
};
