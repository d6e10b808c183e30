/**
 * Convergence of the Krylov eigenvalue methods, judged per end by residual.
 *
 * The hard case is a Hessian's: one well separated λ_max, and a smallest end
 * inside a cluster. Lanczos finds the isolated end in a few products and the
 * clustered one only much later, so a rule that stops when both ends move by
 * less than a tolerance scaled to the larger end (the rule before this one)
 * stops with λ_min far from converged.
 */
import { describe, expect, test } from 'vitest';
import { lanczos, powerIteration } from '../../src/compute/landscape/linalg';
import type { LinearOperator } from '../../src/compute/landscape/linalg';
import { createRng, normalArray } from '../../src/compute/random';

/** A diagonal operator: the spectrum is known exactly, and any spectrum is one orthogonal change of basis from it. */
function diagonal(spectrum: Float64Array): LinearOperator {
  return async (v) => v.map((x, i) => x * spectrum[i]!);
}

/**
 * λ_max = 100 far above a bulk in [0, 5], and λ_min = −1 at the bottom of a
 * dense cluster of 61 values in [−1, −0.9]. Lanczos has λ_max to 1e-6 after 4
 * products and needs some 70 for λ_min.
 */
function clusteredSpectrum(): Float64Array {
  const rng = createRng(11);
  const values: number[] = [100];
  for (let i = 0; i < 200; i++) values.push(5 * rng.uniform());
  for (let i = 0; i < 60; i++) values.push(-0.9 - 0.1 * rng.uniform());
  values.push(-1);
  return Float64Array.from(values);
}

function nearestEigenvalueDistance(spectrum: Float64Array, theta: number): number {
  let best = Number.POSITIVE_INFINITY;
  for (const l of spectrum) best = Math.min(best, Math.abs(l - theta));
  return best;
}

describe('Lanczos judges each end by its own residual', () => {
  const spectrum = clusteredSpectrum();
  const dimension = spectrum.length;
  const start = Float64Array.from(normalArray(dimension, createRng(5)));

  test('λ_min in a cluster converges to tolerance, though λ_max converges far sooner', async () => {
    const tolerance = 1e-3;
    let maxSettledAt: number | null = null;
    const r = await lanczos({
      apply: diagonal(spectrum),
      dimension,
      start,
      iterations: 300,
      tolerance,
      onIteration: (k, estimate) => {
        if (maxSettledAt === null && Math.abs(estimate - 100) < 1e-6) maxSettledAt = k;
      },
    });
    expect(r.converged).toBe(true);
    expect(r.max.converged && r.min.converged).toBe(true);
    // Converged means within tolerance of the true extreme, each relative to itself.
    expect(Math.abs(r.max.value - 100)).toBeLessThanOrEqual(tolerance * 100);
    expect(Math.abs(r.min.value + 1)).toBeLessThanOrEqual(tolerance * 1);
    // The ends converge at very different rates: the run goes on long after λ_max settled.
    expect(maxSettledAt).not.toBeNull();
    expect(r.products).toBeGreaterThan(2 * maxSettledAt!);
  });

  test('the residual bound holds at every step: an eigenvalue lies within the residual of each end', async () => {
    for (const iterations of [3, 8, 20, 40]) {
      const r = await lanczos({
        apply: diagonal(spectrum),
        dimension,
        start,
        iterations,
        tolerance: 0,
      });
      expect(r.products).toBe(iterations);
      for (const end of [r.max, r.min]) {
        expect(end.residual).toBeGreaterThan(0);
        expect(nearestEigenvalueDistance(spectrum, end.value)).toBeLessThanOrEqual(
          end.residual * (1 + 1e-9) + 1e-9,
        );
      }
      // Interlacing: Ritz values never lie outside the spectrum.
      expect(r.min.value).toBeGreaterThanOrEqual(-1 - 1e-9);
      expect(r.max.value).toBeLessThanOrEqual(100 + 1e-9);
    }
  });

  test('a run cut short reports the unconverged end as such', async () => {
    const r = await lanczos({
      apply: diagonal(spectrum),
      dimension,
      start,
      iterations: 12,
      tolerance: 1e-3,
    });
    expect(r.max.converged).toBe(true);
    expect(r.min.converged).toBe(false);
    expect(r.converged).toBe(false);
    expect(r.min.residual).toBeGreaterThan(1e-3 * Math.abs(r.min.value));
  });

  test('an exhausted Krylov space gives exact values with zero residual', async () => {
    const small = Float64Array.from([3, -2, 0.5, 1]);
    const r = await lanczos({
      apply: diagonal(small),
      dimension: 4,
      start: Float64Array.from([1, 1, 1, 1]),
      iterations: 10,
      tolerance: 1e-12,
    });
    expect(r.products).toBe(4);
    expect(r.max.value).toBeCloseTo(3, 10);
    expect(r.min.value).toBeCloseTo(-2, 10);
    expect(r.max.residual).toBe(0);
    expect(r.converged).toBe(true);
  });
});

describe('power iteration reports its residual ‖Av − θv‖', () => {
  test('converges on the dominant eigenvalue with the residual inside tolerance', async () => {
    const spectrum = Float64Array.from([10, 4, 3, -2, 1, 0.5]);
    const r = await powerIteration({
      apply: diagonal(spectrum),
      dimension: spectrum.length,
      start: Float64Array.from([1, 1, 1, 1, 1, 1]),
      iterations: 500,
      tolerance: 1e-6,
    });
    expect(r.converged).toBe(true);
    expect(r.residual).toBeLessThanOrEqual(1e-6 * 10);
    expect(r.value).toBeCloseTo(10, 8);
    expect(nearestEigenvalueDistance(spectrum, r.value)).toBeLessThanOrEqual(r.residual + 1e-12);
  });
});
