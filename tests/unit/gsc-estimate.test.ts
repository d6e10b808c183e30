import { describe, expect, test } from 'vitest';
import { gscSecondsOnWasm } from '../../src/components/depth/gsc-estimate';

/**
 * The GSC lab's estimate against the runs it was fitted to (Chromium, wasm,
 * one plain ReLU network, 4 draws; seconds of the second of two rounds,
 * session 7, 2-core AMD EPYC under load ~6).
 */
const MEASURED: [inputs: number, projections: number, seconds: number][] = [
  [64, 1, 0.908],
  [64, 4, 0.99],
  [64, 16, 1.943],
  [256, 1, 0.974],
  [256, 4, 1.44],
  [256, 16, 4.031],
  [1024, 1, 1.994],
  [1024, 4, 3.506],
  [1024, 16, 11.228],
];

describe('GSC live-run estimate', () => {
  test.each(MEASURED)(
    '%i inputs, %i projections: within 30 %% of %f s',
    (inputs, projections, s) => {
      const estimate = gscSecondsOnWasm({ networks: 1, draws: 4, inputs, projections });
      expect(estimate / s).toBeGreaterThan(0.7);
      expect(estimate / s).toBeLessThan(1.3);
    },
  );

  test('linear in networks and draws, growing with inputs and projections', () => {
    const base = { networks: 1, draws: 4, inputs: 256, projections: 4 };
    const t = gscSecondsOnWasm(base);
    expect(gscSecondsOnWasm({ ...base, networks: 2, draws: 8 })).toBeCloseTo(4 * t, 10);
    expect(gscSecondsOnWasm({ ...base, inputs: 512 })).toBeGreaterThan(t);
    expect(gscSecondsOnWasm({ ...base, projections: 5 })).toBeGreaterThan(t);
  });
});
