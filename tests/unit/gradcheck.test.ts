/**
 * Every layer's gradient against central finite differences on the cpu
 * backend. For a loss L(θ) and a random direction v, the directional
 * derivative ⟨∇L, v⟩ must equal (L(θ + εv) − L(θ − εv)) / 2ε up to O(ε²) and
 * float32 rounding. Losses are Σ R ⊙ layer(θ) with a fixed random R, so every
 * output element matters.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { createModel } from '../../src/compute/models';
import type { ResNetSpec, TensorMap } from '../../src/compute/models';
import {
  batchNormInference,
  batchNormTraining,
  installTfjsFixes,
  matMulBiasActivation,
  subsampleAndPadChannels,
  tfjsConv2dGradConfig,
} from '../../src/compute/tfjs-fixes';
import { meanCrossEntropy } from '../../src/compute/train/engine';

beforeAll(async () => {
  tf.env().set('IS_TEST', true);
  await tf.setBackend('cpu');
});

let seed = 100;
const normal = (shape: number[], std = 1): tf.Tensor =>
  tf.randomNormal(shape, 0, std, 'float32', seed++);

/**
 * Check ⟨∇_i L, v⟩ against central differences for every input i and a few
 * random directions v. Returns the worst relative error.
 */
function gradCheck(
  loss: (...xs: tf.Tensor[]) => tf.Scalar,
  inputs: tf.Tensor[],
  options: { eps?: number; directions?: number } = {},
): number {
  const eps = options.eps ?? 1e-2;
  const directions = options.directions ?? 3;
  let worst = 0;
  tf.tidy(() => {
    const grads = tf.grads(loss)(inputs);
    inputs.forEach((input, i) => {
      for (let d = 0; d < directions; d++) {
        const v = normal(input.shape);
        const analytic = tf.sum(tf.mul(grads[i]!, v)).arraySync() as number;
        const at = (sign: number): number => {
          const shifted = inputs.map((t, j) => (j === i ? tf.add(t, tf.mul(v, sign * eps)) : t));
          return loss(...shifted).arraySync() as number;
        };
        const numeric = (at(1) - at(-1)) / (2 * eps);
        const error =
          Math.abs(analytic - numeric) / Math.max(1, Math.abs(analytic), Math.abs(numeric));
        worst = Math.max(worst, error);
      }
    });
  });
  return worst;
}

/** Σ R ⊙ f(...) with R fixed per output shape. */
function projected(f: (...xs: tf.Tensor[]) => tf.Tensor): (...xs: tf.Tensor[]) => tf.Scalar {
  let r: tf.Tensor | null = null;
  return (...xs) => {
    const y = f(...xs);
    r ??= tf.keep(normal(y.shape));
    return tf.sum(tf.mul(y, r));
  };
}

const P1 = [
  [0, 0],
  [1, 1],
  [1, 1],
  [0, 0],
] as [[number, number], [number, number], [number, number], [number, number]];

describe('central finite differences (cpu)', () => {
  it.each([
    ['3×3 pad 1 stride 1', [3, 3, 3, 4], 1, P1],
    ['3×3 pad 1 stride 2', [3, 3, 3, 4], 2, P1],
    ['3×3 same stride 1', [3, 3, 3, 4], 1, 'same'],
    ['3×3 valid stride 1', [3, 3, 3, 4], 1, 'valid'],
    ['3×3 valid stride 2', [3, 3, 3, 4], 2, 'valid'],
    ['1×1 stride 1', [1, 1, 3, 4], 1, 'valid'],
    ['1×1 stride 2', [1, 1, 3, 4], 2, 'valid'],
  ] as const)('conv %s', (_name, filterShape, stride, pad) => {
    const x = normal([2, 7, 7, 3]);
    const w = normal([...filterShape], 0.5);
    const loss = projected((xx, ww) =>
      tf.conv2d(xx as tf.Tensor4D, ww as tf.Tensor4D, stride, pad),
    );
    expect(gradCheck(loss, [x, w])).toBeLessThan(2e-3);
  });

  it('dense with bias', () => {
    const loss = projected((a, b, bias) =>
      matMulBiasActivation({
        a: a as tf.Tensor2D,
        b: b as tf.Tensor2D,
        bias: bias as tf.Tensor1D,
        activation: 'linear',
      }),
    );
    expect(gradCheck(loss, [normal([5, 6]), normal([6, 4]), normal([4])])).toBeLessThan(2e-3);
  });

  it('batch norm in training mode (through the batch statistics)', () => {
    const loss = projected(
      (x, g, b) => batchNormTraining({ x, gamma: g as tf.Tensor1D, beta: b as tf.Tensor1D }).y,
    );
    expect(
      gradCheck(loss, [
        tf.add(normal([3, 4, 4, 5], 2), 1),
        tf.add(normal([5], 0.2), 1),
        normal([5]),
      ]),
    ).toBeLessThan(5e-3);
  });

  it('batch norm in inference mode', () => {
    const mean = normal([5]) as tf.Tensor1D;
    const variance = tf.add(tf.abs(normal([5])), 0.5) as tf.Tensor1D;
    const loss = projected((x, g, b) =>
      batchNormInference({ x, gamma: g as tf.Tensor1D, beta: b as tf.Tensor1D, mean, variance }),
    );
    expect(gradCheck(loss, [normal([3, 4, 4, 5]), normal([5]), normal([5])])).toBeLessThan(2e-3);
  });

  it('relu (away from its kink)', () => {
    // |x| ≥ 0.1 everywhere, so ε = 1e-3 never crosses zero.
    const x = tf.tidy(() => {
      const z = normal([4, 5, 5, 3]);
      return tf.add(z, tf.mul(tf.sign(z), 0.1));
    });
    expect(gradCheck(projected(tf.relu), [x], { eps: 1e-3 })).toBeLessThan(2e-3);
  });

  it('global average pool', () => {
    expect(
      gradCheck(
        projected((x) => tf.mean(x, [1, 2])),
        [normal([2, 5, 5, 3])],
      ),
    ).toBeLessThan(2e-3);
  });

  it('max pool 2×2 stride 2', () => {
    // Distinct values 0.1 apart, so a step of ε·v (|ε·v| < 0.05) never changes
    // which one is the maximum and the loss is exactly linear around x.
    const n = 2 * 6 * 6 * 3;
    const order = Array.from({ length: n }, (_, i) => (i * 37) % n);
    const x = tf.tensor4d(
      order.map((k) => k * 0.1),
      [2, 6, 6, 3],
    );
    expect(
      gradCheck(
        projected((xx) => tf.maxPool(xx as tf.Tensor4D, 2, 2, 'valid')),
        [x],
        { eps: 1e-2 },
      ),
    ).toBeLessThan(2e-3);
  });

  it('option-A shortcut', () => {
    const loss = projected((x) =>
      subsampleAndPadChannels({ x: x as tf.Tensor4D, stride: 2, outChannels: 6 }),
    );
    expect(gradCheck(loss, [normal([2, 6, 6, 3])])).toBeLessThan(2e-3);
  });

  it('softmax cross-entropy', () => {
    const labels = tf.tensor1d([0, 3, 1, 2], 'int32');
    expect(
      gradCheck((z) => meanCrossEntropy(z as tf.Tensor2D, labels), [normal([4, 5], 2)]),
    ).toBeLessThan(2e-3);
  });

  it('a whole ResNet-8 (option B, training mode): our gradients equal tfjs own, parameter by parameter', () => {
    // Finite differences through a whole ReLU network cross kinks at any
    // usable ε, so the end-to-end check is exact instead: the same model
    // differentiated with tfjs's own Conv2D gradient (BN's closed form is
    // checked against automatic differentiation in fixes.test.ts).
    const spec: ResNetSpec = {
      kind: 'resnet',
      depth: 8,
      shortcut: 'B',
      skip: true,
      residualScale: 1,
      inputShape: [2, 8, 8],
      classes: 4,
    };
    const model = createModel(spec);
    const { params, state } = model.init(3);
    const x = normal([4, 8, 8, 2]);
    const labels = tf.tensor1d([0, 1, 2, 3], 'int32');
    const names = model.params.map((p) => p.name);
    const loss = (...ps: tf.Tensor[]): tf.Scalar => {
      const p: TensorMap = {};
      names.forEach((n, i) => (p[n] = ps[i]!));
      return meanCrossEntropy(model.forward(p, state, x, { training: true }).logits, labels);
    };
    const ours = tf.grads(loss)(names.map((n) => params[n]!));
    tf.registerGradient(tfjsConv2dGradConfig);
    const theirs = tf.grads(loss)(names.map((n) => params[n]!));
    installTfjsFixes();
    names.forEach((n, i) => {
      const scale = tf.max(tf.abs(theirs[i]!)).arraySync() as number;
      expect(tf.max(tf.abs(tf.sub(ours[i]!, theirs[i]!))).arraySync(), n).toBeLessThan(
        1e-5 * Math.max(1, scale),
      );
    });
  });
});
