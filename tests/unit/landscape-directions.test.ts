import { describe, expect, test } from 'vitest';
import {
  filterNorms,
  filterNormalizedDirection,
  gaussianDirection,
  interpolationDirection,
  isOneDimensional,
  normalizeDirection,
} from '../../src/compute/landscape/directions';
import { createModel, parseModelName } from '../../src/compute/models';
import type { Model } from '../../src/compute/models/types';
import { initialArrays, smallConvNet, softmaxRegression } from './landscape-fixtures';

function norm(a: Float32Array): number {
  let s = 0;
  for (const v of a) s += v * v;
  return Math.sqrt(s);
}

const models: [string, Model][] = [
  ['conv net with BN', smallConvNet({ activation: 'relu' })],
  ['softmax regression', softmaxRegression()],
  ...(['resnet8', 'resnet8a', 'resnet8-noshort', 'bmenet8', 'mlp'] as const).map(
    (name): [string, Model] => [
      name,
      createModel(parseModelName(name, { inputShape: [1, 28, 28], classes: 10 })),
    ],
  ),
  [
    'residual MLP with BN',
    createModel({
      kind: 'mlp',
      width: 32,
      depth: 4,
      activation: 'relu',
      init: 'kaiming',
      sigmaW: Math.SQRT2,
      residualAlpha: 0.5,
      batchNorm: true,
      inputSize: 784,
      classes: 10,
    }),
  ],
];

describe.each(models)('directions of a %s', (_name, model) => {
  test('filter normalisation: every filter of δ has the norm of the same filter of θ; 1-D tensors are zero', async () => {
    const { params: weights } = await initialArrays(model, 3);
    const d = filterNormalizedDirection({ params: model.params, weights, seed: 11, axis: 'x' });
    expect(model.params.some(isOneDimensional)).toBe(true);
    // Parameters only: BN running statistics are never perturbed.
    expect(Object.keys(d).sort()).toEqual(model.params.map((p) => p.name).sort());
    for (const info of model.params) {
      const got = d[info.name]!;
      expect(got.shape).toEqual(info.shape);
      if (isOneDimensional(info)) {
        expect(got.data.every((v) => v === 0)).toBe(true);
        continue;
      }
      const dn = filterNorms(got);
      const wn = filterNorms(weights[info.name]!);
      expect(dn.length).toBe(info.shape[info.shape.length - 1]);
      for (let j = 0; j < dn.length; j++) expect(dn[j]).toBeCloseTo(wn[j]!, 5);
    }
  });

  test('with includeBiasBn each element of a 1-D tensor is its own filter: |δ_j| = |θ_j|', async () => {
    const { params: weights } = await initialArrays(model, 3);
    const d = filterNormalizedDirection({
      params: model.params,
      weights,
      seed: 11,
      axis: 'x',
      includeBiasBn: true,
    });
    for (const info of model.params.filter(isOneDimensional)) {
      const w = weights[info.name]!.data;
      d[info.name]!.data.forEach((v, j) => expect(Math.abs(v)).toBeCloseTo(Math.abs(w[j]!), 6));
    }
  });

  test('layer normalisation scales whole tensors; none leaves δ as drawn', async () => {
    const { params: weights } = await initialArrays(model, 3);
    const raw = gaussianDirection({ params: model.params, seed: 5, axis: 'y' });
    const layer = normalizeDirection({
      direction: raw,
      weights,
      params: model.params,
      normalization: 'layer',
      includeBiasBn: true,
    });
    const none = normalizeDirection({
      direction: raw,
      weights,
      params: model.params,
      normalization: 'none',
      includeBiasBn: true,
    });
    for (const info of model.params) {
      expect(norm(layer[info.name]!.data)).toBeCloseTo(norm(weights[info.name]!.data), 4);
      expect(Array.from(none[info.name]!.data)).toEqual(Array.from(raw[info.name]!.data));
    }
  });
});

describe('gaussian directions', () => {
  const model = smallConvNet({ activation: 'relu' });

  test('are reproducible from the seed, independent between axes and seeds, and N(0, 1)', () => {
    const a = gaussianDirection({ params: model.params, seed: 7, axis: 'x' });
    const b = gaussianDirection({ params: model.params, seed: 7, axis: 'x' });
    const c = gaussianDirection({ params: model.params, seed: 7, axis: 'y' });
    const d = gaussianDirection({ params: model.params, seed: 8, axis: 'x' });
    const name = 'conv2.weight';
    expect(Array.from(a[name]!.data)).toEqual(Array.from(b[name]!.data));
    expect(Array.from(a[name]!.data)).not.toEqual(Array.from(c[name]!.data));
    expect(Array.from(a[name]!.data)).not.toEqual(Array.from(d[name]!.data));
    const v = a[name]!.data;
    const mean = v.reduce((s, x) => s + x, 0) / v.length;
    const variance = v.reduce((s, x) => s + (x - mean) ** 2, 0) / v.length;
    expect(Math.abs(mean)).toBeLessThan(0.2);
    expect(variance).toBeGreaterThan(0.7);
    expect(variance).toBeLessThan(1.3);
  });

  test("a tensor's direction does not depend on the other tensors", () => {
    const all = gaussianDirection({ params: model.params, seed: 7, axis: 'x' });
    const one = gaussianDirection({
      params: model.params.filter((p) => p.name === 'fc.weight'),
      seed: 7,
      axis: 'x',
    });
    expect(Array.from(one['fc.weight']!.data)).toEqual(Array.from(all['fc.weight']!.data));
  });
});

test('the interpolation direction is θ_b − θ_a over parameters and running statistics', async () => {
  const model = smallConvNet({ activation: 'relu' });
  const a = await initialArrays(model, 1);
  const b = await initialArrays(model, 2);
  const d = interpolationDirection({ a, b });
  expect(Object.keys(d).sort()).toEqual(
    [...model.params, ...model.state].map((i) => i.name).sort(),
  );
  const name = 'bn2.running_var';
  d[name]!.data.forEach((v, k) =>
    expect(v).toBeCloseTo(b.state[name]!.data[k]! - a.state[name]!.data[k]!, 6),
  );
});
