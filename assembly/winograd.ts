// Winograd F(2×2, 3×3) convolution in WebAssembly SIMD (AssemblyScript).
//
// Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks" (2016),
// eq. (8): every 2×2 block of outputs of a 3×3 cross-correlation is
//
//     Y = Aᵀ [ Σ_c (G g_c Gᵀ) ⊙ (Bᵀ d_c B) ] A
//
// with d_c the 4×4 input patch of channel c under the block, g_c the 3×3
// filter of channel c, and
//
//     Bᵀ = | 1  0 -1  0 |    G = | 1    0    0  |    Aᵀ = | 1  1  1  0 |
//          | 0  1  1  0 |        | 1/2  1/2  1/2 |         | 0  1 -1 -1 |
//          | 0 -1  1  0 |        | 1/2 -1/2  1/2 |
//          | 0  1  0 -1 |        | 0    0    1  |
//
// For one 2×2 block that is 16 multiplications per (input, output) channel
// pair instead of 36: 2.25× less arithmetic than direct convolution. The sum
// over c of the 16 element-wise products is 16 independent matrix products
// M_k = V_k · U_k (tiles × C times C × K), which is where the time goes and
// what the SIMD micro-kernel below computes. The transforms only add and
// subtract (and halve, for G), so F(2×2, 3×3) loses almost nothing to
// rounding, unlike F(4×4, 3×3) whose transforms carry factors up to 8.
//
// Layout (all f32, NHWC as in tfjs):
//   x   [N][H][W][C]                 input
//   g   [3][3][C][K]                 filter, tfjs's [fh][fw][in][out]
//   u   [16][Cp][Kp]                 U_k = (G g Gᵀ)_k, zero-padded to Cp, Kp
//   v   [16][Tb][Cp]                 V_k for one block of Tb tiles (planes
//                                    64 bytes apart, see planeBytes)
//   m   [16][Tb][Kp]                 M_k = V_k · U_k for that block
//   out [N][OH][OW][K]
// Cp and Kp are C and K rounded up to multiples of 4 (SIMD lanes); Tb, the
// tiles per block, is a multiple of 4 chosen by the caller so that v and m
// stay in cache.
//
// Memory is imported (env.memory) and the module has no static data: it
// works on whatever addresses it is given. With the tfjs wasm backend's own
// memory it reads the input and filter where the tensors already are and
// writes into the output tensor, with scratch from the backend's malloc; a
// memory of its own (the caller copies in and out) is the fallback, e.g.
// where tfjs's memory is shared (its threaded build) and this one is not.

import { madd } from './madd';

/** First byte a caller may use in a memory of the module's own, 16-byte aligned. */
export function heapBase(): usize {
  return (__heap_base + 15) & ~(<usize>15);
}

/** U_k = G g Gᵀ for every (c, o) pair; padding rows and columns stay zero. */
export function filterTransform(g: usize, C: i32, K: i32, u: usize, Cp: i32, Kp: i32): void {
  const plane = filterPlaneBytes(Cp, Kp); // bytes between U_k and U_{k+1}
  memory.fill(u, 0, 16 * plane);
  const tap = <usize>(C * K) << 2; // bytes between filter taps (u, v)
  for (let c = 0; c < C; c++) {
    for (let o = 0; o < K; o++) {
      const p = g + (<usize>(c * K + o) << 2);
      const g00 = load<f32>(p), g01 = load<f32>(p + tap), g02 = load<f32>(p + 2 * tap);
      const g10 = load<f32>(p + 3 * tap), g11 = load<f32>(p + 4 * tap), g12 = load<f32>(p + 5 * tap);
      const g20 = load<f32>(p + 6 * tap), g21 = load<f32>(p + 7 * tap), g22 = load<f32>(p + 8 * tap);
      const q = u + (<usize>(c * Kp + o) << 2);
      // Rows of t = G g (4×3), then each row times Gᵀ gives a row of U.
      filterRow(q, plane, g00, g01, g02);
      filterRow(q + 4 * plane, plane, 0.5 * (g00 + g10 + g20), 0.5 * (g01 + g11 + g21), 0.5 * (g02 + g12 + g22));
      filterRow(q + 8 * plane, plane, 0.5 * (g00 - g10 + g20), 0.5 * (g01 - g11 + g21), 0.5 * (g02 - g12 + g22));
      filterRow(q + 12 * plane, plane, g20, g21, g22);
    }
  }
}

/** One row of U: (t0, t1, t2) Gᵀ, its 4 entries one plane apart. */
// @ts-ignore: decorator
@inline
function filterRow(q: usize, plane: usize, t0: f32, t1: f32, t2: f32): void {
  store<f32>(q, t0);
  store<f32>(q + plane, 0.5 * (t0 + t1 + t2));
  store<f32>(q + 2 * plane, 0.5 * (t0 - t1 + t2));
  store<f32>(q + 3 * plane, t2);
}

/**
 * Bytes from V_k (or M_k) to V_{k+1} for a block of Tb tiles by `cols`
 * channels: the block plus 64 bytes. Without the 64, the 16 planes lie a
 * multiple of 4 KiB apart for the usual sizes, the transforms' 16 loads or
 * stores per patch fall into one set of the L1 cache, and the transforms run
 * 3.5× slower (measured).
 */
// @ts-ignore: decorator
@inline
function planeBytes(Tb: i32, cols: i32): usize {
  return (<usize>(Tb * cols) << 2) + 64;
}

/**
 * Bytes from U_k to U_{k+1}: Cp × Kp floats and 64 bytes more. Without the
 * 64 the planes lie a multiple of 4 KiB apart (16 KiB at 64 → 64 channels),
 * and the filter transform's stores of one (c, o) pair into all of them fall
 * into one set of the L1 cache.
 */
// @ts-ignore: decorator
@inline
function filterPlaneBytes(Cp: i32, Kp: i32): usize {
  return (<usize>(Cp * Kp) << 2) + 64;
}

/** Floats of U for `planes` planes (16 for F(2×2, 3×3), 36 for F(4×4, 3×3)). */
export function filterFloats(planes: i32, Cp: i32, Kp: i32): i32 {
  return planes * (Cp * Kp + 16);
}

/** Floats of scratch for V (cols = Cp) or M (cols = Kp). */
export function scratchFloats(Tb: i32, cols: i32): i32 {
  return 16 * (Tb * cols + 16); // 16 planeBytes(Tb, cols), in floats
}

/** Four channels starting at c, zero beyond C (C not a multiple of 4). */
// @ts-ignore: decorator
@inline
function loadChannels(p: usize, c: i32, C: i32): v128 {
  if (c + 4 <= C) return v128.load(p);
  let v = f32x4.splat(0);
  v = f32x4.replace_lane(v, 0, load<f32>(p));
  if (c + 1 < C) v = f32x4.replace_lane(v, 1, load<f32>(p, 4));
  if (c + 2 < C) v = f32x4.replace_lane(v, 2, load<f32>(p, 8));
  return v;
}

/** Bᵀ d B for the tiles [t0, t0 + nt) into v (local tile index t - t0). */
function inputTransform(
  x: usize, H: i32, W: i32, C: i32, Cp: i32,
  TH: i32, TW: i32, padTop: i32, padLeft: i32,
  t0: i32, nt: i32, v: usize, Tb: i32,
): void {
  const plane = planeBytes(Tb, Cp);
  const zero = f32x4.splat(0);
  const rowBytes = <usize>(W * C) << 2;
  const whole = (C & 3) == 0;
  for (let tl = 0; tl < nt; tl++) {
    const t = t0 + tl;
    const n = t / (TH * TW);
    const r = t - n * TH * TW;
    const ty = r / TW;
    const tx = r - ty * TW;
    const y0 = 2 * ty - padTop;
    const x0 = 2 * tx - padLeft;
    const img = x + <usize>(n * H * W * C) * 4;
    // Which of the 4 rows / columns of the patch lie inside the image.
    const inY0 = y0 >= 0 && y0 < H, inY1 = y0 + 1 >= 0 && y0 + 1 < H;
    const inY2 = y0 + 2 >= 0 && y0 + 2 < H, inY3 = y0 + 3 >= 0 && y0 + 3 < H;
    const inX0 = x0 >= 0 && x0 < W, inX1 = x0 + 1 >= 0 && x0 + 1 < W;
    const inX2 = x0 + 2 >= 0 && x0 + 2 < W, inX3 = x0 + 3 >= 0 && x0 + 3 < W;
    const p00 = img + <usize>(y0 * W + x0) * (<usize>C << 2);
    const out = v + (<usize>(tl * Cp) << 2);
    // Patches wholly inside the image (most of them) need no bounds tests,
    // and with C a multiple of 4 no partial loads.
    if (whole && inY0 && inY3 && inX0 && inX3) {
      for (let c = 0; c < C; c += 4) {
        const pc = p00 + (<usize>c << 2);
        // Column transform of each patch row i: (d B)_i, rows a, b, c, e.
        const cs = <usize>C << 2;
        const pr0 = pc;
        const ad0 = v128.load(pr0);
        const ad1 = v128.load(pr0 + cs);
        const ad2 = v128.load(pr0 + 2 * cs);
        const ad3 = v128.load(pr0 + 3 * cs);
        const a0 = f32x4.sub(ad0, ad2);
        const a1 = f32x4.add(ad1, ad2);
        const a2 = f32x4.sub(ad2, ad1);
        const a3 = f32x4.sub(ad1, ad3);
        const pr1 = pc + rowBytes;
        const bd0 = v128.load(pr1);
        const bd1 = v128.load(pr1 + cs);
        const bd2 = v128.load(pr1 + 2 * cs);
        const bd3 = v128.load(pr1 + 3 * cs);
        const b0 = f32x4.sub(bd0, bd2);
        const b1 = f32x4.add(bd1, bd2);
        const b2 = f32x4.sub(bd2, bd1);
        const b3 = f32x4.sub(bd1, bd3);
        const pr2 = pc + <usize>2 * rowBytes;
        const cd0 = v128.load(pr2);
        const cd1 = v128.load(pr2 + cs);
        const cd2 = v128.load(pr2 + 2 * cs);
        const cd3 = v128.load(pr2 + 3 * cs);
        const c0 = f32x4.sub(cd0, cd2);
        const c1 = f32x4.add(cd1, cd2);
        const c2 = f32x4.sub(cd2, cd1);
        const c3 = f32x4.sub(cd1, cd3);
        const pr3 = pc + <usize>3 * rowBytes;
        const ed0 = v128.load(pr3);
        const ed1 = v128.load(pr3 + cs);
        const ed2 = v128.load(pr3 + 2 * cs);
        const ed3 = v128.load(pr3 + 3 * cs);
        const e0 = f32x4.sub(ed0, ed2);
        const e1 = f32x4.add(ed1, ed2);
        const e2 = f32x4.sub(ed2, ed1);
        const e3 = f32x4.sub(ed1, ed3);
        // Row transform: V = Bᵀ (d B); rows a, b, c, e are the patch rows 0-3.
        const q = out + (<usize>c << 2);
        v128.store(q + 0 * plane, f32x4.sub(a0, c0));
        v128.store(q + 1 * plane, f32x4.sub(a1, c1));
        v128.store(q + 2 * plane, f32x4.sub(a2, c2));
        v128.store(q + 3 * plane, f32x4.sub(a3, c3));
        v128.store(q + 4 * plane, f32x4.add(b0, c0));
        v128.store(q + 5 * plane, f32x4.add(b1, c1));
        v128.store(q + 6 * plane, f32x4.add(b2, c2));
        v128.store(q + 7 * plane, f32x4.add(b3, c3));
        v128.store(q + 8 * plane, f32x4.sub(c0, b0));
        v128.store(q + 9 * plane, f32x4.sub(c1, b1));
        v128.store(q + 10 * plane, f32x4.sub(c2, b2));
        v128.store(q + 11 * plane, f32x4.sub(c3, b3));
        v128.store(q + 12 * plane, f32x4.sub(b0, e0));
        v128.store(q + 13 * plane, f32x4.sub(b1, e1));
        v128.store(q + 14 * plane, f32x4.sub(b2, e2));
        v128.store(q + 15 * plane, f32x4.sub(b3, e3));
      }
      continue;
    }
    for (let c = 0; c < Cp; c += 4) {
      const pc = p00 + (<usize>c << 2);
      // Column transform of each patch row i: (d B)_i, rows a, b, c, e.
      const cs = <usize>C << 2;
      const pr0 = pc;
      const ad0 = inY0 && inX0 ? loadChannels(pr0, c, C) : zero;
      const ad1 = inY0 && inX1 ? loadChannels(pr0 + cs, c, C) : zero;
      const ad2 = inY0 && inX2 ? loadChannels(pr0 + 2 * cs, c, C) : zero;
      const ad3 = inY0 && inX3 ? loadChannels(pr0 + 3 * cs, c, C) : zero;
      const a0 = f32x4.sub(ad0, ad2);
      const a1 = f32x4.add(ad1, ad2);
      const a2 = f32x4.sub(ad2, ad1);
      const a3 = f32x4.sub(ad1, ad3);
      const pr1 = pc + rowBytes;
      const bd0 = inY1 && inX0 ? loadChannels(pr1, c, C) : zero;
      const bd1 = inY1 && inX1 ? loadChannels(pr1 + cs, c, C) : zero;
      const bd2 = inY1 && inX2 ? loadChannels(pr1 + 2 * cs, c, C) : zero;
      const bd3 = inY1 && inX3 ? loadChannels(pr1 + 3 * cs, c, C) : zero;
      const b0 = f32x4.sub(bd0, bd2);
      const b1 = f32x4.add(bd1, bd2);
      const b2 = f32x4.sub(bd2, bd1);
      const b3 = f32x4.sub(bd1, bd3);
      const pr2 = pc + <usize>2 * rowBytes;
      const cd0 = inY2 && inX0 ? loadChannels(pr2, c, C) : zero;
      const cd1 = inY2 && inX1 ? loadChannels(pr2 + cs, c, C) : zero;
      const cd2 = inY2 && inX2 ? loadChannels(pr2 + 2 * cs, c, C) : zero;
      const cd3 = inY2 && inX3 ? loadChannels(pr2 + 3 * cs, c, C) : zero;
      const c0 = f32x4.sub(cd0, cd2);
      const c1 = f32x4.add(cd1, cd2);
      const c2 = f32x4.sub(cd2, cd1);
      const c3 = f32x4.sub(cd1, cd3);
      const pr3 = pc + <usize>3 * rowBytes;
      const ed0 = inY3 && inX0 ? loadChannels(pr3, c, C) : zero;
      const ed1 = inY3 && inX1 ? loadChannels(pr3 + cs, c, C) : zero;
      const ed2 = inY3 && inX2 ? loadChannels(pr3 + 2 * cs, c, C) : zero;
      const ed3 = inY3 && inX3 ? loadChannels(pr3 + 3 * cs, c, C) : zero;
      const e0 = f32x4.sub(ed0, ed2);
      const e1 = f32x4.add(ed1, ed2);
      const e2 = f32x4.sub(ed2, ed1);
      const e3 = f32x4.sub(ed1, ed3);
      // Row transform: V = Bᵀ (d B); rows a, b, c, e are the patch rows 0-3.
      const q = out + (<usize>c << 2);
      v128.store(q + 0 * plane, f32x4.sub(a0, c0));
      v128.store(q + 1 * plane, f32x4.sub(a1, c1));
      v128.store(q + 2 * plane, f32x4.sub(a2, c2));
      v128.store(q + 3 * plane, f32x4.sub(a3, c3));
      v128.store(q + 4 * plane, f32x4.add(b0, c0));
      v128.store(q + 5 * plane, f32x4.add(b1, c1));
      v128.store(q + 6 * plane, f32x4.add(b2, c2));
      v128.store(q + 7 * plane, f32x4.add(b3, c3));
      v128.store(q + 8 * plane, f32x4.sub(c0, b0));
      v128.store(q + 9 * plane, f32x4.sub(c1, b1));
      v128.store(q + 10 * plane, f32x4.sub(c2, b2));
      v128.store(q + 11 * plane, f32x4.sub(c3, b3));
      v128.store(q + 12 * plane, f32x4.sub(b0, e0));
      v128.store(q + 13 * plane, f32x4.sub(b1, e1));
      v128.store(q + 14 * plane, f32x4.sub(b2, e2));
      v128.store(q + 15 * plane, f32x4.sub(b3, e3));
    }
  }
}

/**
 * M_k = V_k · U_k for k = 0..planes-1 (16 for F(2×2, 3×3), 36 for F(4×4, 3×3)):
 * (Tb × Cp) · (Cp × Kp), rows of 4 tiles
 * against 8 (or a last 4) output channels at a time, accumulators in
 * registers. Rows past the block's last tile hold stale values that are
 * computed and never read.
 */
function multiply(
  v: usize, u: usize, m: usize, rows: i32, Cp: i32, Kp: i32, Tb: i32, planes: i32,
): void {
  const rowV = <usize>Cp << 2;
  const rowU = <usize>Kp << 2;
  const planeV = planeBytes(Tb, Cp);
  const planeM = planeBytes(Tb, Kp);
  for (let k = 0; k < planes; k++) {
    const V = v + <usize>k * planeV;
    const U = u + <usize>k * filterPlaneBytes(Cp, Kp);
    const M = m + <usize>k * planeM;
    for (let i = 0; i < rows; i += 4) {
      const v0 = V + <usize>i * rowV;
      const v1 = v0 + rowV, v2 = v1 + rowV, v3 = v2 + rowV;
      let j = 0;
      for (; j + 8 <= Kp; j += 8) {
        let s00 = f32x4.splat(0), s01 = f32x4.splat(0);
        let s10 = f32x4.splat(0), s11 = f32x4.splat(0);
        let s20 = f32x4.splat(0), s21 = f32x4.splat(0);
        let s30 = f32x4.splat(0), s31 = f32x4.splat(0);
        let pu = U + (<usize>j << 2);
        for (let c = 0; c < Cp; c++) {
          const off = <usize>c << 2;
          const w0 = v128.load(pu);
          const w1 = v128.load(pu, 16);
          let a = v128.load32_splat(v0 + off);
          s00 = madd(a, w0, s00);
          s01 = madd(a, w1, s01);
          a = v128.load32_splat(v1 + off);
          s10 = madd(a, w0, s10);
          s11 = madd(a, w1, s11);
          a = v128.load32_splat(v2 + off);
          s20 = madd(a, w0, s20);
          s21 = madd(a, w1, s21);
          a = v128.load32_splat(v3 + off);
          s30 = madd(a, w0, s30);
          s31 = madd(a, w1, s31);
          pu += rowU;
        }
        const q = M + <usize>i * rowU + (<usize>j << 2);
        v128.store(q, s00);
        v128.store(q, s01, 16);
        v128.store(q + rowU, s10);
        v128.store(q + rowU, s11, 16);
        v128.store(q + 2 * rowU, s20);
        v128.store(q + 2 * rowU, s21, 16);
        v128.store(q + 3 * rowU, s30);
        v128.store(q + 3 * rowU, s31, 16);
      }
      if (j < Kp) {
        let s0 = f32x4.splat(0), s1 = f32x4.splat(0);
        let s2 = f32x4.splat(0), s3 = f32x4.splat(0);
        let pu = U + (<usize>j << 2);
        for (let c = 0; c < Cp; c++) {
          const off = <usize>c << 2;
          const w0 = v128.load(pu);
          s0 = madd(v128.load32_splat(v0 + off), w0, s0);
          s1 = madd(v128.load32_splat(v1 + off), w0, s1);
          s2 = madd(v128.load32_splat(v2 + off), w0, s2);
          s3 = madd(v128.load32_splat(v3 + off), w0, s3);
          pu += rowU;
        }
        const q = M + <usize>i * rowU + (<usize>j << 2);
        v128.store(q, s0);
        v128.store(q + rowU, s1);
        v128.store(q + 2 * rowU, s2);
        v128.store(q + 3 * rowU, s3);
      }
    }
  }
}

/** Store the first K - o lanes of y at p (all four when o + 4 ≤ K). */
// @ts-ignore: decorator
@inline
function storeChannels(p: usize, y: v128, o: i32, K: i32): void {
  if (o + 4 <= K) {
    v128.store(p, y);
    return;
  }
  store<f32>(p, f32x4.extract_lane(y, 0));
  if (o + 1 < K) store<f32>(p, f32x4.extract_lane(y, 1), 4);
  if (o + 2 < K) store<f32>(p, f32x4.extract_lane(y, 2), 8);
}

/** Y = Aᵀ M A (+ bias, relu) for the block's tiles, written where inside the output. */
function outputTransform(
  m: usize, K: i32, Kp: i32, bias: usize, relu: bool,
  out: usize, OH: i32, OW: i32, TH: i32, TW: i32,
  t0: i32, nt: i32, Tb: i32,
): void {
  const plane = planeBytes(Tb, Kp);
  const zero = f32x4.splat(0);
  const pixel = <usize>K << 2;
  for (let tl = 0; tl < nt; tl++) {
    const t = t0 + tl;
    const n = t / (TH * TW);
    const r = t - n * TH * TW;
    const ty = r / TW;
    const tx = r - ty * TW;
    const oy = 2 * ty;
    const ox = 2 * tx;
    const hasRow1 = oy + 1 < OH;
    const hasCol1 = ox + 1 < OW;
    const p = out + (<usize>((n * OH + oy) * OW + ox) * K << 2);
    const src = m + (<usize>(tl * Kp) << 2);
    for (let o = 0; o < K; o += 4) {
      const q = src + (<usize>o << 2);
      // s_i = m_i A for each row i of the 4×4 tile (2 values per row).
      const m0 = v128.load(q), m1 = v128.load(q + plane);
      const m2 = v128.load(q + 2 * plane), m3 = v128.load(q + 3 * plane);
      const m4 = v128.load(q + 4 * plane), m5 = v128.load(q + 5 * plane);
      const m6 = v128.load(q + 6 * plane), m7 = v128.load(q + 7 * plane);
      const m8 = v128.load(q + 8 * plane), m9 = v128.load(q + 9 * plane);
      const m10 = v128.load(q + 10 * plane), m11 = v128.load(q + 11 * plane);
      const m12 = v128.load(q + 12 * plane), m13 = v128.load(q + 13 * plane);
      const m14 = v128.load(q + 14 * plane), m15 = v128.load(q + 15 * plane);
      const s00 = f32x4.add(f32x4.add(m0, m1), m2), s01 = f32x4.sub(f32x4.sub(m1, m2), m3);
      const s10 = f32x4.add(f32x4.add(m4, m5), m6), s11 = f32x4.sub(f32x4.sub(m5, m6), m7);
      const s20 = f32x4.add(f32x4.add(m8, m9), m10), s21 = f32x4.sub(f32x4.sub(m9, m10), m11);
      const s30 = f32x4.add(f32x4.add(m12, m13), m14), s31 = f32x4.sub(f32x4.sub(m13, m14), m15);
      const b = bias != 0 ? loadChannels(bias + (<usize>o << 2), o, K) : zero;
      let y00 = f32x4.add(f32x4.add(f32x4.add(s00, s10), s20), b);
      let y01 = f32x4.add(f32x4.add(f32x4.add(s01, s11), s21), b);
      let y10 = f32x4.add(f32x4.sub(f32x4.sub(s10, s20), s30), b);
      let y11 = f32x4.add(f32x4.sub(f32x4.sub(s11, s21), s31), b);
      if (relu) {
        y00 = f32x4.max(y00, zero);
        y01 = f32x4.max(y01, zero);
        y10 = f32x4.max(y10, zero);
        y11 = f32x4.max(y11, zero);
      }
      const po = p + (<usize>o << 2);
      storeChannels(po, y00, o, K);
      if (hasCol1) storeChannels(po + pixel, y01, o, K);
      if (hasRow1) {
        const pr = po + <usize>OW * pixel;
        storeChannels(pr, y10, o, K);
        if (hasCol1) storeChannels(pr + pixel, y11, o, K);
      }
    }
  }
}

/**
 * out = conv3x3(x, g) (+ bias, relu), stride 1, dilation 1, with padTop /
 * padLeft zero rows / columns before the input (bottom and right padding
 * follow from OH and OW). u holds filterTransform's result; v and m are
 * scratch of scratchFloats(Tb, Cp) and scratchFloats(Tb, Kp) floats; bias is
 * 0 or K floats.
 */
export function conv3x3(
  x: usize, N: i32, H: i32, W: i32, C: i32,
  u: usize, K: i32, Cp: i32, Kp: i32,
  bias: usize, relu: i32,
  out: usize, OH: i32, OW: i32, padTop: i32, padLeft: i32,
  v: usize, m: usize, Tb: i32,
): void {
  const TH = (OH + 1) >> 1;
  const TW = (OW + 1) >> 1;
  const tiles = N * TH * TW;
  for (let t0 = 0; t0 < tiles; t0 += Tb) {
    const nt = min(Tb, tiles - t0);
    inputTransform(x, H, W, C, Cp, TH, TW, padTop, padLeft, t0, nt, v, Tb);
    multiply(v, u, m, (nt + 3) & ~3, Cp, Kp, Tb, 16);
    outputTransform(m, K, Kp, bias, relu != 0, out, OH, OW, TH, TW, t0, nt, Tb);
  }
}

// ---------------------------------------------------------------------------
// F(4×4, 3×3): Lavin & Gray's second algorithm, 4×4 outputs from a 6×6 patch,
//
//     Bᵀ = | 4  0 -5  0  1  0 |   G = |  1/4     0     0  |   Aᵀ = | 1  1  1  1  1  0 |
//          | 0 -4 -4  1  1  0 |       | -1/6  -1/6  -1/6  |        | 0  1 -1  2 -2  0 |
//          | 0  4 -4 -1  1  0 |       | -1/6   1/6  -1/6  |        | 0  1  1  4  4  0 |
//          | 0 -2 -1  2  1  0 |       |  1/24  1/12  1/6  |        | 0  1 -1  8 -8  1 |
//          | 0  2 -1 -2  1  0 |       |  1/24 -1/12  1/6  |
//          | 0  4  0 -5  0  1 |       |  0     0     1    |
//
// 36 multiplications per 4×4 outputs and channel pair instead of 144: 4×
// less arithmetic than direct convolution (F(2×2, 3×3): 2.25×). The price is
// rounding: the transforms scale by up to 8 and 1/24, so float32 results
// differ from direct convolution by a few times more than F(2×2, 3×3)'s
// (tests/unit/winograd.test.ts bounds both). The same layout as above with
// 36 planes: u [36][Cp][Kp], v [36][Tb][Cp], m [36][Tb][Kp].

/** Floats of scratch for V (cols = Cp) or M (cols = Kp) of F(4×4, 3×3). */
export function scratchFloats36(Tb: i32, cols: i32): i32 {
  return 36 * (Tb * cols + 16) + 36 * 4; // the planes, then the transforms' 36-vector buffer
}

/** U = G g Gᵀ (6×6) for every (c, o) pair, in float64, stored as float32. */
export function filterTransform4(g: usize, C: i32, K: i32, u: usize, Cp: i32, Kp: i32): void {
  const plane = filterPlaneBytes(Cp, Kp);
  memory.fill(u, 0, 36 * plane);
  const tap = <usize>(C * K) << 2;
  for (let c = 0; c < C; c++) {
    for (let o = 0; o < K; o++) {
      const p = g + (<usize>(c * K + o) << 2);
      const g00 = <f64>load<f32>(p), g01 = <f64>load<f32>(p + tap), g02 = <f64>load<f32>(p + 2 * tap);
      const g10 = <f64>load<f32>(p + 3 * tap), g11 = <f64>load<f32>(p + 4 * tap), g12 = <f64>load<f32>(p + 5 * tap);
      const g20 = <f64>load<f32>(p + 6 * tap), g21 = <f64>load<f32>(p + 7 * tap), g22 = <f64>load<f32>(p + 8 * tap);
      const q = u + (<usize>(c * Kp + o) << 2);
      // Rows of t = G g (6×3), then each row times Gᵀ gives a row of U.
      filterRow6(q, plane, 0.25 * g00, 0.25 * g01, 0.25 * g02);
      filterRow6(q + 6 * plane, plane, -(g00 + g10 + g20) / 6, -(g01 + g11 + g21) / 6, -(g02 + g12 + g22) / 6);
      filterRow6(q + 12 * plane, plane, -(g00 - g10 + g20) / 6, -(g01 - g11 + g21) / 6, -(g02 - g12 + g22) / 6);
      filterRow6(q + 18 * plane, plane, g00 / 24 + g10 / 12 + g20 / 6, g01 / 24 + g11 / 12 + g21 / 6, g02 / 24 + g12 / 12 + g22 / 6);
      filterRow6(q + 24 * plane, plane, g00 / 24 - g10 / 12 + g20 / 6, g01 / 24 - g11 / 12 + g21 / 6, g02 / 24 - g12 / 12 + g22 / 6);
      filterRow6(q + 30 * plane, plane, g20, g21, g22);
    }
  }
}

/** One row of U: (t0, t1, t2) Gᵀ, its 6 entries one plane apart. */
// @ts-ignore: decorator
@inline
function filterRow6(q: usize, plane: usize, t0: f64, t1: f64, t2: f64): void {
  store<f32>(q, <f32>(0.25 * t0));
  store<f32>(q + plane, <f32>(-(t0 + t1 + t2) / 6));
  store<f32>(q + 2 * plane, <f32>(-(t0 - t1 + t2) / 6));
  store<f32>(q + 3 * plane, <f32>(t0 / 24 + t1 / 12 + t2 / 6));
  store<f32>(q + 4 * plane, <f32>(t0 / 24 - t1 / 12 + t2 / 6));
  store<f32>(q + 5 * plane, <f32>t2);
}

/** (d0 … d5) B, four channels at a time, its 6 entries stored `step` bytes apart from q. */
// @ts-ignore: decorator
@inline
function inputLine6(q: usize, step: usize, d0: v128, d1: v128, d2: v128, d3: v128, d4: v128, d5: v128): void {
  const two = f32x4.splat(2), four = f32x4.splat(4), five = f32x4.splat(5);
  const a = f32x4.sub(d4, f32x4.mul(four, d2));
  const b = f32x4.sub(d3, f32x4.mul(four, d1));
  const e = f32x4.sub(d4, d2);
  const f = f32x4.mul(two, f32x4.sub(d3, d1));
  v128.store(q, f32x4.add(f32x4.sub(f32x4.mul(four, d0), f32x4.mul(five, d2)), d4));
  v128.store(q + step, f32x4.add(a, b));
  v128.store(q + 2 * step, f32x4.sub(a, b));
  v128.store(q + 3 * step, f32x4.add(e, f));
  v128.store(q + 4 * step, f32x4.sub(e, f));
  v128.store(q + 5 * step, f32x4.add(f32x4.sub(f32x4.mul(four, d1), f32x4.mul(five, d3)), d5));
}

/** Four channels at p when `inside`, else zeros. */
// @ts-ignore: decorator
@inline
function loadIf(inside: bool, p: usize, c: i32, C: i32): v128 {
  return inside ? loadChannels(p, c, C) : f32x4.splat(0);
}

/**
 * Bᵀ d B for the tiles [t0, t0 + nt) into v, in two passes: each patch
 * row's transform (d B) into a small buffer of 36 vectors (576 bytes, past
 * v's 36 planes, so it stays in L1), then each column of that (Bᵀ ·) into the
 * planes. The planes are each written once; transforming in place in them
 * wrote them twice and read them once, and that traffic made F(4×4)'s input
 * transform cost as much as its products at 16 channels (measured).
 */
function inputTransform4(
  x: usize, H: i32, W: i32, C: i32, Cp: i32,
  TH: i32, TW: i32, padTop: i32, padLeft: i32,
  t0: i32, nt: i32, v: usize, Tb: i32,
): void {
  const plane = planeBytes(Tb, Cp);
  const tmp = v + 36 * plane;
  const rowBytes = <usize>(W * C) << 2;
  const cs = <usize>C << 2;
  const whole = (C & 3) == 0;
  // The first tile's place; later tiles step through it (no divisions per tile).
  let n = t0 / (TH * TW);
  let ty = (t0 - n * TH * TW) / TW;
  let tx = t0 - n * TH * TW - ty * TW;
  for (let tl = 0; tl < nt; tl++) {
    const y0 = 4 * ty - padTop;
    const x0 = 4 * tx - padLeft;
    // Bit i set: patch row (column) i lies inside the image.
    let rows = 0, cols = 0;
    for (let i = 0; i < 6; i++) {
      if (y0 + i >= 0 && y0 + i < H) rows |= 1 << i;
      if (x0 + i >= 0 && x0 + i < W) cols |= 1 << i;
    }
    const img = x + <usize>(n * H * W * C) * 4;
    const p00 = img + <usize>(y0 * W + x0) * (<usize>C << 2);
    const out = v + (<usize>(tl * Cp) << 2);
    const inside = whole && rows == 63 && cols == 63;
    for (let c = 0; c < Cp; c += 4) {
      const pc = p00 + (<usize>c << 2);
      const q = out + (<usize>c << 2);
      if (inside) {
        for (let i = 0; i < 6; i++) {
          const pr = pc + <usize>i * rowBytes;
          inputLine6(tmp + <usize>(96 * i), 16,
            v128.load(pr), v128.load(pr + cs), v128.load(pr + 2 * cs),
            v128.load(pr + 3 * cs), v128.load(pr + 4 * cs), v128.load(pr + 5 * cs));
        }
      } else {
        for (let i = 0; i < 6; i++) {
          const pr = pc + <usize>i * rowBytes;
          const qr = tmp + <usize>(96 * i);
          if ((rows >> i) & 1) {
            inputLine6(qr, 16,
              loadIf((cols & 1) != 0, pr, c, C), loadIf((cols & 2) != 0, pr + cs, c, C),
              loadIf((cols & 4) != 0, pr + 2 * cs, c, C), loadIf((cols & 8) != 0, pr + 3 * cs, c, C),
              loadIf((cols & 16) != 0, pr + 4 * cs, c, C), loadIf((cols & 32) != 0, pr + 5 * cs, c, C));
          } else {
            const zero = f32x4.splat(0);
            for (let j = 0; j < 6; j++) v128.store(qr + <usize>(16 * j), zero);
          }
        }
      }
      const step: usize = 6 * plane;
      for (let j = 0; j < 6; j++) {
        const tc = tmp + <usize>(16 * j);
        inputLine6(q + <usize>j * plane, step,
          v128.load(tc), v128.load(tc, 96), v128.load(tc, 192),
          v128.load(tc, 288), v128.load(tc, 384), v128.load(tc, 480));
      }
    }
    if (++tx == TW) {
      tx = 0;
      if (++ty == TH) {
        ty = 0;
        n++;
      }
    }
  }
}

/**
 * Y = Aᵀ M A (+ bias, relu) for the block's tiles, written where inside the
 * output: first Aᵀ · over each of the 6 columns into a buffer of 24 vectors
 * past m's 36 planes (rows i < 4), then · A along each of the 4 rows.
 */
function outputTransform4(
  m: usize, K: i32, Kp: i32, bias: usize, relu: bool,
  out: usize, OH: i32, OW: i32, TH: i32, TW: i32,
  t0: i32, nt: i32, Tb: i32,
): void {
  const plane = planeBytes(Tb, Kp);
  const tmp = m + 36 * plane;
  const zero = f32x4.splat(0);
  const two = f32x4.splat(2), four = f32x4.splat(4), eight = f32x4.splat(8);
  const pixel = <usize>K << 2;
  const step: usize = 6 * plane;
  let n = t0 / (TH * TW);
  let ty = (t0 - n * TH * TW) / TW;
  let tx = t0 - n * TH * TW - ty * TW;
  for (let tl = 0; tl < nt; tl++) {
    const oy = 4 * ty;
    const ox = 4 * tx;
    const rows = min(4, OH - oy);
    const cols = min(4, OW - ox);
    const p = out + (<usize>((n * OH + oy) * OW + ox) * K << 2);
    const src = m + (<usize>(tl * Kp) << 2);
    for (let o = 0; o < K; o += 4) {
      const q = src + (<usize>o << 2);
      for (let j = 0; j < 6; j++) {
        const qc = q + <usize>j * plane;
        const m0 = v128.load(qc), m1 = v128.load(qc + step), m2 = v128.load(qc + 2 * step);
        const m3 = v128.load(qc + 3 * step), m4 = v128.load(qc + 4 * step), m5 = v128.load(qc + 5 * step);
        const a = f32x4.add(m1, m2), b = f32x4.sub(m1, m2);
        const e = f32x4.add(m3, m4), f = f32x4.sub(m3, m4);
        const tc = tmp + <usize>(16 * j);
        v128.store(tc, f32x4.add(f32x4.add(m0, a), e));
        v128.store(tc, f32x4.add(b, f32x4.mul(two, f)), 96);
        v128.store(tc, f32x4.add(a, f32x4.mul(four, e)), 192);
        v128.store(tc, f32x4.add(f32x4.add(b, f32x4.mul(eight, f)), m5), 288);
      }
      const bv = bias != 0 ? loadChannels(bias + (<usize>o << 2), o, K) : zero;
      for (let i = 0; i < rows; i++) {
        const qr = tmp + <usize>(96 * i);
        const m0 = v128.load(qr), m1 = v128.load(qr, 16), m2 = v128.load(qr, 32);
        const m3 = v128.load(qr, 48), m4 = v128.load(qr, 64), m5 = v128.load(qr, 80);
        const a = f32x4.add(m1, m2), b = f32x4.sub(m1, m2);
        const e = f32x4.add(m3, m4), f = f32x4.sub(m3, m4);
        let y0 = f32x4.add(f32x4.add(f32x4.add(m0, a), e), bv);
        let y1 = f32x4.add(f32x4.add(b, f32x4.mul(two, f)), bv);
        let y2 = f32x4.add(f32x4.add(a, f32x4.mul(four, e)), bv);
        let y3 = f32x4.add(f32x4.add(f32x4.add(b, f32x4.mul(eight, f)), m5), bv);
        if (relu) {
          y0 = f32x4.max(y0, zero);
          y1 = f32x4.max(y1, zero);
          y2 = f32x4.max(y2, zero);
          y3 = f32x4.max(y3, zero);
        }
        const po = p + <usize>i * <usize>OW * pixel + (<usize>o << 2);
        storeChannels(po, y0, o, K);
        if (cols > 1) storeChannels(po + pixel, y1, o, K);
        if (cols > 2) storeChannels(po + 2 * pixel, y2, o, K);
        if (cols > 3) storeChannels(po + 3 * pixel, y3, o, K);
      }
    }
    if (++tx == TW) {
      tx = 0;
      if (++ty == TH) {
        ty = 0;
        n++;
      }
    }
  }
}

/** As conv3x3, with F(4×4, 3×3): u from filterTransform4, v and m of scratchFloats36. */
export function conv3x3f4(
  x: usize, N: i32, H: i32, W: i32, C: i32,
  u: usize, K: i32, Cp: i32, Kp: i32,
  bias: usize, relu: i32,
  out: usize, OH: i32, OW: i32, padTop: i32, padLeft: i32,
  v: usize, m: usize, Tb: i32,
): void {
  const TH = (OH + 3) >> 2;
  const TW = (OW + 3) >> 2;
  const tiles = N * TH * TW;
  for (let t0 = 0; t0 < tiles; t0 += Tb) {
    const nt = min(Tb, tiles - t0);
    inputTransform4(x, H, W, C, Cp, TH, TW, padTop, padLeft, t0, nt, v, Tb);
    multiply(v, u, m, (nt + 3) & ~3, Cp, Kp, Tb, 36);
    outputTransform4(m, K, Kp, bias, relu != 0, out, OH, OW, TH, TW, t0, nt, Tb);
  }
}

// ---------------------------------------------------------------------------
// Direct convolution as one matrix product (im2col), for what Winograd does
// not cover: the stride-2 3×3 convolutions and the 1×1 projections of the
// ResNets' downsampling blocks. For a block of Tb output pixels, V [Tb][D]
// holds each pixel's receptive field (D = kh·kw·C values in the filter's
// [fy][fx][c] order, zeros over the padding); the filter is already the
// matrix [D][K] in tfjs's layout, padded to u [D][Kp]; M = V · u [Tb][Kp]
// runs in the same micro-kernel as Winograd's products (one plane of depth D
// instead of 16 or 36 of depth Cp), then bias, ReLU, store.

/** u [D][Kp] = g [D][K] with K padded by zero columns to Kp. */
export function filterPad(g: usize, D: i32, K: i32, u: usize, Kp: i32): void {
  memory.fill(u, 0, <usize>(D * Kp) << 2);
  for (let d = 0; d < D; d++) {
    memory.copy(u + (<usize>(d * Kp) << 2), g + (<usize>(d * K) << 2), <usize>K << 2);
  }
}

/** Floats of scratch for V (cols = D) or M (cols = Kp) of the direct convolution: one plane. */
export function directScratchFloats(Tb: i32, cols: i32): i32 {
  return Tb * cols + 16;
}

/**
 * out = conv(x, g) (+ bias, relu) for a kh×kw filter, strides sh × sw,
 * dilation 1, padTop / padLeft zero rows / columns before the input; u from
 * filterPad; v and m of directScratchFloats(Tb, kh·kw·C) and (Tb, Kp) floats.
 */
export function convDirect(
  x: usize, N: i32, H: i32, W: i32, C: i32,
  u: usize, K: i32, Kp: i32, kh: i32, kw: i32, sh: i32, sw: i32,
  bias: usize, relu: i32,
  out: usize, OH: i32, OW: i32, padTop: i32, padLeft: i32,
  v: usize, m: usize, Tb: i32,
): void {
  const D = kh * kw * C;
  const row = <usize>D << 2;
  const channels = <usize>C << 2;
  const pixels = N * OH * OW;
  const zero = f32x4.splat(0);
  for (let t0 = 0; t0 < pixels; t0 += Tb) {
    const nt = min(Tb, pixels - t0);
    // im2col: the receptive field of each output pixel of the block.
    let n = t0 / (OH * OW);
    let oy = (t0 - n * OH * OW) / OW;
    let ox = t0 - n * OH * OW - oy * OW;
    for (let tl = 0; tl < nt; tl++) {
      let dst = v + <usize>tl * row;
      for (let fy = 0; fy < kh; fy++) {
        const iy = oy * sh - padTop + fy;
        for (let fx = 0; fx < kw; fx++) {
          const ix = ox * sw - padLeft + fx;
          if (iy >= 0 && iy < H && ix >= 0 && ix < W) {
            const src = x + (<usize>((n * H + iy) * W + ix) * C << 2);
            let c = 0;
            for (; c + 4 <= C; c += 4) v128.store(dst + (<usize>c << 2), v128.load(src + (<usize>c << 2)));
            for (; c < C; c++) store<f32>(dst + (<usize>c << 2), load<f32>(src + (<usize>c << 2)));
          } else {
            memory.fill(dst, 0, channels);
          }
          dst += channels;
        }
      }
      if (++ox == OW) {
        ox = 0;
        if (++oy == OH) {
          oy = 0;
          n++;
        }
      }
    }
    multiply(v, u, m, (nt + 3) & ~3, D, Kp, Tb, 1);
    for (let tl = 0; tl < nt; tl++) {
      const src = m + (<usize>(tl * Kp) << 2);
      const p = out + (<usize>((t0 + tl) * K) << 2);
      for (let o = 0; o < K; o += 4) {
        let y = v128.load(src + (<usize>o << 2));
        if (bias != 0) y = f32x4.add(y, loadChannels(bias + (<usize>o << 2), o, K));
        if (relu != 0) y = f32x4.max(y, zero);
        storeChannels(p + (<usize>o << 2), y, o, K);
      }
    }
  }
}
