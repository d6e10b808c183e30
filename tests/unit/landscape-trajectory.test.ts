import { describe, expect, test } from 'vitest';
import { isOneDimensional } from '../../src/compute/landscape/directions';
import { pcaTrajectory } from '../../src/compute/landscape/trajectory';
import { createRng, normalArray } from '../../src/compute/random';
import type { ArrayMap } from '../../src/compute/train/state';
import { smallConvNet } from './landscape-fixtures';

const model = smallConvNet({ activation: 'relu' });

function randomMap(seed: number): ArrayMap {
  const rng = createRng(seed);
  const out: ArrayMap = {};
  for (const p of model.params) {
    out[p.name] = {
      shape: p.shape,
      data: normalArray(
        p.shape.reduce((a, b) => a * b, 1),
        rng,
      ),
    };
  }
  return out;
}

/** θ + Σ_k c_k d_k, tensor by tensor. */
function combine(base: ArrayMap, terms: [number, ArrayMap][]): ArrayMap {
  const out: ArrayMap = {};
  for (const [name, a] of Object.entries(base)) {
    out[name] = {
      shape: a.shape,
      data: a.data.map((v, k) => terms.reduce((s, [c, d]) => s + c * d[name]!.data[k]!, v)),
    };
  }
  return out;
}

function flatNorm(m: ArrayMap, names: string[]): number {
  let s = 0;
  for (const n of names) for (const v of m[n]!.data) s += v * v;
  return Math.sqrt(s);
}

const weightNames = model.params.filter((p) => !isOneDimensional(p)).map((p) => p.name);

describe('PCA trajectories', () => {
  test('a straight-line trajectory puts all variance in the first component', () => {
    const start = randomMap(1);
    const d = randomMap(2);
    const ts = [0, 0.3, 0.45, 0.8, 1];
    const checkpoints = ts.map((t) => combine(start, [[t, d]]));
    const r = pcaTrajectory({ params: model.params, checkpoints });
    expect(r.explainedVarianceRatio[0]).toBeGreaterThan(1 - 1e-9);
    expect(r.explainedVarianceRatio[1]).toBeLessThan(1e-9);
    const length = flatNorm(d, weightNames);
    // The path runs along the line to the final point at the origin.
    r.path.x.forEach((x, i) => expect(x).toBeCloseTo((ts[i]! - 1) * length, 3));
    r.path.y.forEach((y) => expect(Math.abs(y)).toBeLessThan(1e-3));
    expect(flatNorm(r.directions.x, weightNames)).toBeCloseTo(1, 5);
  });

  test('a trajectory in a plane: two components explain it, distances are kept, 1-D tensors are zero', () => {
    const final = randomMap(3);
    const u = randomMap(4);
    const w = randomMap(5);
    const coords = [
      [-2, 1],
      [-1.5, -0.5],
      [-0.7, 0.4],
      [-0.2, -0.1],
      [0, 0],
    ] as const;
    const checkpoints = coords.map(([a, b]) =>
      combine(final, [
        [a, u],
        [b, w],
      ]),
    );
    const r = pcaTrajectory({ params: model.params, checkpoints });
    expect(r.explainedVarianceRatio[0] + r.explainedVarianceRatio[1]).toBeGreaterThan(1 - 1e-9);
    expect(r.explainedVarianceRatios.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 10);
    expect(r.path.x[4]).toBeCloseTo(0, 6);
    expect(r.path.y[4]).toBeCloseTo(0, 6);
    expect(r.path.x[0]).toBeLessThanOrEqual(0);
    // Projection onto the plane the path spans keeps every distance to the final point.
    checkpoints.forEach((c, i) => {
      const offset = combine(c, [[-1, final]]);
      expect(Math.hypot(r.path.x[i]!, r.path.y[i]!)).toBeCloseTo(flatNorm(offset, weightNames), 3);
    });
    for (const p of model.params.filter(isOneDimensional)) {
      expect(r.directions.x[p.name]!.data.every((v) => v === 0)).toBe(true);
      expect(r.directions.y[p.name]!.data.every((v) => v === 0)).toBe(true);
    }
    const withBiasBn = pcaTrajectory({ params: model.params, checkpoints, includeBiasBn: true });
    expect(withBiasBn.directions.x['fc.bias']!.data.some((v) => v !== 0)).toBe(true);
  });

  test('refuses fewer than three checkpoints and a trajectory that does not move', () => {
    const a = randomMap(1);
    expect(() => pcaTrajectory({ params: model.params, checkpoints: [a, a] })).toThrow(
      /at least 3/,
    );
    expect(() => pcaTrajectory({ params: model.params, checkpoints: [a, a, a] })).toThrow(
      /same point/,
    );
  });
});
