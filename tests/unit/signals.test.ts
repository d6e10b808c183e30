/**
 * Signals at initialisation (src/compute/signals): the hand-written backward
 * pass against tf.grads through the tfjs MLP with the same weights; measured
 * variances against the mean-field theory (ReLU/Kaiming level, σ_w² = 1
 * halving, Hayou's residual growth at several α); orthogonal weights; the
 * one-neuron chain against γ²/2; no tensor leaks.
 */
import * as tf from '@tensorflow/tfjs-core';
import { WASM_LEVELS } from '../../src/compute/wasm-build';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/compute/backend';
import { createModel } from '../../src/compute/models';
import {
  drawSeed,
  drawWeights,
  gaussianExpectation,
  inverseSqrtAlpha,
  measureSignals,
  meanSquareActivation,
  meanSquareSlope,
  mlpSpec,
  propagate,
  layerMoments,
  reluResidualGrowth,
  signalPass,
  sampleChain,
  scaledResidualLimit,
  signalLayerRows,
  theoryCurves,
  weightNames,
  type SignalNetwork,
} from '../../src/compute/signals';
import { createRng, normalArray } from '../../src/compute/random';
import { initialValues } from '../../src/compute/models/init';
import { mlpWeightInit } from '../../src/compute/models/mlp';

beforeAll(async () => {
  tf.env().set('IS_TEST', true);
  await initBackend({ prefer: 'wasm' });
});

const net = (over: Partial<SignalNetwork> = {}): SignalNetwork => ({
  width: 12,
  depth: 5,
  activation: 'relu',
  init: 'kaiming',
  sigmaW2: 2,
  residualAlpha: null,
  batchNorm: false,
  ...over,
});

/** Geometric mean of consecutive ratios a[i+1]/a[i]. */
function meanLogRatio(values: (number | null)[]): number {
  const v = values.map((x) => Math.log(x!));
  return Math.exp((v.at(-1)! - v[0]!) / (v.length - 1));
}

describe('propagate', () => {
  const cases: [string, Partial<SignalNetwork>][] = [
    ['plain ReLU', {}],
    ['plain tanh, Glorot', { activation: 'tanh', init: 'glorot' }],
    ['plain sigmoid with BN', { activation: 'sigmoid', batchNorm: true }],
    [
      'residual SELU, α = 0.3',
      { activation: 'selu', init: 'gaussian', sigmaW2: 1, residualAlpha: 0.3 },
    ],
    ['residual ReLU with BN, α = 1', { residualAlpha: 1, batchNorm: true }],
    ['plain linear, orthogonal', { activation: 'linear', init: 'orthogonal', sigmaW2: 1.5 }],
  ];
  for (const [label, over] of cases) {
    it(`${label}: signals and ∂L/∂x agree with the tfjs model and tf.grads`, () => {
      const network = net(over);
      const n = 7;
      const d = network.width;
      const seed = 11;
      const model = createModel(mlpSpec(network));
      const { params, state } = model.init(drawSeed(seed, 0));
      const weights = drawWeights({ network, seed, draw: 0 });
      // Same weights, parameter for parameter.
      weightNames(network).forEach((name, i) => {
        expect(Array.from(params[name]!.dataSync())).toEqual(Array.from(weights[i]!));
      });
      const rng = createRng(3);
      const x = tf.tensor2d(normalArray(n * d, rng), [n, d]);
      const h = tf.tensor2d(normalArray(n * d, rng), [n, d]);
      const before = tf.memory().numTensors;
      const result = tf.tidy(() => {
        // L = Σ H ⊙ logits, logits = (last hidden) W_out + b_out, so G = H W_outᵀ.
        const loss = (input: tf.Tensor) =>
          tf.sum(tf.mul(h, model.forward(params, state, input, { training: true }).logits));
        const modelGrad = tf.grads(loss)([x])[0]!;
        const trace = model.forward(params, state, x, { training: true, trace: true }).trace!;
        const w = weights.map((a) => tf.tensor2d(a, [d, d]));
        const pass = propagate({
          network,
          weights: w,
          input: x,
          topGradient: tf.matMul(h, params['output.weight']!, false, true),
        });
        // ∂L/∂x from the pass: one more step down through the first weight layer.
        let ownGrad: tf.Tensor;
        if (network.residualAlpha === null) {
          let g = pass.gradients[0]!;
          if (network.batchNorm) {
            const u = tf.matMul(x, w[0]!);
            const g2 = tf.grads((v: tf.Tensor) => {
              const { mean, variance } = tf.moments(v, 0, true);
              return tf.sum(tf.mul(g, tf.div(tf.sub(v, mean), tf.sqrt(tf.add(variance, 1e-5)))));
            })([u])[0]!;
            g = g2 as tf.Tensor2D;
          }
          ownGrad = tf.matMul(g, w[0]!, false, true);
        } else {
          ownGrad = tf.matMul(pass.gradients[0]!, w[0]!, false, true);
        }
        const probes = pass.signals.map((_, i) =>
          network.residualAlpha === null
            ? trace[`layers.${i}.preActivation`]!
            : i === 0
              ? trace['input.output']!
              : trace[`layers.${i - 1}.output`]!,
        );
        const signalError = Math.max(
          ...pass.signals.map((s, i) => tf.max(tf.abs(tf.sub(s, probes[i]!))).dataSync()[0]!),
        );
        const scale = tf.max(tf.abs(modelGrad)).dataSync()[0]!;
        const gradError = tf.max(tf.abs(tf.sub(ownGrad, modelGrad))).dataSync()[0]!;
        return { signalError, gradError, scale };
      });
      expect(result.signalError).toBeLessThan(1e-4);
      expect(result.gradError / result.scale).toBeLessThan(1e-4);
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([x, h, ...Object.values(params), ...Object.values(state)]);
    });
  }
});

describe('signalPass (the WebAssembly kernel) against propagate (tfjs)', () => {
  const cases: [string, Partial<SignalNetwork>][] = [
    ['plain ReLU', {}],
    ['plain tanh, Glorot', { activation: 'tanh', init: 'glorot' }],
    ['plain sigmoid with BN', { activation: 'sigmoid', batchNorm: true }],
    ['plain SELU with BN', { activation: 'selu', init: 'gaussian', sigmaW2: 1, batchNorm: true }],
    ['residual SELU, α = 0.3', { activation: 'selu', init: 'gaussian', residualAlpha: 0.3 }],
    ['residual tanh with BN, α = 1', { activation: 'tanh', residualAlpha: 1, batchNorm: true }],
    ['plain linear, orthogonal', { activation: 'linear', init: 'orthogonal', sigmaW2: 1.5 }],
  ];
  // Both builds of the kernel: relaxed SIMD (fused multiply-adds) and SIMD alone.
  for (const [[label, over], wasmLevel] of cases.flatMap((c) =>
    WASM_LEVELS.map((l) => [c, l] as const),
  )) {
    it(`${label}, ${wasmLevel} build: sums and histogram samples agree, width and batch not multiples of 4`, async () => {
      const network = net({ width: 13, depth: 9, ...over });
      const d = network.width;
      const n = 7;
      const seed = 21;
      const weights = drawWeights({ network, seed, draw: 1 });
      const rng = createRng(5);
      const input = normalArray(n * d, rng);
      const top = normalArray(n * d, rng);
      const layers = network.depth + (network.residualAlpha === null ? 0 : 1);
      const histogramLayers = [0, 4, layers - 1];
      const fast = await signalPass({
        network,
        weights,
        input,
        topGradient: top,
        batch: n,
        histogramLayers,
        histogramInputs: 5,
        wasmLevel,
      });
      const before = tf.memory().numTensors;
      const [signalTensors, activationTensors, gradientTensors] = tf.tidy(() => {
        const pass = propagate({
          network,
          weights: weights.map((w) => tf.tensor2d(w, [d, d])),
          input: tf.tensor2d(input, [n, d]),
          topGradient: tf.tensor2d(top, [n, d]),
        });
        return [pass.signals, pass.activations, pass.gradients];
      });
      const held = [...signalTensors!, ...activationTensors!, ...gradientTensors!];
      const read = (ts: tf.Tensor[]) => ts.map((t) => t.dataSync() as Float32Array);
      const [signals, activations, gradients] = [
        read(signalTensors!),
        read(activationTensors!),
        read(gradientTensors!),
      ];
      tf.dispose(held);
      expect(tf.memory().numTensors).toBe(before);
      const check = (sums: { sum: number[]; sumSq: number[] }, sum: number[], sumSq: number[]) => {
        sums.sumSq.forEach((s2, l) => {
          expect(Math.abs(sumSq[l]! - s2)).toBeLessThanOrEqual(1e-5 * s2);
          // Σh can be near 0 (after BN, exactly 0 in exact arithmetic): against √(n·Σh²).
          expect(Math.abs(sum[l]! - sums.sum[l]!)).toBeLessThanOrEqual(
            1e-5 * Math.sqrt(n * d * s2),
          );
        });
      };
      check(layerMoments(signals), fast.forwardSum, fast.forwardSumSq);
      check(layerMoments(gradients), fast.backwardSum, fast.backwardSumSq);
      const close = (a: Float32Array, b: Float32Array) => {
        expect(a.length).toBe(5 * d);
        const scale = Math.max(...Array.from(b, Math.abs));
        a.forEach((v, i) => expect(Math.abs(v - b[i]!)).toBeLessThanOrEqual(1e-5 * scale));
      };
      histogramLayers.forEach((l, i) => {
        close(fast.signal[i]!, signals[l]!.subarray(0, 5 * d));
        close(fast.activation[i]!, activations[l]!.subarray(0, 5 * d));
        close(fast.gradient[i]!, gradients[l]!.subarray(0, 5 * d));
      });
    });
  }
});

describe('initialisation', () => {
  it('orthogonal weights are exactly σ_w·Q with QᵀQ = I', () => {
    const network = net({ init: 'orthogonal', sigmaW2: 2, width: 40, depth: 3 });
    for (const w of drawWeights({ network, seed: 5, draw: 2 })) {
      const d = network.width;
      let worst = 0;
      for (let i = 0; i < d; i++) {
        for (let j = 0; j < d; j++) {
          let dot = 0;
          for (let k = 0; k < d; k++) dot += w[k * d + i]! * w[k * d + j]!;
          worst = Math.max(worst, Math.abs(dot - (i === j ? 2 : 0)));
        }
      }
      expect(worst).toBeLessThan(1e-5);
    }
  });

  it('weights equal initialValues bit for bit, whether sampled afresh, rescaled or widened from kept normals, or cached', () => {
    // Gaussian weights come from kept float64 normals (rescaled when σ_w²
    // changes); Kaiming ones go straight into float32 until a second width
    // asks for the same stream. A d×d matrix takes the first d² normals of
    // its stream, so other widths continue it (the stream grows by a quarter
    // past what is asked, hence the steps 9 → 10 → 12 → 13 and back down).
    // Either way each matrix is what the model's initialisation gives it.
    const seed = 21;
    const steps: Partial<SignalNetwork>[] = [
      { init: 'kaiming', width: 9 },
      { init: 'gaussian', sigmaW2: 2, width: 9 },
      { init: 'gaussian', sigmaW2: 0.5, width: 9 },
      { init: 'gaussian', sigmaW2: 1.3, width: 10 },
      { init: 'kaiming', width: 9 },
      { init: 'kaiming', width: 10 },
      { init: 'kaiming', width: 12 },
      { init: 'kaiming', width: 13 },
      { init: 'kaiming', width: 4 },
      { init: 'gaussian', sigmaW2: 0.5, residualAlpha: 1, width: 12 },
      { init: 'gaussian', sigmaW2: 0.5, width: 5 },
      { init: 'kaiming', width: 31 },
    ];
    for (const over of steps) {
      const network = net({ depth: 4, ...over });
      const d = network.width;
      const init = mlpWeightInit(network.init, Math.sqrt(network.sigmaW2));
      const weights = drawWeights({ network, seed, draw: 1 });
      weightNames(network).forEach((name, i) => {
        const expected = initialValues({ init, shape: [d, d], seed: drawSeed(seed, 1), name });
        expect(weights[i]).toEqual(expected);
      });
    }
  });

  it('draws differ from one another and repeat with the seed', () => {
    const network = net();
    const a = drawWeights({ network, seed: 1, draw: 0 })[0]!;
    const b = drawWeights({ network, seed: 1, draw: 1 })[0]!;
    expect(a[0]).not.toBe(b[0]);
    expect(Array.from(drawWeights({ network, seed: 1, draw: 0 })[0]!)).toEqual(Array.from(a));
  });
});

describe('theory', () => {
  it('Gaussian expectations by quadrature match closed forms', () => {
    expect(gaussianExpectation((u) => u * u, 3)).toBeCloseTo(3, 8);
    expect(gaussianExpectation((u) => u ** 4, 2)).toBeCloseTo(12, 6);
    expect(gaussianExpectation((u) => Math.max(u, 0) ** 2, 5)).toBeCloseTo(2.5, 6);
    // tanh is linear near 0: E[tanh²] ≈ q − 2q² for small q.
    expect(meanSquareActivation('tanh', 1e-3)).toBeCloseTo(1e-3 - 2e-6, 7);
    expect(meanSquareSlope('sigmoid', 1e-6)).toBeCloseTo(1 / 16, 6);
  });

  it('ReLU: γ²/2 per plain layer, (1 + α²γ²/2) per residual block', () => {
    const plain = theoryCurves(net({ init: 'gaussian', sigmaW2: 3, depth: 6 }));
    for (let t = 1; t < 6; t++)
      expect(plain.forward[t]! / plain.forward[t - 1]!).toBeCloseTo(1.5, 12);
    for (let t = 0; t < 5; t++)
      expect(plain.backward[t]! / plain.backward[t + 1]!).toBeCloseTo(1.5, 12);
    const alpha = 0.4;
    const res = theoryCurves(net({ residualAlpha: alpha, depth: 10 }));
    expect(res.forward[10]! / res.forward[0]!).toBeCloseTo(reluResidualGrowth(alpha, 2, 10), 9);
    expect(res.backward[0]! / res.backward[10]!).toBeCloseTo(reluResidualGrowth(alpha, 2, 10), 9);
    // α = 1/√T: (1 + γ²/(2T))^T → e^{γ²/2}.
    const T = 1000;
    expect(reluResidualGrowth(inverseSqrtAlpha(T), 2, T)).toBeCloseTo(scaledResidualLimit(2), 2);
  });
});

describe('measured against theory', () => {
  it('ReLU with Kaiming init keeps both variances level (per-layer ratio within 3 % of 1)', async () => {
    const network = net({ width: 256, depth: 20 });
    const s = await measureSignals({ network, batch: 128, draws: 8, seed: 1 });
    // Finite width: each layer multiplies a draw's variance by a random factor
    // of mean 1 and variance about 5/n; 8 draws × 20 layers of them average
    // to within a few per cent.
    expect(meanLogRatio(s.forwardVariance)).toBeGreaterThan(0.97);
    expect(meanLogRatio(s.forwardVariance)).toBeLessThan(1.03);
    expect(meanLogRatio(s.backwardVariance)).toBeGreaterThan(0.97);
    expect(meanLogRatio(s.backwardVariance)).toBeLessThan(1.03);
    // And the level itself, E[(s^t)²] = 2 (Var[x] = 1, γ² = 2): a draw's log-variance
    // wanders like a random walk of step variance ≤ 5/n, so after t layers the mean
    // of K draws sits within 3·√(5t/(nK)) of the theory in log terms.
    for (const [i, v] of s.forwardMeanSquare.entries()) {
      const t = s.t[i]!;
      const bound = 3 * Math.sqrt((5 * t) / (256 * 8)) + 0.05;
      expect(Math.abs(Math.log(v! / s.theoryForward[i]!))).toBeLessThan(bound);
    }
  });

  it('ReLU with σ_w² = 1 halves the variance at every layer, forward and backward', async () => {
    const network = net({ width: 256, depth: 20, init: 'gaussian', sigmaW2: 1 });
    const s = await measureSignals({ network, batch: 128, draws: 8, seed: 2 });
    expect(meanLogRatio(s.forwardVariance)).toBeCloseTo(0.5, 1);
    expect(Math.abs(meanLogRatio(s.forwardMeanSquare) - 0.5)).toBeLessThan(0.02);
    // Backward: the variance halves going down, so grows by 2 from layer t to t+1.
    expect(Math.abs(meanLogRatio(s.backwardVariance) - 2)).toBeLessThan(0.08);
  });

  it.each([1, 0.5, 'invsqrt'] as const)(
    'residual ReLU, α = %s: E[x_T²]/E[x_0²] follows (1 + α²γ²/2)^T',
    async (a) => {
      const depth = 20;
      const alpha = a === 'invsqrt' ? inverseSqrtAlpha(depth) : a;
      const network = net({ width: 256, depth, residualAlpha: alpha });
      const s = await measureSignals({ network, batch: 128, draws: 8, seed: 3 });
      const measured = s.forwardMeanSquare[depth]! / s.forwardMeanSquare[0]!;
      const theory = reluResidualGrowth(alpha, 2, depth);
      // log-ratio within 10 % of the predicted log-growth (α = 1: 2^20 ≈ 10^6).
      expect(Math.abs(Math.log(measured / theory))).toBeLessThan(0.1 * Math.log(theory) + 0.05);
    },
  );

  it('layer rows carry the names the command line prints', async () => {
    const s = await measureSignals({ network: net(), batch: 8, draws: 2, seed: 0 });
    const rows = signalLayerRows(s);
    expect(rows).toHaveLength(5);
    expect(Object.keys(rows[0]!)).toEqual(
      expect.arrayContaining([
        't',
        'forwardVariance',
        'backwardVariance',
        'theoryForward',
        'theoryBackward',
      ]),
    );
    expect(rows.map((r) => r.t)).toEqual([1, 2, 3, 4, 5]);
  });

  it('histograms count every value of their layers', async () => {
    const s = await measureSignals({ network: net({ depth: 9 }), batch: 16, draws: 3, seed: 0 });
    expect(s.histograms.layers).toHaveLength(6);
    expect(s.histograms.layers[0]).toBe(0);
    expect(s.histograms.layers.at(-1)).toBe(8);
    for (const h of [s.histograms.signal, s.histograms.gradient, s.histograms.activation]) {
      for (const [i, c] of h.counts.entries()) {
        expect(c.reduce((a, b) => a + b, 0) + h.outside[i]!).toBe(3 * 16 * 12);
      }
    }
    // ReLU outputs are never negative: their histograms start at 0.
    expect(s.histograms.activation.lo).toBe(0);
  });
});

describe('tensor discipline', () => {
  it('measureSignals leaves numTensors where it found it, also when cancelled', async () => {
    const before = tf.memory().numTensors;
    await measureSignals({ network: net({ batchNorm: true }), batch: 8, draws: 3, seed: 0 });
    await measureSignals({ network: net({ residualAlpha: 1 }), batch: 8, draws: 3, seed: 0 });
    const controller = new AbortController();
    const partial = await measureSignals({
      network: net(),
      batch: 8,
      draws: 5,
      seed: 0,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.drawsDone === 2) controller.abort();
      },
    });
    expect(partial.draws).toBe(2);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('one-neuron chain', () => {
  it.each([2, 1, 0.5])(
    'ReLU, γ² = %s: E[r_t² | x_t > 0] = γ²/2 within 4 standard errors',
    (gamma2) => {
      const r = sampleChain({ gamma2, depth: 10, chains: 40_000, activation: 'relu', seed: 4 });
      expect(r.theory).toBe(gamma2 / 2);
      expect(Math.abs(r.meanSquareRate - gamma2 / 2)).toBeLessThan(4 * r.standardError);
      expect(r.standardError / r.meanSquareRate).toBeLessThan(0.02);
    },
  );

  it('linear: E[r_t²] = γ²; sigmoid stays under γ²/16', () => {
    const lin = sampleChain({
      gamma2: 1.5,
      depth: 5,
      chains: 20_000,
      activation: 'linear',
      seed: 1,
    });
    expect(Math.abs(lin.meanSquareRate - 1.5)).toBeLessThan(4 * lin.standardError);
    const sig = sampleChain({ gamma2: 4, depth: 5, chains: 5_000, activation: 'sigmoid', seed: 1 });
    expect(sig.theory).toBeNull();
    expect(sig.meanSquareRate).toBeLessThan(4 / 16);
  });
});
