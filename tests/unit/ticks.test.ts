import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { logTicks, niceTicks } from '../../src/compute/ticks';

describe('niceTicks', () => {
  test('steps of 1, 2 or 5 × 10^k, about as many as asked', () => {
    expect(niceTicks(0, 1, 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(0, 2.3, 4)).toEqual([0, 0.5, 1, 1.5, 2]);
    expect(niceTicks(-1, 1, 4)).toEqual([-1, -0.5, 0, 0.5, 1]);
    expect(niceTicks(0.1, 0.7, 3)).toEqual([0.2, 0.4, 0.6]);
    // One tick asked for over a range narrower than the step it rounds to: still one in range.
    expect(niceTicks(-0.0195, -0.0005, 1)).toEqual([-0.01]);
  });

  test('every tick lies in the range, evenly spaced', () => {
    fc.assert(
      fc.property(
        fc.double({ min: -1e6, max: 1e6, noNaN: true }),
        fc.double({ min: 1e-3, max: 1e6, noNaN: true }),
        fc.integer({ min: 1, max: 12 }),
        (lo, width, count) => {
          const ticks = niceTicks(lo, lo + width, count);
          expect(ticks.length).toBeGreaterThan(0);
          for (const t of ticks) {
            expect(t).toBeGreaterThanOrEqual(lo - width * 1e-6);
            expect(t).toBeLessThanOrEqual(lo + width * (1 + 1e-6));
          }
          // d3's rule picks the step nearest width / count on a log scale: at most √10 off.
          if (count > 1 && ticks.length > 1) {
            const step = ticks[1]! - ticks[0]!;
            expect(step / (width / count)).toBeLessThan(Math.sqrt(10) * (1 + 1e-9));
            expect(step / (width / count)).toBeGreaterThan(1 / Math.sqrt(10) - 1e-9);
          }
        },
      ),
    );
  });
});

describe('logTicks', () => {
  test('1-2-5 per decade while few, powers of ten beyond', () => {
    expect(logTicks(0.1, 10)).toEqual([0.1, 0.2, 0.5, 1, 2, 5, 10]);
    expect(logTicks(0.1, 1000)).toEqual([0.1, 1, 10, 100, 1000]);
    expect(logTicks(0.01, 1000)).toEqual([0.01, 0.1, 1, 10, 100, 1000]);
  });

  test('a short range keeps values near both ends when room allows', () => {
    // The 1-D view's curves: loss 0.34 at θ*, about 800 at the edge.
    expect(logTicks(0.34, 800, 10)).toEqual([0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500]);
    expect(logTicks(0.34, 800)).toEqual([1, 10, 100]);
  });

  test('more decades than ticks: every step-th power of ten', () => {
    // ResNet-110's gradient per path length: 1e-24 … 1e-3, 22 decades into 6 ticks.
    const ticks = logTicks(1e-24, 1e-3, 6);
    expect(ticks.length).toBeLessThanOrEqual(6);
    expect(ticks.map((t) => Math.round(Math.log10(t)))).toEqual([-24, -20, -16, -12, -8, -4]);
  });

  test('nothing for a range a log axis cannot show', () => {
    expect(logTicks(0, 10)).toEqual([]);
    expect(logTicks(10, 1)).toEqual([]);
  });
});
