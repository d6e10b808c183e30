import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startStaticServer } from './support/static-server';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Origin of the static server serving ./dist, e.g. http://127.0.0.1:41234. */
    baseUrl: string;
    /** Absolute path of the built site. */
    distDir: string;
  }
}

/**
 * Serve the built site once for every end-to-end test file. The site is
 * ./dist unless E2E_DIST_DIR names another build output.
 */
export default async function setup(project: TestProject) {
  const distDir = resolve(process.env['E2E_DIST_DIR'] ?? 'dist');
  if (!existsSync(resolve(distDir, 'index.html'))) {
    throw new Error(
      `No built site in ${distDir}: run \`npm run build\` before the end-to-end tests.`,
    );
  }
  const server = await startStaticServer({ root: distDir });
  project.provide('baseUrl', server.url);
  project.provide('distDir', distDir);
  return () => server.close();
}
