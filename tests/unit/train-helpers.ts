/**
 * A tiny conv net that follows the Model contract (conv3×3 → BN → ReLU →
 * global average pool → dense), and a synthetic dataset it can learn, so the
 * training tests run in a second on the cpu backend.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-cpu';
import type { Dataset } from '../../src/compute/data/dataset';
import type { Model, ModelSpec, TensorMap } from '../../src/compute/models/types';
import { createRng, normalArray } from '../../src/compute/random';

export const TINY_CHANNELS = 6;

export function tinyModel(options: { classes?: number; failAtCall?: number } = {}): Model {
  const classes = options.classes ?? 4;
  const c = TINY_CHANNELS;
  let calls = 0;
  const spec: ModelSpec = {
    kind: 'mlp',
    width: c,
    depth: 1,
    activation: 'relu',
    init: 'kaiming',
    sigmaW: Math.SQRT2,
    residualAlpha: null,
    batchNorm: true,
    inputSize: 64,
    classes,
  };
  return {
    spec,
    params: [
      { name: 'conv.weight', shape: [3, 3, 1, c], role: 'conv' },
      { name: 'bn.gamma', shape: [c], role: 'bnGamma' },
      { name: 'bn.beta', shape: [c], role: 'bnBeta' },
      { name: 'fc.weight', shape: [c, classes], role: 'dense' },
      { name: 'fc.bias', shape: [classes], role: 'bias' },
    ],
    state: [
      { name: 'bn.running_mean', shape: [c], role: 'runningMean' },
      { name: 'bn.running_var', shape: [c], role: 'runningVar' },
    ],
    init(seed: number) {
      const rng = createRng(seed);
      return {
        params: {
          'conv.weight': tf.tensor4d(normalArray(9 * c, rng, Math.sqrt(2 / 9)), [3, 3, 1, c]),
          'bn.gamma': tf.ones([c]),
          'bn.beta': tf.zeros([c]),
          'fc.weight': tf.tensor2d(normalArray(c * classes, rng, Math.sqrt(1 / c)), [c, classes]),
          'fc.bias': tf.zeros([classes]),
        },
        state: { 'bn.running_mean': tf.zeros([c]), 'bn.running_var': tf.ones([c]) },
      };
    },
    forward(params: TensorMap, state: TensorMap, x: tf.Tensor, { training }) {
      calls++;
      if (options.failAtCall !== undefined && calls >= options.failAtCall) {
        throw new Error('tiny model: deliberate failure');
      }
      const batchStats: TensorMap = {};
      const h = tf.conv2d(x as tf.Tensor4D, params['conv.weight'] as tf.Tensor4D, 1, 'same');
      let mean: tf.Tensor;
      let variance: tf.Tensor;
      if (training) {
        const m = tf.moments(h, [0, 1, 2]);
        mean = m.mean;
        variance = m.variance;
        const n = h.shape[0]! * h.shape[1]! * h.shape[2]!;
        batchStats['bn.running_mean'] = mean;
        batchStats['bn.running_var'] = tf.mul(variance, n / (n - 1));
      } else {
        mean = state['bn.running_mean']!;
        variance = state['bn.running_var']!;
      }
      const normed = tf.add(
        tf.mul(tf.div(tf.sub(h, mean), tf.sqrt(tf.add(variance, 1e-5))), params['bn.gamma']!),
        params['bn.beta']!,
      );
      const pooled = tf.mean(tf.relu(normed), [1, 2]) as tf.Tensor2D;
      const logits = tf.add(
        tf.matMul(pooled, params['fc.weight'] as tf.Tensor2D),
        params['fc.bias']!,
      ) as tf.Tensor2D;
      return { logits, batchStats };
    },
    summary() {
      return [];
    },
  };
}

/**
 * 8×8 greyscale images in four classes, horizontal stripes, vertical
 * stripes, a checkerboard and plain noise, at random phase and contrast under
 * noise: learnable by a conv net with global pooling, unchanged in class by
 * crops and flips.
 */
export function stripesDataset(options: { count: number; seed: number }): Dataset {
  const { count, seed } = options;
  const size = 8;
  const rng = createRng(seed);
  const images = new Uint8Array(count * size * size);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const label = rng.int(4);
    labels[i] = label;
    const phase = rng.int(2);
    const contrast = 60 + rng.uniform() * 60;
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const on = [(y + phase) & 1, (x + phase) & 1, (x + y + phase) & 1, 0][label]!;
        const v = 70 + on * contrast + rng.uniform() * 70;
        images[i * 64 + y * size + x] = Math.min(255, Math.floor(v));
      }
    }
  }
  return {
    name: 'stripes',
    split: 'train',
    images,
    labels,
    count,
    height: size,
    width: size,
    channels: 1,
    classes: 4,
    classNames: ['horizontal', 'vertical', 'checkerboard', 'noise'],
  };
}
