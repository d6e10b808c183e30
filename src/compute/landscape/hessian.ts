/**
 * Curvature of the loss: the extreme eigenvalues λ_max and λ_min of the
 * Hessian ∇²L(θ) at a point, and the map of |λ_min / λ_max| over a plane
 * (Li et al. 2018, section 6). A Hessian of a network has as many rows as the
 * network has parameters, so it is never formed: Krylov methods need only
 * Hessian-vector products, and those come exactly from double backward
 * (Pearlmutter 1994):
 *
 *   H v = ∇_θ ⟨∇_θ L(θ), v⟩.                                         (1)
 *
 * tfjs 4.22 gets (1) wrong out of the box; the fixes are in
 * tfjs-fixes/second-order.ts and are registered here before any product.
 *
 * Finite differences, H v ≈ (∇L(θ + εv) − ∇L(θ − εv)) / 2ε, are offered only
 * as a labelled approximation: through ReLU kinks the gradient is not
 * differentiable, and the difference quotient does not converge to (1) as
 * ε → 0.
 *
 * The loss is the same as the surfaces': mean cross-entropy over the
 * evaluation subset, BN in inference mode with the stored running statistics
 * (Li et al.'s code evaluates its Hessian with net.eval() likewise).
 */
import * as tf from '@tensorflow/tfjs-core';
import { backendLabel } from '../backend';
import type { Model, TensorMap } from '../models/types';
import { createRng, deriveSeed, normalArray } from '../random';
import { registerSecondOrderGradients } from '../tfjs-fixes/second-order';
import type { Dataset } from '../data/dataset';
import type { DirectionPair } from './directions';
import { gridDifferences, mergeGridFiles } from './merge';
import type {
  EvaluationBatches,
  GridProgress,
  Origin,
  PlaneTensors,
  Shard,
  SurfaceMetaInput,
} from './grid';
import { emptySurface, evaluationBatches, planeTensors, pointTensors, runGrid } from './grid';
import { lanczos, powerIteration } from './linalg';
import type { LinearOperator } from './linalg';
import type { PlanePool } from './pool';
import type { SurfaceMeta } from './surface';

/** How Hessian-vector products are computed. */
export type HvpMethod = 'exact' | 'finite-difference';
/** How the extreme eigenvalues are found from those products. */
export type EigenMethod = 'lanczos' | 'power';

/** A flat view of some parameters: names, shapes and where each sits in the vector. */
export interface ParameterLayout {
  names: string[];
  shapes: number[][];
  offsets: number[];
  dimension: number;
}

export function parameterLayout(
  params: Readonly<Record<string, { shape: readonly number[] }>>,
  names?: string[],
): ParameterLayout {
  const chosen = names ?? Object.keys(params);
  const shapes: number[][] = [];
  const offsets: number[] = [];
  let dimension = 0;
  for (const n of chosen) {
    const t = params[n];
    if (t === undefined) throw new Error(`Hessian: no parameter ${n}`);
    shapes.push(t.shape.slice());
    offsets.push(dimension);
    dimension += t.shape.reduce((a, b) => a * b, 1);
  }
  return { names: chosen, shapes, offsets, dimension };
}

function toTensors(layout: ParameterLayout, v: Float64Array): tf.Tensor[] {
  return layout.names.map((_, i) => {
    const size = layout.shapes[i]!.reduce((a, b) => a * b, 1);
    const start = layout.offsets[i]!;
    return tf.tensor(
      Float32Array.from(v.subarray(start, start + size)),
      layout.shapes[i]!,
      'float32',
    );
  });
}

async function accumulate(
  layout: ParameterLayout,
  into: Float64Array,
  tensors: tf.Tensor[],
  scale: number,
): Promise<void> {
  const values = await Promise.all(tensors.map((t) => t.data()));
  values.forEach((vals, i) => {
    const start = layout.offsets[i]!;
    for (let k = 0; k < vals.length; k++) into[start + k] = into[start + k]! + scale * vals[k]!;
  });
}

/**
 * Σ_i (log Σ_c exp z_ic − z_i,y_i), the summed cross-entropy, written from
 * primitives that differentiate twice. tf.logSoftmax (and so the trainer's
 * sumCrossEntropy) is a customGrad whose gradient reuses its saved output;
 * a customGrad cannot be re-registered, so double backward through it loses
 * the softmax's own derivative. The max shift keeps exp in range; its
 * derivative cancels exactly (lse(z − m) + m does not depend on m).
 */
export function crossEntropySum(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  const m = tf.max(logits, 1, true);
  const lse = tf.add(tf.log(tf.sum(tf.exp(tf.sub(logits, m)), 1, true)), m);
  const picked = tf.sum(tf.mul(tf.oneHot(labels, logits.shape[1]), logits), 1, true);
  return tf.sum(tf.sub(lse, picked));
}

/** Σ-loss of one batch as a function of the chosen parameters (the others held fixed). */
function batchLoss(
  model: Model,
  params: TensorMap,
  state: TensorMap,
  layout: ParameterLayout,
  batch: EvaluationBatches['batches'][number],
): (...ps: tf.Tensor[]) => tf.Scalar {
  return (...ps: tf.Tensor[]) => {
    const p: TensorMap = { ...params };
    layout.names.forEach((n, i) => (p[n] = ps[i]!));
    const { logits } = model.forward(p, state, batch.x, { training: false });
    return crossEntropySum(logits, batch.labels);
  };
}

/**
 * Σ of scalars as a balanced tree of two-input adds. Not tf.addN: the webgpu
 * backend compiles AddN into one shader with a storage buffer per input, and a
 * network has more parameter tensors than a device allows per shader stage
 * (8 on many, SwiftShader included), so the pipeline is invalid and the
 * result garbage.
 */
function sumTree(terms: tf.Tensor[]): tf.Scalar {
  if (terms.length === 0) throw new Error('sumTree: nothing to add');
  let level = terms;
  while (level.length > 1) {
    const next: tf.Tensor[] = [];
    for (let i = 0; i < level.length; i += 2)
      next.push(i + 1 < level.length ? tf.add(level[i]!, level[i + 1]!) : level[i]!);
    level = next;
  }
  return level[0] as tf.Scalar;
}

/**
 * The operator v ↦ H v of scale · Σ_k losses_k(xs): exact by equation (1),
 * or by central differences of gradients when asked. Products are summed
 * term by term (the Hessian of a sum is the sum of Hessians), reading each
 * term back before the next so memory holds one double-backward graph.
 */
export function hvpOperator(options: {
  losses: ((...ps: tf.Tensor[]) => tf.Scalar)[];
  xs: tf.Tensor[];
  layout: ParameterLayout;
  scale: number;
  hvp: HvpMethod;
  /** Step ε for finite differences, relative to ‖v‖ (default 1e-3). */
  finiteDifferenceStep?: number | undefined;
}): LinearOperator {
  const { losses, xs, layout, scale } = options;
  registerSecondOrderGradients();
  if (options.hvp === 'exact') {
    return async (v: Float64Array) => {
      const out = new Float64Array(layout.dimension);
      const vt = toTensors(layout, v);
      try {
        for (const loss of losses) {
          // Equation (1): the gradient of ⟨∇L, v⟩.
          const hv = tf.tidy(() =>
            tf.grads((...ps: tf.Tensor[]) => {
              const g = tf.grads(loss)(ps);
              return sumTree(g.map((gi, i) => tf.sum(tf.mul(gi, vt[i]!))));
            })(xs),
          );
          try {
            await accumulate(layout, out, hv, scale);
          } finally {
            for (const t of hv) t.dispose();
          }
        }
      } finally {
        for (const t of vt) t.dispose();
      }
      return out;
    };
  }
  const relative = options.finiteDifferenceStep ?? 1e-3;
  return async (v: Float64Array) => {
    const out = new Float64Array(layout.dimension);
    let vNorm = 0;
    for (let i = 0; i < v.length; i++) vNorm += v[i]! * v[i]!;
    vNorm = Math.sqrt(vNorm);
    if (vNorm === 0) return out;
    const eps = relative / vNorm;
    const vt = toTensors(layout, v);
    try {
      for (const sign of [1, -1]) {
        const shifted = tf.tidy(() => xs.map((x, i) => tf.add(x, tf.mul(vt[i]!, sign * eps))));
        try {
          for (const loss of losses) {
            const g = tf.tidy(() => tf.grads(loss)(shifted));
            try {
              await accumulate(layout, out, g, (sign * scale) / (2 * eps));
            } finally {
              for (const t of g) t.dispose();
            }
          }
        } finally {
          for (const t of shifted) t.dispose();
        }
      }
    } finally {
      for (const t of vt) t.dispose();
    }
    return out;
  };
}

/**
 * The operator v ↦ H v of the mean loss over the evaluation batches at
 * (params, state), with respect to the parameters in `layout`.
 */
export function hessianOperator(options: {
  model: Model;
  params: TensorMap;
  state: TensorMap;
  data: EvaluationBatches;
  layout: ParameterLayout;
  hvp: HvpMethod;
  finiteDifferenceStep?: number | undefined;
  /** Multiplies the summed loss (default 1 / data.count: the mean; 1: the sum, for a share). */
  scale?: number | undefined;
}): LinearOperator {
  const { model, params, state, data, layout } = options;
  return hvpOperator({
    losses: data.batches.map((b) => batchLoss(model, params, state, layout, b)),
    xs: layout.names.map((n) => params[n]!),
    layout,
    scale: options.scale ?? 1 / data.count,
    hvp: options.hvp,
    finiteDifferenceStep: options.finiteDifferenceStep,
  });
}

export interface EigenOptions {
  method?: EigenMethod | undefined;
  /** Most Hessian-vector products per Krylov run (default 100 for Lanczos, 200 for power iteration). */
  iterations?: number | undefined;
  /**
   * Each eigenvalue θ counts as converged when its residual ‖Hv − θv‖ ≤ tolerance·|θ|
   * (default 1e-2: some eigenvalue then lies within 1 % of θ).
   */
  tolerance?: number | undefined;
  hvp?: HvpMethod | undefined;
  finiteDifferenceStep?: number | undefined;
  /** Seed of the random starting vector. */
  seed?: number | undefined;
  signal?: AbortSignal | undefined;
}

export const DEFAULT_TOLERANCE = 1e-2;

export function defaultIterations(method: EigenMethod): number {
  return method === 'lanczos' ? 100 : 200;
}

export interface ExtremeEigenvalues {
  lambdaMax: number;
  lambdaMin: number;
  /** ‖Hv − λv‖ of each estimate's unit vector: an eigenvalue of H lies within it. */
  residualMax: number;
  residualMin: number;
  /** Each end converged by its own residual (see linalg.ts, KrylovOptions.tolerance). */
  convergedMax: boolean;
  convergedMin: boolean;
  /** Hessian-vector products spent. */
  products: number;
  /** Both ends converged. */
  converged: boolean;
}

/**
 * λ_max and λ_min of a symmetric operator.
 *
 * - Lanczos: both ends from one Krylov space, each run until its own residual
 *   is small. (Shifting by λ_max would change nothing: K(A − σI, v) = K(A, v).)
 * - Power iteration: the first run converges to the eigenvalue μ₁ of largest
 *   magnitude; a second run on A − μ₁I converges to the far end of the
 *   spectrum, μ₂ − μ₁, since every eigenvalue of A − μ₁I lies between 0 and
 *   that one. λ_max and λ_min are μ₁ and μ₂ in order (Li et al.'s code shifts
 *   the same way). Each run's residual is judged against its own eigenvalue of A.
 */
export async function extremeEigenvalues(
  options: EigenOptions & {
    apply: LinearOperator;
    dimension: number;
    onProduct?: ((products: number) => void) | undefined;
  },
): Promise<ExtremeEigenvalues> {
  const method = options.method ?? 'lanczos';
  const iterations = options.iterations ?? defaultIterations(method);
  const tolerance = options.tolerance ?? DEFAULT_TOLERANCE;
  const start = Float64Array.from(
    normalArray(options.dimension, createRng(deriveSeed(options.seed ?? 0, 'hessian.start'))),
  );
  const base = {
    dimension: options.dimension,
    start,
    iterations,
    tolerance,
    signal: options.signal,
  };
  if (method === 'lanczos') {
    const r = await lanczos({
      ...base,
      apply: options.apply,
      onIteration: (k) => options.onProduct?.(k),
    });
    return {
      lambdaMax: r.max.value,
      lambdaMin: r.min.value,
      residualMax: r.max.residual,
      residualMin: r.min.residual,
      convergedMax: r.max.converged,
      convergedMin: r.min.converged,
      products: r.products,
      converged: r.converged,
    };
  }
  const first = await powerIteration({
    ...base,
    apply: options.apply,
    onIteration: (k) => options.onProduct?.(k),
  });
  const mu = first.value;
  const second = await powerIteration({
    ...base,
    apply: options.apply,
    shift: mu,
    onIteration: (k) => options.onProduct?.(first.products + k),
  });
  const [hi, lo] = mu >= second.value ? [first, second] : [second, first];
  return {
    lambdaMax: hi.value,
    lambdaMin: lo.value,
    residualMax: hi.residual,
    residualMin: lo.residual,
    convergedMax: hi.converged,
    convergedMin: lo.converged,
    products: first.products + second.products,
    converged: hi.converged && lo.converged,
  };
}

/**
 * Which parameters the Hessian is taken over: 'all' trainable tensors, or
 * 'weights', those of dimension > 1 (conv and dense kernels, no biases or BN
 * γ, β), as Li et al.'s hess_vec_prod.py does.
 */
export type HessianParameters = 'all' | 'weights';

export function hessianParameterNames(
  params: Readonly<Record<string, { shape: readonly number[] }>>,
  set: HessianParameters | readonly string[],
): string[] {
  if (typeof set !== 'string') return [...set];
  const names = Object.keys(params);
  return set === 'all' ? names : names.filter((n) => params[n]!.shape.length > 1);
}

/** What a Hessian computation needs: a network at a point and the evaluation subset. */
export interface HessianProblem {
  model: Model;
  origin: Origin;
  data: Dataset;
  /**
   * Parameters to differentiate with respect to: a named set (default 'all': every trainable
   * parameter) or an explicit list of names.
   */
  parameters?: HessianParameters | readonly string[] | undefined;
  /** Images per double-backward pass (default 64). */
  batchSize?: number | undefined;
}

/** λ_max and λ_min of the Hessian of the loss at θ*. Leaves the tensor count where it found it. */
export async function hessianEigenvalues(
  options: HessianProblem & EigenOptions & { onProduct?: ((products: number) => void) | undefined },
): Promise<ExtremeEigenvalues> {
  const plane = planeTensors(options.origin, { x: {}, y: null });
  const subset = evaluationBatches({
    model: options.model,
    data: options.data,
    batchSize: options.batchSize ?? 64,
  });
  try {
    const layout = parameterLayout(
      plane.params,
      hessianParameterNames(plane.params, options.parameters ?? 'all'),
    );
    const apply = hessianOperator({
      model: options.model,
      params: plane.params,
      state: plane.state,
      data: subset,
      layout,
      hvp: options.hvp ?? 'exact',
      finiteDifferenceStep: options.finiteDifferenceStep,
    });
    return await extremeEigenvalues({ ...options, apply, dimension: layout.dimension });
  } finally {
    subset.dispose();
    plane.dispose();
  }
}

/** How a Hessian map was computed, beside the plane's own metadata. */
export interface HessianMeta extends SurfaceMeta {
  method: EigenMethod;
  hvp: HvpMethod;
  /** Most products per point. */
  iterations: number;
  /** Relative residual below which an eigenvalue counts as converged. */
  tolerance: number;
  /** Which parameters: every trainable tensor, or those of dimension > 1 (Li et al.). */
  parameters: HessianParameters;
  /** Number of parameters the Hessian is taken over (its dimension). */
  dimension: number;
}

/**
 * The Hessian map file: the extreme eigenvalues at each point of a plane
 * through θ*, laid out like a Surface (row-major, y outer, x inner; null where
 * not computed or not finite; mask of computed points).
 */
export interface HessianMap {
  xs: number[];
  ys: number[];
  lambdaMax: (number | null)[];
  lambdaMin: (number | null)[];
  /** |λ_min / λ_max|: near 0 where the surface is locally convex, larger where it curves down too. */
  ratio: (number | null)[];
  /**
   * ‖Hv − λv‖ of each estimate: an eigenvalue lies within it. λ converged where
   * residual ≤ meta.tolerance·|λ| (see `convergedEnds`).
   */
  residualMax: (number | null)[];
  residualMin: (number | null)[];
  /** Hessian-vector products run at each point. */
  products: (number | null)[];
  mask: (0 | 1)[];
  meta: HessianMeta;
}

/**
 * Whether λ_max and λ_min at point p converged by their own residuals; null
 * for a map written before residuals were recorded (its convergence is unknown).
 */
export function convergedEnds(
  map: Pick<HessianMap, 'lambdaMax' | 'lambdaMin' | 'meta'> &
    Partial<Pick<HessianMap, 'residualMax' | 'residualMin'>>,
  p: number,
): { max: boolean; min: boolean } | null {
  const { residualMax, residualMin } = map;
  if (residualMax === undefined || residualMin === undefined) return null;
  const ok = (value: number | null | undefined, residual: number | null | undefined) =>
    value !== null &&
    value !== undefined &&
    residual !== null &&
    residual !== undefined &&
    residual <= map.meta.tolerance * Math.abs(value);
  return {
    max: ok(map.lambdaMax[p], residualMax[p]),
    min: ok(map.lambdaMin[p], residualMin[p]),
  };
}

/** The per-point arrays of a Hessian map, in one list for copying, resuming and merging. */
const HESSIAN_VALUES = [
  'lambdaMax',
  'lambdaMin',
  'ratio',
  'residualMax',
  'residualMin',
  'products',
] as const;

export interface HessianMapOptions extends HessianProblem, EigenOptions {
  /** A named set only: the map's metadata records which. */
  parameters?: HessianParameters | undefined;
  directions: DirectionPair;
  xs: number[];
  ys: number[];
  meta: SurfaceMetaInput;
  progressive?: boolean | undefined;
  shard?: Shard | undefined;
  resume?: HessianMap | undefined;
  onProgress?: ((progress: GridProgress) => void) | undefined;
  onPartial?: ((map: HessianMap, progress: GridProgress) => void) | undefined;
  /** After each Hessian-vector product at the point in progress. */
  onProduct?: ((products: number) => void) | undefined;
  /**
   * Replicas (worker threads) to share each Hessian-vector product, each over
   * its run of whole batches (see pool.ts); default: this thread. Points are
   * computed one at a time, every replica working on each product.
   */
  pool?: PlanePool | undefined;
}

function copyMap(m: HessianMap): HessianMap {
  const copy = {
    ...m,
    xs: m.xs.slice(),
    ys: m.ys.slice(),
    mask: m.mask.slice(),
    meta: { ...m.meta },
  };
  for (const key of HESSIAN_VALUES) copy[key] = m[key].slice();
  return copy;
}

/** |λ_min/λ_max| map over a (coarse) grid of the plane θ* + αδ + βη. */
export async function computeHessianMap(options: HessianMapOptions): Promise<HessianMap> {
  const { model, data, xs, ys } = options;
  const method = options.method ?? 'lanczos';
  const iterations = options.iterations ?? defaultIterations(method);
  const tolerance = options.tolerance ?? DEFAULT_TOLERANCE;
  const hvp = options.hvp ?? 'exact';
  const parameters = options.parameters ?? 'all';
  const batchSize = options.batchSize ?? 64;
  const pool = options.pool;
  const layout = parameterLayout(
    options.origin.params,
    hessianParameterNames(options.origin.params, parameters),
  );
  let local: { plane: PlaneTensors; subset: EvaluationBatches } | null = null;
  if (pool) {
    await pool.loadPlane({
      origin: options.origin,
      directions: options.directions,
      data,
      batchSize,
      share: 'split',
      parameters: layout.names,
    });
  } else {
    const plane = planeTensors(options.origin, options.directions);
    try {
      local = { plane, subset: evaluationBatches({ model, data, batchSize }) };
    } catch (e) {
      plane.dispose();
      throw e;
    }
  }
  let failed = false;
  try {
    const base = emptySurface({
      xs,
      ys,
      meta: {
        ...options.meta,
        subset: data.count,
        backend: backendLabel(),
        seconds: 0,
        written: new Date().toISOString(),
      },
    });
    const map: HessianMap = {
      xs: base.xs,
      ys: base.ys,
      lambdaMax: base.loss.slice(),
      lambdaMin: base.loss.slice(),
      ratio: base.loss.slice(),
      residualMax: base.loss.slice(),
      residualMin: base.loss.slice(),
      products: base.loss.slice(),
      mask: base.mask,
      meta: {
        ...base.meta,
        method,
        hvp,
        iterations,
        tolerance,
        parameters,
        dimension: layout.dimension,
      },
    };
    if (options.resume) {
      const r = options.resume;
      const diff = [...gridDifferences(map, r), ...hessianDifferences(map, r)];
      if (diff.length > 0)
        throw new Error(`cannot resume: the partial Hessian map differs (${diff.join('; ')})`);
      for (let p = 0; p < r.mask.length; p++) {
        if (r.mask[p] !== 1) continue;
        map.mask[p] = 1;
        for (const key of HESSIAN_VALUES) map[key][p] = r[key][p]!;
      }
      map.meta.seconds = r.meta.seconds;
    }
    const secondsBefore = map.meta.seconds;
    const start = performance.now();
    await runGrid({
      xs,
      ys,
      mask: map.mask,
      progressive: options.progressive ?? true,
      shard: options.shard,
      signal: options.signal,
      async point(p, alpha, beta) {
        const at = local ? pointTensors(local.plane, alpha, beta) : null;
        try {
          const apply: LinearOperator =
            local && at
              ? hessianOperator({
                  model,
                  params: at.params,
                  state: at.state,
                  data: local.subset,
                  layout,
                  hvp,
                  finiteDifferenceStep: options.finiteDifferenceStep,
                })
              : async (v) => {
                  // The replicas' sums over their shares, then the mean over the whole subset.
                  const sum = await pool!.hessianProduct({
                    alpha,
                    beta,
                    v,
                    hvp,
                    finiteDifferenceStep: options.finiteDifferenceStep,
                  });
                  for (let i = 0; i < sum.length; i++) sum[i] = sum[i]! / data.count;
                  return sum;
                };
          const r = await extremeEigenvalues({
            ...options,
            method,
            iterations,
            tolerance,
            apply,
            dimension: layout.dimension,
          });
          // A Krylov run cut short by cancel is not this point's answer.
          if (options.signal?.aborted) return false;
          const finite = Number.isFinite(r.lambdaMax) && Number.isFinite(r.lambdaMin);
          map.lambdaMax[p] = finite ? r.lambdaMax : null;
          map.lambdaMin[p] = finite ? r.lambdaMin : null;
          map.residualMax[p] = finite ? r.residualMax : null;
          map.residualMin[p] = finite ? r.residualMin : null;
          map.products[p] = r.products;
          const ratio = Math.abs(r.lambdaMin / r.lambdaMax);
          map.ratio[p] = finite && Number.isFinite(ratio) ? ratio : null;
          return true;
        } finally {
          for (const t of at?.owned ?? []) t.dispose();
        }
      },
      onPoint(progress) {
        map.meta.seconds = secondsBefore + (performance.now() - start) / 1000;
        options.onProgress?.(progress);
        if (options.onPartial) {
          map.meta.written = new Date().toISOString();
          options.onPartial(copyMap(map), progress);
        }
      },
    });
    map.meta.seconds = secondsBefore + (performance.now() - start) / 1000;
    map.meta.written = new Date().toISOString();
    return map;
  } catch (e) {
    failed = true;
    throw e;
  } finally {
    if (local) {
      local.subset.dispose();
      local.plane.dispose();
    } else {
      await pool!.releasePlane().catch((e: unknown) => {
        if (!failed) throw e;
      });
    }
  }
}

const HESSIAN_FIELDS = [
  'method',
  'hvp',
  'iterations',
  'tolerance',
  'parameters',
  'dimension',
] as const;

function hessianDifferences(a: HessianMap, b: HessianMap): string[] {
  return HESSIAN_FIELDS.filter((f) => a.meta[f] !== b.meta[f]).map(
    (f) => `${f}: ${a.meta[f]} vs ${b.meta[f]}`,
  );
}

/** Join shards or partial runs of one Hessian map (see mergeGridFiles). */
export function mergeHessianMaps(maps: HessianMap[]): HessianMap {
  return mergeGridFiles(maps, {
    values: [...HESSIAN_VALUES],
    differences: hessianDifferences,
  });
}
