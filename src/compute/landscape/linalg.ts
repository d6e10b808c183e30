/**
 * Small dense linear algebra in plain JavaScript (float64) for the landscape
 * engine: the eigen-decomposition of small symmetric matrices (the Lanczos
 * tridiagonal matrix, the Gram matrix of a trajectory), and the two Krylov
 * methods that find a Hessian's extreme eigenvalues from matrix-vector
 * products alone.
 */

/** Eigenvalues (descending) and unit eigenvectors (columns of `vectors`, row-major n × n). */
export interface SymmetricEigen {
  values: Float64Array;
  vectors: Float64Array;
}

/**
 * Eigen-decomposition of a symmetric n × n matrix (row-major) by cyclic Jacobi
 * rotations: each rotation zeroes one off-diagonal pair; sweeps repeat until
 * the off-diagonal mass is negligible. Quadratically convergent and accurate
 * to rounding for the small matrices used here (n ≤ a few hundred).
 */
export function symmetricEigen(matrix: ArrayLike<number>, n: number): SymmetricEigen {
  if (matrix.length !== n * n)
    throw new Error(`symmetricEigen: ${matrix.length} values is not ${n}×${n}`);
  const a = Float64Array.from(matrix);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  const at = (i: number, j: number) => a[i * n + j]!;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    let scale = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        if (i !== j) off += at(i, j) ** 2;
        scale += at(i, j) ** 2;
      }
    }
    if (off <= 1e-30 * Math.max(scale, 1e-300)) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = at(p, q);
        if (apq === 0) continue;
        // Rotation angle that zeroes a[p][q] (Golub & Van Loan, alg. 8.4.1).
        const tau = (at(q, q) - at(p, p)) / (2 * apq);
        const t = Math.sign(tau || 1) / (Math.abs(tau) + Math.sqrt(1 + tau * tau));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = at(k, p);
          const akq = at(k, q);
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = at(p, k);
          const aqk = at(q, k);
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p]!;
          const vkq = v[k * n + q]!;
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => at(j, j) - at(i, i));
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  order.forEach((src, dst) => {
    values[dst] = at(src, src);
    for (let k = 0; k < n; k++) vectors[k * n + dst] = v[k * n + src]!;
  });
  return { values, vectors };
}

export function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

export function norm(a: Float64Array): number {
  return Math.sqrt(dot(a, a));
}

/** A symmetric linear operator known only through its products: v ↦ A v. */
export type LinearOperator = (v: Float64Array) => Promise<Float64Array>;

export interface KrylovOptions {
  apply: LinearOperator;
  /** Dimension of the space. */
  dimension: number;
  /** Starting vector (any non-zero vector; random in practice). */
  start: Float64Array;
  /** Most products to spend. */
  iterations: number;
  /**
   * An eigenvalue estimate θ with unit vector v counts as converged when its own residual
   * ‖A v − θ v‖ is at most `tolerance · |θ|`. There is an eigenvalue of A within that residual
   * of θ (for symmetric A), so this bounds each estimate's relative error by itself, whatever
   * the other end of the spectrum is doing.
   */
  tolerance: number;
  signal?: AbortSignal | undefined;
  onIteration?: ((iteration: number, estimate: number) => void) | undefined;
}

/** One eigenvalue estimate and how far it has converged. */
export interface EigenEstimate {
  /** The estimate θ (a Rayleigh quotient or Ritz value). */
  value: number;
  /** ‖A v − θ v‖ for its unit vector v: some eigenvalue of A lies in [θ − residual, θ + residual]. */
  residual: number;
  /** residual ≤ tolerance · |θ|, or the space was exhausted (then the value is exact). */
  converged: boolean;
}

/** `value`: the Rayleigh quotient vᵀAv of the last unit iterate, the dominant (largest |λ|) eigenvalue. */
export interface PowerResult extends EigenEstimate {
  products: number;
}

function settledBy(residual: number, value: number, tolerance: number): boolean {
  return residual <= tolerance * Math.abs(value);
}

/**
 * Power iteration: v ← B v / ‖B v‖ converges to the eigenvector of largest
 * |λ| of B = A − shift·I, at rate |λ₂/λ₁| per product; the Rayleigh quotient
 * θ = vᵀBv is the estimate, judged by its residual ‖Bv − θv‖ = ‖Av − (θ + shift)v‖
 * (computed directly: the shortcut ‖Bv‖² − θ² cancels catastrophically near
 * convergence). The result is in A's terms: value θ + shift, converged when the
 * residual is at most tolerance·|θ + shift|.
 */
export async function powerIteration(
  options: KrylovOptions & { shift?: number | undefined },
): Promise<PowerResult> {
  const shift = options.shift ?? 0;
  let v: Float64Array = Float64Array.from(options.start);
  let n = norm(v);
  for (let i = 0; i < v.length; i++) v[i] = v[i]! / n;
  let estimate = Number.NaN;
  let residual = Number.POSITIVE_INFINITY;
  for (let k = 1; k <= options.iterations; k++) {
    if (options.signal?.aborted) break;
    const bv = await options.apply(v);
    for (let i = 0; i < bv.length; i++) bv[i] = bv[i]! - shift * v[i]!;
    estimate = dot(v, bv);
    options.onIteration?.(k, estimate + shift);
    n = norm(bv);
    residual = 0;
    for (let i = 0; i < v.length; i++) residual += (bv[i]! - estimate * v[i]!) ** 2;
    residual = Math.sqrt(residual);
    const value = estimate + shift;
    if (n === 0 || settledBy(residual, value, options.tolerance))
      return { value, residual, products: k, converged: true };
    v = bv;
    for (let i = 0; i < v.length; i++) v[i] = v[i]! / n;
  }
  return { value: estimate + shift, residual, products: options.iterations, converged: false };
}

export interface LanczosResult {
  /** Largest and smallest Ritz values: estimates of λ_max and λ_min, each with its own residual. */
  max: EigenEstimate;
  min: EigenEstimate;
  /** All Ritz values, descending. */
  ritz: Float64Array;
  products: number;
  /** Both ends converged. */
  converged: boolean;
}

/**
 * Lanczos with full reorthogonalisation. After k products the Krylov space
 * K_k(A, v) = span{v, Av, …, A^{k−1}v} holds an orthonormal basis Q and
 * T = QᵀAQ is tridiagonal; the extreme eigenvalues of T (Ritz values)
 * converge to A's extreme eigenvalues much faster than power iteration, both
 * ends at once, but not equally fast: an end whose eigenvalues are clustered
 * converges slowly. Reorthogonalising against every earlier basis vector keeps Q
 * orthonormal in floating point (no ghost eigenvalues).
 *
 * Each end is judged by its own residual. For a Ritz pair (θ, y) of T, the
 * Ritz vector u = Q y has
 *
 *   ‖A u − θ u‖ = β_k · |y_k|,                                        (Parlett, §13.2)
 *
 * with β_k the next off-diagonal and y_k the last component of y: free, no
 * extra product. The run stops when both ends satisfy residual ≤ tolerance·|θ|
 * (or the space is exhausted, β = 0, when the Ritz values are exact). By
 * interlacing, the smallest Ritz value never lies below λ_min and the largest
 * never above λ_max.
 */
export async function lanczos(options: KrylovOptions): Promise<LanczosResult> {
  const dim = options.dimension;
  const steps = Math.min(options.iterations, dim);
  const basis: Float64Array[] = [];
  const alphas: number[] = [];
  const betas: number[] = [];
  let q: Float64Array = Float64Array.from(options.start);
  const n0 = norm(q);
  for (let i = 0; i < dim; i++) q[i] = q[i]! / n0;
  let result: LanczosResult | null = null;
  for (let k = 0; k < steps; k++) {
    if (options.signal?.aborted) break;
    basis.push(q);
    const w = await options.apply(q);
    const alpha = dot(q, w);
    alphas.push(alpha);
    // w ← w − Σ_j (q_jᵀ w) q_j, twice ("twice is enough", Kahan/Parlett).
    for (let pass = 0; pass < 2; pass++) {
      for (const b of basis) {
        const c = dot(b, w);
        for (let i = 0; i < dim; i++) w[i] = w[i]! - c * b[i]!;
      }
    }
    const beta = norm(w);
    const m = k + 1;
    const { values: ritz, vectors } = symmetricEigen(tridiagonal(alphas, betas), m);
    const scale = Math.max(Math.abs(ritz[0]!), Math.abs(ritz[m - 1]!), 1e-300);
    // β this small against ‖T‖: the Krylov space is invariant and the Ritz values are exact.
    const exhausted = beta <= 1e-12 * scale || m === dim;
    const end = (index: number): EigenEstimate => {
      const value = ritz[index]!;
      const residual = exhausted ? 0 : beta * Math.abs(vectors[(m - 1) * m + index]!);
      return {
        value,
        residual,
        converged: exhausted || settledBy(residual, value, options.tolerance),
      };
    };
    const max = end(0);
    const min = end(m - 1);
    options.onIteration?.(m, max.value);
    result = { max, min, ritz, products: m, converged: max.converged && min.converged };
    if (result.converged) break;
    betas.push(beta);
    q = w;
    for (let i = 0; i < dim; i++) q[i] = q[i]! / beta;
  }
  // Cancelled before the first product: nothing is known.
  const unknown = { value: Number.NaN, residual: Number.NaN, converged: false };
  return (
    result ?? {
      max: unknown,
      min: unknown,
      ritz: new Float64Array(0),
      products: 0,
      converged: false,
    }
  );
}

/** The symmetric tridiagonal matrix with diagonal α and off-diagonal β, row-major. */
function tridiagonal(alphas: number[], betas: number[]): Float64Array {
  const k = alphas.length;
  const t = new Float64Array(k * k);
  for (let i = 0; i < k; i++) {
    t[i * k + i] = alphas[i]!;
    if (i + 1 < k) {
      t[i * k + i + 1] = betas[i]!;
      t[(i + 1) * k + i] = betas[i]!;
    }
  }
  return t;
}
