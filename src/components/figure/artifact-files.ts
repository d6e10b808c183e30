/**
 * Build-time reads of shipped artifacts, for Astro components that draw a
 * figure into the page itself (no JavaScript) or that must know what a file
 * holds before handing it to an island. Each file is checked against the
 * manifest's sha256, so a stale artifact fails the build instead of
 * publishing a wrong figure. Node only: import from Astro frontmatter.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ArtifactEntry } from './artifacts';

/** The text of a shipped artifact (path relative to public/), sha256-checked. */
export async function readArtifactText(
  entry: Pick<ArtifactEntry, 'path' | 'sha256'>,
  root: string = process.cwd(),
): Promise<string> {
  const bytes = await readFile(join(root, 'public', entry.path));
  const sum = createHash('sha256').update(bytes).digest('hex');
  if (sum !== entry.sha256.toLowerCase()) {
    throw new Error(
      `public/${entry.path}: sha256 ${sum} does not match the manifest's ${entry.sha256}; recompute the manifest or the file`,
    );
  }
  return bytes.toString('utf8');
}
