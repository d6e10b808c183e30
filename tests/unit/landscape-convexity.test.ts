import { describe, expect, it } from 'vitest';
import { surfaceConvexity } from '../../src/compute/landscape/convexity';
import { completeLattice } from '../../src/compute/landscape/surface';
import { analyticSurface } from './exports-fixtures';

const clean: { diverged: [number, number][]; missing: [number, number][] } = {
  diverged: [],
  missing: [],
};

describe('surfaceConvexity', () => {
  it('finds a convex bowl convex everywhere, with one minimum at its centre', () => {
    const c = surfaceConvexity(analyticSurface({ nx: 21, ny: 21, ...clean }));
    expect(c.points).toBe(19 * 19);
    expect(c.nonConvex).toBe(0);
    expect(c.nonConvexShare).toBe(0);
    expect(c.minima).toEqual([{ alpha: 0, beta: 0, loss: 0.2 }]);
    expect(c.spacing[0]).toBeCloseTo(0.1, 12);
  });

  it('finds a saddle non-convex everywhere, with no minimum', () => {
    const c = surfaceConvexity(
      analyticSurface({ nx: 11, ny: 11, f: (a, b) => a * a - b * b, ...clean }),
    );
    expect(c.nonConvexShare).toBe(1);
    expect(c.minima).toHaveLength(0);
  });

  it('counts the non-convex band and both minima of a double well exactly', () => {
    // g(α) = (α² − ¼)² + β². Its second difference along α with step h is
    // h²(12α² + 2h² − 1), negative for |α| < 0.2858 at h = 0.1: the five columns
    // α = −0.2 … 0.2 of the 19 interior rows. Along β and both diagonals (which add
    // β²'s 2h²) it is never negative. Minima at α = ±½, β = 0.
    const c = surfaceConvexity(
      analyticSurface({ nx: 21, ny: 21, f: (a, b) => (a * a - 0.25) ** 2 + b * b, ...clean }),
    );
    expect(c.points).toBe(361);
    expect(c.nonConvex).toBe(5 * 19);
    expect(c.minima.map((m) => [m.alpha, m.beta])).toEqual(
      expect.arrayContaining([
        [-0.5, 0],
        [0.5, 0],
      ]),
    );
    expect(c.minima).toHaveLength(2);
  });

  it('measures only points whose whole stencil is computed and finite', () => {
    // One diverged point and one uncomputed point: each removes itself and its neighbours.
    const s = analyticSurface({ nx: 9, ny: 9, diverged: [[4, 4]], missing: [[1, 1]] });
    const c = surfaceConvexity(s);
    // 7 × 7 interior points; (4, 4) spoils 9 of them, (1, 1) spoils 4 (its others are edge points).
    expect(c.points).toBe(49 - 9 - 4);
    expect(c.nonConvex).toBe(0);
    // The bowl's minimum sat at the diverged point: no measured point is a minimum.
    expect(c.minima).toHaveLength(0);
  });

  it('measures a progressive run through its complete lattice', () => {
    const s = analyticSurface({ nx: 17, ny: 17, f: (a, b) => a * a - b * b, ...clean });
    // Only the stride-2 points computed, as after a progressive run's coarse levels.
    s.mask = s.mask.map((_, k) => ((k % 17) % 2 === 0 && Math.floor(k / 17) % 2 === 0 ? 1 : 0));
    expect(surfaceConvexity(s).points).toBe(0);
    const c = surfaceConvexity(completeLattice(s)!);
    expect(c.points).toBe(7 * 7);
    expect(c.spacing[0]).toBeCloseTo(0.25, 12);
    expect(c.nonConvexShare).toBe(1);
  });

  it('rejects a 1-D curve', () => {
    expect(() => surfaceConvexity(analyticSurface({ nx: 9, ny: 1, ...clean }))).toThrow(/2-D grid/);
  });
});
