// Type-checked strict rules, the security plugin, and the project's own bans:
// no dynamic code, no SQL assembled from strings.
import js from '@eslint/js';
import security from 'eslint-plugin-security';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'data/', 'coverage/', 'bench/results/', 'web/dist/', 'web/.dist-*', 'test-results/'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  security.configs.recommended,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      'no-eval': 'error',
      'no-implied-eval': 'off',
      '@typescript-eslint/no-implied-eval': 'error',
      'no-new-func': 'error',
      '@typescript-eslint/explicit-module-boundary-types': 'error',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      '@typescript-eslint/no-floating-promises': 'error',
      // Fastify handlers and plugins are async by contract even when they await nothing;
      // unhandled promises are caught by no-floating-promises / no-misused-promises.
      '@typescript-eslint/require-await': 'off',
      // Kysely's escape hatches for raw SQL text: every query must be built by Kysely
      // or by the `sql` tag with bound parameters.
      'no-restricted-properties': [
        'error',
        { object: 'sql', property: 'raw', message: 'No SQL assembled from strings: use bound parameters.' },
        { object: 'sql', property: 'lit', message: 'No SQL literals from values: use bound parameters.' },
        { object: 'sql', property: 'unsafe', message: 'No SQL assembled from strings.' },
        { object: 'CompiledQuery', property: 'raw', message: 'No SQL assembled from strings.' },
      ],
      'no-restricted-globals': ['error', { name: 'eval', message: 'No dynamic code.' }],
      // Paths in this server come from configuration, never from requests; the rule
      // cannot tell them apart and would bury real findings in noise.
      'security/detect-non-literal-fs-filename': 'off',
      // Flags every `obj[key]` including typed, bounded lookups; TypeScript covers it.
      'security/detect-object-injection': 'off',
    },
  },
  {
    // The shared core knows no feature: features build on it, never the other way round.
    files: ['src/core/**/*.ts'],
    ignores: ['**/*.test.ts', '**/*.fixtures.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/features/**'], message: 'core imports no feature.' }] }],
    },
  },
  {
    // A feature uses another only through that feature's index.ts (its public surface);
    // tests and fixtures may reach inside.
    files: ['src/features/**/*.ts'],
    ignores: ['**/*.test.ts', '**/*.fixtures.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['../*/*', '!../*/index.ts', '!../../**'], message: 'import another feature through its index.ts.' }] }],
    },
  },
  {
    files: ['**/*.test.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unnecessary-type-parameters': 'off',
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite', 'before', 'after', 'beforeEach', 'afterEach'] },
          ],
        },
      ],
    },
  },
  {
    // The browser app runs under a CSP without 'unsafe-inline' and with Trusted Types: no
    // HTML from strings, no inline styles, and no credential in storage a script can read.
    files: ['web/src/**/*.{ts,tsx}'],
    rules: {
      'no-restricted-syntax': [
        'error',
        { selector: "JSXAttribute[name.name='dangerouslySetInnerHTML']", message: 'User text is rendered as text only: no dangerouslySetInnerHTML.' },
        { selector: "JSXAttribute[name.name='style']", message: "No inline styles: the page CSP has no 'unsafe-inline' for styles. Use a class." },
        { selector: "AssignmentExpression > MemberExpression.left[property.name=/^(innerHTML|outerHTML)$/]", message: 'No HTML from strings (Trusted Types refuses it).' },
        { selector: "CallExpression[callee.property.name=/^(insertAdjacentHTML|write|writeln)$/]", message: 'No HTML from strings (Trusted Types refuses it).' },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'eval', message: 'No dynamic code.' },
        { name: 'localStorage', message: 'No credentials or tokens in storage scripts can read (web/src/session.ts holds the session).' },
        { name: 'sessionStorage', message: 'No credentials or tokens in storage scripts can read (web/src/session.ts holds the session).' },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'window', property: 'localStorage', message: 'No tokens in web storage.' },
        { object: 'window', property: 'sessionStorage', message: 'No tokens in web storage.' },
        { object: 'document', property: 'cookie', message: 'Session cookies are httpOnly; nothing reads or writes document.cookie.' },
      ],
    },
  },
  {
    files: ['eslint.config.js'],
    extends: [tseslint.configs.disableTypeChecked],
  },
  // The Node version check and the launcher must run on any old Node, so they are plain
  // JavaScript outside the TypeScript project (test/cli/require-node.test.ts runs them on
  // an older Node when the machine has one).
  {
    files: ['scripts/require-node.cjs', 'bin/gatehouse.mjs', 'scripts/compile-cache.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: { process: 'readonly', module: 'writable', URL: 'readonly' } },
  },
  {
    files: ['scripts/require-node.cjs'],
    languageOptions: { sourceType: 'commonjs' },
  },
  // Plain JavaScript run before the compile cache is on; its types are in compile-cache.d.mts.
  {
    files: ['scripts/compile-cache.mjs'],
    rules: { '@typescript-eslint/explicit-module-boundary-types': 'off' },
  },
);
