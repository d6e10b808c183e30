import { describe, expect, test } from 'vitest';
import type { Surface } from '../../src/compute/landscape/surface';
import {
  colourScale,
  formatReadout,
  panelsMismatch,
  readoutAt,
  type Panel,
} from '../../src/components/landscape/explorer';
import {
  describeSurfaceAxes,
  keepApart,
  surfaceAxisTicks,
} from '../../src/components/landscape/surface-axes';

/** loss = 2 + α + β / 2 on an n × n grid over [-1, 1]², the last point not computed. */
function plane(n: number): Surface {
  const xs = Array.from({ length: n }, (_, k) => Number((-1 + (2 * k) / (n - 1)).toPrecision(12)));
  const loss: (number | null)[] = [];
  const mask: (0 | 1)[] = [];
  for (const b of xs)
    for (const a of xs) {
      loss.push(2 + a + 0.5 * b);
      mask.push(1);
    }
  loss[n * n - 1] = null;
  mask[n * n - 1] = 0;
  return {
    xs,
    ys: xs,
    loss,
    accuracy: loss.map((v) => (v === null ? null : 0.5)),
    mask,
    meta: {
      model: 'resnet20',
      skip: true,
      checkpointSha256: 'a'.repeat(64),
      checkpoint2Sha256: null,
      dataset: 'fashion-mnist',
      split: 'train',
      subset: 256,
      seed: 1,
      normalization: 'filter',
      includeBiasBn: false,
      kind: 'direction',
      backend: 'cpu',
      seconds: 1,
      version: 'test',
      written: '2026-01-01T00:00:00.000Z',
    },
  };
}

describe('the linked readout', () => {
  test('each panel reads its own grid point nearest the shared cursor', () => {
    const fine = plane(21);
    const coarse = plane(5);
    const cursor = { alpha: 0.1, beta: -0.42 };
    expect(readoutAt(fine, cursor)).toMatchObject({ alpha: 0.1, beta: -0.4, computed: true });
    expect(readoutAt(fine, cursor).loss).toBeCloseTo(2 + 0.1 - 0.2, 12);
    // The coarse grid has α ∈ {…, 0, 0.5, …}: its nearest point, not an interpolation.
    expect(readoutAt(coarse, cursor)).toMatchObject({ alpha: 0, beta: -0.5 });
    expect(readoutAt(coarse, cursor).loss).toBeCloseTo(1.75, 12);
    expect(readoutAt(coarse, { alpha: 1, beta: 1 })).toMatchObject({ loss: null, computed: false });
  });

  test('words for a point, a gap and no cursor', () => {
    expect(formatReadout(readoutAt(plane(21), { alpha: 0.1, beta: 0 }))).toBe(
      'α 0.10, β 0.00: loss 2.1, accuracy 50.0 %',
    );
    expect(formatReadout(readoutAt(plane(5), { alpha: 1, beta: 1 }))).toBe(
      'α 1.00, β 1.00: not computed yet',
    );
    expect(formatReadout(null)).toMatch(/^Point at the surface/);
  });
});

describe('the 3-D axes', () => {
  test('round ticks along α and β; loss ticks inside the colour scale', () => {
    const s = plane(21);
    const log = surfaceAxisTicks(s.xs, s.ys, { log: true, lo: 0.05, hi: 40 });
    expect(log.alpha).toEqual([-1, -0.5, 0, 0.5, 1]);
    expect(log.beta).toEqual([-1, -0.5, 0, 0.5, 1]);
    expect(log.loss).toEqual([0.1, 1, 10]);
    // Within one decade a log axis still gets at least two labels.
    expect(surfaceAxisTicks(s.xs, s.ys, { log: true, lo: 0.6, hi: 0.9 }).loss.length).toBe(
      niceCount(0.6, 0.9),
    );
    expect(surfaceAxisTicks(s.xs, s.ys, { log: false, lo: 0, hi: 3 }).loss).toEqual([0, 1, 2, 3]);
    expect(describeSurfaceAxes(log, { log: true, lo: 0.05, hi: 40 })).toBe(
      'Axes: α (ticks -1, -0.5, 0, 0.5, 1), β (ticks -1, -0.5, 0, 0.5, 1), and loss upwards on a log scale (ticks 0.1, 1, 10).',
    );
  });

  test('where labels meet at a corner, the first in rank order stays', () => {
    const box = (left: number, top: number, w = 20, h = 14) => ({
      left,
      top,
      right: left + w,
      bottom: top + h,
    });
    // A loss tick; α's -1 over it; α's -0.5 clear of both; β's -1 over α's -0.5 only;
    // a box one gap away from the loss tick stays, one touching it does not.
    const boxes = [box(0, 0), box(10, 5), box(40, 0), box(45, 10), box(0, 15), box(20, 0, 5)];
    expect(keepApart(boxes, 1)).toEqual([true, false, true, false, true, false]);
    expect(keepApart([])).toEqual([]);
  });
});

/** How many of niceTicks(lo, hi, 3) there are: 0.6, 0.7, 0.8, 0.9. */
function niceCount(lo: number, hi: number): number {
  let n = 0;
  for (let t = 0.6; t <= hi + 1e-9; t += 0.1) if (t >= lo - 1e-9) n += 1;
  return n;
}

describe('the panels', () => {
  const panel = (skip: boolean, surface: Surface, source = 'shipped.json'): Panel => ({
    skip,
    key: String(skip),
    title: skip ? 'with skips' : 'without skips',
    state: { status: 'ready', surface, verified: true, source },
    shown: surface,
  });

  test('one colour scale over both panels, or the reader’s range', () => {
    const a = plane(5);
    // The largest finite loss: 2 + 1 + 0.5 × 0.5 at α = 1, β = 0.5 (α = β = 1 is not computed).
    expect(colourScale([a], { cmin: 0, cmax: 0, log: true })).toEqual({
      log: true,
      lo: 0.5,
      hi: 3.25,
    });
    expect(colourScale([a], { cmin: 2, cmax: 1, log: false })).toEqual({
      log: false,
      lo: 2,
      hi: 20,
    });
  });

  test('panels of different grids are said to differ; equal ones are not', () => {
    expect(panelsMismatch([panel(true, plane(5)), panel(false, plane(5))])).toBeNull();
    expect(panelsMismatch([panel(true, plane(5)), panel(false, plane(3), 'live')])).toMatch(
      /with skips is 5×5 .*without skips is 3×3 .*computed live/,
    );
  });
});
