// Lint, run by `npm test` after tsc: ESLint's and typescript-eslint's recommended rules with type
// information (the tsconfig's own program, through the project service), aimed at what tsc lets through:
// promises nobody waits for or handles, and dead code.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  { ignores: ['dist/', 'reports/', '.stryker-tmp/', 'bench-results/', '*.config.mjs', '*.tmp.mjs'] },
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // Type parameters default to `any` on purpose where users' functions meet keyflow (Pipeline<T = any>,
      // results<T = any>, Aggregate, ProcessFunction), so a job type-checks without annotations; and tests read
      // JSON back. The no-unsafe-* family would flag every use of those values downstream (about 180 places)
      // and ask for casts that check nothing.
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',

      // tap waits for its subtests itself: the promise t.test() returns needs no await.
      '@typescript-eslint/no-floating-promises': ['error', {
        allowForKnownSafePromises: [{ from: 'package', name: 'PromiseWithSubtest', package: '@tapjs/core' }],
      }],
      // An error ignored on purpose says why, with a named helper from lib/shared/ignore.ts.
      'no-restricted-syntax': ['error', {
        selector: "CallExpression[callee.property.name='catch'] > ArrowFunctionExpression[body.type='BlockStatement'][body.body.length=0]",
        message: 'Say why the error is ignored: .catch() with a helper from lib/shared/ignore.ts.',
      }],

      // Dead code: unused variables, imports and private members, useless returns and constructors.
      '@typescript-eslint/no-unused-vars': ['error', { varsIgnorePattern: '^_$' }],
      '@typescript-eslint/no-unused-private-class-members': 'error',
      '@typescript-eslint/no-useless-constructor': 'error',
      'no-useless-return': 'error',
    },
  },
  {
    // A tap subtest ends when its function's promise resolves, so test functions are async even when they
    // await nothing.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/require-await': 'off' },
  },
);
