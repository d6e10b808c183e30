import { describe, expect, test } from 'vitest';
import { pointSchedule } from '../../src/compute/landscape/grid';
import {
  completeLattice,
  drawableSurface,
  latticeStride,
} from '../../src/compute/landscape/surface';
import type { Surface } from '../../src/compute/landscape/surface';

/** A 51×51 surface with f = α² + 2β², computed in pointSchedule's order up to `done` points. */
function partial(done: number, nx = 51, ny = 51): Surface {
  const xs = Array.from({ length: nx }, (_, i) => -1 + (2 * i) / (nx - 1));
  const ys = ny === 1 ? [0] : Array.from({ length: ny }, (_, j) => -1 + (2 * j) / (ny - 1));
  const n = nx * ny;
  const s: Surface = {
    xs,
    ys,
    loss: new Array<number | null>(n).fill(null),
    accuracy: new Array<number | null>(n).fill(null),
    mask: new Array<0 | 1>(n).fill(0),
    meta: {} as Surface['meta'],
  };
  const { order } = pointSchedule({ nx, ny, progressive: true });
  for (const p of order.slice(0, done)) {
    const x = xs[p % nx]!;
    const y = ys[Math.floor(p / nx)]!;
    s.loss[p] = x * x + 2 * y * y;
    s.accuracy[p] = 1 - x * x;
    s.mask[p] = 1;
  }
  return s;
}

describe('completeLattice', () => {
  test('a complete surface is returned as it is', () => {
    const s = partial(51 * 51);
    expect(completeLattice(s)).toBe(s);
  });

  test('after the first levels, the finest complete sub-grid with its own values', () => {
    // Levels of 51: strides 16, 8, 4 → 4², 7², 13² points; 169 done means the 13×13 lattice.
    const s = partial(13 * 13 + 5);
    const l = completeLattice(s)!;
    expect(l.xs.length).toBe(13);
    expect(l.ys.length).toBe(13);
    expect(l.mask.every((m) => m === 1)).toBe(true);
    l.ys.forEach((y, j) =>
      l.xs.forEach((x, i) => {
        expect(l.loss[j * 13 + i]).toBeCloseTo(x * x + 2 * y * y, 12);
        expect(l.accuracy[j * 13 + i]).toBeCloseTo(1 - x * x, 12);
      }),
    );
    expect(l.xs[1]! - l.xs[0]!).toBeCloseTo(4 * (2 / 50), 12);
  });

  test('one point short of a level falls back to the coarser one', () => {
    expect(completeLattice(partial(13 * 13 - 1))!.xs.length).toBe(7);
  });

  test('a coarser stride on request, so two surfaces compare on one grid', () => {
    const s = partial(26 * 26 + 3);
    expect(latticeStride(s)).toBe(2);
    expect(latticeStride(s, 4)).toBe(4);
    expect(completeLattice(s, 4)!.xs.length).toBe(13);
    expect(completeLattice(s, 3)!.xs.length).toBe(13);
    const full = partial(51 * 51);
    expect(latticeStride(full)).toBe(1);
    expect(completeLattice(full, 8)!.xs.length).toBe(7);
    expect(latticeStride(partial(5), 2)).toBeNull();
  });

  test('null when not even the coarsest level is done; 1-D curves too', () => {
    expect(completeLattice(partial(3))).toBeNull();
    const c = completeLattice(partial(30, 101, 1))!;
    expect(c.ys).toEqual([0]);
    expect(c.xs.length).toBeGreaterThanOrEqual(2);
    expect(c.mask.every((m) => m === 1)).toBe(true);
  });
});

describe('drawableSurface', () => {
  test('a progressive run stopped after its coarse levels draws its complete sub-grid', () => {
    const s = partial(13 * 13 + 40);
    expect(drawableSurface(s).xs.length).toBe(13);
  });

  test('a surface with scattered gaps is drawn as it is', () => {
    const s = partial(51 * 51);
    for (const p of [7, 300, 1201, 2000]) {
      s.mask[p] = 0;
      s.loss[p] = null;
    }
    expect(drawableSurface(s)).toBe(s);
  });

  test('a complete surface is drawn as it is', () => {
    const s = partial(51 * 51);
    expect(drawableSurface(s)).toBe(s);
  });
});
