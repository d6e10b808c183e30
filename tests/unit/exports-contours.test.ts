/**
 * The contour maths behind the SVG export and the explorer's 2-D and 3-D
 * views: isolines by marching squares, levels, the colour scale, ticks.
 */
import { interpolateViridis } from 'd3-scale-chromatic';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  contourLevels,
  finiteRange,
  formatNumber,
  isolineSegments,
  isolines,
  scaleUnit,
  viridisRgb,
  viridisHex,
  type GridField,
} from '../../src/compute/landscape/contours';
import { linspace } from './exports-fixtures';

function field(nx: number, ny: number, f: (a: number, b: number) => number): GridField {
  const xs = linspace(-1, 1, nx);
  const ys = linspace(-1, 1, ny);
  return {
    xs,
    ys,
    values: Float64Array.from({ length: nx * ny }, (_, k) =>
      f(xs[k % nx] as number, ys[Math.floor(k / nx)] as number),
    ),
  };
}

describe('isolines', () => {
  it('of a cone |(α, β)| are circles of the level radius, closed', () => {
    // A cone is linear along every grid edge it does not straddle at the apex, so
    // edge interpolation is exact up to the edge's chord of the circle.
    const cone = field(41, 41, (a, b) => Math.hypot(a, b));
    const [iso] = isolines(cone, [0.5]);
    expect(iso?.polylines).toHaveLength(1);
    const line = iso?.polylines[0] ?? [];
    expect(line[0]).toBe(line[line.length - 2]);
    expect(line[1]).toBe(line[line.length - 1]);
    for (let q = 0; q < line.length; q += 2) {
      expect(Math.hypot(line[q] as number, line[q + 1] as number)).toBeCloseTo(0.5, 2);
    }
  });

  it('stop at a missing point instead of going around it', () => {
    const values = field(21, 21, (a) => a);
    // Knock out a point on the line α = 0.
    (values.values as Float64Array)[10 * 21 + 10] = Number.NaN;
    const [iso] = isolines(values, [0.001]);
    // The vertical line α ≈ 0 is broken into two pieces, each open and straight.
    expect(iso?.polylines).toHaveLength(2);
    for (const line of iso?.polylines ?? []) {
      for (let q = 0; q < line.length; q += 2) expect(line[q]).toBeCloseTo(0.001, 9);
    }
  });

  it('resolve a saddle by the cell mean', () => {
    // One cell, corners a=1, b=0, c=1, d=0 (a, c above 0.5): mean 0.5 is not above,
    // so the two above-corners a and c are cut off.
    const saddle: GridField = { xs: [0, 1], ys: [0, 1], values: [1, 0, 0, 1] };
    const segments = isolineSegments(saddle, 0.5);
    expect(segments).toEqual([0, 0.5, 0.5, 0, 1, 0.5, 0.5, 1]);
    // Raise the level's other side: a=1, b=0.2, c=1, d=0.2, mean 0.6 > 0.5 → cut off b and d.
    const other: GridField = { xs: [0, 1], ys: [0, 1], values: [1, 0.2, 0.2, 1] };
    const s2 = isolineSegments(other, 0.5);
    expect(s2).toHaveLength(8);
    // b = (1, 0) is cut off by the segment from the bottom edge to the right edge.
    expect(s2.slice(0, 4)).toEqual([0.625, 0, 1, expect.closeTo(0.375, 12)]);
  });

  it('every endpoint lies on a grid edge where linear interpolation equals the level (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 7 }),
        fc.integer({ min: 2, max: 7 }),
        fc.array(fc.double({ min: -5, max: 5, noNaN: true }), { minLength: 49, maxLength: 49 }),
        fc.double({ min: -4, max: 4, noNaN: true }),
        (nx, ny, raw, level) => {
          const xs = linspace(0, 1, nx);
          const ys = linspace(0, 2, ny);
          const values = raw.slice(0, nx * ny);
          const segments = isolineSegments({ xs, ys, values }, level);
          for (let q = 0; q < segments.length; q += 2) {
            const x = segments[q] as number;
            const y = segments[q + 1] as number;
            const i = xs.indexOf(x);
            const j = ys.indexOf(y);
            if (j >= 0) {
              // On a horizontal edge: find the cell column.
              const c = Math.min(
                nx - 2,
                xs.findLastIndex((v) => v <= x),
              );
              const t = (x - (xs[c] as number)) / ((xs[c + 1] as number) - (xs[c] as number));
              const v0 = values[j * nx + c] as number;
              const v1 = values[j * nx + c + 1] as number;
              expect(v0 + t * (v1 - v0)).toBeCloseTo(level, 6);
            } else {
              expect(i).toBeGreaterThanOrEqual(0);
              const r = Math.min(
                ny - 2,
                ys.findLastIndex((v) => v <= y),
              );
              const t = (y - (ys[r] as number)) / ((ys[r + 1] as number) - (ys[r] as number));
              const v0 = values[r * nx + i] as number;
              const v1 = values[(r + 1) * nx + i] as number;
              expect(v0 + t * (v1 - v0)).toBeCloseTo(level, 6);
            }
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('link every segment exactly once', () => {
    const bumpy = field(25, 25, (a, b) => Math.sin(4 * a) * Math.cos(3 * b) + a * b);
    for (const level of [-0.5, 0, 0.3]) {
      const segments = isolineSegments(bumpy, level);
      const [iso] = isolines(bumpy, [level]);
      const linkedSegments = (iso?.polylines ?? []).reduce((n, line) => n + line.length / 2 - 1, 0);
      expect(linkedSegments).toBe(segments.length / 4);
    }
  });

  it('reject a value array of the wrong length', () => {
    expect(() => isolines({ xs: [0, 1], ys: [0, 1], values: [1, 2, 3] }, [1])).toThrow(
      /3 values for a 2 × 2 grid/,
    );
  });
});

describe('scale', () => {
  it('levels are evenly spaced inside the range, in log10 when log', () => {
    expect(contourLevels({ log: false, lo: 0, hi: 10 }, 4)).toEqual([2, 4, 6, 8]);
    const log = contourLevels({ log: true, lo: 0.1, hi: 10 }, 3);
    expect(log.map((l) => Math.log10(l))).toEqual([-0.5, 0, 0.5].map((x) => expect.closeTo(x, 12)));
  });

  it('scaleUnit clips to [0, 1] and is NaN for non-finite loss', () => {
    const scale = { log: true, lo: 0.1, hi: 10 };
    expect(scaleUnit(scale, 1)).toBeCloseTo(0.5, 12);
    expect(scaleUnit(scale, 0.001)).toBe(0);
    expect(scaleUnit(scale, 1e6)).toBe(1);
    expect(scaleUnit(scale, Number.NaN)).toBeNaN();
    expect(scaleUnit({ log: false, lo: 0, hi: 4 }, 1)).toBe(0.25);
  });

  it('the inlined viridis table is d3-scale-chromatic’s, entry by entry', () => {
    for (let k = 0; k < 256; k++) {
      for (const t of [k / 256, (k + 0.5) / 256]) expect(viridisHex(t)).toBe(interpolateViridis(t));
    }
    expect(viridisHex(1)).toBe(interpolateViridis(1));
  });

  it('viridis runs from #440154 to #fde725', () => {
    expect(viridisRgb(0)).toEqual([0x44, 0x01, 0x54]);
    expect(viridisRgb(1)).toEqual([0xfd, 0xe7, 0x25]);
    expect(viridisRgb(-3)).toEqual(viridisRgb(0));
  });

  it('finiteRange skips null and non-finite values', () => {
    expect(
      finiteRange([
        [null, 3, Number.NaN],
        [1, Infinity],
      ]),
    ).toEqual({ min: 1, max: 3 });
    expect(finiteRange([[null]])).toBeNull();
  });

  it('numbers are labelled short', () => {
    expect([0, 0.1234567, 2, 1500, 10000, 123456, 0.0001].map(formatNumber)).toEqual([
      '0',
      '0.1235',
      '2',
      '1500',
      '1e4',
      '1.23e5',
      '1e-4',
    ]);
  });
});
