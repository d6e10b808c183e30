/**
 * One forward and one backward pass through a signal network (one weight
 * draw), keeping every layer's signal and gradient: the
 * per-layer pass the signal statistics (this folder) and the depth diagnostics
 * (Philipp et al.'s GSC, pre-activation std, sign diversity) are built on.
 *
 * Why a hand-written backward pass rather than tf.grads: the quantities wanted
 * are the gradients with respect to intermediate values (∂L/∂s^t, ∂L/∂x_t),
 * which tf.grads only reaches through dummy inputs, and for T = 1000 layers
 * its tape costs more than the pass. Backpropagation here is three lines per
 * layer (eqs. below); tests/unit/signals.test.ts checks it against tf.grads
 * through the tfjs model of src/compute/models/mlp.ts with the same weights.
 *
 * Why tfjs: the depth diagnostics (gsc.ts, effective-depth.ts,
 * responses.ts) take gradients and products of their own through these
 * tensors. The signal statistics, which need only each layer's sums and a
 * few histogram layers, run the same equations in a WebAssembly kernel
 * instead (pass.ts; tests/unit/signals.test.ts compares the two), since at
 * their size tfjs's per-op overhead and per-layer read-backs cost several
 * times the arithmetic.
 *
 * Shapes: N inputs, d units. Every tensor is [N, d].
 *
 *   plain, t = 0 … T−1:
 *     forward   s^t = BN?(z^t W^t),  z^{t+1} = f(s^t)                      (G&B eqs. 1–2)
 *     backward  ∂L/∂s^t = f'(s^t) ⊙ ∂L/∂z^{t+1},  ∂L/∂z^t = BN'(∂L/∂s^t) W^tᵀ    (G&B eq. 3)
 *     signals h_t = s^t (T of them), gradients ∂L/∂s^t; L = Σ G ⊙ z^T
 *
 *   residual, t = 0 … T−1:
 *     forward   x_0 = x W_in,  x_{t+1} = x_t + α·BN?(f(x_t) W_t)            (seed 003, eq. 2)
 *     backward  ∂L/∂x_t = ∂L/∂x_{t+1} + α·f'(x_t) ⊙ (BN'(∂L/∂x_{t+1}) W_tᵀ)   (seed 003's 1 + ∂F/∂x)
 *     signals h_t = x_t (T + 1 of them), gradients ∂L/∂x_t; L = Σ G ⊙ x_T
 *
 * G is the gradient the caller puts at the top (`topGradient`): a random
 * Gaussian for the statistics, anything for other uses. BN uses the batch's
 * statistics over the N inputs of each draw (training mode, γ = 1, β = 0).
 */
import * as tf from '@tensorflow/tfjs-core';
import { BATCH_NORM_EPSILON } from '../tfjs-fixes';
import type { Activation } from '../models/types';
import type { SignalNetwork } from './network';

/** Every layer's values from {@link propagate}; the caller owns (and disposes) the tensors. */
export interface LayerPass {
  /**
   * h_t: the plain network's pre-activations s^t (after BN), t = 0 … T−1, or
   * the residual stream x_t, t = 0 … T. Each [N, d].
   */
  signals: tf.Tensor2D[];
  /** f(h_t): what the next weight layer multiplies (plain z^{t+1}; residual f(x_t)); same length as signals. */
  activations: tf.Tensor2D[];
  /** ∂L/∂h_t for L = Σ G ⊙ (the network's last hidden output), same length as signals. */
  gradients: tf.Tensor2D[];
}

/** f(h). */
export function activate(h: tf.Tensor, kind: Activation): tf.Tensor {
  switch (kind) {
    case 'linear':
      return h;
    case 'relu':
      return tf.relu(h);
    case 'tanh':
      return tf.tanh(h);
    case 'sigmoid':
      return tf.sigmoid(h);
    case 'selu':
      return tf.selu(h);
  }
}

/** SELU's constants (Klambauer et al. 2017), as tfjs uses them. */
const SELU_SCALE = 1.0507009873554805;
const SELU_ALPHA = 1.6732632423543772;

/** f'(h), given h and, where it helps, f(h). */
export function activationSlope(h: tf.Tensor, fh: tf.Tensor, kind: Activation): tf.Tensor {
  switch (kind) {
    case 'linear':
      return tf.onesLike(h);
    case 'relu':
      // 1 where h > 0; 0 at h = 0, as tf.relu's own gradient.
      return tf.step(h);
    case 'tanh':
      return tf.sub(1, tf.square(fh));
    case 'sigmoid':
      return tf.mul(fh, tf.sub(1, fh));
    case 'selu':
      // λ for h > 0, λα·e^h = f(h) + λα below.
      return tf.where(
        tf.greater(h, 0),
        tf.fill(h.shape, SELU_SCALE),
        tf.add(fh, SELU_SCALE * SELU_ALPHA),
      );
  }
}

/** Batch normalisation over the inputs (axis 0): y = (u − μ)/√(σ² + ε), and 1/√(σ² + ε). */
function batchNormForward(u: tf.Tensor2D): { y: tf.Tensor2D; invStd: tf.Tensor2D } {
  const { mean, variance } = tf.moments(u, 0, true);
  const invStd = tf.rsqrt(tf.add(variance, BATCH_NORM_EPSILON)) as tf.Tensor2D;
  return { y: tf.mul(tf.sub(u, mean), invStd) as tf.Tensor2D, invStd };
}

/**
 * The gradient through BN's batch statistics (γ = 1):
 * ∂L/∂u = (1/σ)·(∂L/∂y − mean(∂L/∂y) − y·mean(∂L/∂y ⊙ y)), means over the batch.
 */
function batchNormBackward(dy: tf.Tensor2D, y: tf.Tensor2D, invStd: tf.Tensor2D): tf.Tensor2D {
  const meanDy = tf.mean(dy, 0, true);
  const meanDyY = tf.mean(tf.mul(dy, y), 0, true);
  return tf.mul(tf.sub(tf.sub(dy, meanDy), tf.mul(y, meanDyY)), invStd) as tf.Tensor2D;
}

/**
 * The forward and backward pass of `network` for stacked weights.
 *
 * @param weights per weight layer in forward order ({@link weightNames}), [d, d]
 * @param input [N, d]
 * @param topGradient [N, d]: G, ∂L/∂(last hidden output)
 *
 * Call inside tf.tidy (or dispose the returned tensors): every returned tensor
 * is new and belongs to the caller; intermediate ones are the tidy's.
 */
export function propagate(options: {
  network: SignalNetwork;
  weights: readonly tf.Tensor2D[];
  /**
   * Wᵀ of each weight, if the caller has it: tfjs-wasm's matMul with a
   * transposed operand runs about 10× slower than a plain one here.
   */
  transposedWeights?: readonly tf.Tensor2D[];
  input: tf.Tensor2D;
  topGradient: tf.Tensor2D;
}): LayerPass {
  const { network, weights, input, topGradient } = options;
  const { depth, activation, batchNorm } = network;
  const residual = network.residualAlpha !== null;
  const alpha = network.residualAlpha ?? 1;
  const expected = depth + (residual ? 1 : 0);
  if (weights.length !== expected)
    throw new Error(`propagate: ${expected} weight matrices expected, got ${weights.length}`);

  const signals: tf.Tensor2D[] = [];
  const activations: tf.Tensor2D[] = [];
  /** Per layer, what BN's backward needs: its output and 1/σ. */
  const norms: ({ y: tf.Tensor2D; invStd: tf.Tensor2D } | null)[] = [];

  const weightLayer = (z: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D => {
    const u = tf.matMul(z, w) as tf.Tensor2D;
    if (!batchNorm) {
      norms.push(null);
      return u;
    }
    const bn = batchNormForward(u);
    norms.push(bn);
    return bn.y;
  };

  if (!residual) {
    let z = input;
    for (let t = 0; t < depth; t++) {
      const s = weightLayer(z, weights[t]!);
      z = activate(s, activation) as tf.Tensor2D;
      signals.push(s);
      activations.push(z);
    }
  } else {
    let x = tf.matMul(input, weights[0]!) as tf.Tensor2D;
    for (let t = 0; t < depth; t++) {
      const fx = activate(x, activation) as tf.Tensor2D;
      signals.push(x);
      activations.push(fx);
      const branch = weightLayer(fx, weights[t + 1]!);
      x = tf.add(x, alpha === 1 ? branch : tf.mul(branch, alpha));
    }
    signals.push(x);
    activations.push(activate(x, activation) as tf.Tensor2D);
  }

  // Backward, from the top. `bnBack` takes a gradient at a weight layer's
  // output back to the matMul's output.
  const transposed = (i: number): tf.Tensor2D =>
    options.transposedWeights?.[i] ?? (tf.transpose(weights[i]!) as tf.Tensor2D);
  const bnBack = (g: tf.Tensor2D, layer: number): tf.Tensor2D => {
    const bn = norms[layer];
    return bn ? batchNormBackward(g, bn.y, bn.invStd) : g;
  };
  const gradients: tf.Tensor2D[] = new Array<tf.Tensor2D>(signals.length);
  if (!residual) {
    let gz = topGradient; // ∂L/∂z^{t+1}
    for (let t = depth - 1; t >= 0; t--) {
      const gs = tf.mul(
        gz,
        activationSlope(signals[t]!, activations[t]!, activation),
      ) as tf.Tensor2D;
      gradients[t] = gs;
      if (t > 0) gz = tf.matMul(bnBack(gs, t), transposed(t));
    }
  } else {
    let gx = topGradient; // ∂L/∂x_T
    gradients[depth] = tf.clone(gx);
    for (let t = depth - 1; t >= 0; t--) {
      const throughBranch = tf.matMul(bnBack(gx, t), transposed(t + 1));
      const slope = activationSlope(signals[t]!, activations[t]!, activation);
      const scaled = tf.mul(throughBranch, slope);
      gx = tf.add(gx, alpha === 1 ? scaled : tf.mul(scaled, alpha)) as tf.Tensor2D;
      gradients[t] = gx;
    }
  }
  return { signals, activations, gradients };
}
