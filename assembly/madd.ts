// The products' step, shared by the kernels (winograd.ts, signals.ts).

/**
 * s + a·w. In the relaxed-SIMD build (scripts/build-wasm.mjs builds the module
 * both ways; src/compute/wasm-build.ts runs that one where the engine accepts
 * it) one fused multiply-add where the CPU has one, rounded once, which
 * takes the place of two instructions in the products' loops (bench/README.md,
 * "Fused multiply-add"). Elsewhere a product and a sum, each rounded.
 */
// @ts-ignore: decorator
@inline
export function madd(a: v128, w: v128, s: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, w, s);
  return f32x4.add(s, f32x4.mul(a, w));
}
