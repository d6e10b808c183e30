/**
 * From gradient samples to the three linked charts of the unravelled view:
 * the path-length histogram, the mean gradient magnitude per length, and the
 * total contribution with its effective range (Veit et al., figure 6).
 */
import {
  effectiveRange,
  pathLengthDistribution,
  pathShare,
  totalContribution,
} from './distribution';
import type { PathGradientSamples } from './gradient';
import { meanAndStd } from './lesion';

export interface PathsResult {
  /** n, the number of residual blocks. */
  blocks: number;
  /** 0 … n. */
  lengths: number[];
  /** P(length = k) = C(n, k) / 2^n. */
  distribution: number[];
  /** Mean over samples of the gradient magnitude at length k (null: no samples). */
  gradientMagnitude: (number | null)[];
  /** Standard deviation of those samples. */
  spread: (number | null)[];
  /** Samples taken at each length. */
  samples: number[];
  /** C(n, k) × mean magnitude, normalised to sum to one. */
  contribution: (number | null)[];
  /** The shortest interval of lengths holding 90 % of the contribution. */
  effectiveRange: [number, number];
  /** The share of all 2^n paths whose length is in the effective range. */
  effectiveShare: number;
  /**
   * Least-squares fit of ln(magnitude) = a + k·ln(factor) over the lengths
   * sampled: the factor by which one more branch on a path multiplies its
   * gradient, and the fit's R² (near 1: the fall is exponential).
   */
  decay: { factor: number; r2: number } | null;
}

export function summarisePathGradients(samples: PathGradientSamples): PathsResult {
  const n = samples.blocks;
  const lengths = Array.from({ length: n + 1 }, (_, k) => k);
  const distribution = Array.from(pathLengthDistribution(n));
  const stats = lengths.map((k) => meanAndStd(samples.samples[k] ?? []));
  const magnitude = stats.map((s) => s.mean);
  const contribution = Array.from(
    totalContribution(
      distribution,
      magnitude.map((m) => m ?? NaN),
    ),
    (v) => (Number.isFinite(v) ? v : null),
  );
  const range = contribution.some((c) => c !== null && c > 0)
    ? effectiveRange(contribution.map((c) => c ?? NaN))
    : ([0, n] as [number, number]);
  return {
    blocks: n,
    lengths,
    distribution,
    gradientMagnitude: magnitude,
    spread: stats.map((s) => s.std),
    samples: lengths.map((k) => samples.samples[k]?.length ?? 0),
    contribution,
    effectiveRange: range,
    effectiveShare: pathShare(distribution, range),
    decay: exponentialFit(lengths, magnitude),
  };
}

/** ln y = a + b·x by least squares over the positive y; e^b and R². */
export function exponentialFit(
  xs: readonly number[],
  ys: readonly (number | null)[],
): { factor: number; r2: number } | null {
  const points = xs.flatMap((x, i) => {
    const y = ys[i];
    return y !== null && y !== undefined && y > 0 ? [[x, Math.log(y)] as const] : [];
  });
  if (points.length < 3) return null;
  const mx = points.reduce((a, [x]) => a + x, 0) / points.length;
  const my = points.reduce((a, [, y]) => a + y, 0) / points.length;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (const [x, y] of points) {
    sxy += (x - mx) * (y - my);
    sxx += (x - mx) ** 2;
    syy += (y - my) ** 2;
  }
  const b = sxy / sxx;
  return { factor: Math.exp(b), r2: syy > 0 ? (sxy * sxy) / (sxx * syy) : 1 };
}
