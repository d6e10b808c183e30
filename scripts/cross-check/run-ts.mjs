/**
 * Run a TypeScript script that imports src/compute (which Node's own type
 * stripping cannot load: its imports name folders), bundled with esbuild the
 * way bin/build-cli.mjs bundles the CLI:
 *
 *   node scripts/cross-check/run-ts.mjs scripts/cross-check/gsc-dump.ts [args…]
 */
import { build } from 'esbuild';
import { mkdirSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [entry, ...args] = process.argv.slice(2);
if (!entry) {
  console.error('usage: node scripts/cross-check/run-ts.mjs FILE.ts [args…]');
  process.exit(2);
}
const dir = resolve('.cache', 'cross-check');
mkdirSync(dir, { recursive: true });
const outfile = join(dir, `${basename(entry, '.ts')}.mjs`);
await build({
  entryPoints: [entry],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node22',
  mainFields: ['module', 'main'],
  external: ['webgpu'],
  banner: {
    js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
  },
  logLevel: 'error',
});
process.argv = [process.argv[0], outfile, ...args];
await import(pathToFileURL(outfile).href);
