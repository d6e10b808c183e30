import { defineConfig } from 'vitest/config';

// End-to-end tests: Chromium (playwright-core) against the built site in
// ./dist, served by tests/e2e/global-setup.ts. Build first (`npm run build`).
// One worker, one file at a time: the machine is small and the browser is heavy.
export default defineConfig({
  test: {
    include: ['tests/e2e/**/*.e2e.test.ts'],
    globalSetup: ['tests/e2e/global-setup.ts'],
    environment: 'node',
    pool: 'forks',
    maxWorkers: 1,
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 120_000,
  },
});
