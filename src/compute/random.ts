/**
 * Seeded pseudo-random numbers, the one source of randomness in src/compute:
 * weight initialisation, data shuffling and augmentation, loss-landscape
 * directions. Plain JavaScript, so a seed gives the same numbers on every
 * backend and in every runtime.
 */

/** A stream of pseudo-random numbers from one seed. */
export interface Rng {
  /** Uniform on [0, 1). */
  uniform(): number;
  /** Standard normal N(0, 1). */
  normal(): number;
  /** Uniform integer on [0, n). */
  int(n: number): number;
  /**
   * out[i] = normal() · std for every i, the same numbers as calling normal()
   * out.length times, in one tight loop (several times faster for the
   * millions of weights a deep network draws).
   */
  fillNormal(out: Float32Array | Float64Array, std?: number): void;
}

/**
 * sfc32 seeded through splitmix32: small, fast, and passes PractRand far beyond
 * anything a figure draws. Seeds are 32-bit integers; other numbers are folded in.
 */
export function createRng(seed: number): Rng {
  let s = (Math.floor(seed) ^ 0x9e3779b9) >>> 0;
  const splitmix = (): number => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = splitmix();
  let b = splitmix();
  let c = splitmix();
  let d = splitmix();
  const next32 = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  for (let i = 0; i < 12; i++) next32();
  const uniform = (): number => next32() / 4294967296;
  let spare: number | null = null;
  // Box–Muller: two uniforms give two independent normals; keep the second.
  const normal = (): number => {
    if (spare !== null) {
      const v = spare;
      spare = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    const theta = 2 * Math.PI * uniform();
    spare = r * Math.sin(theta);
    return r * Math.cos(theta);
  };
  return {
    uniform,
    normal,
    fillNormal(out: Float32Array | Float64Array, std = 1): void {
      let i = 0;
      const n = out.length;
      if (n > 0 && spare !== null) out[i++] = normal() * std;
      // The pairs run next32 on local copies of the state, written back
      // after: the same steps and numbers, but in registers. Kept in the
      // closure's context, each step loaded and stored four tagged slots
      // (an int32 beyond a small integer, 31 bits where pointers are
      // compressed as in Chromium, may be boxed as a heap number), and this
      // loop ran about twice as slowly in Chromium's workers, 1.5 times in
      // Node (500k normals: 22 → 9–14 ms and 18–29 → 12–19 ms, under load).
      let sa = a;
      let sb = b;
      let sc = c;
      let sd = d;
      let t: number;
      // Pairs, as normal() makes them: cos into out[i], sin into out[i + 1].
      for (; i + 1 < n; i += 2) {
        let u = 0;
        while (u === 0) {
          // next32()
          t = (((sa + sb) | 0) + sd) | 0;
          sd = (sd + 1) | 0;
          sa = sb ^ (sb >>> 9);
          sb = (sc + (sc << 3)) | 0;
          sc = (sc << 21) | (sc >>> 11);
          sc = (sc + t) | 0;
          u = (t >>> 0) / 4294967296;
        }
        const r = Math.sqrt(-2 * Math.log(u));
        // next32()
        t = (((sa + sb) | 0) + sd) | 0;
        sd = (sd + 1) | 0;
        sa = sb ^ (sb >>> 9);
        sb = (sc + (sc << 3)) | 0;
        sc = (sc << 21) | (sc >>> 11);
        sc = (sc + t) | 0;
        const theta = 2 * Math.PI * ((t >>> 0) / 4294967296);
        out[i] = r * Math.cos(theta) * std;
        out[i + 1] = r * Math.sin(theta) * std;
      }
      a = sa;
      b = sb;
      c = sc;
      d = sd;
      if (i < n) out[i] = normal() * std;
    },
    int(n: number): number {
      return Math.floor(uniform() * n);
    },
  };
}

/** A seeded child seed, so independent streams (init, shuffle, augment) never share numbers. */
export function deriveSeed(seed: number, stream: string): number {
  let h = (Math.floor(seed) ^ 0x811c9dc5) >>> 0;
  for (let i = 0; i < stream.length; i++) {
    h = Math.imul(h ^ stream.charCodeAt(i), 0x01000193) >>> 0;
  }
  return h;
}

/** n samples of N(0, std²). */
export function normalArray(n: number, rng: Rng, std = 1): Float32Array {
  const out = new Float32Array(n);
  rng.fillNormal(out, std);
  return out;
}

/** A uniformly random permutation of 0..n-1 (Fisher–Yates). */
export function permutation(n: number, rng: Rng): Uint32Array {
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = p[i]!;
    p[i] = p[j]!;
    p[j] = t;
  }
  return p;
}
