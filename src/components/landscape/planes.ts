/**
 * The numbers the article's Hessian-map and trajectory captions state, taken
 * from the shipped files when the page is built (never typed in), and the
 * adapters that let the contour SVG draw those files.
 */
import { convergedEnds } from '../../compute/landscape/hessian';
import type { HessianMap } from '../../compute/landscape/hessian';
import type { Surface, SurfaceMeta } from '../../compute/landscape/surface';
import { squareAroundPath } from '../../compute/landscape/trajectory';

/** The fields of a trajectory file (`skipscape trajectory`) the figure uses. */
export interface TrajectoryFileData {
  path: { x: number[]; y: number[]; epochs: number[] };
  explainedVarianceRatio: [number, number];
  meta: { model: string; skip: boolean };
}

export interface HessianSummary {
  /** Points with both eigenvalues. */
  points: number;
  /**
   * Share of those where the Hessian has a clearly negative eigenvalue:
   * λ_min < 0 with |λ_min| at least `threshold` × λ_max, so that rounding in
   * the eigenvalue iteration does not count as curvature.
   */
  negativeShare: number;
  threshold: number;
  /** Median and largest |λ_min/λ_max| over the points. */
  medianRatio: number;
  maxRatio: number;
  /** Points whose λ_max, and whose λ_min, converged by their own residuals. */
  convergedMax: number;
  convergedMin: number;
  /** Hessian-vector products per point: fewest and most; null if no point was computed. */
  products: [number, number] | null;
}

export function hessianSummary(map: HessianMap, threshold = 0.05): HessianSummary {
  const ratios: number[] = [];
  const products: number[] = [];
  let negative = 0;
  let convergedMax = 0;
  let convergedMin = 0;
  map.mask.forEach((m, k) => {
    const hi = map.lambdaMax[k];
    const lo = map.lambdaMin[k];
    if (m !== 1 || hi === null || hi === undefined || lo === null || lo === undefined) return;
    const ratio = Math.abs(lo / hi);
    ratios.push(ratio);
    // A negative Ritz value is certain even unconverged: it never lies below λ_min.
    if (lo < 0 && ratio >= threshold) negative++;
    const ends = convergedEnds(map, k);
    if (ends?.max) convergedMax++;
    if (ends?.min) convergedMin++;
    const used = map.products[k];
    if (used !== null && used !== undefined) products.push(used);
  });
  ratios.sort((a, b) => a - b);
  const n = ratios.length;
  const median =
    n === 0
      ? Number.NaN
      : n % 2
        ? (ratios[(n - 1) / 2] as number)
        : ((ratios[n / 2 - 1] as number) + (ratios[n / 2] as number)) / 2;
  return {
    points: n,
    negativeShare: n === 0 ? Number.NaN : negative / n,
    threshold,
    medianRatio: median,
    maxRatio: n === 0 ? Number.NaN : (ratios[n - 1] as number),
    convergedMax,
    convergedMin,
    products: products.length > 0 ? [Math.min(...products), Math.max(...products)] : null,
  };
}

/** A Hessian map as a surface whose "loss" is |λ_min/λ_max|, for the contour SVG. */
export function ratioSurface(map: HessianMap): Surface {
  return {
    xs: map.xs,
    ys: map.ys,
    loss: map.ratio,
    accuracy: map.ratio.map(() => null),
    mask: map.mask,
    meta: map.meta,
  };
}

/** A share as a whole percentage ("37 %"), or "under 1 %" / "none" at the bottom. */
export function percent(share: number): string {
  if (share === 0) return 'none';
  // A no-break space keeps the number and its sign on one line.
  if (share < 0.01) return 'under 1\u00a0%';
  return `${Math.round(100 * share)}\u00a0%`;
}

/**
 * A blank plane around a path (no values: nothing is coloured), for drawing a
 * training path when the loss over its plane was not computed: the same
 * square window as the plane's surface (`squareAroundPath`).
 */
export function planeAroundPath(
  path: { x: readonly number[]; y: readonly number[] },
  meta: SurfaceMeta,
): Surface {
  const { x, y } = squareAroundPath(path);
  return {
    xs: x,
    ys: y,
    loss: [null, null, null, null],
    accuracy: [null, null, null, null],
    mask: [0, 0, 0, 0],
    meta,
  };
}
