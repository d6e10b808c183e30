import { defineConfig } from 'vitest/config';

// tfjs ships two builds: a CommonJS Node build of tfjs-core that registers no
// gradients, and an ESM build (with extensionless imports) that does. Inlining
// the @tensorflow packages makes Vite resolve their ESM "module" entries, so the
// tests load exactly one tfjs-core instance with every gradient registered, as
// the browser and the esbuild-bundled CLI do.
export default defineConfig({
  resolve: { mainFields: ['module', 'jsnext:main', 'jsnext', 'main'] },
  ssr: { resolve: { mainFields: ['module', 'jsnext:main', 'jsnext', 'main'] } },
  test: {
    include: ['tests/unit/**/*.test.ts', 'src/**/*.test.ts'],
    environment: 'node',
    server: { deps: { inline: [/@tensorflow/] } },
    testTimeout: 120_000,
    pool: 'forks',
  },
});
