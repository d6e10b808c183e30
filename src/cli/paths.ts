/**
 * Where things are, relative to the package (not the working directory): the
 * shipped data, node_modules, the bundle. Found by walking up from this file
 * (src/cli/ in tests, .cache/skipscape/ in the bundle) to the package.json
 * named "skipscape".
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findPackageRoot(start: string): string {
  let dir = start;
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        if (
          (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'skipscape'
        ) {
          return dir;
        }
      } catch {
        // not ours; keep walking
      }
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no skipscape package.json above ${start}`);
    dir = parent;
  }
}

/** The file this code runs from: the bundle (.cache/skipscape/cli.mjs) or, in tests, this module. */
export const SELF_FILE = fileURLToPath(import.meta.url);

export const PACKAGE_ROOT = findPackageRoot(dirname(SELF_FILE));

/** The site's public/ folder; the shipped Fashion-MNIST subset lives in public/data/fashion-mnist. */
export const PUBLIC_DIR = join(PACKAGE_ROOT, 'public');

/** The tfjs wasm binaries, for setWasmPaths. */
export const WASM_DIR =
  join(PACKAGE_ROOT, 'node_modules', '@tensorflow', 'tfjs-backend-wasm', 'dist') + '/';

/** The bundled command line (built by bin/skipscape.mjs), which also serves as the replica worker. */
export const BUNDLE_FILE = join(PACKAGE_ROOT, '.cache', 'skipscape', 'cli.mjs');

export function packageVersion(): string {
  return (
    JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }
  ).version;
}
