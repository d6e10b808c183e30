/**
 * Stochastic gradient descent with Nesterov momentum and weight decay, with
 * exactly the semantics of PyTorch's torch.optim.SGD (dampening 0), which is
 * what Li et al. (2018) trained with:
 *
 *   d_t   = g_t + λ·θ_t                 weight decay folded into the gradient (L2)
 *   b_t   = μ·b_{t−1} + d_t             momentum buffer, b_0 = 0 (so b_1 = d_1)
 *   u_t   = d_t + μ·b_t                 Nesterov look-ahead (u_t = b_t without Nesterov)
 *   θ_t+1 = θ_t − η_t·u_t
 *
 * Note the learning rate multiplies the whole update rather than being folded
 * into the buffer (the Sutskever form); changing η between steps therefore
 * behaves as in PyTorch. Weight decay applies to every trainable tensor,
 * biases and BN γ, β included, as in Li et al.'s code (it passes all of
 * `net.parameters()` to the optimiser).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { TensorMap } from '../models/types';

export interface SgdConfig {
  /** μ, 0.9 in Li et al. */
  momentum: number;
  /** λ, 5e-4 in Li et al. */
  weightDecay: number;
  nesterov: boolean;
}

export const LI_ET_AL_SGD: SgdConfig = { momentum: 0.9, weightDecay: 5e-4, nesterov: true };

/** Checkpoint names of the momentum buffers: `optim.momentum.<parameter name>`. */
export const MOMENTUM_PREFIX = 'optim.momentum.';

/** Zero momentum buffers shaped like the parameters. */
export function zeroMomentum(params: TensorMap): TensorMap {
  const out: TensorMap = {};
  for (const [name, p] of Object.entries(params)) out[name] = tf.zerosLike(p);
  return out;
}

/**
 * One SGD step. Returns new parameter and momentum tensors; the caller
 * disposes the old ones (they may still be referenced elsewhere).
 */
export function sgdStep(options: {
  params: TensorMap;
  grads: TensorMap;
  momentum: TensorMap;
  lr: number;
  config: SgdConfig;
}): { params: TensorMap; momentum: TensorMap } {
  const { params, grads, momentum, lr, config } = options;
  return tf.tidy(() => {
    const newParams: TensorMap = {};
    const newMomentum: TensorMap = {};
    const mu = tf.scalar(config.momentum);
    const wd = tf.scalar(config.weightDecay);
    const eta = tf.scalar(lr);
    for (const [name, theta] of Object.entries(params)) {
      const g = grads[name];
      const buf = momentum[name];
      if (g === undefined || buf === undefined) {
        throw new Error(`sgdStep: no gradient or momentum buffer for parameter ${name}`);
      }
      const d = config.weightDecay === 0 ? g : tf.add(g, tf.mul(wd, theta));
      const b = tf.add(tf.mul(mu, buf), d);
      const u = config.nesterov ? tf.add(d, tf.mul(mu, b)) : b;
      newParams[name] = tf.sub(theta, tf.mul(eta, u));
      newMomentum[name] = b;
    }
    return { params: newParams, momentum: newMomentum };
  });
}

/** PyTorch's BatchNorm momentum: running ← (1 − m)·running + m·batch. */
export const BN_MOMENTUM = 0.1;

/**
 * Fold one batch's BN statistics into the running statistics. `batchStats`
 * holds the batch mean and the unbiased batch variance under the running
 * statistics' names (the Model contract); names absent from it are kept.
 */
export function foldRunningStats(options: {
  state: TensorMap;
  batchStats: TensorMap;
  momentum?: number;
}): TensorMap {
  const { state, batchStats } = options;
  const m = options.momentum ?? BN_MOMENTUM;
  return tf.tidy(() => {
    const out: TensorMap = {};
    const keep = tf.scalar(1 - m);
    const take = tf.scalar(m);
    for (const [name, running] of Object.entries(state)) {
      const batch = batchStats[name];
      out[name] =
        batch === undefined
          ? tf.clone(running)
          : tf.add(tf.mul(keep, running), tf.mul(take, batch));
    }
    return out;
  });
}
