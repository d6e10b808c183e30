import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import astro from 'eslint-plugin-astro';
import svelte from 'eslint-plugin-svelte';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['dist/', '.astro/', '.cache/', 'node_modules/', 'public/', 'assembly/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...astro.configs.recommended,
  ...svelte.configs['flat/recommended'],
  {
    languageOptions: { globals: { ...globals.browser, ...globals.node } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-console': ['error', { allow: ['warn', 'error'] }],
    },
  },
  {
    files: ['**/*.svelte', '**/*.svelte.ts'],
    languageOptions: { parserOptions: { parser: tseslint.parser } },
  },
  {
    // The command line, scripts and tests talk to a terminal.
    files: ['src/cli/**', 'scripts/**', 'tests/**', 'bench/**', 'bin/**'],
    rules: { 'no-console': 'off' },
  },
  {
    // src/compute is pure: no DOM, no UI frameworks.
    files: ['src/compute/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: ['svelte', 'svelte/*', 'three', 'three/*', 'astro', 'astro:*', '**/components/**'] },
      ],
      'no-restricted-globals': ['error', 'document', 'window'],
    },
  },
);
