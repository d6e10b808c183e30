// The per-layer pieces of the signal statistics' forward and backward pass
// (src/compute/signals/pass.ts drives them layer by layer) in WebAssembly SIMD
// (AssemblyScript): the matrix products z·W and g·Wᵀ, batch normalisation and
// its gradient, the activations and their slopes, the residual update, and
// each layer's Σh and Σh² in float64.
//
// Why not tfjs: the benchmark case (T = 50, d = 100, N = 256, 8 draws) is
// 2 × 8 × 50 products of [256, 100] × [100, 100], small enough that tfjs's
// per-op dispatch, a tensor per intermediate and a read-back per layer cost
// several times the arithmetic (bench/README.md). Here every layer stays in
// this module's memory, and only the sums and the histogram layers leave it.
//
// Layout (all f32 unless named): a layer's values are [Np][dp] row-major,
// N inputs by d units padded to Np = ⌈N/4⌉·4 rows and dp = ⌈d/4⌉·4 columns;
// a weight matrix is [dp][dp] ([in][out], as tfjs's matMul(z, W) reads it).
// Padding columns of the weights are zero, so padding columns of every
// product are zero and padding rows of z never reach a real row (each row of
// a product depends on its own row only). Batch statistics, sums and
// histograms read the first N rows and d columns only.

import { madd } from './madd';

/** First free byte above the static data, 16-byte aligned. */
export function heapBase(): usize {
  return (__heap_base + 15) & ~(<usize>15);
}

/**
 * out = a · w: (Np × dp) · (dp × dp), 4 rows against 8 (or a last 4) columns
 * at a time with the accumulators in registers, the Winograd kernel's
 * micro-kernel (assembly/winograd.ts). Each output is Σ_k a_ik w_kj summed in
 * k order, in float32: each step rounded twice (a product, then a sum), or
 * once where the relaxed-SIMD build runs on a CPU with fused multiply-add
 * (madd).
 */
export function matMul(a: usize, w: usize, out: usize, Np: i32, dp: i32): void {
  const row = <usize>dp << 2;
  for (let i = 0; i < Np; i += 4) {
    const a0 = a + <usize>i * row;
    const a1 = a0 + row,
      a2 = a1 + row,
      a3 = a2 + row;
    let j = 0;
    for (; j + 8 <= dp; j += 8) {
      let s00 = f32x4.splat(0),
        s01 = f32x4.splat(0);
      let s10 = f32x4.splat(0),
        s11 = f32x4.splat(0);
      let s20 = f32x4.splat(0),
        s21 = f32x4.splat(0);
      let s30 = f32x4.splat(0),
        s31 = f32x4.splat(0);
      let pw = w + (<usize>j << 2);
      for (let k = 0; k < dp; k++) {
        const off = <usize>k << 2;
        const w0 = v128.load(pw);
        const w1 = v128.load(pw, 16);
        let x = v128.load32_splat(a0 + off);
        s00 = madd(x, w0, s00);
        s01 = madd(x, w1, s01);
        x = v128.load32_splat(a1 + off);
        s10 = madd(x, w0, s10);
        s11 = madd(x, w1, s11);
        x = v128.load32_splat(a2 + off);
        s20 = madd(x, w0, s20);
        s21 = madd(x, w1, s21);
        x = v128.load32_splat(a3 + off);
        s30 = madd(x, w0, s30);
        s31 = madd(x, w1, s31);
        pw += row;
      }
      const q = out + <usize>i * row + (<usize>j << 2);
      v128.store(q, s00);
      v128.store(q, s01, 16);
      v128.store(q + row, s10);
      v128.store(q + row, s11, 16);
      v128.store(q + 2 * row, s20);
      v128.store(q + 2 * row, s21, 16);
      v128.store(q + 3 * row, s30);
      v128.store(q + 3 * row, s31, 16);
    }
    if (j < dp) {
      let s0 = f32x4.splat(0),
        s1 = f32x4.splat(0);
      let s2 = f32x4.splat(0),
        s3 = f32x4.splat(0);
      let pw = w + (<usize>j << 2);
      for (let k = 0; k < dp; k++) {
        const off = <usize>k << 2;
        const w0 = v128.load(pw);
        s0 = madd(v128.load32_splat(a0 + off), w0, s0);
        s1 = madd(v128.load32_splat(a1 + off), w0, s1);
        s2 = madd(v128.load32_splat(a2 + off), w0, s2);
        s3 = madd(v128.load32_splat(a3 + off), w0, s3);
        pw += row;
      }
      const q = out + <usize>i * row + (<usize>j << 2);
      v128.store(q, s0);
      v128.store(q + row, s1);
      v128.store(q + 2 * row, s2);
      v128.store(q + 3 * row, s3);
    }
  }
}

/** wt = wᵀ, both dp × dp. */
export function transpose(w: usize, wt: usize, dp: i32): void {
  for (let i = 0; i < dp; i++) {
    for (let j = 0; j < dp; j++) {
      store<f32>(wt + ((<usize>(j * dp + i)) << 2), load<f32>(w + ((<usize>(i * dp + j)) << 2)));
    }
  }
}

// Activations, as tfjs computes them (SELU's constants are tfjs's).
const SELU_SCALE: f32 = 1.0507009873554805;
const SELU_ALPHA: f32 = 1.6732632423543772;
const LINEAR = 0,
  RELU = 1,
  TANH = 2,
  SIGMOID = 3,
  SELU = 4;

// @ts-ignore: decorator
@inline
function activation(kind: i32, h: f32): f32 {
  if (kind == SIGMOID) return 1 / (1 + Mathf.exp(-h));
  if (kind == SELU) return h > 0 ? SELU_SCALE * h : SELU_SCALE * SELU_ALPHA * (Mathf.exp(h) - 1);
  return h;
}

/**
 * tanh of four lanes: Eigen's rational approximation (generic_fast_tanh_float),
 * an odd degree-13 polynomial over an even degree-6 one on [−7.9988, 7.9988]
 * (beyond, tanh is ±1 in float32), x itself below |x| < 0.0004. Within
 * 3.3e-7 relative of tanh everywhere (checked against Math.tanh on a grid of
 * step 1e-4 over [−10, 10]): about 3 ulp, where musl's scalar tanhf costs
 * several times as long.
 */
// @ts-ignore: decorator
@inline
function tanh4(v: v128): v128 {
  const x = f32x4.max(f32x4.min(v, f32x4.splat(7.99881172180175781)), f32x4.splat(-7.99881172180175781));
  const x2 = f32x4.mul(x, x);
  let p = f32x4.add(f32x4.mul(x2, f32x4.splat(-2.76076847742355e-16)), f32x4.splat(2.00018790482477e-13));
  p = f32x4.add(f32x4.mul(x2, p), f32x4.splat(-8.60467152213735e-11));
  p = f32x4.add(f32x4.mul(x2, p), f32x4.splat(5.12229709037114e-8));
  p = f32x4.add(f32x4.mul(x2, p), f32x4.splat(1.48572235717979e-5));
  p = f32x4.add(f32x4.mul(x2, p), f32x4.splat(6.37261928875436e-4));
  p = f32x4.add(f32x4.mul(x2, p), f32x4.splat(4.89352455891786e-3));
  p = f32x4.mul(x, p);
  let q = f32x4.add(f32x4.mul(x2, f32x4.splat(1.19825839466702e-6)), f32x4.splat(1.18534705686654e-4));
  q = f32x4.add(f32x4.mul(x2, q), f32x4.splat(2.268434632439e-3));
  q = f32x4.add(f32x4.mul(x2, q), f32x4.splat(4.89352518554385e-3));
  const tiny = f32x4.lt(f32x4.abs(v), f32x4.splat(0.0004));
  return v128.bitselect(v, f32x4.div(p, q), tiny);
}

/** out = f(h) over n values, n a multiple of 4 (out may be h). */
export function activate(kind: i32, h: usize, out: usize, n: i32): void {
  if (kind == LINEAR) {
    if (out != h) memory.copy(out, h, <usize>n << 2);
    return;
  }
  if (kind == RELU) {
    const zero = f32x4.splat(0);
    for (let i = 0; i < n; i += 4) {
      const p = <usize>i << 2;
      const v = v128.load(h + p);
      // h where h > 0, else 0.
      v128.store(out + p, v128.bitselect(v, zero, f32x4.gt(v, zero)));
    }
    return;
  }
  if (kind == TANH) {
    for (let i = 0; i < n; i += 4) {
      const p = <usize>i << 2;
      v128.store(out + p, tanh4(v128.load(h + p)));
    }
    return;
  }
  for (let i = 0; i < n; i++) {
    const p = <usize>i << 2;
    store<f32>(out + p, activation(kind, load<f32>(h + p)));
  }
}

/**
 * out = g ⊙ f'(h) over n values (a multiple of 4), given h and f(h), as
 * src/compute/signals/propagate.ts's activationSlope takes it: ReLU 1 where
 * h > 0 else 0; tanh 1 − f(h)²; sigmoid f(h)(1 − f(h)); SELU λ above 0,
 * f(h) + λα below. out may be g.
 */
export function multiplySlope(kind: i32, h: usize, fh: usize, g: usize, out: usize, n: i32): void {
  if (kind == LINEAR) {
    if (out != g) memory.copy(out, g, <usize>n << 2);
    return;
  }
  const zero = f32x4.splat(0);
  const one = f32x4.splat(1);
  const scale = f32x4.splat(SELU_SCALE);
  const below = f32x4.splat(SELU_SCALE * SELU_ALPHA);
  for (let i = 0; i < n; i += 4) {
    const p = <usize>i << 2;
    let slope: v128;
    if (kind == RELU) slope = v128.and(one, f32x4.gt(v128.load(h + p), zero));
    else if (kind == TANH) {
      const f = v128.load(fh + p);
      slope = f32x4.sub(one, f32x4.mul(f, f));
    } else if (kind == SIGMOID) {
      const f = v128.load(fh + p);
      slope = f32x4.mul(f, f32x4.sub(one, f));
    } else {
      const above = f32x4.gt(v128.load(h + p), zero);
      slope = v128.bitselect(scale, f32x4.add(v128.load(fh + p), below), above);
    }
    // A product, as tfjs's (g · 0 stays NaN where g is infinite).
    v128.store(out + p, f32x4.mul(v128.load(g + p), slope));
  }
}

/**
 * Batch normalisation in place over the first N rows (training mode, γ = 1,
 * β = 0): per column, μ and σ² = mean((u − μ)²) in float64, then
 * y = (u − μ)·(1/√(σ² + ε)) in float32; 1/√(σ² + ε) kept in invStd[dp] for
 * the backward pass.
 */
export function batchNormForward(u: usize, N: i32, d: i32, dp: i32, eps: f32, invStd: usize): void {
  const row = <usize>dp << 2;
  for (let j = 0; j < d; j++) {
    const col = u + (<usize>j << 2);
    let sum: f64 = 0;
    for (let i = 0; i < N; i++) sum += <f64>load<f32>(col + <usize>i * row);
    const mean = <f32>(sum / N);
    let sq: f64 = 0;
    for (let i = 0; i < N; i++) {
      const c = <f64>(load<f32>(col + <usize>i * row) - mean);
      sq += c * c;
    }
    const r = <f32>1 / Mathf.sqrt(<f32>(sq / N) + eps);
    store<f32>(invStd + (<usize>j << 2), r);
    for (let i = 0; i < N; i++) {
      const p = col + <usize>i * row;
      store<f32>(p, (load<f32>(p) - mean) * r);
    }
  }
}

/**
 * The gradient through batch normalisation's batch statistics (γ = 1):
 * out = (dy − mean(dy) − y·mean(dy ⊙ y))·invStd, means over the first N rows
 * in float64. out may not be dy.
 */
export function batchNormBackward(
  dy: usize,
  y: usize,
  invStd: usize,
  out: usize,
  N: i32,
  d: i32,
  dp: i32,
): void {
  const row = <usize>dp << 2;
  for (let j = 0; j < d; j++) {
    const off = <usize>j << 2;
    let s: f64 = 0;
    let sy: f64 = 0;
    for (let i = 0; i < N; i++) {
      const p = <usize>i * row + off;
      const g = <f64>load<f32>(dy + p);
      s += g;
      sy += g * <f64>load<f32>(y + p);
    }
    const meanDy = <f32>(s / N);
    const meanDyY = <f32>(sy / N);
    const r = load<f32>(invStd + off);
    for (let i = 0; i < N; i++) {
      const p = <usize>i * row + off;
      store<f32>(out + p, (load<f32>(dy + p) - meanDy - load<f32>(y + p) * meanDyY) * r);
    }
  }
}

/** x = x + α·b over n values (x + b when α = 1, as tfjs's add without the product). */
export function addScaled(x: usize, b: usize, alpha: f32, n: i32): void {
  const a = f32x4.splat(alpha);
  const one = alpha == 1;
  for (let i = 0; i < n; i += 4) {
    const p = <usize>i << 2;
    const v = v128.load(b + p);
    v128.store(x + p, f32x4.add(v128.load(x + p), one ? v : f32x4.mul(v, a)));
  }
}

/**
 * Σv and Σv² over the first N rows and d columns, in row order and float64
 * (the squares of a residual stream at α = 1 overflow float32 after about 64
 * blocks), written to sums[0] and sums[1] (f64).
 */
export function moments(v: usize, N: i32, d: i32, dp: i32, sums: usize): void {
  const row = <usize>dp << 2;
  let s: f64 = 0;
  let s2: f64 = 0;
  for (let i = 0; i < N; i++) {
    const r = v + <usize>i * row;
    for (let j = 0; j < d; j++) {
      const x = <f64>load<f32>(r + (<usize>j << 2));
      s += x;
      s2 += x * x;
    }
  }
  store<f64>(sums, s);
  store<f64>(sums, s2, 8);
}
