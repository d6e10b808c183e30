/**
 * Each tfjs 4.22 workaround in src/compute/tfjs-fixes against the cpu
 * backend: against tfjs's own implementation where it has one, against the
 * formula where it does not.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  BATCH_NORM_EPSILON,
  batchNormInference,
  batchNormTraining,
  channelSum,
  conv2dBiasActivation,
  conv2dForwardGradConfig,
  insertZeros,
  installTfjsFixes,
  rotate180,
  isRecordingGradients,
  matMulBiasActivation,
  subsampleAndPadChannels,
  batchMatMulExplicitGradConfig,
  tfjsBatchMatMulGradConfig,
  tfjsConv2dGradConfig,
} from '../../src/compute/tfjs-fixes';

beforeAll(async () => {
  tf.env().set('IS_TEST', true);
  await tf.setBackend('cpu');
});

afterEach(() => installTfjsFixes());

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).arraySync() as number);
}

type Pad =
  'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];
const P1: Pad = [
  [0, 0],
  [1, 1],
  [1, 1],
  [0, 0],
];

interface ConvCase {
  x: [number, number, number, number];
  f: [number, number, number, number];
  stride: number;
  pad: Pad;
}

// Every way the models convolve (3×3 pad 1 stride 1 and 2, 1×1 stride 2 no
// pad), plus tfjs's 'same' and 'valid' with odd and even sizes.
const CASES: ConvCase[] = [
  { x: [2, 8, 8, 3], f: [3, 3, 3, 4], stride: 1, pad: P1 },
  { x: [2, 8, 8, 3], f: [3, 3, 3, 4], stride: 2, pad: P1 },
  { x: [2, 7, 7, 3], f: [3, 3, 3, 4], stride: 2, pad: P1 },
  { x: [2, 8, 8, 3], f: [3, 3, 3, 4], stride: 1, pad: 'same' },
  { x: [2, 8, 8, 3], f: [3, 3, 3, 4], stride: 2, pad: 'same' },
  { x: [2, 9, 9, 3], f: [3, 3, 3, 4], stride: 2, pad: 'same' },
  { x: [2, 8, 8, 3], f: [3, 3, 3, 4], stride: 1, pad: 'valid' },
  { x: [2, 9, 7, 3], f: [3, 3, 3, 4], stride: 2, pad: 'valid' },
  { x: [2, 8, 8, 3], f: [1, 1, 3, 5], stride: 1, pad: 'valid' },
  { x: [2, 8, 8, 3], f: [1, 1, 3, 5], stride: 2, pad: 'valid' },
  { x: [2, 7, 7, 3], f: [1, 1, 3, 5], stride: 2, pad: 'same' },
  { x: [2, 8, 8, 2], f: [5, 5, 2, 3], stride: 1, pad: 'same' },
];

/** Gradients of Σ R ⊙ conv2d(x, f) with respect to x and f, under the registered Conv2D gradient. */
function convGrads(c: ConvCase, dilation = 1): tf.Tensor[] {
  return tf.tidy(() => {
    const x = tf.randomNormal(c.x, 0, 1, 'float32', 1);
    const f = tf.randomNormal(c.f, 0, 1, 'float32', 2);
    const y = tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, c.stride, c.pad, 'NHWC', dilation);
    const r = tf.randomNormal(y.shape, 0, 1, 'float32', 3);
    return tf.grads((xx: tf.Tensor, ff: tf.Tensor) =>
      tf.sum(
        tf.mul(
          tf.conv2d(xx as tf.Tensor4D, ff as tf.Tensor4D, c.stride, c.pad, 'NHWC', dilation),
          r,
        ),
      ),
    )([x, f]);
  });
}

describe('Conv2D gradient from forward convolutions', () => {
  it('is the registered Conv2D gradient once the fixes are imported', () => {
    expect(tf.getGradient(tf.Conv2D)).toBe(conv2dForwardGradConfig);
    expect(tfjsConv2dGradConfig).not.toBe(conv2dForwardGradConfig);
  });

  it.each(
    CASES.map((c) => [
      `${c.f[0]}×${c.f[1]} stride ${c.stride} ${JSON.stringify(c.pad)} on ${c.x}`,
      c,
    ]),
  )('equals tfjs own gradient: %s', (_label, c) => {
    const ours = convGrads(c);
    tf.registerGradient(tfjsConv2dGradConfig);
    const theirs = convGrads(c);
    installTfjsFixes();
    expect(ours[0]!.shape).toEqual(c.x);
    expect(ours[1]!.shape).toEqual(c.f);
    expect(maxAbsDiff(ours[0]!, theirs[0]!)).toBeLessThan(1e-4);
    expect(maxAbsDiff(ours[1]!, theirs[1]!)).toBeLessThan(1e-4);
    tf.dispose([...ours, ...theirs]);
  });

  it('handles dilation (which tfjs own gradient refuses) by central differences', () => {
    const c: ConvCase = { x: [1, 7, 7, 2], f: [3, 3, 2, 2], stride: 1, pad: 'same' };
    const [gx, gf] = convGrads(c, 2);
    const x = tf.randomNormal(c.x, 0, 1, 'float32', 1);
    const f = tf.randomNormal(c.f, 0, 1, 'float32', 2);
    const r = tf.randomNormal([1, 7, 7, 2], 0, 1, 'float32', 3);
    const loss = (xx: tf.Tensor, ff: tf.Tensor): number =>
      tf.tidy(
        () =>
          tf
            .sum(tf.mul(tf.conv2d(xx as tf.Tensor4D, ff as tf.Tensor4D, 1, 'same', 'NHWC', 2), r))
            .arraySync() as number,
      );
    // The loss is linear in each argument, so central differences are exact up to rounding.
    const v = tf.randomNormal(c.f, 0, 1, 'float32', 4);
    const eps = 0.5;
    const fd =
      (loss(x, tf.add(f, tf.mul(v, eps))) - loss(x, tf.sub(f, tf.mul(v, eps)))) / (2 * eps);
    expect(tf.sum(tf.mul(gf!, v)).arraySync()).toBeCloseTo(fd, 3);
    const u = tf.randomNormal(c.x, 0, 1, 'float32', 5);
    const fdx =
      (loss(tf.add(x, tf.mul(u, eps)), f) - loss(tf.sub(x, tf.mul(u, eps)), f)) / (2 * eps);
    expect(tf.sum(tf.mul(gx!, u)).arraySync()).toBeCloseTo(fdx, 3);
    tf.dispose([gx!, gf!, x, f, r, v, u]);
  });

  it('can be differentiated again (Hessian-vector products through convolutions)', () => {
    // L(w) = ½ Σ conv2d(x, w)², so ∇L = J_wᵀ y and H v = J_wᵀ J_w v = ∇_w ⟨conv2d(x, w), conv2d(x, v)⟩.
    // The double-backward route ∇_w ⟨∇L(w), v⟩ must agree with it.
    for (const [stride, pad] of [
      [1, P1],
      [2, P1],
      [2, 'valid'],
    ] as const) {
      const x = tf.randomNormal([2, 6, 6, 2], 0, 1, 'float32', 6) as tf.Tensor4D;
      const w = tf.randomNormal([3, 3, 2, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
      const v = tf.randomNormal([3, 3, 2, 3], 0, 1, 'float32', 8) as tf.Tensor4D;
      const conv = (ww: tf.Tensor): tf.Tensor => tf.conv2d(x, ww as tf.Tensor4D, stride, pad);
      const grad = tf.grad((ww: tf.Tensor) => tf.mul(0.5, tf.sum(tf.square(conv(ww)))));
      const hvp = tf.grad((ww: tf.Tensor) => tf.sum(tf.mul(grad(ww), v)))(w);
      const expected = tf.grad((ww: tf.Tensor) => tf.sum(tf.mul(conv(ww), conv(v))))(w);
      expect(maxAbsDiff(hvp, expected)).toBeLessThan(1e-3);
      tf.dispose([x, w, v, hvp, expected]);
    }
  });

  it('leaks no tensors', () => {
    const before = tf.memory().numTensors;
    tf.dispose(convGrads(CASES[1]!));
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rotates a filter by 180° in its spatial axes', () => {
    tf.tidy(() => {
      const f = tf.randomNormal([3, 2, 4, 5], 0, 1, 'float32', 9) as tf.Tensor4D;
      expect(maxAbsDiff(rotate180(f), tf.reverse(f, [0, 1]))).toBe(0);
    });
  });

  it('spreads a tensor onto a finer grid with zeros between', () => {
    const t = tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1]);
    const spread = insertZeros(t, [2, 2], 3, 4);
    expect(spread.shape).toEqual([1, 3, 4, 1]);
    expect(Array.from(spread.dataSync())).toEqual([1, 0, 2, 0, 0, 0, 0, 0, 3, 0, 4, 0]);
    tf.dispose([t, spread]);
  });
});

describe('MatMul gradient with explicit transposes', () => {
  it('is the registered BatchMatMul gradient', () => {
    expect(tf.getGradient(tf.BatchMatMul)).toBe(batchMatMulExplicitGradConfig);
  });

  it.each([
    [false, false],
    [false, true],
    [true, false],
    [true, true],
  ])(
    'equals tfjs own gradient with transposeA = %s, transposeB = %s, for matrices and batches',
    (ta, tb) => {
      for (const batch of [[], [3]]) {
        const grads = (): tf.Tensor[] =>
          tf.tidy(() => {
            const a = tf.randomNormal([...batch, ...(ta ? [4, 5] : [5, 4])], 0, 1, 'float32', 41);
            const b = tf.randomNormal([...batch, ...(tb ? [6, 4] : [4, 6])], 0, 1, 'float32', 42);
            const r = tf.randomNormal([...batch, 5, 6], 0, 1, 'float32', 43);
            return tf.grads((aa: tf.Tensor, bb: tf.Tensor) =>
              tf.sum(tf.mul(tf.matMul(aa, bb, ta, tb), r)),
            )([a, b]);
          });
        const ours = grads();
        tf.registerGradient(tfjsBatchMatMulGradConfig);
        const theirs = grads();
        installTfjsFixes();
        ours.forEach((g, i) => {
          expect(g.shape).toEqual(theirs[i]!.shape);
          expect(maxAbsDiff(g, theirs[i]!)).toBeLessThan(1e-5);
        });
        tf.dispose([...ours, ...theirs]);
      }
    },
  );
});

describe('batch norm from elementwise ops', () => {
  const x = () => tf.randomNormal([4, 3, 3, 5], 1.5, 2, 'float32', 11);
  const gamma = () => tf.randomNormal([5], 1, 0.3, 'float32', 12) as tf.Tensor1D;
  const beta = () => tf.randomNormal([5], 0, 0.3, 'float32', 13) as tf.Tensor1D;

  /** Equation (1) written directly, differentiated by tfjs. */
  function reference(xx: tf.Tensor, g: tf.Tensor, b: tf.Tensor): tf.Tensor {
    const mean = tf.mean(xx, [0, 1, 2]);
    const variance = tf.mean(tf.square(tf.sub(xx, mean)), [0, 1, 2]);
    return tf.add(
      tf.mul(tf.div(tf.sub(xx, mean), tf.sqrt(tf.add(variance, BATCH_NORM_EPSILON))), g),
      b,
    );
  }

  it('normalises with the batch mean and biased variance, reports the unbiased variance', () => {
    tf.tidy(() => {
      const xs = x();
      const { y, mean, variance } = batchNormTraining({ x: xs, gamma: gamma(), beta: beta() });
      expect(maxAbsDiff(y, reference(xs, gamma(), beta()))).toBeLessThan(1e-5);
      const m = 4 * 3 * 3;
      const moments = tf.moments(xs, [0, 1, 2]);
      expect(maxAbsDiff(mean, moments.mean)).toBeLessThan(1e-5);
      expect(maxAbsDiff(variance, tf.mul(moments.variance, m / (m - 1)))).toBeLessThan(1e-5);
    });
  });

  it('has the gradient of equation (1) with respect to x, γ and β', () => {
    tf.tidy(() => {
      const r = tf.randomNormal([4, 3, 3, 5], 0, 1, 'float32', 14);
      const ours = tf.grads((xx: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
        tf.sum(
          tf.mul(
            batchNormTraining({ x: xx, gamma: g as tf.Tensor1D, beta: b as tf.Tensor1D }).y,
            r,
          ),
        ),
      )([x(), gamma(), beta()]);
      const theirs = tf.grads((xx: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.mul(reference(xx, g, b), r)),
      )([x(), gamma(), beta()]);
      ours.forEach((g, i) => expect(maxAbsDiff(g, theirs[i]!), `input ${i}`).toBeLessThan(1e-4));
    });
  });

  it('hands out statistics that are ordinary differentiable tensors and leak nothing', () => {
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const xs = x();
      // ∂(Σ_c μ_c)/∂x = 1/m everywhere, m = 4·3·3, and the BN output adds nothing
      // when it is multiplied by 0.
      const [g] = tf.grads((xx: tf.Tensor) => {
        const { y, mean } = batchNormTraining({ x: xx, gamma: gamma(), beta: beta() });
        return tf.add(tf.sum(mean), tf.mul(0, tf.sum(y)));
      })([xs]);
      expect(maxAbsDiff(g!, tf.fill(xs.shape, 1 / 36))).toBeLessThan(1e-6);
    });
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses a second derivative in training mode rather than give a wrong one', () => {
    tf.tidy(() => {
      const r = tf.randomNormal([4, 3, 3, 5], 0, 1, 'float32', 17);
      const firstDerivative = tf.grad((xx: tf.Tensor) =>
        tf.sum(tf.mul(batchNormTraining({ x: xx, gamma: gamma(), beta: beta() }).y, r)),
      );
      expect(firstDerivative(x()).shape).toEqual([4, 3, 3, 5]);
      expect(() => tf.grad((xx: tf.Tensor) => tf.sum(tf.square(firstDerivative(xx))))(x())).toThrow(
        /differentiable once/,
      );
    });
  });

  it('sums channels through an average pool exactly as tf.sum does', () => {
    tf.tidy(() => {
      const x4 = tf.randomNormal([3, 5, 7, 4], 0, 1, 'float32', 15);
      expect(maxAbsDiff(channelSum(x4), tf.sum(x4, [0, 1, 2]))).toBeLessThan(1e-4);
      const x2 = tf.randomNormal([9, 4], 0, 1, 'float32', 16);
      expect(maxAbsDiff(channelSum(x2), tf.sum(x2, 0))).toBeLessThan(1e-5);
    });
  });

  it('uses running statistics in inference mode', () => {
    tf.tidy(() => {
      const mean = tf.tensor1d([0.1, -0.2, 0.3, 0, 1]);
      const variance = tf.tensor1d([1, 2, 0.5, 4, 0.25]);
      const y = batchNormInference({ x: x(), gamma: gamma(), beta: beta(), mean, variance });
      const expected = tf.batchNorm(x(), mean, variance, beta(), gamma(), BATCH_NORM_EPSILON);
      expect(maxAbsDiff(y, expected)).toBeLessThan(1e-5);
    });
  });
});

describe('option-A shortcut without stridedSlice', () => {
  it('picks x[:, ::2, ::2] and pads channels equally on both sides', () => {
    tf.tidy(() => {
      const x = tf.randomNormal([2, 7, 6, 4], 0, 1, 'float32', 21) as tf.Tensor4D;
      const y = subsampleAndPadChannels({ x, stride: 2, outChannels: 8 });
      expect(y.shape).toEqual([2, 4, 3, 8]);
      const picked = tf.stridedSlice(x, [0, 0, 0, 0], [2, 7, 6, 4], [1, 2, 2, 1]);
      const expected = tf.pad(picked, [
        [0, 0],
        [0, 0],
        [0, 0],
        [2, 2],
      ]);
      expect(maxAbsDiff(y, expected)).toBe(0);
    });
  });

  it('has a gradient: ones at the picked pixels, zeros elsewhere', () => {
    tf.tidy(() => {
      const x = tf.randomNormal([1, 4, 4, 2], 0, 1, 'float32', 22) as tf.Tensor4D;
      const g = tf.grad((xx: tf.Tensor) =>
        tf.sum(subsampleAndPadChannels({ x: xx as tf.Tensor4D, stride: 2, outChannels: 4 })),
      )(x);
      const mask = Array.from({ length: 16 }, (_, i) =>
        Math.floor(i / 4) % 2 === 0 && i % 2 === 0 ? 1 : 0,
      );
      const expected = tf.tile(tf.reshape(tf.tensor1d(mask), [1, 4, 4, 1]), [1, 1, 1, 2]);
      expect(maxAbsDiff(g, expected)).toBe(0);
    });
  });
});

describe('fusion only outside a gradient tape', () => {
  it('gives the same values fused and unfused, and knows when it is recording', () => {
    tf.tidy(() => {
      const x = tf.randomNormal([2, 5, 5, 3], 0, 1, 'float32', 31) as tf.Tensor4D;
      const filter = tf.randomNormal([3, 3, 3, 4], 0, 1, 'float32', 32) as tf.Tensor4D;
      const bias = tf.randomNormal([4], 0, 1, 'float32', 33) as tf.Tensor1D;
      expect(isRecordingGradients()).toBe(false);
      for (const activation of ['linear', 'relu'] as const) {
        const fused = conv2dBiasActivation({
          x,
          filter,
          bias,
          strides: 1,
          pad: 'same',
          activation,
        });
        let seen = false;
        const g = tf.grad((xx: tf.Tensor) => {
          seen = isRecordingGradients();
          const y = conv2dBiasActivation({
            x: xx as tf.Tensor4D,
            filter,
            bias,
            strides: 1,
            pad: 'same',
            activation,
          });
          expect(maxAbsDiff(y, fused)).toBeLessThan(1e-5);
          return tf.sum(y);
        })(x);
        expect(seen).toBe(true);
        expect(g.shape).toEqual(x.shape);
      }
      const a = tf.randomNormal([3, 4], 0, 1, 'float32', 34) as tf.Tensor2D;
      const b = tf.randomNormal([4, 2], 0, 1, 'float32', 35) as tf.Tensor2D;
      const bb = tf.tensor1d([0.5, -0.5]);
      const fused = matMulBiasActivation({ a, b, bias: bb, activation: 'relu' });
      expect(maxAbsDiff(fused, tf.relu(tf.add(tf.matMul(a, b), bb)))).toBeLessThan(1e-6);
    });
  });
});
