import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  countParams,
  createModel,
  forwardMultiplyAdds,
  parseModelName,
  summaryTotal,
} from '../../src/compute/models';
import type { MlpSpec, Model, ResNetSpec, TensorMap } from '../../src/compute/models';
import { fans, initialValues, orthogonalMatrix } from '../../src/compute/models/init';
import { createRng } from '../../src/compute/random';

beforeAll(async () => {
  tf.env().set('IS_TEST', true);
  await tf.setBackend('cpu');
});

const resnet = (depth: number, over: Partial<ResNetSpec> = {}): ResNetSpec => ({
  kind: 'resnet',
  depth,
  shortcut: 'A',
  skip: true,
  residualScale: 1,
  inputShape: [3, 32, 32],
  classes: 10,
  ...over,
});

const mlp = (over: Partial<MlpSpec> = {}): MlpSpec => ({
  kind: 'mlp',
  width: 16,
  depth: 4,
  activation: 'relu',
  init: 'kaiming',
  sigmaW: Math.SQRT2,
  residualAlpha: null,
  batchNorm: false,
  inputSize: 12,
  classes: 3,
  ...over,
});

function disposeAll(...maps: TensorMap[]): void {
  for (const m of maps) tf.dispose(Object.values(m));
}

describe('ResNet-n parameter counts (He et al. 2016, 3×32×32, 10 classes)', () => {
  // A stage of k blocks at c channels with stride-1 blocks only has 2k convs of
  // 9c² weights and 2k BNs of 2c. Stage 1: c = 16 throughout. Stages 2 and 3:
  // the first conv maps c/2 → c (9·c/2·c weights), the other 2k − 1 map c → c.
  //   stem: 9·3·16 + 2·16 = 464;   dense: 64·10 + 10 = 650
  //   stage 1: 2k·(2304 + 32) = 4,672k
  //   stage 2: (4,608 + 64) + (2k − 1)·(9,216 + 64) = 9,280·(2k − 1) + 4,672
  //   stage 3: (18,432 + 128) + (2k − 1)·(36,864 + 128) = 36,992·(2k − 1) + 18,560
  //   total(k) = 464 + 650 + 4,672k + 46,272·(2k − 1) + 23,232 = 97,216k − 21,926
  // ResNet-20 (k = 3): 269,722; ResNet-56 (k = 9): 853,018; ResNet-110 (k = 18):
  // 1,727,962, He et al.'s 0.27M, 0.85M and 1.7M. Option B adds 1×1 projections
  // with BN at the two stage starts: (16·32 + 64) + (32·64 + 128) = 2,752.
  it.each([
    [20, 269_722],
    [56, 853_018],
    [110, 1_727_962],
  ])('ResNet-%i with option A has %i', (depth, expected) => {
    expect(97_216 * ((depth - 2) / 6) - 21_926).toBe(expected);
    const model = createModel(resnet(depth));
    expect(countParams(model)).toBe(expected);
    expect(summaryTotal(model.summary())).toBe(expected);
  });

  it('option B adds the two projection convolutions and their BNs', () => {
    expect(countParams(createModel(resnet(56, { shortcut: 'B' })))).toBe(855_770);
    expect(countParams(createModel(resnet(20, { shortcut: 'B' })))).toBe(269_722 + 2_752);
    const names = createModel(resnet(20, { shortcut: 'B' })).params.map((p) => p.name);
    expect(names.filter((n) => n.includes('shortcut'))).toEqual([
      'layer2.0.shortcut.0.weight',
      'layer2.0.shortcut.1.gamma',
      'layer2.0.shortcut.1.beta',
      'layer3.0.shortcut.0.weight',
      'layer3.0.shortcut.1.gamma',
      'layer3.0.shortcut.1.beta',
    ]);
  });

  it('without skips has no shortcut parameters (Li et al.\'s "noshort")', () => {
    expect(countParams(createModel(resnet(56, { shortcut: 'B', skip: false })))).toBe(853_018);
  });

  it("names parameters like Li et al.'s code, in forward order, with roles", () => {
    const model = createModel(resnet(20));
    expect(model.params.slice(0, 4)).toEqual([
      { name: 'conv1.weight', shape: [3, 3, 3, 16], role: 'conv' },
      { name: 'bn1.gamma', shape: [16], role: 'bnGamma' },
      { name: 'bn1.beta', shape: [16], role: 'bnBeta' },
      { name: 'layer1.0.conv1.weight', shape: [3, 3, 16, 16], role: 'conv' },
    ]);
    expect(model.params.slice(-2)).toEqual([
      { name: 'linear.weight', shape: [64, 10], role: 'dense' },
      { name: 'linear.bias', shape: [10], role: 'bias' },
    ]);
    expect(model.state).toHaveLength(2 * 19);
    expect(model.state[0]).toEqual({ name: 'bn1.runningMean', shape: [16], role: 'runningMean' });
    // No convolution has a bias.
    expect(model.params.filter((p) => p.role === 'bias').map((p) => p.name)).toEqual([
      'linear.bias',
    ]);
  });

  it('rejects depths that are not 6k + 2', () => {
    expect(() => createModel(resnet(21))).toThrow(/6k \+ 2/);
  });
});

describe('ResNet forward', () => {
  it('has the shapes of He et al.: 32×32 → 16×16 → 8×8, 16/32/64 channels', () => {
    const rows = createModel(resnet(8, { shortcut: 'B' })).summary();
    expect(rows.filter((r) => r.name.startsWith('BasicBlock')).map((r) => r.outputShape)).toEqual([
      [-1, 16, 32, 32],
      [-1, 32, 16, 16],
      [-1, 64, 8, 8],
    ]);
    expect(rows.at(-1)).toEqual({
      name: `Linear-${rows.length}`,
      outputShape: [-1, 10],
      params: 650,
    });
  });

  it('returns logits, batch statistics for every running statistic, and leaks nothing', () => {
    for (const shortcut of ['A', 'B'] as const) {
      const model = createModel(resnet(8, { shortcut, inputShape: [1, 12, 12] }));
      const { params, state } = model.init(1);
      const before = tf.memory().numTensors;
      tf.tidy(() => {
        const x = tf.randomNormal([3, 12, 12, 1]);
        const train = model.forward(params, state, x, { training: true });
        expect(train.logits.shape).toEqual([3, 10]);
        expect(Object.keys(train.batchStats).sort()).toEqual(model.state.map((s) => s.name).sort());
        const infer = model.forward(params, state, x, { training: false });
        expect(infer.batchStats).toEqual({});
        const grads = tf.grads((...ps: tf.Tensor[]) => {
          const p: TensorMap = {};
          model.params.forEach((info, i) => (p[info.name] = ps[i]!));
          return tf.sum(model.forward(p, state, x, { training: true }).logits);
        })(model.params.map((p) => params[p.name]!));
        expect(grads).toHaveLength(model.params.length);
      });
      expect(tf.memory().numTensors).toBe(before);
      disposeAll(params, state);
    }
  });

  it('reports the unbiased batch variance and the batch mean', () => {
    const model = createModel(resnet(8, { inputShape: [1, 6, 6] }));
    const { params, state } = model.init(2);
    tf.tidy(() => {
      const x = tf.randomNormal([4, 6, 6, 1]);
      const out = model.forward(params, state, x, { training: true });
      // The stem's BN sees conv1's output: recompute it.
      const z = tf.conv2d(x as tf.Tensor4D, params['conv1.weight'] as tf.Tensor4D, 1, [
        [0, 0],
        [1, 1],
        [1, 1],
        [0, 0],
      ]);
      const { mean, variance } = tf.moments(z, [0, 1, 2]);
      const m = 4 * 6 * 6;
      const dm = tf
        .max(tf.abs(tf.sub(out.batchStats['bn1.runningMean']!, mean)))
        .arraySync() as number;
      const dv = tf
        .max(tf.abs(tf.sub(out.batchStats['bn1.runningVar']!, tf.mul(variance, m / (m - 1)))))
        .arraySync() as number;
      expect(dm).toBeLessThan(1e-5);
      expect(dv).toBeLessThan(1e-4);
    });
    disposeAll(params, state);
  });

  it('in inference mode uses running statistics, fused or not', () => {
    const model = createModel(resnet(8, { shortcut: 'B', inputShape: [2, 8, 8] }));
    const { params, state } = model.init(4);
    // Non-trivial running statistics.
    const stats: TensorMap = {};
    for (const s of model.state) {
      stats[s.name] =
        s.role === 'runningVar'
          ? tf.randomUniform(s.shape, 0.5, 1.5, 'float32', 1)
          : tf.randomNormal(s.shape, 0, 1, 'float32', 2);
    }
    tf.tidy(() => {
      const x = tf.randomNormal([2, 8, 8, 2]);
      const fused = model.forward(params, stats, x, { training: false }).logits;
      // Under a gradient tape nothing is fused: the same values must come out.
      let unfused: tf.Tensor | null = null;
      tf.grad((xx: tf.Tensor) => {
        const l = model.forward(params, stats, xx, { training: false }).logits;
        unfused = tf.keep(tf.clone(l));
        return tf.sum(l);
      })(x);
      expect(tf.max(tf.abs(tf.sub(fused, unfused!))).arraySync()).toBeLessThan(1e-4);
      tf.dispose(unfused!);
      // Different statistics, different logits: they are used.
      const fresh = model.forward(params, state, x, { training: false }).logits;
      expect(tf.max(tf.abs(tf.sub(fused, fresh))).arraySync()).toBeGreaterThan(1e-3);
    });
    disposeAll(params, state, stats);
  });

  it('calls combine once per block; α scales the residual branch', () => {
    const spec = resnet(20, { inputShape: [1, 8, 8] });
    const model = createModel(spec);
    const { params, state } = model.init(7);
    tf.tidy(() => {
      const x = tf.randomNormal([2, 8, 8, 1]);
      const seen: string[] = [];
      const lesioned = model.forward(params, state, x, {
        training: false,
        combine: (block, residual, shortcut) => {
          seen.push(`${block.index}:${block.name}`);
          return block.name === 'layer2.1' ? shortcut : tf.add(residual, shortcut);
        },
      }).logits;
      expect(seen).toEqual([
        '0:layer1.0',
        '1:layer1.1',
        '2:layer1.2',
        '3:layer2.0',
        '4:layer2.1',
        '5:layer2.2',
        '6:layer3.0',
        '7:layer3.1',
        '8:layer3.2',
      ]);
      const plain = model.forward(params, state, x, { training: false }).logits;
      expect(tf.max(tf.abs(tf.sub(lesioned, plain))).arraySync()).toBeGreaterThan(1e-4);
      // α = 0 is every block lesioned.
      const zero = createModel({ ...spec, residualScale: 0 }).forward(params, state, x, {
        training: false,
      }).logits;
      const allLesioned = model.forward(params, state, x, {
        training: false,
        combine: (_b, _r, s) => s,
      }).logits;
      expect(tf.max(tf.abs(tf.sub(zero, allLesioned))).arraySync()).toBeLessThan(1e-5);
      // α = 2 doubles the branch.
      const two = createModel({ ...spec, residualScale: 2 }).forward(params, state, x, {
        training: false,
      }).logits;
      const doubled = model.forward(params, state, x, {
        training: false,
        combine: (_b, r, s) => tf.add(tf.mul(r, 2), s),
      }).logits;
      expect(tf.max(tf.abs(tf.sub(two, doubled))).arraySync()).toBeLessThan(1e-4);
    });
    disposeAll(params, state);
  });

  it('checks the input shape', () => {
    const model = createModel(resnet(8));
    const { params, state } = model.init(0);
    expect(() =>
      model.forward(params, state, tf.zeros([1, 28, 28, 1]), { training: false }),
    ).toThrow(/32, 32, 3/);
    disposeAll(params, state);
  });
});

describe('forward multiply-adds', () => {
  it('counts ResNet-20 convolutions and the dense layer per image', () => {
    // 3×32×32: stem 32²·27·16 = 442,368; stage 1: 6·32²·9·16² = 14,155,776;
    // stages 2 and 3: (1,179,648 + 5·2,359,296) each = 12,976,128; dense 640.
    expect(forwardMultiplyAdds(resnet(20))).toBe(40_551_040);
    // 1×28×28: 112,896 + 6·1,806,336 + 2·(903,168 + 5·1,806,336) + 640 = 30,821,248,
    // and option B's two 1×1 projections add 14²·16·32 + 7²·32·64 = 200,704.
    expect(forwardMultiplyAdds(resnet(20, { inputShape: [1, 28, 28] }))).toBe(30_821_248);
    expect(forwardMultiplyAdds(resnet(20, { inputShape: [1, 28, 28], shortcut: 'B' }))).toBe(
      31_021_952,
    );
  });
});

describe('initialisation', () => {
  it('is reproducible, and each tensor has its own stream', () => {
    const model = createModel(resnet(8));
    const a = model.init(11);
    const b = model.init(11);
    const c = model.init(12);
    for (const p of model.params) {
      expect(a.params[p.name]!.dataSync()).toEqual(b.params[p.name]!.dataSync());
    }
    expect(a.params['conv1.weight']!.dataSync()).not.toEqual(c.params['conv1.weight']!.dataSync());
    const w1 = a.params['layer1.0.conv1.weight']!.dataSync();
    const w2 = a.params['layer1.0.conv2.weight']!.dataSync();
    expect(w1).not.toEqual(w2);
    disposeAll(a.params, a.state, b.params, b.state, c.params, c.state);
  });

  it('draws convolutions from N(0, 2/fan_in), BN γ = 1, β = 0, running μ = 0, σ² = 1', () => {
    const model = createModel(resnet(8));
    const { params, state } = model.init(5);
    const w = params['layer3.0.conv2.weight']!; // fan_in 9·64
    const values = Array.from(w.dataSync());
    const mean = values.reduce((s, v) => s + v, 0) / values.length;
    const std = Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length);
    expect(std).toBeCloseTo(Math.sqrt(2 / (9 * 64)), 3);
    expect(Math.abs(mean)).toBeLessThan((3 * std) / Math.sqrt(values.length));
    expect([...params['bn1.gamma']!.dataSync()]).toEqual(new Array(16).fill(1));
    expect([...params['bn1.beta']!.dataSync()]).toEqual(new Array(16).fill(0));
    expect([...state['bn1.runningVar']!.dataSync()]).toEqual(new Array(16).fill(1));
    // The dense layer: PyTorch's U(±1/√64), bias included.
    const dense = params['linear.weight']!.dataSync();
    expect(Math.max(...dense.map(Math.abs))).toBeLessThanOrEqual(1 / 8);
    expect(Math.max(...dense.map(Math.abs))).toBeGreaterThan(0.12);
    disposeAll(params, state);
  });

  it('computes fans for conv and dense layouts', () => {
    expect(fans([3, 3, 16, 32])).toEqual({ fanIn: 144, fanOut: 288 });
    expect(fans([64, 10])).toEqual({ fanIn: 64, fanOut: 10 });
  });

  it('makes orthogonal matrices, tall or wide', () => {
    for (const [r, c] of [
      [20, 8],
      [8, 20],
      [16, 16],
    ] as const) {
      const q = orthogonalMatrix(r, c, createRng(3));
      const k = Math.min(r, c);
      for (let i = 0; i < k; i++) {
        for (let j = 0; j < k; j++) {
          let dot = 0;
          // Columns of a tall matrix, rows of a wide one, are orthonormal.
          for (let t = 0; t < Math.max(r, c); t++)
            dot += r >= c ? q[t * c + i]! * q[t * c + j]! : q[i * c + t]! * q[j * c + t]!;
          expect(dot).toBeCloseTo(i === j ? 1 : 0, 10);
        }
      }
    }
    const w = initialValues({
      init: { kind: 'orthogonal', gain: 2 },
      shape: [16, 16],
      seed: 1,
      name: 'w',
    });
    let norm = 0;
    for (let t = 0; t < 16; t++) norm += w[t * 16]! ** 2;
    expect(norm).toBeCloseTo(4, 4);
  });

  it('scales the Gaussian init by σ_w²/fan_in and Glorot by fan_in + fan_out', () => {
    const g = initialValues({
      init: { kind: 'gaussian', sigmaW: 3 },
      shape: [400, 300],
      seed: 2,
      name: 'g',
    });
    const varG = g.reduce((s, v) => s + v * v, 0) / g.length;
    expect(varG).toBeCloseTo(9 / 400, 3);
    const u = initialValues({
      init: { kind: 'glorotUniform' },
      shape: [400, 300],
      seed: 2,
      name: 'u',
    });
    const varU = u.reduce((s, v) => s + v * v, 0) / u.length;
    expect(varU).toBeCloseTo(2 / 700, 4);
  });
});

describe('MLP', () => {
  function run(model: Model, x: tf.Tensor, training = false) {
    const { params, state } = model.init(9);
    const out = model.forward(params, state, x, { training, trace: true });
    disposeAll(params, state);
    return out;
  }

  it('is plain Glorot–Bengio layers or Hayou residual blocks, every activation', () => {
    for (const activation of ['linear', 'relu', 'tanh', 'sigmoid', 'selu'] as const) {
      for (const residualAlpha of [null, 0.5]) {
        const model = createModel(mlp({ activation, residualAlpha }));
        tf.tidy(() => {
          const out = run(model, tf.randomNormal([5, 12]));
          expect(out.logits.shape).toEqual([5, 3]);
          expect(Object.keys(out.trace!)).toContain('layers.3.preActivation');
          expect(Object.keys(out.trace!)).toContain('layers.3.output');
        });
      }
    }
  });

  it('applies the activation to the pre-activation (plain) and adds α·W f(x) (residual)', () => {
    tf.tidy(() => {
      const x = tf.randomNormal([4, 12]);
      const plain = run(createModel(mlp({ activation: 'tanh' })), x).trace!;
      const diff = tf.sub(plain['layers.2.output']!, tf.tanh(plain['layers.2.preActivation']!));
      expect(tf.max(tf.abs(diff)).arraySync()).toBeLessThan(1e-6);
      // x_3 − x_2 = α·W_2 tanh(x_2), with W_2 the layer's own weight.
      const model = createModel(mlp({ activation: 'tanh', residualAlpha: 0.25 }));
      const { params, state } = model.init(9);
      const res = model.forward(params, state, x, { training: false, trace: true }).trace!;
      const expected = tf.mul(
        0.25,
        tf.matMul(tf.tanh(res['layers.1.output']!), params['layers.2.weight']!),
      );
      const step = tf.sub(tf.sub(res['layers.2.output']!, res['layers.1.output']!), expected);
      expect(tf.max(tf.abs(step)).arraySync()).toBeLessThan(1e-5);
      disposeAll(params, state);
    });
  });

  it('counts and names its parameters; BN adds γ, β and running statistics', () => {
    const plain = createModel(mlp());
    // 12·16 + 16, 3 × (16·16 + 16), 16·3 + 3
    expect(countParams(plain)).toBe(208 + 3 * 272 + 51);
    const residual = createModel(mlp({ residualAlpha: 1 }));
    // input 12·16 + 16, 4 × 16·16 (no bias in the branch), output 51
    expect(countParams(residual)).toBe(208 + 4 * 256 + 51);
    const bn = createModel(mlp({ batchNorm: true }));
    expect(countParams(bn)).toBe(countParams(plain) + 4 * 32);
    expect(bn.state.map((s) => s.name)).toContain('norms.0.runningVar');
    expect(bn.summary().map((r) => r.name.split('-')[0])).toContain('BatchNorm1d');
    tf.tidy(() => {
      const out = run(bn, tf.randomNormal([6, 12]), true);
      expect(Object.keys(out.batchStats)).toHaveLength(8);
    });
  });
});

describe('parseModelName', () => {
  it('gives full specs with defaults', () => {
    expect(parseModelName('resnet56')).toEqual(resnet(56, { shortcut: 'B' }));
    expect(parseModelName('resnet20a')).toEqual(resnet(20));
    expect(parseModelName('resnet20-noshort', { inputShape: [1, 28, 28] })).toEqual(
      resnet(20, { shortcut: 'B', skip: false, inputShape: [1, 28, 28] }),
    );
    expect(parseModelName('mlp', { inputShape: [1, 28, 28] })).toMatchObject({
      kind: 'mlp',
      inputSize: 784,
      classes: 10,
    });
    expect(() => parseModelName('vgg16')).toThrow(/unknown model/);
  });
});
