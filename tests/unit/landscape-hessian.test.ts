import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, test } from 'vitest';
import { normalizationFor, normalizeImages } from '../../src/compute/data/dataset';
import { randomDirections } from '../../src/compute/landscape/directions';
import { evaluationBatches, planeTensors } from '../../src/compute/landscape/grid';
import type { Origin, SurfaceMetaInput } from '../../src/compute/landscape/grid';
import {
  computeHessianMap,
  crossEntropySum,
  extremeEigenvalues,
  hessianEigenvalues,
  hessianOperator,
  hvpOperator,
  parameterLayout,
} from '../../src/compute/landscape/hessian';
import type { HvpMethod } from '../../src/compute/landscape/hessian';
import { symmetricEigen } from '../../src/compute/landscape/linalg';
import { createRng, normalArray } from '../../src/compute/random';
import { registerSecondOrderGradients } from '../../src/compute/tfjs-fixes/second-order';
import { initialArrays, randomImages, smallConvNet, softmaxRegression } from './landscape-fixtures';

beforeAll(async () => {
  await tf.setBackend('cpu');
  registerSecondOrderGradients();
});

/** d²f/dx² elementwise through two nested tf.grad calls. */
async function secondDerivative(f: (x: tf.Tensor) => tf.Tensor, x: number[]): Promise<number[]> {
  const t = tf.tensor1d(x);
  const d2 = tf.tidy(() =>
    tf.grad((u: tf.Tensor) => tf.grad((w: tf.Tensor) => tf.sum(f(w)))(u))(t),
  );
  const out = Array.from(await d2.data());
  t.dispose();
  d2.dispose();
  return out;
}

describe('exact double backward (tfjs-fixes/second-order)', () => {
  const xs = [-1.3, -0.2, 0.4, 1.7];
  const cases: [string, (x: tf.Tensor) => tf.Tensor, (x: number) => number][] = [
    ['exp', tf.exp, Math.exp],
    ['tanh', tf.tanh, (x) => -2 * Math.tanh(x) * (1 - Math.tanh(x) ** 2)],
    [
      'sigmoid',
      tf.sigmoid,
      (x) => {
        const s = 1 / (1 + Math.exp(-x));
        return s * (1 - s) * (1 - 2 * s);
      },
    ],
    [
      'softplus',
      tf.softplus,
      (x) => {
        const s = 1 / (1 + Math.exp(-x));
        return s * (1 - s);
      },
    ],
    ['elu', tf.elu, (x) => (x > 0 ? 0 : Math.exp(x))],
    ['pow', (x) => tf.pow(x, tf.scalar(3)), (x) => 6 * x],
    ['square of max', (x) => tf.square(tf.max(x)), () => Number.NaN],
  ];
  test.each(cases)('%s', async (name, f, exact) => {
    const got = await secondDerivative(f, xs);
    if (name === 'square of max') {
      // d²/dx² max(x)² = 2 at the arg max, 0 elsewhere.
      expect(got).toEqual([0, 0, 0, 2]);
      return;
    }
    got.forEach((v, i) => expect(v).toBeCloseTo(exact(xs[i]!), 5));
  });

  test('softmax and the Hessian cross-entropy: the Hessian of lse(z) − z_y is diag(p) − ppᵀ', async () => {
    const z = [0.3, -1.2, 2.0, 0.5];
    const v = [1, -2, 0.5, 3];
    const e = z.map(Math.exp);
    const p = e.map((x) => x / e.reduce((a, b) => a + b, 0));
    const pv = p.reduce((a, pi, i) => a + pi * v[i]!, 0);
    const expected = p.map((pi, i) => pi * v[i]! - pi * pv);
    const onehot = tf.tensor1d([0, 0, 1, 0]);
    const vt = tf.tensor1d(v);
    const labels = tf.tensor1d([2], 'int32');
    const losses: [string, (x: tf.Tensor) => tf.Scalar][] = [
      ['crossEntropySum', (x) => crossEntropySum(tf.reshape(x, [1, 4]) as tf.Tensor2D, labels)],
      ['softmax', (x) => tf.neg(tf.log(tf.sum(tf.mul(onehot, tf.softmax(x)))))],
    ];
    for (const [, loss] of losses) {
      const zt = tf.tensor1d(z);
      const hv = tf.tidy(() => tf.grad((u: tf.Tensor) => tf.sum(tf.mul(tf.grad(loss)(u), vt)))(zt));
      const got = await hv.data();
      expected.forEach((x, i) => expect(got[i]).toBeCloseTo(x, 5));
      tf.dispose([zt, hv]);
    }
    tf.dispose([onehot, vt, labels]);
  });

  test('Conv2DBackpropFilter and AvgPoolGrad have gradients (their adjoints), equal to finite differences', async () => {
    const rng = createRng(1);
    const x = tf.tensor4d(normalArray(2 * 5 * 5 * 3, rng), [2, 5, 5, 3]);
    const dy = tf.tensor4d(normalArray(2 * 3 * 3 * 4, rng), [2, 3, 3, 4]);
    const w0 = tf.tensor4d(normalArray(3 * 3 * 3 * 4, rng), [3, 3, 3, 4]);
    const attrs = { strides: 2, pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 3, 4] };
    const f = (a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(
        tf.mul(
          w0,
          tf.engine().runKernel(tf.Conv2DBackpropFilter, { x: a, dy: b }, attrs) as tf.Tensor,
        ),
      );
    const [gx, gdy] = tf.grads(f)([x, dy]);
    // f is bilinear, so a central difference along a random v is exact up to rounding.
    for (const [which, g] of [
      [0, gx!],
      [1, gdy!],
    ] as const) {
      const base = which === 0 ? x : dy;
      const v = tf.tensor(normalArray(base.size, rng), base.shape);
      const shift = (s: number) => {
        const moved = tf.add(base, tf.mul(v, s));
        const r = which === 0 ? f(moved, dy) : f(x, moved);
        return r.dataSync()[0]!;
      };
      const fd = (shift(0.5) - shift(-0.5)) / 1;
      const analytic = tf.sum(tf.mul(g, v)).dataSync()[0]!;
      expect(analytic).toBeCloseTo(fd, 2);
    }
    const pooledIn = tf.tensor4d(normalArray(1 * 4 * 4 * 2, rng), [1, 4, 4, 2]);
    const pdy = tf.tensor4d(normalArray(1 * 2 * 2 * 2, rng), [1, 2, 2, 2]);
    const c = tf.tensor4d(normalArray(32, rng), [1, 4, 4, 2]);
    const pool = (b: tf.Tensor) =>
      tf.sum(
        tf.mul(
          c,
          tf
            .engine()
            .runKernel(
              tf.AvgPoolGrad,
              { dy: b, input: pooledIn },
              { filterSize: 2, strides: 2, pad: 'valid' },
            ) as tf.Tensor,
        ),
      );
    const gp = tf.grad(pool)(pdy);
    const v = tf.tensor4d(normalArray(8, rng), [1, 2, 2, 2]);
    const fd = (pool(tf.add(pdy, v)).dataSync()[0]! - pool(tf.sub(pdy, v)).dataSync()[0]!) / 2;
    expect(tf.sum(tf.mul(gp, v)).dataSync()[0]!).toBeCloseTo(fd, 4);
  });
});

describe('eigenvalues of a known quadratic L(θ) = ½ θᵀAθ are exact', () => {
  /** A = Q diag(λ) Qᵀ for a random orthogonal Q (eigenvectors of a random symmetric matrix). */
  function quadratic(lambdas: number[]): Float64Array {
    const n = lambdas.length;
    const rng = createRng(42);
    const r = new Float64Array(n * n);
    for (let i = 0; i < n; i++)
      for (let j = i; j < n; j++) r[i * n + j] = r[j * n + i] = rng.normal();
    const q = symmetricEigen(r, n).vectors;
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++)
        for (let k = 0; k < n; k++)
          a[i * n + j] = a[i * n + j]! + q[i * n + k]! * lambdas[k]! * q[j * n + k]!;
    return a;
  }

  const spectra = [
    [5, 2, 0.5, -1, -3],
    [2, 1, 0.25, -4],
  ];
  test.each(spectra)(
    'spectrum %o through tfjs double backward, Lanczos and power iteration',
    async (...lambdas) => {
      const n = lambdas.length;
      const a = tf.tensor2d(Float32Array.from(quadratic(lambdas)), [n, n]);
      const theta = tf.tensor2d(normalArray(n, createRng(3)), [n, 1]);
      const layout = { names: ['theta'], shapes: [[n, 1]], offsets: [0], dimension: n };
      const loss = (t: tf.Tensor) =>
        tf.mul(0.5, tf.sum(tf.mul(t, tf.matMul(a, t as tf.Tensor2D)))) as tf.Scalar;
      const apply = hvpOperator({ losses: [loss], xs: [theta], layout, scale: 1, hvp: 'exact' });
      const before = tf.memory().numTensors;
      const lanczos = await extremeEigenvalues({ apply, dimension: n, method: 'lanczos' });
      const power = await extremeEigenvalues({
        apply,
        dimension: n,
        method: 'power',
        iterations: 500,
        // A residual below 1e-5·|λ|: float32 products leave a floor near 1e-7·‖A‖.
        tolerance: 1e-5,
      });
      expect(tf.memory().numTensors).toBe(before);
      const max = Math.max(...lambdas);
      const min = Math.min(...lambdas);
      for (const r of [lanczos, power]) {
        expect(r.lambdaMax).toBeCloseTo(max, 4);
        expect(r.lambdaMin).toBeCloseTo(min, 4);
        expect(r.converged).toBe(true);
      }
      expect(lanczos.products).toBeLessThanOrEqual(n);
      tf.dispose([a, theta]);
    },
  );
});

describe('Hessian-vector products of networks', () => {
  test('softmax regression: H v equals the closed-form Hessian (1/N) Σ (diag p − ppᵀ) ⊗ x̃x̃ᵀ, column by column', async () => {
    const model = softmaxRegression();
    const origin = await initialArrays(model, 5);
    const data = randomImages({ count: 12, height: 2, width: 2, channels: 1, classes: 3, seed: 6 });
    const normalized = normalizeImages({
      images: data.images,
      channels: 1,
      normalization: normalizationFor(data),
    });
    // Closed form, parameters ordered as the layout: W[i][c] at i·3 + c, then b[c] at 12 + c.
    const dim = 15;
    const h = new Float64Array(dim * dim);
    const w = origin.params['fc.weight']!.data;
    const b = origin.params['fc.bias']!.data;
    for (let n = 0; n < data.count; n++) {
      const x = [...normalized.subarray(n * 4, n * 4 + 4), 1];
      const z = [0, 1, 2].map(
        (c) => b[c]! + [0, 1, 2, 3].reduce((s, i) => s + x[i]! * w[i * 3 + c]!, 0),
      );
      const m = Math.max(...z);
      const e = z.map((v) => Math.exp(v - m));
      const p = e.map((v) => v / e.reduce((s, u) => s + u, 0));
      const index = (i: number, c: number) => (i < 4 ? i * 3 + c : 12 + c);
      for (let i = 0; i < 5; i++)
        for (let j = 0; j < 5; j++)
          for (let c = 0; c < 3; c++)
            for (let d = 0; d < 3; d++) {
              const curvature = (c === d ? p[c]! : 0) - p[c]! * p[d]!;
              h[index(i, c) * dim + index(j, d)] =
                h[index(i, c) * dim + index(j, d)]! + (x[i]! * x[j]! * curvature) / data.count;
            }
    }
    const plane = planeTensors(origin, { x: {}, y: null });
    const batches = evaluationBatches({ model, data, batchSize: 5 });
    const layout = parameterLayout(plane.params);
    expect(layout.dimension).toBe(dim);
    const apply = hessianOperator({
      model,
      params: plane.params,
      state: plane.state,
      data: batches,
      layout,
      hvp: 'exact',
    });
    for (let k = 0; k < dim; k++) {
      const e = new Float64Array(dim);
      e[k] = 1;
      const column = await apply(e);
      for (let r = 0; r < dim; r++) expect(column[r]).toBeCloseTo(h[r * dim + k]!, 5);
    }
    batches.dispose();
    plane.dispose();
  });

  test('a smooth conv net with BN: exact H v equals central differences of gradients', async () => {
    const model = smallConvNet({ activation: 'softplus' });
    const origin = await initialArrays(model, 7);
    const data = randomImages({ count: 10, height: 6, width: 6, channels: 1, classes: 3, seed: 8 });
    const plane = planeTensors(origin, { x: {}, y: null });
    const batches = evaluationBatches({ model, data, batchSize: 4 });
    const layout = parameterLayout(plane.params);
    const v = Float64Array.from(normalArray(layout.dimension, createRng(9)));
    const product = (hvp: HvpMethod) =>
      hessianOperator({
        model,
        params: plane.params,
        state: plane.state,
        data: batches,
        layout,
        hvp,
        finiteDifferenceStep: 1e-2,
      })(v);
    const exact = await product('exact');
    const approx = await product('finite-difference');
    let diff = 0;
    let size = 0;
    for (let i = 0; i < exact.length; i++) {
      diff += (exact[i]! - approx[i]!) ** 2;
      size += exact[i]! ** 2;
    }
    expect(size).toBeGreaterThan(0);
    expect(Math.sqrt(diff / size)).toBeLessThan(1e-2);
    batches.dispose();
    plane.dispose();
  });

  test('λ_max and λ_min of a conv net (last layer) equal those of its dense Hessian, and no tensor is left', async () => {
    const model = smallConvNet({ activation: 'relu' });
    const origin = await initialArrays(model, 7);
    const data = randomImages({ count: 10, height: 6, width: 6, channels: 1, classes: 3, seed: 8 });
    const parameters = ['conv2.weight', 'fc.bias'];
    const before = tf.memory().numTensors;
    const plane = planeTensors(origin, { x: {}, y: null });
    const batches = evaluationBatches({ model, data, batchSize: 4 });
    const layout = parameterLayout(plane.params, parameters);
    const apply = hessianOperator({
      model,
      params: plane.params,
      state: plane.state,
      data: batches,
      layout,
      hvp: 'exact',
    });
    const dim = layout.dimension;
    const dense = new Float64Array(dim * dim);
    for (let k = 0; k < dim; k++) {
      const e = new Float64Array(dim);
      e[k] = 1;
      const col = await apply(e);
      for (let r = 0; r < dim; r++) dense[r * dim + k] = col[r]!;
    }
    batches.dispose();
    plane.dispose();
    // Symmetrise away float32 rounding before the dense eigen-decomposition.
    for (let i = 0; i < dim; i++)
      for (let j = 0; j < i; j++)
        dense[i * dim + j] = dense[j * dim + i] = (dense[i * dim + j]! + dense[j * dim + i]!) / 2;
    const { values } = symmetricEigen(dense, dim);
    const r = await hessianEigenvalues({
      model,
      origin,
      data,
      parameters,
      batchSize: 4,
      iterations: dim,
      tolerance: 1e-7,
    });
    expect(tf.memory().numTensors).toBe(before);
    const scale = Math.max(Math.abs(values[0]!), Math.abs(values[dim - 1]!));
    expect(values[dim - 1]).toBeLessThan(0);
    expect(Math.abs(r.lambdaMax - values[0]!) / scale).toBeLessThan(1e-3);
    expect(Math.abs(r.lambdaMin - values[dim - 1]!) / scale).toBeLessThan(1e-3);
  });
});

describe('the |λ_min/λ_max| map', () => {
  const model = smallConvNet({ activation: 'relu' });
  const data = randomImages({ count: 8, height: 6, width: 6, channels: 1, classes: 3, seed: 8 });
  const meta: SurfaceMetaInput = {
    model: 'small',
    skip: true,
    checkpointSha256: 'b'.repeat(64),
    checkpoint2Sha256: null,
    dataset: 'random',
    split: 'train',
    seed: 1,
    normalization: 'filter',
    includeBiasBn: false,
    kind: 'direction',
    version: 'test',
  };
  let origin: Origin;
  beforeAll(async () => {
    origin = await initialArrays(model, 7);
  });

  test('over a coarse grid, resumable after cancel, leaving no tensors', async () => {
    const directions = randomDirections({
      params: model.params,
      weights: origin.params,
      seed: 1,
      dimensions: 2,
      normalization: 'filter',
      includeBiasBn: false,
    });
    const base = {
      model,
      origin,
      data,
      directions,
      xs: [-0.5, 0.5],
      ys: [-0.5, 0.5],
      meta,
      iterations: 8,
      batchSize: 8,
    };
    const before = tf.memory().numTensors;
    const full = await computeHessianMap(base);
    expect(full.mask).toEqual([1, 1, 1, 1]);
    full.ratio.forEach((r, p) =>
      expect(r).toBeCloseTo(Math.abs(full.lambdaMin[p]! / full.lambdaMax[p]!), 10),
    );
    for (const p of [0, 1, 2, 3]) expect(full.lambdaMax[p]!).toBeGreaterThan(full.lambdaMin[p]!);
    expect(full.meta.dimension).toBe(
      model.params.reduce((a, p) => a + p.shape.reduce((u, v) => u * v, 1), 0),
    );

    const controller = new AbortController();
    const partial = await computeHessianMap({
      ...base,
      signal: controller.signal,
      onProgress: (p) => p.done === 2 && controller.abort(),
    });
    expect(partial.mask.filter((m) => m === 1).length).toBe(2);
    const resumed = await computeHessianMap({ ...base, resume: partial });
    expect(resumed.lambdaMax).toEqual(full.lambdaMax);
    expect(resumed.lambdaMin).toEqual(full.lambdaMin);
    expect(tf.memory().numTensors).toBe(before);
  });
});
