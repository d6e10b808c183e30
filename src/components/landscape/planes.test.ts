import { describe, expect, it } from 'vitest';
import { hessianSummary, percent, planeAroundPath, ratioSurface } from './planes';
import type { HessianMap } from '../../compute/landscape/hessian';

const meta = {
  model: 'resnet56',
  skip: false,
  checkpointSha256: 'a'.repeat(64),
  checkpoint2Sha256: null,
  dataset: 'fashion-mnist',
  split: 'train' as const,
  subset: 100,
  seed: 0,
  normalization: 'filter' as const,
  includeBiasBn: false,
  kind: 'direction' as const,
  backend: 'wasm',
  seconds: 1,
  version: 't',
  written: 't',
};

function map(
  lambdaMax: (number | null)[],
  lambdaMin: (number | null)[],
  mask: (0 | 1)[],
): HessianMap {
  return {
    xs: [0, 1],
    ys: [0, 1],
    lambdaMax,
    lambdaMin,
    ratio: lambdaMax.map((h, k) =>
      h === null || lambdaMin[k] === null ? null : Math.abs((lambdaMin[k] as number) / h),
    ),
    // Residuals: λ_max converged everywhere; λ_min only at the first point.
    residualMax: lambdaMax.map((h) => (h === null ? null : 1e-4 * Math.abs(h))),
    residualMin: lambdaMin.map((l, k) => (l === null ? null : k === 0 ? 0 : 1)),
    products: mask.map((m, k) => (m ? 10 + k : null)),
    mask,
    meta: {
      ...meta,
      method: 'lanczos',
      hvp: 'exact',
      iterations: 100,
      tolerance: 1e-2,
      parameters: 'all',
      dimension: 9,
    },
  };
}

describe('Hessian caption numbers', () => {
  it('count clearly negative curvature only, over computed points', () => {
    // Ratios: 0.5 (negative), 0.01 (negative but below 5 %), 0.2 (positive λ_min), not computed.
    const s = hessianSummary(map([10, 10, 10, null], [-5, -0.1, 2, null], [1, 1, 1, 0]));
    expect(s.points).toBe(3);
    expect(s.negativeShare).toBeCloseTo(1 / 3, 12);
    expect(s.medianRatio).toBeCloseTo(0.2, 12);
    expect(s.maxRatio).toBeCloseTo(0.5, 12);
    expect(s.convergedMax).toBe(3);
    expect(s.convergedMin).toBe(1);
    expect(s.products).toEqual([10, 12]);
  });

  it('the ratio map draws as a surface of ratios', () => {
    const m = map([4, 4, 4, 4], [-1, -2, 1, 0], [1, 1, 1, 1]);
    expect(ratioSurface(m).loss).toEqual([0.25, 0.5, 0.25, 0]);
  });

  it('percentages read naturally', () => {
    expect([0, 0.004, 0.372, 1].map(percent)).toEqual([
      'none',
      'under 1\u00a0%',
      '37\u00a0%',
      '100\u00a0%',
    ]);
  });
});

describe('a path without its loss surface', () => {
  it('sits on a square, centred, blank plane that holds every point and the origin', () => {
    const plane = planeAroundPath({ x: [-6, -2, 0], y: [-1, -0.5, 0] }, meta);
    const [x0, x1] = plane.xs as [number, number];
    const [y0, y1] = plane.ys as [number, number];
    expect(x1 - x0).toBeCloseTo(y1 - y0, 12);
    expect(x0).toBeLessThan(-6);
    expect(x1).toBeGreaterThan(0);
    expect(y0).toBeLessThan(-1);
    expect(y1).toBeGreaterThan(0);
    expect(plane.mask).toEqual([0, 0, 0, 0]);
  });
});
