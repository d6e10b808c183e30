/**
 * Build-time access to public/artifacts/manifest.json, for the Astro
 * components that place figures: they hand their island only the artifacts
 * that exist, so a page never requests a file that is not there (and a
 * missing manifest simply means nothing is shipped yet). Node only: import it
 * from Astro frontmatter, never from an island.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ArtifactEntry } from './artifacts';

export const MANIFEST_PATH = 'public/artifacts/manifest.json';

/** Every entry of the manifest, or none when there is no manifest yet. */
export async function readManifest(root: string = process.cwd()): Promise<ArtifactEntry[]> {
  let text: string;
  try {
    text = await readFile(join(root, MANIFEST_PATH), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const json = JSON.parse(text) as { artifacts?: unknown };
  if (!Array.isArray(json.artifacts)) throw new Error(`${MANIFEST_PATH}: no "artifacts" list`);
  return json.artifacts as ArtifactEntry[];
}
