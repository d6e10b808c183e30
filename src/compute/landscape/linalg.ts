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
  /** Stop when the estimate changes by less than this, relative. */
  tolerance: number;
  signal?: AbortSignal | undefined;
  onIteration?: ((iteration: number, estimate: number) => void) | undefined;
}

export interface PowerResult {
  /** Rayleigh quotient vᵀAv of the last unit iterate: the dominant (largest |λ|) eigenvalue. */
  eigenvalue: number;
  products: number;
  converged: boolean;
}

/**
 * Power iteration: v ← A v / ‖A v‖ converges to the eigenvector of largest
 * |λ|, at rate |λ₂/λ₁| per product; the Rayleigh quotient is the estimate.
 */
export async function powerIteration(options: KrylovOptions): Promise<PowerResult> {
  let v: Float64Array = Float64Array.from(options.start);
  let n = norm(v);
  for (let i = 0; i < v.length; i++) v[i] = v[i]! / n;
  let estimate = Number.NaN;
  for (let k = 1; k <= options.iterations; k++) {
    if (options.signal?.aborted) break;
    const av = await options.apply(v);
    const next = dot(v, av);
    options.onIteration?.(k, next);
    n = norm(av);
    const converged =
      Number.isFinite(estimate) &&
      Math.abs(next - estimate) <= options.tolerance * Math.max(Math.abs(next), 1e-12);
    estimate = next;
    if (converged || n === 0) return { eigenvalue: estimate, products: k, converged: true };
    v = av;
    for (let i = 0; i < v.length; i++) v[i] = v[i]! / n;
  }
  return { eigenvalue: estimate, products: options.iterations, converged: false };
}

export interface LanczosResult {
  /** Largest and smallest Ritz values: estimates of λ_max and λ_min. */
  max: number;
  min: number;
  /** All Ritz values, descending. */
  ritz: Float64Array;
  products: number;
  converged: boolean;
}

/**
 * Lanczos with full reorthogonalisation. After k products the Krylov space
 * K_k(A, v) = span{v, Av, …, A^{k−1}v} holds an orthonormal basis Q and
 * T = QᵀAQ is tridiagonal; the extreme eigenvalues of T (Ritz values)
 * converge to A's extreme eigenvalues much faster than power iteration, both
 * ends at once. Reorthogonalising against every earlier basis vector keeps Q
 * orthonormal in floating point (no ghost eigenvalues). When the space is
 * exhausted (β = 0) the Ritz values are exact.
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
  let previous: { max: number; min: number } | null = null;
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
    const ritz = tridiagonalEigenvalues(alphas, betas);
    const estimate = { max: ritz[0]!, min: ritz[ritz.length - 1]! };
    options.onIteration?.(k + 1, estimate.max);
    const scale = Math.max(Math.abs(estimate.max), Math.abs(estimate.min), 1e-12);
    const settled =
      previous !== null &&
      Math.abs(estimate.max - previous.max) <= options.tolerance * scale &&
      Math.abs(estimate.min - previous.min) <= options.tolerance * scale;
    const exhausted = beta <= 1e-10 * scale;
    result = {
      ...estimate,
      ritz,
      products: k + 1,
      converged: settled || exhausted || k + 1 === dim,
    };
    if (settled || exhausted) break;
    previous = estimate;
    betas.push(beta);
    q = w;
    for (let i = 0; i < dim; i++) q[i] = q[i]! / beta;
  }
  // Cancelled before the first product: nothing is known.
  return (
    result ?? {
      max: Number.NaN,
      min: Number.NaN,
      ritz: new Float64Array(0),
      products: 0,
      converged: false,
    }
  );
}

/** Eigenvalues (descending) of the symmetric tridiagonal matrix with diagonal α and off-diagonal β. */
export function tridiagonalEigenvalues(alphas: number[], betas: number[]): Float64Array {
  const k = alphas.length;
  const t = new Float64Array(k * k);
  for (let i = 0; i < k; i++) {
    t[i * k + i] = alphas[i]!;
    if (i + 1 < k) {
      t[i * k + i + 1] = betas[i]!;
      t[(i + 1) * k + i] = betas[i]!;
    }
  }
  return symmetricEigen(t, k).values;
}
