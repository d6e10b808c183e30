import { describe, expect, test } from 'vitest';
import {
  busiestWorkerDraws,
  gscFirstRunSeconds,
  gscSecondsOnWasm,
  gscSlices,
} from '../../src/components/depth/gsc-estimate';

/**
 * The GSC lab's estimate against the runs it was fitted to (Chromium, wasm,
 * both ReLU networks side by side, one a worker, 4 draws each; the first run
 * in a fresh page, 3 s after it was ready, and a second run; session 9,
 * 2-core AMD EPYC, quiet).
 */
const MEASURED: [inputs: number, projections: number, first: number, second: number][] = [
  [64, 1, 0.691, 0.367],
  [64, 4, 1.058, 0.665],
  [64, 16, 2.462, 1.633],
  [256, 1, 1.116, 0.831],
  [256, 4, 2.04, 1.585],
  [256, 16, 4.73, 3.246],
  [1024, 1, 1.916, 1.613],
  [1024, 4, 3.912, 3.26],
  [1024, 16, 13.604, 10.34],
];

describe('GSC live-run estimate', () => {
  test.each(MEASURED)(
    '%i inputs, %i projections: within 25 %% of %f s (first run) and %f s (second)',
    (inputs, projections, first, second) => {
      const computing = gscSecondsOnWasm({ draws: 4, inputs, projections });
      expect(computing / second).toBeGreaterThan(0.75);
      expect(computing / second).toBeLessThan(1.25);
      expect(gscFirstRunSeconds(computing) / first).toBeGreaterThan(0.75);
      expect(gscFirstRunSeconds(computing) / first).toBeLessThan(1.25);
    },
  );

  test('linear in draws, growing with inputs and projections', () => {
    const base = { draws: 4, inputs: 256, projections: 4 };
    const t = gscSecondsOnWasm(base);
    expect(gscSecondsOnWasm({ ...base, draws: 8 })).toBeCloseTo(2 * t, 10);
    expect(gscSecondsOnWasm({ ...base, inputs: 512 })).toBeGreaterThan(t);
    expect(gscSecondsOnWasm({ ...base, projections: 5 })).toBeGreaterThan(t);
  });
});

describe('GSC live-run slices', () => {
  test('one network a worker when both are shown; one network split over every worker', () => {
    expect(gscSlices(2, 4, 2)).toEqual([
      { network: 0, from: 0, to: 4 },
      { network: 1, from: 0, to: 4 },
    ]);
    expect(gscSlices(1, 4, 2)).toEqual([
      { network: 0, from: 0, to: 2 },
      { network: 0, from: 2, to: 4 },
    ]);
    // One draw cannot be split; one worker takes everything in turn.
    expect(gscSlices(1, 1, 2)).toEqual([{ network: 0, from: 0, to: 1 }]);
    expect(gscSlices(2, 3, 1)).toEqual([
      { network: 0, from: 0, to: 3 },
      { network: 1, from: 0, to: 3 },
    ]);
  });

  test('every draw of every network in exactly one slice', () => {
    for (const networks of [1, 2])
      for (const lanes of [1, 2, 3, 4, 8])
        for (let draws = 1; draws <= 16; draws++) {
          const slices = gscSlices(networks, draws, lanes);
          for (let n = 0; n < networks; n++) {
            const covered = slices
              .filter((s) => s.network === n)
              .flatMap((s) => Array.from({ length: s.to - s.from }, (_, i) => s.from + i));
            expect(covered).toEqual(Array.from({ length: draws }, (_, i) => i));
          }
        }
  });

  test('the busiest worker: half the draws of one network on two workers, all of one of two', () => {
    expect(busiestWorkerDraws(gscSlices(1, 4, 2), 2)).toBe(2);
    expect(busiestWorkerDraws(gscSlices(1, 5, 2), 2)).toBe(3);
    expect(busiestWorkerDraws(gscSlices(2, 4, 2), 2)).toBe(4);
    expect(busiestWorkerDraws(gscSlices(2, 4, 1), 1)).toBe(8);
    expect(busiestWorkerDraws(gscSlices(1, 1, 2), 1)).toBe(1);
  });
});
