/**
 * Philipp, Song & Carbonell's depth diagnostics (seed 000) for the theory
 * labs' MLP at initialisation:
 *
 *   gradient scale coefficient   GSC(k, l) = ‖J_{l,k}‖_qm · ‖h_k‖ / ‖h_l‖,
 *     J_{l,k} = ∂h_l/∂h_k, ‖J‖_qm the quadratic mean of J's singular values,
 *     √(tr(JᵀJ)/d); ‖h‖ = √(E_x ‖h(x)‖²). It is the relative change of h_l per
 *     relative change of h_k, so it does not move when a layer's output is
 *     rescaled (J and ‖h‖ scale together), unlike a raw gradient norm. An
 *     exploding network has GSC(k, L) growing exponentially in L − k.
 *   pre-activation std           per unit, the std over inputs of what enters
 *                                the nonlinearity, averaged over units;
 *   sign diversity               per unit, min(P, N)/(P + N) over inputs (P
 *                                positive, N negative), averaged over units:
 *                                0.5 when signs split evenly, 0 when a unit's
 *                                sign never changes (ReLU is then the identity
 *                                or zero on the data: a pseudo-linear layer).
 *
 * The layers h_0 … h_n are what enters each nonlinearity: the plain network's
 * pre-activations s^t (after BN), the residual network's stream x_t; the top
 * layer h_L is the last hidden output (f(s^{T−1}), or x_T).
 *
 * ‖J‖_qm² is estimated with seeded random projections: for u ~ N(0, I),
 * E‖uᵀJ‖² = tr(JJᵀ) = tr(JᵀJ) and E‖u‖² = d_l, so
 * ‖J‖_qm² = E‖uᵀJ‖² / E‖u‖² · d_l / d_k, equal to the issue's E‖Ju‖²/E‖u‖²
 * (every layer here has the same width d, so the ratio is 1). One backward
 * pass with a Gaussian u_i at the top for every input i gives u_iᵀ J_{L,k}(x_i)
 * at every layer k at once: the gradient of Σ_i u_i·h_L(x_i) with respect to
 * h_k, through zero perturbations at the probes (ForwardOptions.tap). With
 * BN the inputs of a batch are coupled and J is the batch's Jacobian.
 * `projections` repeats the draw; their spread is reported.
 */
import * as tf from '@tensorflow/tfjs-core';
import { createModel } from '../models';
import type { MlpSpec, TensorMap } from '../models/types';
import { createRng, deriveSeed, normalArray } from '../random';
import { drawSeed, mlpSpec, validateNetwork } from './network';
import {
  combineGscDraws,
  depthLayers,
  gscPassesPerDraw,
  mean,
  std,
  type DrawMeasures,
  type GscDraw,
  type GscResult,
  type GscRunOptions,
} from './gsc-draws';

/** min(P, N)/(P + N) of each column of an [inputs, units] array, averaged over units; zeros count for neither. */
export function signDiversity(values: Float32Array, inputs: number, units: number): number {
  let sum = 0;
  for (let j = 0; j < units; j++) {
    let p = 0;
    let n = 0;
    for (let i = 0; i < inputs; i++) {
      const v = values[i * units + j]!;
      if (v > 0) p++;
      else if (v < 0) n++;
    }
    sum += p + n === 0 ? 0 : Math.min(p, n) / (p + n);
  }
  return sum / units;
}

/** The std over inputs of each column of an [inputs, units] array, averaged over units. */
export function unitStd(values: Float32Array, inputs: number, units: number): number {
  let sum = 0;
  for (let j = 0; j < units; j++) {
    let m = 0;
    for (let i = 0; i < inputs; i++) m += values[i * units + j]!;
    m /= inputs;
    let v = 0;
    for (let i = 0; i < inputs; i++) v += (values[i * units + j]! - m) ** 2;
    sum += Math.sqrt(v / inputs);
  }
  return sum / units;
}

export interface GscOptions extends GscRunOptions {
  /** Parameters to use instead of the seeded initial state (tests rescale a layer with this). */
  params?: TensorMap;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

/**
 * One backward pass of Σ_i u_i·h_top(x_i) for `projections` draws of u:
 * per draw and per layer k, Σ_i ‖u_iᵀ J(x_i)‖² / Σ_i ‖u_i‖². Values: draws × layers.
 * The projections are read one at a time, with a macrotask before each after
 * the first, so that a cancel (`signal`) is seen within one backward pass,
 * not one draw: with 2048 inputs and 16 projections a draw takes about 5 s.
 */
async function projectedJacobianSquares(options: {
  spec: MlpSpec;
  params: TensorMap;
  state: TensorMap;
  x: tf.Tensor2D;
  layers: string[];
  top: string;
  projections: number;
  seed: number;
  signal?: AbortSignal | undefined;
}): Promise<number[][] | 'cancelled'> {
  const { spec, params, state, x, layers, top, projections, seed, signal } = options;
  const model = createModel(spec);
  const n = x.shape[0];
  const where = new Map(layers.map((name, i) => [name, i]));
  const rows: number[][] = [];
  for (let p = 0; p < projections; p++) {
    if (p > 0 && signal) await new Promise((resolve) => setTimeout(resolve, 0));
    if (signal?.aborted) return 'cancelled';
    const row = tf.tidy(() => {
      const u = tf.tensor2d(
        normalArray(n * spec.width, createRng(deriveSeed(seed, `gsc/projection ${top} ${p}`))),
        [n, spec.width],
      );
      const epsilons = layers.map(() => tf.zeros([n, spec.width]));
      const f = (...eps: tf.Tensor[]): tf.Scalar => {
        let topValue: tf.Tensor | null = null;
        model.forward(params, state, x, {
          training: true,
          tap: (name, t) => {
            const i = where.get(name);
            const v = i === undefined ? t : tf.add(t, eps[i]!);
            if (name === top) topValue = v;
            return v;
          },
        });
        return tf.sum(tf.mul(u, topValue!));
      };
      const grads = tf.grads(f)(epsilons);
      const uu = tf.sum(tf.square(u));
      return tf.div(tf.stack(grads.map((g) => tf.sum(tf.square(g)))), uu);
    });
    rows.push(Array.from(await row.data()));
    row.dispose();
  }
  return rows;
}

/** GSC(k, L), pre-activation std and sign diversity of a network at initialisation. */
export async function gradientScaleCoefficients(
  options: GscOptions,
): Promise<GscResult | 'cancelled'> {
  const draws = options.draws ?? 1;
  const perDraw = await measureGscDraws({ ...options, from: 0, to: draws });
  if (perDraw === 'cancelled') return 'cancelled';
  return combineGscDraws(options, perDraw);
}

/**
 * Measure weight draws [from, to) of a GSC run, one at a time, each sent to
 * `onDraw` when done. Draws are independent (their weights, inputs and
 * projections come from the seed and the draw's index alone), so workers can
 * each measure a slice and combineGscDraws merges them in draw order, the
 * same bit for bit as one thread measuring all of them. Leaves
 * tf.memory().numTensors as it found it.
 */
export async function measureGscDraws(
  options: GscOptions & { from: number; to: number; onDraw?: (draw: GscDraw) => void },
): Promise<GscDraw[] | 'cancelled'> {
  const { network, seed, signal, onProgress, from, to } = options;
  validateNetwork(network);
  const inputs = options.inputs ?? 256;
  const projections = options.projections ?? 4;
  const draws = options.draws ?? 1;
  if (inputs < 2) throw new Error('need at least 2 inputs');
  if (!Number.isInteger(draws) || draws < 1) throw new Error('draws must be a whole number ≥ 1');
  if (!(Number.isInteger(from) && Number.isInteger(to) && 0 <= from && from < to && to <= draws))
    throw new Error(`draws [${from}, ${to}) are not a slice of 0 … ${draws}`);
  if (options.params && draws !== 1) throw new Error('given parameters are one draw: draws = 1');
  const spec = mlpSpec(network);
  const model = createModel(spec);
  const { layers, top } = depthLayers(network);
  const x = tf.tensor2d(
    normalArray(inputs * network.width, createRng(deriveSeed(seed, 'gsc/inputs'))),
    [inputs, network.width],
  );
  const total = (to - from) * gscPassesPerDraw(network, options.pairs ?? false);
  let done = 0;
  const step = () => onProgress?.(++done, total);
  const perDraw: GscDraw[] = [];
  try {
    for (let draw = from; draw < to; draw++) {
      // A macrotask before each draw, so a worker sees a cancel that arrived
      // meanwhile: on the CPU backends a draw's passes and reads never yield
      // to the event loop (data() resolves as a microtask), and a cancel sent
      // during a run was only read after its last draw.
      if (signal) await new Promise((resolve) => setTimeout(resolve, 0));
      if (signal?.aborted) return 'cancelled';
      const initial = model.init(drawSeed(seed, draw));
      try {
        const m = await measureDraw({
          spec,
          params: options.params ?? initial.params,
          state: initial.state,
          x,
          layers,
          top,
          projections,
          // Draw 0 keeps the plain stream names (a test matches them against propagate()).
          projectionSeed: draw === 0 ? seed : deriveSeed(seed, `gsc/draw ${draw}`),
          pairs: options.pairs ?? false,
          ...(signal ? { signal } : {}),
          step,
        });
        if (m === 'cancelled') return 'cancelled';
        const measured: GscDraw = { draw, ...m };
        perDraw.push(measured);
        options.onDraw?.(measured);
      } finally {
        for (const t of Object.values(initial.params)) t.dispose();
        for (const t of Object.values(initial.state)) t.dispose();
      }
    }
  } finally {
    x.dispose();
  }
  return perDraw;
}

async function measureDraw(o: {
  spec: MlpSpec;
  params: TensorMap;
  state: TensorMap;
  x: tf.Tensor2D;
  layers: string[];
  top: string;
  projections: number;
  projectionSeed: number;
  pairs: boolean;
  signal?: AbortSignal;
  step: () => void;
}): Promise<DrawMeasures | 'cancelled'> {
  const { spec, params, state, x, layers, top, projections } = o;
  const model = createModel(spec);
  const inputs = x.shape[0];
  // The forward values: every h_k and the top.
  const forward = tf.tidy(() => {
    const out = model.forward(params, state, x, { training: true, trace: true });
    return [...layers, top].map((name) => out.trace![name]!.clone());
  });
  const values = await Promise.all(forward.map((t) => t.data() as Promise<Float32Array>));
  forward.forEach((t) => t.dispose());
  const norm = (v: Float32Array) => Math.sqrt(v.reduce((s, a) => s + a * a, 0) / inputs);
  const layerNorm = values.slice(0, layers.length).map(norm);
  const topNorm = norm(values[layers.length]!);
  const hidden = values.slice(0, layers.length);
  const preActivationStd = hidden.map((v) => unitStd(v, inputs, spec.width));
  const diversity = hidden.map((v) => signDiversity(v, inputs, spec.width));

  // A macrotask, so a cancel that arrived during the forward pass is seen (see measureGscDraws).
  if (o.signal) await new Promise((resolve) => setTimeout(resolve, 0));
  if (o.signal?.aborted) return 'cancelled';
  const common = { spec, params, state, x, projections, seed: o.projectionSeed, signal: o.signal };
  const squares = await projectedJacobianSquares({ ...common, layers, top });
  if (squares === 'cancelled') return 'cancelled';
  o.step();
  // GSC(k, L) per projection: √(E‖uᵀJ‖²/E‖u‖²)·‖h_k‖/‖h_L‖ (all widths equal).
  const perProjection = squares.map((row) =>
    row.map((s, k) => (Math.sqrt(s) * layerNorm[k]!) / topNorm),
  );
  const measures: DrawMeasures = {
    gscToTop: layers.map((_, k) => mean(perProjection.map((r) => r[k]!))),
    projectionSpread: layers.map((_, k) => std(perProjection.map((r) => r[k]!))),
    layerNorm,
    preActivationStd,
    signDiversity: diversity,
  };
  if (o.pairs) {
    // GSC(k, l) with h_l as the top: the same pass, its vector put at layer l.
    const pairs: number[][] = [];
    for (let l = 0; l < layers.length; l++) {
      if (o.signal) await new Promise((resolve) => setTimeout(resolve, 0));
      if (o.signal?.aborted) return 'cancelled';
      const row = layers.map((_, k) => (k === l ? 1 : Number.NaN));
      if (l > 0) {
        const sq = await projectedJacobianSquares({
          ...common,
          layers: layers.slice(0, l),
          top: layers[l]!,
        });
        if (sq === 'cancelled') return 'cancelled';
        for (let k = 0; k < l; k++)
          row[k] = mean(sq.map((r) => (Math.sqrt(r[k]!) * layerNorm[k]!) / layerNorm[l]!));
        o.step();
      }
      pairs.push(row);
    }
    measures.pairs = pairs;
  }
  return measures;
}
