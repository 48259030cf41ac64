// ESLint for the TypeScript and JavaScript in the tree (`npm run lint`); formatting is prettier's (`npm run format`).
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import lit from 'eslint-plugin-lit';
import litA11y from 'eslint-plugin-lit-a11y';
import wc from 'eslint-plugin-wc';
import { defineConfig } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default defineConfig(
  {
    ignores: ['dist/', 'data/', '**/node_modules/', '.wtr-*/', 'custom-elements.json'],
  },
  {
    files: ['**/*.{js,mjs}'],
    extends: [js.configs.recommended],
    languageOptions: { globals: globals.node },
  },
  {
    // Scripts that drive a browser: their page.evaluate callbacks run in the page.
    files: ['scripts/screenshot.mjs', 'test/consumers/run.mjs', 'test/support/commands.mjs'],
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
  },
  {
    // The consumer apps' own scripts, loaded by a page.
    files: ['test/consumers/csp/app.js', 'test/consumers/webpack-app/src/**/*.js'],
    languageOptions: { globals: globals.browser },
  },
  {
    files: ['**/*.{ts,tsx,mts}'],
    extends: [js.configs.recommended, tseslint.configs.recommended],
    rules: {
      // A leading underscore marks what is deliberately unused (as tsc's noUnusedParameters reads it), and a
      // destructured name beside a rest element is how a field is left out of a copy.
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrorsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
          ignoreRestSiblings: true,
        },
      ],
      // `declare module 'react' { namespace JSX { ... } }` is how the JSX typings name the elements.
      '@typescript-eslint/no-namespace': ['error', { allowDeclarations: true }],
    },
  },
  {
    files: ['**/*.test.ts', 'test/**', 'components/test/**', 'server/test/**', 'bench/**'],
    rules: {
      // Chai's property assertions (`expect(el).to.exist`) are expressions by design.
      '@typescript-eslint/no-unused-expressions': 'off',
      // Tests and the bench read untyped JSON bodies and page results.
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  {
    files: ['components/**/*.ts'],
    extends: [
      lit.configs['flat/recommended'],
      wc.configs['flat/recommended'],
      wc.configs['flat/best-practice'],
      litA11y.configs.recommended,
    ],
  },
  prettier,
);
