/**
 * Batch normalisation (Ioffe & Szegedy 2015) with PyTorch's semantics, built
 * from elementwise ops and channel reductions.
 *
 * Why not tf.batchNorm: its gradient broadcasts the per-channel terms with
 * Tile, which took about a third of a ResNet training step on wasm.
 *
 * Over the axes of everything but the channels (m values per channel):
 *
 *   μ = (1/m) Σ x,   σ² = (1/m) Σ (x − μ)²,   x̂ = (x − μ) / √(σ² + ε),   y = γ x̂ + β.   (1)
 *
 * Training mode normalises with the batch's own μ and biased σ² and reports the
 * unbiased σ²·m/(m−1) for the running statistics, as torch.nn.BatchNorm2d does.
 * Inference mode uses the stored running statistics, so BN is the per-channel
 * affine map y = s·x + t with s = γ/√(σ²_run + ε), t = β − s·μ_run.
 */
import * as tf from '@tensorflow/tfjs-core';

/** PyTorch's default ε. */
export const BATCH_NORM_EPSILON = 1e-5;

export interface BatchNormTrainingResult {
  /** The normalised, scaled and shifted output, same shape as x. */
  y: tf.Tensor;
  /** Batch mean per channel. Carries no gradient. */
  mean: tf.Tensor1D;
  /** Unbiased batch variance per channel, for the running statistics. Carries no gradient. */
  variance: tf.Tensor1D;
}

/**
 * Training-mode BN over the last axis. The forward pass is (1) written as one
 * per-channel affine map of x, y = a·x + b with a = γ/√(σ² + ε), b = β − a·μ.
 * The backward pass is the closed form of differentiating (1) through μ and
 * σ² as well:
 *
 *   ∂L/∂β = Σ dy,   ∂L/∂γ = Σ dy·x̂ = (Σ dy·x − μ·Σ dy)/√(σ² + ε),
 *   ∂L/∂x = a·(dy − (1/m)·∂L/∂β − x̂·(1/m)·∂L/∂γ),   (2)
 *
 * again an affine map, ∂L/∂x = a·dy + k·x + c with per-channel
 * k = −a·(∂L/∂γ)/(m·√(σ² + ε)) and c = −a·(∂L/∂β)/m − k·μ, so x̂ is never stored.
 * Two full-size passes forward and five backward, against the dozen that
 * automatic differentiation of (1) records. It is a first derivative only: a
 * second derivative through training-mode BN is not needed here (Hessians are
 * taken in inference mode, where BN is elementwise and differentiable any
 * number of times).
 */
export function batchNormTraining(options: {
  x: tf.Tensor;
  gamma: tf.Tensor1D;
  beta: tf.Tensor1D;
  epsilon?: number;
}): BatchNormTrainingResult {
  const { x, gamma, beta } = options;
  const epsilon = options.epsilon ?? BATCH_NORM_EPSILON;
  const axes = x.shape.slice(0, -1).map((_, i) => i);
  const m = x.size / x.shape[x.rank - 1]!;
  if (m < 2)
    throw new Error(`batch norm in training mode needs more than one value per channel, got ${m}`);
  // The statistics are computed inside the custom op, where nothing is
  // recorded for differentiation, and handed out through this closure.
  let statMean: tf.Tensor1D | null = null;
  let statVar: tf.Tensor1D | null = null;
  const op = tf.customGrad((xIn, gammaIn, betaIn, save) => {
    const xt = xIn as tf.Tensor;
    const g = gammaIn as tf.Tensor1D;
    const b = betaIn as tf.Tensor1D;
    const { mean, variance } = tf.moments(xt, axes);
    statMean = tf.keep(mean as tf.Tensor1D);
    statVar = tf.keep(tf.mul(variance, m / (m - 1)) as tf.Tensor1D);
    const invStd = tf.rsqrt(tf.add(variance, epsilon));
    const a = tf.mul(g, invStd);
    const value = tf.add(tf.mul(xt, a), tf.sub(b, tf.mul(a, mean)));
    (save as tf.GradSaveFunc)([xt, mean, invStd, a]);
    return {
      value,
      gradFunc: (dy, saved) => {
        const [xs, mu, inv, scale] = saved as [tf.Tensor, tf.Tensor1D, tf.Tensor1D, tf.Tensor1D];
        const dyT = dy as tf.Tensor;
        const dBeta = tf.sum(dyT, axes);
        const dGamma = tf.mul(tf.sub(tf.sum(tf.mul(dyT, xs), axes), tf.mul(mu, dBeta)), inv);
        const k = tf.neg(tf.mul(tf.mul(scale, inv), tf.div(dGamma, m)));
        const c = tf.sub(tf.neg(tf.mul(scale, tf.div(dBeta, m))), tf.mul(k, mu));
        const dx = tf.add(tf.add(tf.mul(dyT, scale), tf.mul(xs, k)), c);
        return [dx, dGamma, dBeta];
      },
    };
  });
  const y = op(x, gamma, beta);
  // Re-home the kept statistics in the caller's scope, so an enclosing tf.tidy
  // disposes them like any other tensor.
  const kept = [statMean!, statVar!] as [tf.Tensor1D, tf.Tensor1D];
  const mean = tf.clone(kept[0]);
  const variance = tf.clone(kept[1]);
  tf.dispose(kept);
  return { y, mean, variance };
}

/** Per-channel scale s = γ/√(σ²_run + ε) and shift t = β − s·μ_run of inference-mode BN. */
export function foldBatchNorm(options: {
  gamma: tf.Tensor1D;
  beta: tf.Tensor1D;
  mean: tf.Tensor1D;
  variance: tf.Tensor1D;
  epsilon?: number;
}): { scale: tf.Tensor1D; shift: tf.Tensor1D } {
  const epsilon = options.epsilon ?? BATCH_NORM_EPSILON;
  const scale = tf.mul(options.gamma, tf.rsqrt(tf.add(options.variance, epsilon))) as tf.Tensor1D;
  const shift = tf.sub(options.beta, tf.mul(scale, options.mean)) as tf.Tensor1D;
  return { scale, shift };
}

/** Inference-mode BN over the last axis: y = s·x + t, two elementwise ops. */
export function batchNormInference(options: {
  x: tf.Tensor;
  gamma: tf.Tensor1D;
  beta: tf.Tensor1D;
  mean: tf.Tensor1D;
  variance: tf.Tensor1D;
  epsilon?: number;
}): tf.Tensor {
  const { scale, shift } = foldBatchNorm(options);
  return tf.add(tf.mul(options.x, scale), shift);
}
