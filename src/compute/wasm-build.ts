/**
 * Which build of a WebAssembly kernel to run. scripts/build-wasm.mjs builds
 * each kernel (assembly/*.ts) twice: with SIMD, which every engine that runs
 * the site's wasm paths has, and with relaxed SIMD as well, whose
 * f32x4.relaxed_madd is one fused multiply-add on a CPU that has one (x86
 * with FMA3, every ARM64). Chromium and Node accept relaxed SIMD; engines
 * that do not reject the module when it is validated, and run the SIMD build.
 *
 * The two builds differ only in the products' rounding: a fused a·b + s is
 * rounded once, a product then a sum twice. Results agree to float32 rounding
 * (tests/unit/wasm-build.test.ts), not bit for bit; within one build on one
 * machine every run gives the same bits.
 */

/** 'relaxed': SIMD and relaxed SIMD; 'simd': SIMD only. */
export type WasmLevel = 'relaxed' | 'simd';
export const WASM_LEVELS: readonly WasmLevel[] = ['relaxed', 'simd'];

/** A kernel's builds, base64 (the generated *wasm-bytes.ts files). */
export type WasmBuilds = Record<WasmLevel, string>;

export function decodeBase64(s: string): Uint8Array<ArrayBuffer> {
  const text = atob(s);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

/**
 * The bytes of the build to run, and which it is: `level` when given (tests
 * and benchmarks compare the two), else the relaxed build where this engine
 * validates it, else the SIMD build.
 */
export function wasmBuild(
  builds: WasmBuilds,
  level?: WasmLevel,
): { bytes: Uint8Array<ArrayBuffer>; level: WasmLevel } {
  if (level) return { bytes: decodeBase64(builds[level]), level };
  const relaxed = decodeBase64(builds.relaxed);
  if (WebAssembly.validate(relaxed)) return { bytes: relaxed, level: 'relaxed' };
  return { bytes: decodeBase64(builds.simd), level: 'simd' };
}
