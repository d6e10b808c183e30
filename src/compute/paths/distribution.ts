/**
 * The unravelled view (Veit, Wilber & Belongie 2016, section 3): a residual
 * network of n blocks, y_i = y_{i−1} + f_i(y_{i−1}), expands into 2^n paths
 * from input to output, one for each choice, at every block, of its residual
 * branch f_i or its skip. A path's length is the number of branches it goes
 * through, so C(n, k) paths have length k and a path drawn uniformly has a
 * length distributed as Binomial(n, 1/2) (Veit et al., figure 6a).
 *
 * Counts are exact (BigInt: C(110, 55) ≈ 8·10³¹ is far beyond 2^53);
 * probabilities are computed in log space, so any depth is safe.
 */

/** C(n, k) for k = 0 … n, exactly: row n of Pascal's triangle. */
export function binomialCounts(n: number): bigint[] {
  checkBlocks(n);
  const row: bigint[] = [1n];
  // C(n, k) = C(n, k − 1) · (n − k + 1) / k; the division is exact at every step.
  for (let k = 1; k <= n; k++) row.push((row[k - 1]! * BigInt(n - k + 1)) / BigInt(k));
  return row;
}

/** ln C(n, k) for k = 0 … n, as sums of logarithms (no overflow at any n). */
export function logBinomialCoefficients(n: number): Float64Array {
  checkBlocks(n);
  const out = new Float64Array(n + 1);
  for (let k = 1; k <= n; k++) out[k] = out[k - 1]! + Math.log(n - k + 1) - Math.log(k);
  return out;
}

/** P(length = k) = C(n, k) / 2^n for k = 0 … n: the path-length histogram, summing to one. */
export function pathLengthDistribution(n: number): Float64Array {
  const log = logBinomialCoefficients(n);
  const ln2n = n * Math.LN2;
  return log.map((l) => Math.exp(l - ln2n));
}

/**
 * The total contribution of each length to the gradient (Veit et al., figure
 * 6c): the number of paths of length k times the mean gradient magnitude of
 * one such path, normalised to sum to one over k. Computed in log space from
 * the distribution (C(n, k) ∝ P(k)); lengths whose magnitude is unknown
 * (NaN, not yet sampled) contribute nothing and stay NaN.
 */
export function totalContribution(
  distribution: ArrayLike<number>,
  magnitude: ArrayLike<number>,
): Float64Array {
  const n = distribution.length;
  if (magnitude.length !== n) {
    throw new RangeError(`${magnitude.length} magnitudes for ${n} path lengths`);
  }
  const out = new Float64Array(n);
  let sum = 0;
  for (let k = 0; k < n; k++) {
    const m = magnitude[k]!;
    const v = Number.isFinite(m) ? distribution[k]! * m : NaN;
    out[k] = v;
    if (Number.isFinite(v)) sum += v;
  }
  for (let k = 0; k < n; k++) out[k] = Number.isFinite(out[k]!) && sum > 0 ? out[k]! / sum : NaN;
  return out;
}

/**
 * The effective range: the shortest interval of lengths [lo, hi] whose
 * contributions hold at least `mass` (0.9: Veit et al.'s "effective paths")
 * of the total; among intervals of that width, the one holding most. Unknown
 * (NaN) entries count as zero.
 */
export function effectiveRange(contribution: ArrayLike<number>, mass = 0.9): [number, number] {
  const n = contribution.length;
  if (n === 0) throw new RangeError('no path lengths');
  const c = Array.from(contribution, (v) => (Number.isFinite(v) ? v : 0));
  const total = c.reduce((a, b) => a + b, 0);
  if (!(total > 0)) throw new RangeError('the contributions sum to zero');
  const prefix = [0];
  for (const v of c) prefix.push(prefix[prefix.length - 1]! + v);
  for (let width = 1; width <= n; width++) {
    let best: [number, number] | null = null;
    let bestMass = -1;
    for (let lo = 0; lo + width <= n; lo++) {
      const held = prefix[lo + width]! - prefix[lo]!;
      // A relative tolerance so rounding in the prefix sums cannot miss an exact 90 %.
      if (held >= mass * total * (1 - 1e-12) && held > bestMass) {
        best = [lo, lo + width - 1];
        bestMass = held;
      }
    }
    if (best) return best;
  }
  return [0, n - 1];
}

/** The share of all 2^n paths whose length lies in [lo, hi]: Σ C(n, k) / 2^n. */
export function pathShare(distribution: ArrayLike<number>, [lo, hi]: [number, number]): number {
  let s = 0;
  for (let k = lo; k <= hi; k++) s += distribution[k]!;
  return s;
}

function checkBlocks(n: number): void {
  if (!Number.isInteger(n) || n < 0 || n > 10_000) {
    throw new RangeError(`the number of blocks must be a whole number from 0 to 10000, got ${n}`);
  }
}
