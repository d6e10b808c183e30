/**
 * Small networks that follow the Model contract, and random image sets, for
 * the landscape tests: a conv net with BN (ReLU, or softplus when the test
 * needs a smooth loss) and softmax regression, whose Hessian is known in
 * closed form.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-cpu';
import type {
  Model,
  ResNetSpec,
  ParamInfo,
  StateInfo,
  TensorMap,
} from '../../src/compute/models/types';
import { createRng, normalArray } from '../../src/compute/random';
import { toArrayMap } from '../../src/compute/train/state';
import type { ArrayMap } from '../../src/compute/train/state';
import type { Dataset } from '../../src/compute/data/dataset';

const resnetSpec: ResNetSpec = {
  kind: 'resnet',
  depth: 8,
  shortcut: 'B',
  skip: true,
  residualScale: 1,
  inputShape: [1, 6, 6],
  classes: 3,
};

function fromInfos(
  infos: (ParamInfo | StateInfo)[],
  seed: number,
  fill: (info: ParamInfo | StateInfo, n: number, rng: ReturnType<typeof createRng>) => Float32Array,
): TensorMap {
  const rng = createRng(seed);
  const out: TensorMap = {};
  for (const info of infos) {
    const n = info.shape.reduce((a, b) => a * b, 1);
    out[info.name] = tf.tensor(fill(info, n, rng), info.shape, 'float32');
  }
  return out;
}

/**
 * conv3×3 stride 2 (1 → 4) → BN → activation → conv3×3 (4 → 5) → BN →
 * activation → global average pool → dense (5 → 3) + bias. Images 6×6×1.
 */
export function smallConvNet(options: { activation: 'relu' | 'softplus' }): Model {
  const act = options.activation === 'relu' ? tf.relu : tf.softplus;
  const params: ParamInfo[] = [
    { name: 'conv1.weight', shape: [3, 3, 1, 4], role: 'conv' },
    { name: 'bn1.gamma', shape: [4], role: 'bnGamma' },
    { name: 'bn1.beta', shape: [4], role: 'bnBeta' },
    { name: 'conv2.weight', shape: [3, 3, 4, 5], role: 'conv' },
    { name: 'bn2.gamma', shape: [5], role: 'bnGamma' },
    { name: 'bn2.beta', shape: [5], role: 'bnBeta' },
    { name: 'fc.weight', shape: [5, 3], role: 'dense' },
    { name: 'fc.bias', shape: [3], role: 'bias' },
  ];
  const state: StateInfo[] = [
    { name: 'bn1.running_mean', shape: [4], role: 'runningMean' },
    { name: 'bn1.running_var', shape: [4], role: 'runningVar' },
    { name: 'bn2.running_mean', shape: [5], role: 'runningMean' },
    { name: 'bn2.running_var', shape: [5], role: 'runningVar' },
  ];
  const bn = (h: tf.Tensor, p: TensorMap, s: TensorMap, name: string) =>
    tf.add(
      tf.mul(
        tf.div(
          tf.sub(h, s[`${name}.running_mean`]!),
          tf.sqrt(tf.add(s[`${name}.running_var`]!, 1e-5)),
        ),
        p[`${name}.gamma`]!,
      ),
      p[`${name}.beta`]!,
    );
  return {
    spec: resnetSpec,
    params,
    state,
    init(seed: number) {
      return {
        params: fromInfos(params, seed, (info, n, rng) => {
          const role = (info as ParamInfo).role;
          if (role === 'bnGamma') return Float32Array.from(normalArray(n, rng, 0.1), (v) => 1 + v);
          if (role === 'bnBeta' || role === 'bias') return normalArray(n, rng, 0.1);
          const fanIn = info.shape.slice(0, -1).reduce((a, b) => a * b, 1);
          return normalArray(n, rng, Math.sqrt(2 / fanIn));
        }),
        state: fromInfos(state, seed + 1, (info, n, rng) => {
          const r = normalArray(n, rng, 0.1);
          return (info as StateInfo).role === 'runningVar'
            ? Float32Array.from(r, (v) => 0.5 + Math.abs(v))
            : r;
        }),
      };
    },
    forward(p: TensorMap, s: TensorMap, x: tf.Tensor) {
      const h1 = act(
        bn(tf.conv2d(x as tf.Tensor4D, p['conv1.weight'] as tf.Tensor4D, 2, 'same'), p, s, 'bn1'),
      );
      const h2 = act(
        bn(tf.conv2d(h1 as tf.Tensor4D, p['conv2.weight'] as tf.Tensor4D, 1, 'same'), p, s, 'bn2'),
      );
      const pooled = tf.mean(h2, [1, 2]) as tf.Tensor2D;
      const logits = tf.add(
        tf.matMul(pooled, p['fc.weight'] as tf.Tensor2D),
        p['fc.bias']!,
      ) as tf.Tensor2D;
      return { logits, batchStats: {} };
    },
    summary() {
      return [];
    },
  };
}

/** Softmax regression on flattened 2×2×1 images: logits = x W + b, W [4, 3]. */
export function softmaxRegression(): Model {
  const params: ParamInfo[] = [
    { name: 'fc.weight', shape: [4, 3], role: 'dense' },
    { name: 'fc.bias', shape: [3], role: 'bias' },
  ];
  return {
    spec: { ...resnetSpec, inputShape: [1, 2, 2] },
    params,
    state: [],
    init(seed: number) {
      return {
        params: fromInfos(params, seed, (_i, n, rng) => normalArray(n, rng, 0.5)),
        state: {},
      };
    },
    forward(p: TensorMap, _s: TensorMap, x: tf.Tensor) {
      const flat = tf.reshape(x, [x.shape[0]!, 4]) as tf.Tensor2D;
      return {
        logits: tf.add(
          tf.matMul(flat, p['fc.weight'] as tf.Tensor2D),
          p['fc.bias']!,
        ) as tf.Tensor2D,
        batchStats: {},
      };
    },
    summary() {
      return [];
    },
  };
}

/** Random 0–255 images with uniformly random labels, as the data layer's loaders return them. */
export function randomImages(options: {
  count: number;
  height: number;
  width: number;
  channels: number;
  classes: number;
  seed: number;
}): Dataset {
  const rng = createRng(options.seed);
  const { count, height, width, channels, classes } = options;
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) labels[i] = rng.int(classes);
  const images = new Uint8Array(count * height * width * channels);
  for (let i = 0; i < images.length; i++) images[i] = rng.int(256);
  return {
    name: 'random',
    split: 'train',
    images,
    labels,
    count,
    height,
    width,
    channels,
    classes,
    classNames: Array.from({ length: classes }, (_, c) => `class ${c}`),
  };
}

/** A model's seeded initialisation as arrays (no tensors left behind). */
export async function initialArrays(
  model: Model,
  seed: number,
): Promise<{ params: ArrayMap; state: ArrayMap }> {
  const { params, state } = model.init(seed);
  const out = { params: await toArrayMap(params), state: await toArrayMap(state) };
  for (const t of [...Object.values(params), ...Object.values(state)]) t.dispose();
  return out;
}
