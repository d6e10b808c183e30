/**
 * Builds the command line bundle .cache/skipscape/cli.mjs from src/cli/main.ts
 * with esbuild, when it is missing or older than any file in src/ (or
 * package.json). tfjs is bundled from its ESM builds (mainFields module,
 * main), which register every gradient; `webgpu` (Dawn, a native addon) stays
 * external, and so does h5wasm (4 MB, loaded by Node from node_modules only
 * when an HDF5 file is read or written, not at every start). The banner gives the ESM bundle the CommonJS globals that
 * emscripten's wasm loader expects.
 */
import { mkdirSync, readdirSync, renameSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const BUNDLE = join(ROOT, '.cache', 'skipscape', 'cli.mjs');

function newestMtime(path) {
  const s = statSync(path);
  if (!s.isDirectory()) return s.mtimeMs;
  let newest = s.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

export function isStale() {
  let built;
  try {
    built = statSync(BUNDLE).mtimeMs;
  } catch {
    return true;
  }
  const sources = Math.max(
    newestMtime(join(ROOT, 'src')),
    statSync(join(ROOT, 'package.json')).mtimeMs,
    statSync(fileURLToPath(import.meta.url)).mtimeMs,
  );
  return sources > built;
}

const BANNER = [
  "import { createRequire as __skipscapeCreateRequire } from 'node:module';",
  "import { fileURLToPath as __skipscapeFileURLToPath } from 'node:url';",
  "import { dirname as __skipscapeDirname } from 'node:path';",
  'const require = __skipscapeCreateRequire(import.meta.url);',
  'const __filename = __skipscapeFileURLToPath(import.meta.url);',
  'const __dirname = __skipscapeDirname(__filename);',
].join('\n');

/**
 * Build the bundle if it is stale (or always, with force); returns its path.
 * `outfile` builds elsewhere under .cache/ (tests pin their own copy, so a
 * rebuild by another process cannot change the code under test mid-run).
 */
export async function ensureCliBundle({ force = false, outfile = BUNDLE } = {}) {
  if (!force && outfile === BUNDLE && !isStale()) return BUNDLE;
  const { build } = await import('esbuild');
  mkdirSync(dirname(outfile), { recursive: true });
  // Build beside the target and rename, so concurrent runs never see half a file.
  const tmp = `${outfile}.${process.pid}.tmp.mjs`;
  await build({
    entryPoints: [join(ROOT, 'src', 'cli', 'main.ts')],
    outfile: tmp,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    mainFields: ['module', 'main'],
    external: ['webgpu', 'h5wasm'],
    banner: { js: BANNER },
    logLevel: 'error',
    legalComments: 'none',
  });
  renameSync(tmp, outfile);
  return outfile;
}
