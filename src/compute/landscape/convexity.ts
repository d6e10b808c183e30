/**
 * How far from convex a computed surface is, read from its own values.
 *
 * A function that is convex on a line has non-negative second differences
 * along it: f(p + h) − 2 f(p) + f(p − h) ≥ 0 for every p and h. At each interior
 * point of the grid we take the four lattice lines through it (α, β and the
 * two diagonals) and call the point *non-convex* when any of the four second
 * differences is negative. Such a point is a certificate, not an estimate:
 * the loss restricted to that segment of the plane curves downward somewhere,
 * so the Hessian of the full loss has a negative eigenvalue there (its
 * curvature along the segment's direction, uᵀHu, is negative at some point of
 * it; Li et al.'s λ_min < 0). The share of non-convex points is therefore a
 * lower bound, at the grid's resolution, on the share of the plane where the
 * Hessian is indefinite; a coarser grid sees less of it.
 *
 * A *local minimum* is an interior point lower than all eight neighbours.
 * A convex surface has at most one (a plateau of equal values has none), so
 * every extra one is a dip a descent method can be caught in.
 *
 * Only points whose whole 3 × 3 stencil is computed and finite take part;
 * pass {@link completeLattice} of a partly computed surface to measure the
 * finest sub-grid that is complete.
 */
import type { Surface } from './surface';

export interface SurfaceConvexity {
  /** Grid steps (Δα, Δβ) the second differences span. */
  spacing: [number, number];
  /** Interior points with a complete, finite 3 × 3 stencil: the points measured. */
  points: number;
  /** Of those, points where some second difference (α, β or a diagonal) is negative. */
  nonConvex: number;
  /** nonConvex / points (NaN when no point is measured). */
  nonConvexShare: number;
  /** Interior points strictly lower than their eight neighbours, lowest first. */
  minima: { alpha: number; beta: number; loss: number }[];
}

/** The four lattice directions through a point: α, β, and the two diagonals. */
const LINES: readonly [number, number][] = [
  [1, 0],
  [0, 1],
  [1, 1],
  [1, -1],
];

/**
 * Second differences below −tolerance·(|f(p+h)| + 2|f(p)| + |f(p−h)|) count as
 * negative: float32 losses of a flat region are equal only to a few ulps.
 */
const RELATIVE_TOLERANCE = 1e-6;

export function surfaceConvexity(surface: Surface): SurfaceConvexity {
  const nx = surface.xs.length;
  const ny = surface.ys.length;
  if (ny < 3 || nx < 3) {
    throw new Error(`convexity needs a 2-D grid of at least 3 × 3 points, got ${nx} × ${ny}`);
  }
  const at = (i: number, j: number): number | null => {
    const k = j * nx + i;
    const v = surface.loss[k];
    return surface.mask[k] === 1 && v !== null && v !== undefined && Number.isFinite(v) ? v : null;
  };
  let points = 0;
  let nonConvex = 0;
  const minima: SurfaceConvexity['minima'] = [];
  for (let j = 1; j + 1 < ny; j++) {
    for (let i = 1; i + 1 < nx; i++) {
      const centre = at(i, j);
      if (centre === null) continue;
      const around: number[] = [];
      for (let dj = -1; dj <= 1; dj++) {
        for (let di = -1; di <= 1; di++) {
          if (di === 0 && dj === 0) continue;
          const v = at(i + di, j + dj);
          if (v !== null) around.push(v);
        }
      }
      if (around.length < 8) continue;
      points++;
      const curvesDown = LINES.some(([di, dj]) => {
        const a = at(i + di, j + dj)!;
        const b = at(i - di, j - dj)!;
        const second = a - 2 * centre + b;
        return second < -RELATIVE_TOLERANCE * (Math.abs(a) + 2 * Math.abs(centre) + Math.abs(b));
      });
      if (curvesDown) nonConvex++;
      if (around.every((v) => v > centre)) {
        minima.push({ alpha: surface.xs[i]!, beta: surface.ys[j]!, loss: centre });
      }
    }
  }
  minima.sort((a, b) => a.loss - b.loss);
  return {
    spacing: [surface.xs[1]! - surface.xs[0]!, surface.ys[1]! - surface.ys[0]!],
    points,
    nonConvex,
    nonConvexShare: points > 0 ? nonConvex / points : Number.NaN,
    minima,
  };
}
