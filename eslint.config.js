// Lint for every TypeScript and JavaScript source in the repo (`npm run lint`, part of `npm test`).
// Formatting is prettier's job (.prettierrc.json); this file only holds rules about code, plus the 120-column
// limit for what prettier cannot break (comments). Every rule turned off or down says why on its line.
// The rule set is typescript-eslint's `recommended` without type information. `recommendedTypeChecked` was measured
// on this repo: 49 s wall and 1.9 GB (10 s without), with 1,545 more findings, nearly all no-unsafe-* on the same
// deliberate `any` values below; strict `tsc` in `npm run typecheck` already does the type work.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

// Node's globals, taken from the running Node rather than a hand list (the `globals` package is not a dependency).
const nodeGlobals = Object.fromEntries(Object.getOwnPropertyNames(globalThis).map((name) => [name, 'readonly']));
// The browser names the station's counter page (plain JS, no build step) uses.
const browserGlobals = Object.fromEntries(
  [
    'window',
    'document',
    'localStorage',
    'location',
    'navigator',
    'WebSocket',
    'fetch',
    'alert',
    'confirm',
    'sessionStorage',
    'history',
    'HTMLElement',
  ].map((name) => [name, 'readonly']),
);

export default defineConfig(
  {
    ignores: [
      '**/node_modules/**',
      'data/**',
      'build/**',
      'test-artifacts/**',
      'console/dist/**',
      'plugins/*/lib/**',
      'bench/results/**',
    ],
  },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: 'module',
      globals: nodeGlobals,
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // `any` marks the deliberately untyped seams: Kysely<any> in migrations and generic stores (Kysely's own
      // pattern: a migration must not depend on today's schema) and JSON bodies in tests and benchmarks; 91 of
      // them, none accidental (strict tsc already rejects implicit any). Casts instead would add noise, not safety.
      '@typescript-eslint/no-explicit-any': 'off',
      // A leading underscore says "unused on purpose" (a callback's required parameter, a dropped destructured field).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      // Comments and strings prettier cannot break still stop at 120 columns; URLs, string, template and regex
      // literals are exempt because breaking them hurts grep (error codes, zh/en messages) more than width helps.
      'max-len': [
        'error',
        {
          code: 120,
          ignoreUrls: true,
          ignoreStrings: true,
          ignoreTemplateLiterals: true,
          ignoreRegExpLiterals: true,
        },
      ],
    },
  },
  {
    files: ['core/station/counter-page/**/*.js'],
    languageOptions: { sourceType: 'script', globals: { ...browserGlobals } },
  },
);
