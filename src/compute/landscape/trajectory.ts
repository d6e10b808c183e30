/**
 * Optimisation trajectories (Li et al. 2018, section 7). Random directions
 * are nearly orthogonal to the path SGD takes, so to see the path we project
 * it onto the plane it varies most in: the top two principal components of
 * the checkpoints' offsets from the final point,
 *
 *   M = [θ_0 − θ_n; θ_1 − θ_n; …; θ_n − θ_n]   (one row per checkpoint),
 *
 * centred by its mean row as sklearn's PCA (which Li et al. use) does. The
 * checkpoints are few and the parameters many, so the components come from
 * the small Gram matrix G = M_c M_cᵀ: if G u = s² u then M_cᵀ u / s is a unit
 * principal direction with variance share s² / Σ s². The path is then
 * x_i = ⟨θ_i − θ_n, e_1⟩, y_i = ⟨θ_i − θ_n, e_2⟩, so θ_n sits at the origin.
 */
import type { ParamInfo } from '../models/types';
import type { ArrayMap } from '../train/state';
import type { Direction } from './directions';
import { isOneDimensional } from './directions';
import { symmetricEigen } from './linalg';

export interface TrajectoryOptions {
  params: ParamInfo[];
  /** Parameters θ_0 … θ_n of the saved checkpoints, in training order; the last is θ_n. */
  checkpoints: ArrayMap[];
  /**
   * Include one-dimensional tensors (biases, BN γ and β) in the PCA. Off by
   * default, as Li et al.'s `ignore biasbn`: directions are zero there.
   */
  includeBiasBn?: boolean;
}

export interface Trajectory {
  /** The top two principal directions, unit length, zero on excluded tensors. */
  directions: { x: Direction; y: Direction };
  /** Each checkpoint projected onto the directions. */
  path: { x: number[]; y: number[] };
  /** Share of the variance along the first and second direction. */
  explainedVarianceRatio: [number, number];
  /** Shares of every component, descending (they sum to 1). */
  explainedVarianceRatios: number[];
}

/**
 * PCA directions, projected path and explained variance of a trajectory.
 * Component signs are fixed so the first checkpoint projects to a
 * non-positive coordinate: the path runs from left/below toward the origin.
 */
export function pcaTrajectory(options: TrajectoryOptions): Trajectory {
  const { checkpoints } = options;
  const m = checkpoints.length;
  if (m < 3) throw new Error(`trajectory: ${m} checkpoints; PCA of a path needs at least 3`);
  const included = options.params.filter((p) => options.includeBiasBn || !isOneDimensional(p));
  const final = checkpoints[m - 1]!;
  const dimension = included.reduce((a, p) => a + p.shape.reduce((u, v) => u * v, 1), 0);

  // Rows d_i = θ_i − θ_n, flattened over the included tensors (float64).
  const rows = checkpoints.map((c, i) => {
    const row = new Float64Array(dimension);
    let at = 0;
    for (const p of included) {
      const a = c[p.name];
      const f = final[p.name];
      if (a === undefined || f === undefined)
        throw new Error(`trajectory: checkpoint ${i} has no ${p.name}`);
      if (a.data.length !== f.data.length)
        throw new Error(`trajectory: checkpoint ${i}: ${p.name} has another size`);
      for (let k = 0; k < a.data.length; k++) row[at + k] = a.data[k]! - f.data[k]!;
      at += a.data.length;
    }
    return row;
  });
  const mean = new Float64Array(dimension);
  for (const r of rows) for (let k = 0; k < dimension; k++) mean[k] = mean[k]! + r[k]! / m;
  const centred = rows.map((r) => r.map((v, k) => v - mean[k]!));

  const gram = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let j = i; j < m; j++) {
      let s = 0;
      const a = centred[i]!;
      const b = centred[j]!;
      for (let k = 0; k < dimension; k++) s += a[k]! * b[k]!;
      gram[i * m + j] = s;
      gram[j * m + i] = s;
    }
  }
  const { values, vectors } = symmetricEigen(gram, m);
  const variances = Array.from(values, (v) => Math.max(v, 0));
  const totalVariance = variances.reduce((a, b) => a + b, 0);
  if (!(totalVariance > 0)) throw new Error('trajectory: every checkpoint is the same point');

  const component = (c: number): Float64Array => {
    const e = new Float64Array(dimension);
    const s = Math.sqrt(variances[c]!);
    if (s === 0) return e;
    for (let i = 0; i < m; i++) {
      const u = vectors[i * m + c]! / s;
      const r = centred[i]!;
      for (let k = 0; k < dimension; k++) e[k] = e[k]! + u * r[k]!;
    }
    return e;
  };
  const project = (e: Float64Array): number[] =>
    rows.map((r) => {
      let s = 0;
      for (let k = 0; k < dimension; k++) s += r[k]! * e[k]!;
      return s;
    });

  const axes = [component(0), component(1)].map((e) => {
    let coords = project(e);
    if (coords[0]! > 0) {
      for (let k = 0; k < dimension; k++) e[k] = -e[k]!;
      coords = coords.map((v) => -v);
    }
    return { e, coords };
  });

  const toDirection = (e: Float64Array): Direction => {
    const out: Direction = {};
    let at = 0;
    for (const p of options.params) {
      const size = p.shape.reduce((u, v) => u * v, 1);
      const data = new Float32Array(size);
      if (included.includes(p)) {
        for (let k = 0; k < size; k++) data[k] = e[at + k]!;
        at += size;
      }
      out[p.name] = { shape: p.shape.slice(), data };
    }
    return out;
  };

  const ratios = variances.map((v) => v / totalVariance);
  return {
    directions: { x: toDirection(axes[0]!.e), y: toDirection(axes[1]!.e) },
    path: { x: axes[0]!.coords, y: axes[1]!.coords },
    explainedVarianceRatio: [ratios[0]!, ratios[1]!],
    explainedVarianceRatios: ratios,
  };
}

/**
 * The trajectory file (`skipscape trajectory --out`): the path of a training
 * run on its principal plane, for drawing over the 'pca' surface of the same
 * plane.
 */
export interface TrajectoryFile {
  /** Checkpoint coordinates in training order, and each checkpoint's epoch; the last is (0, 0). */
  path: { x: number[]; y: number[]; epochs: number[] };
  /** Share of the variance along e₁ and e₂. */
  explainedVarianceRatio: [number, number];
  /** Shares of every component, descending. */
  explainedVarianceRatios: number[];
  meta: {
    model: string;
    skip: boolean;
    dataset: string;
    /** sha256 of each checkpoint file, in path order; the last is θ_n, the plane's origin. */
    checkpointSha256: string[];
    includeBiasBn: boolean;
    version: string;
    written: string;
  };
}

/**
 * The square frame of the principal plane that frames a projected path and
 * its origin θ_n: centred on them, `margin` times their larger extent on a
 * side. One scale on both axes keeps the path's shape true. The grid of the
 * plane's surface (`skipscape trajectory --grid around:N`) and any drawing of
 * the path without it use this one frame.
 */
export function squareAroundPath(
  path: { x: readonly number[]; y: readonly number[] },
  margin = 1.2,
): { x: [number, number]; y: [number, number] } {
  const x0 = Math.min(0, ...path.x);
  const x1 = Math.max(0, ...path.x);
  const y0 = Math.min(0, ...path.y);
  const y1 = Math.max(0, ...path.y);
  const half = (margin * Math.max(x1 - x0, y1 - y0, 1e-9)) / 2;
  const cx = (x0 + x1) / 2;
  const cy = (y0 + y1) / 2;
  return { x: [cx - half, cx + half], y: [cy - half, cy + half] };
}
