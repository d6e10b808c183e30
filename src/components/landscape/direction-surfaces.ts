/**
 * The shipped loss surfaces along random directions, read at build time:
 * 2-D files of kind 'direction' (not 1-D curves, not the planes of training
 * trajectories), each sha256-checked; where a network has several, the one
 * with the finest grid. The explorer draws these, and the convexity table
 * measures them. Node only: import from Astro frontmatter.
 */
import type { Surface } from '../../compute/landscape/surface';
import { readArtifactText } from '../figure/artifact-files';
import type { ArtifactEntry } from '../figure/artifacts';

export async function readDirectionSurfaces(
  entries: readonly ArtifactEntry[],
): Promise<{ entry: ArtifactEntry; surface: Surface }[]> {
  const found: { entry: ArtifactEntry; surface: Surface }[] = [];
  for (const entry of entries.filter((e) => e.kind === 'surface')) {
    const surface = JSON.parse(await readArtifactText(entry)) as Surface;
    if (surface.meta.kind === 'direction' && surface.ys.length >= 2) found.push({ entry, surface });
  }
  const points = (s: Surface) => s.xs.length * s.ys.length;
  return found.filter(
    (f) =>
      !found.some(
        (g) =>
          g.entry.model === f.entry.model &&
          g.entry.skip === f.entry.skip &&
          points(g.surface) > points(f.surface),
      ),
  );
}
