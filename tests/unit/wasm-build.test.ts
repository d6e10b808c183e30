/**
 * The two builds of each WebAssembly kernel (src/compute/wasm-build.ts): Node
 * runs the relaxed-SIMD build, an engine that rejects it the SIMD build, and
 * the two agree to float32 rounding. (Each build against tfjs: winograd.test.ts
 * and signals.test.ts run their comparisons on both.)
 */
import { describe, expect, it, vi } from 'vitest';
import { signalsWasm } from '../../src/compute/signals/signals-wasm-bytes';
import { decodeBase64, wasmBuild, WASM_LEVELS } from '../../src/compute/wasm-build';
import { WinogradKernel } from '../../src/compute/winograd';
import { winogradWasm } from '../../src/compute/winograd/wasm-bytes';
import { createRng, normalArray } from '../../src/compute/random';

describe('wasmBuild', () => {
  it('runs the relaxed-SIMD build where the engine validates it (Node 22 does)', () => {
    for (const builds of [winogradWasm, signalsWasm]) {
      expect(WebAssembly.validate(decodeBase64(builds.simd))).toBe(true);
      expect(WebAssembly.validate(decodeBase64(builds.relaxed))).toBe(true);
      expect(wasmBuild(builds).level).toBe('relaxed');
      for (const level of WASM_LEVELS) {
        const build = wasmBuild(builds, level);
        expect(build.level).toBe(level);
        expect(build.bytes).toEqual(decodeBase64(builds[level]));
      }
    }
  });

  it('falls back to the SIMD build where relaxed SIMD does not validate', () => {
    const relaxed = decodeBase64(winogradWasm.relaxed);
    const validate = vi
      .spyOn(WebAssembly, 'validate')
      .mockImplementation((bytes) => !(bytes as Uint8Array).every((b, i) => b === relaxed[i]));
    try {
      const build = wasmBuild(winogradWasm);
      expect(build.level).toBe('simd');
      expect(build.bytes).toEqual(decodeBase64(winogradWasm.simd));
    } finally {
      validate.mockRestore();
    }
  });

  it('the builds differ only in the products: F(4×4, 3×3) agrees to float32 rounding', async () => {
    const [relaxed, simd] = await Promise.all([
      WinogradKernel.create('relaxed'),
      WinogradKernel.create('simd'),
    ]);
    expect([relaxed.level, simd.level]).toEqual(['relaxed', 'simd']);
    const rng = createRng(3);
    const xShape = [2, 14, 14, 32] as const;
    const x = normalArray(2 * 14 * 14 * 32, rng);
    const filter = normalArray(3 * 3 * 32 * 32, rng);
    const run = (kernel: WinogradKernel) => {
      const out = new Float32Array(2 * 14 * 14 * 32);
      kernel.conv3x3({
        x,
        xShape,
        filter,
        outChannels: 32,
        bias: null,
        relu: false,
        padTop: 1,
        padLeft: 1,
        outHeight: 14,
        outWidth: 14,
        out,
        tile: 4,
      });
      return out;
    };
    const a = run(relaxed);
    const b = run(simd);
    const scale = Math.max(...Array.from(b, Math.abs));
    // A sum of 288 products of N(0, 1)s, each rounding step ≤ 2⁻²⁴ of a partial sum.
    a.forEach((v, i) => expect(Math.abs(v - b[i]!)).toBeLessThanOrEqual(1e-5 * scale));
  });
});
