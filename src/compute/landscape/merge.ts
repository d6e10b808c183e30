/**
 * Joining grid files: shards of one run, or partial runs of it, into one
 * file. Plain arrays only (no tfjs), so the command line's `merge`, the
 * Hessian maps and the page's Run live (which splits a surface over one
 * worker per core) share it.
 */
import type { Surface, SurfaceMeta } from './surface';

/**
 * Meta fields that must agree for two surfaces to describe the same function
 * on the same grid (so that one may resume or be merged with the other).
 * Backend, seconds, version and time may differ.
 */
const IDENTITY_FIELDS = [
  'model',
  'skip',
  'checkpointSha256',
  'checkpoint2Sha256',
  'dataset',
  'split',
  'subset',
  'seed',
  'normalization',
  'includeBiasBn',
  'kind',
] as const satisfies readonly (keyof SurfaceMeta)[];

/** How two files' metadata differ in {@link IDENTITY_FIELDS}; empty when they are the same function. */
function identityDifferences(a: SurfaceMeta, b: SurfaceMeta): string[] {
  return IDENTITY_FIELDS.flatMap((f) =>
    a[f] === b[f] ? [] : [`${f}: ${JSON.stringify(a[f])} vs ${JSON.stringify(b[f])}`],
  );
}

/**
 * Whether a 1-D curve is the β = 0 row of a 2-D surface's plane: the same
 * function along random directions (checkpoint, data, seed: each axis has its
 * own random stream, so a 1-D run draws the δ of a 2-D run with the same
 * seed), over the same α range, with β = 0 on the surface's β axis. Its points
 * may be finer.
 */
export function isMiddleRow(curve: Surface, surface: Surface): boolean {
  const yMin = surface.ys[0]!;
  const yMax = surface.ys[surface.ys.length - 1]!;
  return (
    identityDifferences(curve.meta, surface.meta).length === 0 &&
    curve.meta.kind === 'direction' &&
    curve.ys.length === 1 &&
    curve.ys[0] === 0 &&
    surface.ys.length > 1 &&
    yMin <= 0 &&
    yMax >= 0 &&
    curve.xs[0] === surface.xs[0] &&
    curve.xs[curve.xs.length - 1] === surface.xs[surface.xs.length - 1]
  );
}

/** How two grids with metadata differ; empty when they are the same function on the same grid. */
export function gridDifferences(
  a: { xs: number[]; ys: number[]; meta: SurfaceMeta },
  b: { xs: number[]; ys: number[]; meta: SurfaceMeta },
): string[] {
  const out = identityDifferences(a.meta, b.meta);
  const same = (u: number[], v: number[]) => u.length === v.length && u.every((x, i) => x === v[i]);
  if (!same(a.xs, b.xs))
    out.push(`xs: ${a.xs.length} values from ${a.xs[0]} vs ${b.xs.length} from ${b.xs[0]}`);
  if (!same(a.ys, b.ys))
    out.push(`ys: ${a.ys.length} values from ${a.ys[0]} vs ${b.ys.length} from ${b.ys[0]}`);
  return out;
}

/** Two computed values agree when both are null or they differ by at most 1e-6 relative. */
function agree(u: number | null, v: number | null): boolean {
  if (u === null || v === null) return u === v;
  return Math.abs(u - v) <= 1e-6 * Math.max(1, Math.abs(u), Math.abs(v));
}

/** What every grid file has: a grid, a mask of computed points and a surface's metadata. */
export interface GridFile {
  xs: number[];
  ys: number[];
  mask: (0 | 1)[];
  meta: SurfaceMeta;
}

/**
 * Join grid files of the same function on the same grid (shards of one run,
 * or partial runs): a point is computed if any input has it. Inputs that
 * differ in identity or grid are refused; so is a point two inputs both have
 * with different values. Seconds add up; backends are listed when they
 * differ. `values` names the per-point arrays; `differences` adds checks of
 * a file kind's own metadata.
 */
export function mergeGridFiles<T extends GridFile>(
  files: T[],
  options: { values: readonly (keyof T & string)[]; differences?: (a: T, b: T) => string[] },
): T {
  const [base, ...rest] = files;
  if (base === undefined) throw new Error('merge: no inputs');
  const out = structuredClone(base);
  const column = (f: T, key: keyof T & string) => f[key] as unknown as (number | null)[];
  const backends = new Set([base.meta.backend]);
  rest.forEach((f, k) => {
    const diff = [...gridDifferences(base, f), ...(options.differences?.(base, f) ?? [])];
    if (diff.length > 0)
      throw new Error(`merge: input ${k + 2} does not match input 1 (${diff.join('; ')})`);
    for (let p = 0; p < f.mask.length; p++) {
      if (f.mask[p] !== 1) continue;
      if (out.mask[p] === 1) {
        const clash = options.values.find(
          (key) => !agree(column(out, key)[p]!, column(f, key)[p]!),
        );
        if (clash !== undefined) {
          const i = p % out.xs.length;
          const j = Math.floor(p / out.xs.length);
          throw new Error(
            `merge: inputs disagree at (x=${out.xs[i]}, y=${out.ys[j]}): ${clash} ${column(out, clash)[p]} vs ${column(f, clash)[p]}`,
          );
        }
        continue;
      }
      out.mask[p] = 1;
      for (const key of options.values) column(out, key)[p] = column(f, key)[p]!;
    }
    out.meta.seconds += f.meta.seconds;
    backends.add(f.meta.backend);
  });
  out.meta.backend = [...backends].join('+');
  out.meta.written = new Date().toISOString();
  return out;
}

/** Join surfaces of one function on one grid (see mergeGridFiles). */
export function mergeSurfaces(surfaces: Surface[]): Surface {
  return mergeGridFiles(surfaces, { values: ['loss', 'accuracy'] });
}
