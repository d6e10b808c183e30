/**
 * The theory curves the measured signals are drawn against: the variance
 * recursions of Glorot & Bengio (seed 001, eqs. 5 and 8) and Hayou (seed 003),
 * in their mean-field form, i.e. for infinitely wide layers, where every
 * pre-activation is Gaussian N(0, q_t) and weights are independent of the
 * signals they multiply.
 *
 * With γ² = n·Var[w] (weightGain), zero biases and f the activation:
 *
 *   plain, forward    q_{t+1} = γ² · E[f(u)²],              u ~ N(0, q_t),  q_0 = γ²·Var[x]
 *   plain, backward   v_t     = v_{t+1} · γ² · E[f'(u)²]     (G&B eq. 8 with the slope kept)
 *   residual, fwd     q_{t+1} = q_t + α² γ² E[f(u)²]        (ReLU: q_t (1 + α²γ²/2), Hayou)
 *   residual, bwd     v_t     = v_{t+1} (1 + α² γ² E[f'(u)²])
 *
 * For ReLU, E[f(u)²] = q/2 and E[f'(u)²] = 1/2, so each plain layer multiplies
 * both by γ²/2 (seed 003's E[r_t²] = γ²/2; Kaiming's γ² = 2 makes it 1), and
 * each residual block by 1 + α²γ²/2: over T blocks (1 + α²γ²/2)^T, which for
 * α = 1/√T tends to e^{γ²/2} as T grows. For a linear f the slope is γ², Glorot
 * & Bengio's n·Var[w] exactly.
 *
 * With batch normalisation the pre-activations are rescaled to unit variance
 * (q_t = 1 in the plain network, the branch to unit variance in the residual
 * one: q_{t+1} = q_t + α²), and BN's backward divides by the standard deviation
 * it removed, √(γ² E[f(u)²]); the batch coupling of BN's statistics (its mean
 * and variance depend on every input) is left out, which is the part of BN's
 * backward pass the mean-field curve does not see.
 */
import type { Activation } from '../models/types';
import { weightGain, type SignalNetwork } from './network';

const SELU_SCALE = 1.0507009873554805;
const SELU_ALPHA = 1.6732632423543772;

function f(kind: Activation, u: number): number {
  switch (kind) {
    case 'linear':
      return u;
    case 'relu':
      return u > 0 ? u : 0;
    case 'tanh':
      return Math.tanh(u);
    case 'sigmoid':
      return 1 / (1 + Math.exp(-u));
    case 'selu':
      return u > 0 ? SELU_SCALE * u : SELU_SCALE * SELU_ALPHA * Math.expm1(u);
  }
}

function slope(kind: Activation, u: number): number {
  switch (kind) {
    case 'linear':
      return 1;
    case 'relu':
      return u > 0 ? 1 : 0;
    case 'tanh': {
      const t = Math.tanh(u);
      return 1 - t * t;
    }
    case 'sigmoid': {
      const s = 1 / (1 + Math.exp(-u));
      return s * (1 - s);
    }
    case 'selu':
      return u > 0 ? SELU_SCALE : SELU_SCALE * SELU_ALPHA * Math.exp(u);
  }
}

/** Simpson's rule on z ∈ [−10, 10] (even, so z = 0, ReLU's kink, is a node). */
const STEPS = 2000;
const Z_MAX = 10;

/** E[φ(u)] for u ~ N(0, q), by Simpson's rule over ±10 standard deviations. */
export function gaussianExpectation(phi: (u: number) => number, q: number): number {
  if (q === 0) return phi(0);
  const sd = Math.sqrt(q);
  const h = (2 * Z_MAX) / STEPS;
  let sum = 0;
  for (let i = 0; i <= STEPS; i++) {
    const z = -Z_MAX + i * h;
    const weight = i === 0 || i === STEPS ? 1 : i % 2 === 1 ? 4 : 2;
    sum += weight * phi(sd * z) * Math.exp(-0.5 * z * z);
  }
  return (sum * h) / 3 / Math.sqrt(2 * Math.PI);
}

/** E[f(u)²], u ~ N(0, q): exact for linear and ReLU, by quadrature otherwise. */
export function meanSquareActivation(kind: Activation, q: number): number {
  if (kind === 'linear') return q;
  if (kind === 'relu') return q / 2;
  return gaussianExpectation((u) => f(kind, u) ** 2, q);
}

/** E[f'(u)²], u ~ N(0, q): 1 for linear, 1/2 for ReLU, by quadrature otherwise. */
export function meanSquareSlope(kind: Activation, q: number): number {
  if (kind === 'linear') return 1;
  if (kind === 'relu') return 0.5;
  return gaussianExpectation((u) => slope(kind, u) ** 2, q);
}

/** Hayou's growth of E[(x_t)²]/E[(x_0)²] for the residual ReLU network: (1 + α²γ²/2)^t. */
export function reluResidualGrowth(alpha: number, gamma2: number, t: number): number {
  return (1 + (alpha * alpha * gamma2) / 2) ** t;
}

/** Its limit for α = 1/√T as T → ∞: e^{γ²/2}. */
export function scaledResidualLimit(gamma2: number): number {
  return Math.exp(gamma2 / 2);
}

/** Theory curves aligned with {@link LayerPass.signals}: the second moment of h_t and of ∂L/∂h_t. */
export interface TheoryCurves {
  /** q_t = E[h_t²] (h_t has mean zero in the theory, so also Var[h_t]). */
  forward: number[];
  /** v_t = Var[∂L/∂h_t] for a top gradient G of unit variance. */
  backward: number[];
}

/**
 * The mean-field curves for `network` with inputs of variance `inputVariance`
 * (the statistics use x ~ N(0, 1)).
 */
export function theoryCurves(network: SignalNetwork, inputVariance = 1): TheoryCurves {
  const { depth, activation, batchNorm } = network;
  const gamma2 = weightGain(network);
  const forward: number[] = [];
  const backward: number[] = [];
  if (network.residualAlpha === null) {
    // q_t: second moment of the pre-activation s^t.
    let q = batchNorm ? 1 : gamma2 * inputVariance;
    for (let t = 0; t < depth; t++) {
      forward.push(q);
      q = batchNorm ? 1 : gamma2 * meanSquareActivation(activation, q);
    }
    // v_{T−1} = E[f'(s^{T−1})²]·Var[G]; each step down multiplies by the slope of
    // the layer above, divided by the standard deviation BN took out there.
    backward[depth - 1] = meanSquareSlope(activation, forward[depth - 1]!);
    for (let t = depth - 2; t >= 0; t--) {
      const qt = forward[t]!;
      const gain = batchNorm
        ? meanSquareSlope(activation, qt) / meanSquareActivation(activation, qt)
        : gamma2 * meanSquareSlope(activation, qt);
      backward[t] = backward[t + 1]! * gain;
    }
  } else {
    const a2 = network.residualAlpha * network.residualAlpha;
    let q = gamma2 * inputVariance;
    for (let t = 0; t <= depth; t++) {
      forward.push(q);
      q += batchNorm ? a2 : a2 * gamma2 * meanSquareActivation(activation, q);
    }
    backward[depth] = 1;
    for (let t = depth - 1; t >= 0; t--) {
      const qt = forward[t]!;
      const gain = batchNorm
        ? meanSquareSlope(activation, qt) / meanSquareActivation(activation, qt)
        : gamma2 * meanSquareSlope(activation, qt);
      backward[t] = backward[t + 1]! * (1 + a2 * gain);
    }
  }
  return { forward, backward };
}
