/**
 * Directions in parameter space for loss-landscape plots (Li et al. 2018,
 * section 4). A direction has one array per parameter tensor, under the
 * parameter's checkpoint name and in its layout, so θ* + αδ is taken tensor
 * by tensor. Directions are plain arrays: they cross into workers and files
 * (safetensors, tensors `x.<name>` and `y.<name>`) without tensors.
 *
 * Why normalise: a ReLU network with batch normalisation is invariant to the
 * scale of each filter (BN divides it out), so a random step of fixed size
 * means little for a filter with small weights and almost nothing for one
 * with large weights. Filter normalisation gives every filter of δ the norm of
 * the corresponding filter of θ*,
 *
 *   δ_{i,j} ← δ_{i,j} / ‖δ_{i,j}‖ · ‖θ_{i,j}‖          (Li et al., eq. 2)
 *
 * for filter j of layer i, so distances along δ are relative to the weights'
 * own scale and plots of different networks can be compared.
 */
import type { ParamInfo } from '../models/types';
import { createRng, deriveSeed, normalArray } from '../random';
import type { ArrayMap, ArrayTensor } from '../train/state';
import type { Normalization } from './surface';

/** One landscape direction: arrays under parameter (and, for interpolation, running-statistic) names. */
export type Direction = ArrayMap;

/** The two directions of a plane (η absent for a 1-D curve). */
export interface DirectionPair {
  x: Direction;
  y: Direction | null;
}

/** Added in the norm ratio so an all-zero filter of δ stays finite (as in Li et al.'s code). */
const NORM_EPSILON = 1e-10;

/** Whether a parameter is one-dimensional (bias, BN γ, BN β): "biasbn" in Li et al. */
export function isOneDimensional(info: ParamInfo): boolean {
  return (
    info.shape.length <= 1 ||
    info.role === 'bias' ||
    info.role === 'bnGamma' ||
    info.role === 'bnBeta'
  );
}

/**
 * δ ~ N(0, I) with the shape of every parameter. Each tensor draws from its
 * own stream, derived from the seed, the axis ('x' or 'y') and its name, so a
 * tensor's direction does not depend on which other tensors the model has or
 * in what order they are listed.
 */
export function gaussianDirection(options: {
  params: ParamInfo[];
  seed: number;
  axis: 'x' | 'y';
}): Direction {
  const out: Direction = {};
  for (const info of options.params) {
    const size = info.shape.reduce((a, b) => a * b, 1);
    const rng = createRng(deriveSeed(options.seed, `landscape.${options.axis}.${info.name}`));
    out[info.name] = { shape: info.shape.slice(), data: normalArray(size, rng) };
  }
  return out;
}

/**
 * Scale d, in place, so each filter (each slice along the last, output axis:
 * conv [kh, kw, in, out], dense [in, out]) has the norm of the same filter of w.
 * Element k of a row-major tensor belongs to filter k mod out.
 */
function normalizeFilters(d: Float32Array, w: Float32Array, out: number): void {
  const dNorm = new Float64Array(out);
  const wNorm = new Float64Array(out);
  for (let k = 0; k < d.length; k++) {
    const j = k % out;
    dNorm[j] = dNorm[j]! + d[k]! * d[k]!;
    wNorm[j] = wNorm[j]! + w[k]! * w[k]!;
  }
  const scale = new Float64Array(out);
  for (let j = 0; j < out; j++)
    scale[j] = Math.sqrt(wNorm[j]!) / (Math.sqrt(dNorm[j]!) + NORM_EPSILON);
  for (let k = 0; k < d.length; k++) d[k] = d[k]! * scale[k % out]!;
}

/** Scale d, in place, so the whole tensor has the norm of w ("layer" normalisation). */
function normalizeLayer(d: Float32Array, w: Float32Array): void {
  let dn = 0;
  let wn = 0;
  for (let k = 0; k < d.length; k++) {
    dn += d[k]! * d[k]!;
    wn += w[k]! * w[k]!;
  }
  const s = Math.sqrt(wn) / (Math.sqrt(dn) + NORM_EPSILON);
  for (let k = 0; k < d.length; k++) d[k] = d[k]! * s;
}

/**
 * Normalise a direction against the weights θ* it starts from. Returns a new
 * direction; the input is not changed.
 *
 * - 'filter': eq. 2 above for every conv and dense weight.
 * - 'layer': the same with the whole tensor as one filter.
 * - 'none': δ as drawn.
 *
 * One-dimensional tensors (biases, BN γ and β) are zero unless
 * `includeBiasBn`. When included they are normalised like any other tensor
 * whose last axis is the output axis: under 'filter' each element is its own
 * filter, so δ_j becomes ±|θ_j|. (Li et al.'s code instead copies θ into δ for
 * these tensors; ours keeps the random sign, so η and δ stay independent.)
 */
export function normalizeDirection(options: {
  direction: Direction;
  weights: ArrayMap;
  params: ParamInfo[];
  normalization: Normalization;
  includeBiasBn: boolean;
}): Direction {
  const { direction, weights, normalization, includeBiasBn } = options;
  const out: Direction = {};
  for (const info of options.params) {
    const d = direction[info.name];
    const w = weights[info.name];
    if (d === undefined) throw new Error(`direction has no tensor ${info.name}`);
    if (w === undefined) throw new Error(`weights have no tensor ${info.name}`);
    if (d.data.length !== w.data.length) {
      throw new Error(
        `direction ${info.name} has ${d.data.length} values, the weight ${w.data.length}`,
      );
    }
    const data = Float32Array.from(d.data);
    if (isOneDimensional(info) && !includeBiasBn) {
      data.fill(0);
    } else if (normalization === 'filter') {
      normalizeFilters(
        data,
        w.data,
        info.shape.length === 0 ? 1 : info.shape[info.shape.length - 1]!,
      );
    } else if (normalization === 'layer') {
      normalizeLayer(data, w.data);
    }
    out[info.name] = { shape: info.shape.slice(), data };
  }
  return out;
}

/** A seeded Gaussian direction, normalised against θ* (filter normalisation by default). */
export function filterNormalizedDirection(options: {
  params: ParamInfo[];
  weights: ArrayMap;
  seed: number;
  axis: 'x' | 'y';
  normalization?: Normalization;
  includeBiasBn?: boolean;
}): Direction {
  return normalizeDirection({
    direction: gaussianDirection(options),
    weights: options.weights,
    params: options.params,
    normalization: options.normalization ?? 'filter',
    includeBiasBn: options.includeBiasBn ?? false,
  });
}

/** δ (and η for a plane), from one seed, normalised against θ*. */
export function randomDirections(options: {
  params: ParamInfo[];
  weights: ArrayMap;
  seed: number;
  dimensions: 1 | 2;
  normalization: Normalization;
  includeBiasBn: boolean;
}): DirectionPair {
  const x = filterNormalizedDirection({ ...options, axis: 'x' });
  const y = options.dimensions === 2 ? filterNormalizedDirection({ ...options, axis: 'y' }) : null;
  return { x, y };
}

/**
 * The direction of linear interpolation θ(λ) = (1 − λ)θ_a + λθ_b = θ_a + λ(θ_b − θ_a)
 * between two checkpoints: θ_b − θ_a over every parameter and every BN running
 * statistic. The running statistics are interpolated too (as Li et al.'s code
 * does with its "states" directions), so each θ(λ) is evaluated with
 * statistics that belong to it; both end points are then exactly the two
 * checkpoints. Beyond [0, 1] a running variance can turn negative; such
 * points evaluate to NaN and are recorded as not finite.
 */
export function interpolationDirection(options: {
  a: { params: ArrayMap; state: ArrayMap };
  b: { params: ArrayMap; state: ArrayMap };
}): Direction {
  const out: Direction = {};
  const diff = (group: 'params' | 'state') => {
    const as = options.a[group];
    const bs = options.b[group];
    for (const [name, ta] of Object.entries(as)) {
      const tb = bs[name];
      if (tb === undefined) throw new Error(`second checkpoint has no ${name}`);
      if (ta.shape.join('x') !== tb.shape.join('x')) {
        throw new Error(
          `${name}: shapes [${ta.shape.join(', ')}] and [${tb.shape.join(', ')}] differ`,
        );
      }
      const data = new Float32Array(ta.data.length);
      for (let k = 0; k < data.length; k++) data[k] = tb.data[k]! - ta.data[k]!;
      out[name] = { shape: ta.shape.slice(), data };
    }
    for (const name of Object.keys(bs)) {
      if (!(name in as)) throw new Error(`first checkpoint has no ${name}`);
    }
  };
  diff('params');
  diff('state');
  return out;
}

/** Euclidean norm of each filter (slice along the last axis) of a tensor. */
export function filterNorms(t: ArrayTensor): Float64Array {
  const out = t.shape.length === 0 ? 1 : t.shape[t.shape.length - 1]!;
  const norms = new Float64Array(out);
  for (let k = 0; k < t.data.length; k++)
    norms[k % out] = norms[k % out]! + t.data[k]! * t.data[k]!;
  for (let j = 0; j < out; j++) norms[j] = Math.sqrt(norms[j]!);
  return norms;
}

/** Whether every value of a direction tensor is zero (such tensors are skipped when stepping). */
export function isZero(t: ArrayTensor): boolean {
  for (let k = 0; k < t.data.length; k++) if (t.data[k] !== 0) return false;
  return true;
}
