/**
 * Effective depth in the spirit of Philipp, Song & Carbonell (seed 000): how
 * many of a trained network's last layers can be replaced by their
 * first-order Taylor expansion before the training error rises.
 *
 * Write the hidden part of the network as h_0 → h_1 → … → h_n (the outputs of
 * its layers, or of its residual blocks after the input projection), then the
 * output layer. Replacing the last r layers means replacing
 *
 *   F = f_n ∘ … ∘ f_{n−r+1}   (h_{n−r} ↦ h_n)   by   T(h) = F(h̄) + J_F(h̄)(h − h̄),
 *
 * its expansion around h̄, the mean of h_{n−r} over the batch evaluated. If
 * the replaced layers did little non-linear work on these inputs, T is as
 * good as F and the error stays; a network whose effective depth is small
 * keeps its error with many layers linearised. r = 0 is the network itself.
 *
 * J_F(h̄) is computed exactly, one row per output unit, from a single backward
 * pass over w copies of h̄ (w the width): ∂/∂H Σ_j F(H_j)_j puts ∂F_j/∂h in
 * row j. BN runs in inference mode (running statistics), so the copies do
 * not interact and F is a function of one input.
 *
 * The cut is made through ForwardOptions.tap: the forward pass replaces
 * the value at a probe by the tensor given, so the model is evaluated as
 * written, with no second implementation of its layers.
 */
import * as tf from '@tensorflow/tfjs-core';
import { batches } from '../data/batches';
import type { Dataset } from '../data/dataset';
import { createModel } from '../models';
import type { MlpSpec, Model, TensorMap } from '../models/types';
import { train } from '../train/loop';
import { disposeMap, toTensorMap } from '../train/state';
import type { EpochRecord } from '../train/types';

export interface TaylorReplacementOptions {
  model: Model;
  params: TensorMap;
  state: TensorMap;
  /** The batch: inputs [N, …] (images or features) and integer labels. */
  x: Float32Array;
  xShape: number[];
  labels: Int32Array;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

export interface TaylorReplacement {
  /** The hidden representations h_0 … h_n, by probe name. */
  representations: string[];
  /** r = 0 … n: how many of the last layers were replaced. */
  replaced: number[];
  /** Fraction of the batch misclassified with the last r layers replaced. */
  trainingError: number[];
  /** Mean cross-entropy with the last r layers replaced. */
  loss: number[];
  images: number;
}

const OUTPUT = '.output';

/** Probe names of the hidden representations h_0 … h_n, in forward order. */
function hiddenRepresentations(model: Model, params: TensorMap, state: TensorMap): string[] {
  return tf.tidy(() => {
    const shape = model.spec.kind === 'mlp' ? [2, model.spec.inputSize] : [2];
    const out = model.forward(params, state, tf.zeros(shape), { training: false, trace: true });
    return Object.keys(out.trace!).filter((n) => n.endsWith(OUTPUT));
  });
}

export async function taylorReplacementErrors(
  options: TaylorReplacementOptions,
): Promise<TaylorReplacement | 'cancelled'> {
  const { model, params, state, signal, onProgress } = options;
  if (model.spec.kind !== 'mlp') throw new Error('Taylor replacement is written for the MLP');
  const reps = hiddenRepresentations(model, params, state);
  const n = reps.length - 1;
  const width = model.spec.width;
  const count = options.labels.length;
  const x = tf.tensor(options.x, options.xShape);
  const labels = tf.tensor1d(options.labels, 'int32');
  const top = reps[n]!;
  const replaced: number[] = [];
  const trainingError: number[] = [];
  const loss: number[] = [];
  try {
    // The representations of the batch, once.
    const hidden = tf.tidy(() => {
      const out = model.forward(params, state, x, { training: false, trace: true });
      const keep: TensorMap = {};
      for (const name of reps) keep[name] = out.trace![name]!;
      return keep;
    });
    try {
      for (let r = 0; r <= n; r++) {
        if (signal?.aborted) return 'cancelled';
        const cut = reps[n - r]!;
        const values = tf.tidy(() => {
          const h = hidden[cut]!;
          const hBar = tf.mean(h, 0, true);
          // F(H): the network from the cut to the top, on any batch H at the cut.
          const upper = (H: tf.Tensor): tf.Tensor => {
            const out = model.forward(params, state, tf.zeros([H.shape[0]!, ...x.shape.slice(1)]), {
              training: false,
              trace: true,
              tap: (name, t) => (name === cut ? H : t),
            });
            return out.trace![top]!;
          };
          // Row j of J is ∂F_j/∂h at h̄ (see the header).
          const copies = tf.tile(hBar, [width, 1]);
          const eye = tf.eye(width);
          const jacobian = tf.grad((H: tf.Tensor) => tf.sum(tf.mul(upper(H), eye)))(copies);
          const fBar = upper(hBar);
          // T(h) = F(h̄) + (h − h̄) Jᵀ, then the output layer on T(h).
          const taylor = tf.add(fBar, tf.matMul(tf.sub(h, hBar), jacobian, false, true));
          const logits = model.forward(params, state, x, {
            training: false,
            tap: (name, t) => (name === top ? taylor : t),
          }).logits;
          const wrong = tf.sum(tf.cast(tf.notEqual(tf.argMax(logits, 1), labels), 'float32'));
          const onehot = tf.oneHot(labels, logits.shape[1]!);
          const ce = tf.neg(tf.mean(tf.sum(tf.mul(onehot, tf.logSoftmax(logits)), 1)));
          return tf.stack([wrong, ce]);
        });
        const v = await values.data();
        values.dispose();
        replaced.push(r);
        trainingError.push(v[0]! / count);
        loss.push(v[1]!);
        onProgress?.(r + 1, n + 1);
      }
    } finally {
      for (const t of Object.values(hidden)) t.dispose();
    }
  } finally {
    x.dispose();
    labels.dispose();
  }
  return { representations: reps, replaced, trainingError, loss, images: count };
}

/** One network of the experiment: its spec, training curve and Taylor curve. */
export interface EffectiveDepthNetwork {
  spec: MlpSpec;
  /** Training as history.json records it (epoch, losses, accuracies, …). */
  history: EpochRecord[];
  taylor: TaylorReplacement;
}

export interface EffectiveDepthOptions {
  /** The networks to train and measure (e.g. plain and residual). */
  specs: MlpSpec[];
  train: Dataset;
  epochs: number;
  /** Default 0.1 (Li et al.'s recipe, cosine schedule, no augmentation). */
  lr?: number;
  batchSize?: number;
  seed?: number;
  /** The batch the Taylor curve is measured on: the first `images` training examples (default 1000). */
  images?: number;
  signal?: AbortSignal;
  onProgress?: (p: {
    network: number;
    phase: 'train' | 'taylor';
    done: number;
    total: number;
  }) => void;
}

/** Train each network with the site's loop, then measure its Taylor-replacement curve. */
export async function effectiveDepthExperiment(
  options: EffectiveDepthOptions,
): Promise<EffectiveDepthNetwork[] | 'cancelled'> {
  const { train: dataset, epochs, signal, onProgress } = options;
  const images = Math.min(options.images ?? 1000, dataset.count);
  const [batch] = batches({ dataset: { ...dataset, count: images }, batchSize: images });
  const out: EffectiveDepthNetwork[] = [];
  for (const [network, spec] of options.specs.entries()) {
    const model = createModel(spec);
    const result = await train({
      model,
      data: { train: dataset },
      epochs,
      lr: options.lr ?? 0.1,
      batchSize: options.batchSize ?? 128,
      seed: options.seed ?? 0,
      augment: false,
      ...(signal ? { signal } : {}),
      onProgress: (p) =>
        onProgress?.({ network, phase: 'train', done: p.step, total: p.totalSteps }),
    });
    if (result.status === 'cancelled') return 'cancelled';
    if (result.status === 'diverged') throw new Error(result.divergence.message);
    const params = toTensorMap(result.training.params);
    const state = toTensorMap(result.training.state);
    try {
      const taylor = await taylorReplacementErrors({
        model,
        params,
        state,
        x: batch!.x,
        xShape: [batch!.size, dataset.height, dataset.width, dataset.channels],
        labels: batch!.y,
        ...(signal ? { signal } : {}),
        onProgress: (done, total) => onProgress?.({ network, phase: 'taylor', done, total }),
      });
      if (taylor === 'cancelled') return 'cancelled';
      out.push({ spec, history: result.history, taylor });
    } finally {
      disposeMap(params);
      disposeMap(state);
    }
  }
  return out;
}
