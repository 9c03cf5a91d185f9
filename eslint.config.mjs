// ESLint flat config (`npm run lint` = `eslint .`). Boundaries enforced by tools (STYLE.md §13):
// type-aware typescript-eslint, no floating promises, no import cycles, no deep imports across packages.
import { defineConfig } from 'eslint/config';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { importX, createNodeResolver } from 'eslint-plugin-import-x';
import regexp from 'eslint-plugin-regexp';

// services/console is the browser app (Preact TSX, its own tsconfig with the DOM lib): the same type-aware rules.
const TS_FILES = ['libs/**/*.ts', 'services/**/*.ts', 'services/console/src/**/*.tsx', 'bench/**/*.ts'];
const TEST_FILES = ['**/*.test.ts'];

/** Node globals for the few plain-JS scripts (infra/scripts), without pulling in the `globals` package. */
const nodeGlobals = Object.fromEntries(
  [
    '__dirname', '__filename', 'process', 'console', 'Buffer', 'URL', 'URLSearchParams', 'fetch',
    'AbortController', 'AbortSignal', 'performance', 'queueMicrotask', 'structuredClone',
    'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'setImmediate', 'clearImmediate',
  ].map((name) => [name, 'readonly']),
);

export default defineConfig(
  {
    ignores: [
      '**/dist/**',
      '**/node_modules/**',
      'infra/kafka/lib/**',
      'infra/kafka/target/**',
      '.run/**',
      'coverage/**',
      // Declarations are compiler output here (declaration: true); hand-written ones are checked by tsc.
      '**/*.d.ts',
      // Tooling config files at the root (this file, .mocharc.js) and benchmark scripts.
      '*.js',
      '*.cjs',
      '*.mjs',
      '.*.js',
      'bench/**/*.js',
      'bench/**/*.mjs',
      'bench/**/*.cjs',
    ],
  },

  // Plain CommonJS scripts under infra/ (migrate.js, local-stack.js): the basic JS rules.
  {
    files: ['infra/**/*.js'],
    extends: [js.configs.recommended],
    languageOptions: { sourceType: 'commonjs', ecmaVersion: 2023, globals: nodeGlobals },
  },

  // TypeScript sources of every workspace package: type-aware rules, and no regular expression that can
  // backtrack super-linearly (a 60,000-digit string once blocked an api replica for 34 s on one regex).
  {
    files: TS_FILES,
    extends: [tseslint.configs.recommendedTypeChecked, regexp.configs['flat/recommended']],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'import-x': importX },
    settings: {
      'import-x/extensions': ['.ts', '.tsx', '.js'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts', '.tsx'] },
      'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.tsx', '.d.ts', '.js', '.json'] })],
      // Workspace packages resolve (through node_modules symlinks) to their compiled dist/: cycles
      // between packages are already impossible with project references, so only parse sources.
      'import-x/ignore': ['/dist/', 'node_modules'],
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      // express 5 forwards a rejected async handler to the error middleware, so a promise-returning
      // callback argument is fine; still flag promises in conditions, spreads and void-returning properties.
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false, attributes: false } }],
      // Handlers and store methods are `async` for a uniform Promise-returning interface even when the
      // in-memory fake has nothing to await.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true }],
      'import-x/no-cycle': 'error',
      'regexp/no-super-linear-backtracking': 'error',
      'regexp/no-super-linear-move': 'error',
      'no-restricted-imports': ['error', {
        patterns: [
          {
            group: ['@apg/*/src', '@apg/*/src/**', '@apg/*/dist', '@apg/*/dist/**'],
            message: 'Import workspace packages by their public name (@apg/<pkg>), never a deep path.',
          },
          {
            // Code inside a package never names a src/ or dist/ segment, so one in a relative path
            // means reaching into another package (../../platform/src/config).
            group: ['**/src', '**/src/**', '**/dist', '**/dist/**', '!@apg/**'],
            message: 'Do not reach into another package by relative path; import it by its public name (@apg/<pkg>).',
          },
        ],
      }],
    },
  },

  // Tests: chai's `expect(x).to.be.true` is an expression statement, and fixtures/parsed JSON are `any`.
  {
    files: TEST_FILES,
    rules: {
      '@typescript-eslint/no-unused-expressions': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-enum-comparison': 'off',
    },
  },
);
