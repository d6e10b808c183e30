/**
 * Surfaces built from analytic functions, for the export tests: never shipped,
 * never drawn as a figure. Each has a diverged point (computed, loss null) and
 * an uncomputed one (mask 0), so every export meets both kinds of gap.
 */
import type { Surface } from '../../src/compute/landscape/surface';

export interface AnalyticOptions {
  nx?: number;
  ny?: number;
  /** f(α, β), the "loss". */
  f?: (a: number, b: number) => number;
  /** Grid indices (i, j) whose point diverged (computed, loss NaN → null). */
  diverged?: [number, number][];
  /** Grid indices (i, j) not yet computed. */
  missing?: [number, number][];
  skip?: boolean;
}

export function linspace(lo: number, hi: number, n: number): number[] {
  return Array.from({ length: n }, (_, k) => (n === 1 ? lo : lo + ((hi - lo) * k) / (n - 1)));
}

/** A bowl 0.2 + α² + 2β² with accuracy exp(−f), sampled on [-1, 1]². */
export function analyticSurface(options: AnalyticOptions = {}): Surface {
  const nx = options.nx ?? 9;
  const ny = options.ny ?? 7;
  const f = options.f ?? ((a, b) => 0.2 + a * a + 2 * b * b);
  const xs = linspace(-1, 1, nx);
  const ys = ny === 1 ? [0] : linspace(-1, 1, ny);
  const loss: (number | null)[] = [];
  const accuracy: (number | null)[] = [];
  const mask: (0 | 1)[] = [];
  const diverged = new Set((options.diverged ?? [[2, 1]]).map(([i, j]) => j * nx + i));
  const missing = new Set((options.missing ?? [[nx - 1, ny - 1]]).map(([i, j]) => j * nx + i));
  ys.forEach((b, j) =>
    xs.forEach((a, i) => {
      const k = j * nx + i;
      if (missing.has(k)) {
        loss.push(null);
        accuracy.push(null);
        mask.push(0);
      } else if (diverged.has(k)) {
        loss.push(null);
        accuracy.push(null);
        mask.push(1);
      } else {
        const v = f(a, b);
        loss.push(v);
        accuracy.push(Math.exp(-v));
        mask.push(1);
      }
    }),
  );
  return {
    xs,
    ys,
    loss,
    accuracy,
    mask,
    meta: {
      model: 'resnet20',
      skip: options.skip ?? true,
      checkpointSha256: 'ab'.repeat(32),
      checkpoint2Sha256: null,
      dataset: 'fashion-mnist',
      split: 'train',
      subset: 512,
      seed: 7,
      normalization: 'filter',
      includeBiasBn: false,
      kind: 'direction',
      backend: 'wasm',
      seconds: 12.5,
      version: '0.1.0',
      written: '2026-01-02T03:04:05.000Z',
    },
  };
}
