/**
 * One weight draw's forward and backward pass for the signal statistics, in
 * the WebAssembly SIMD kernel of assembly/signals.ts (built into
 * signals-wasm-bytes.ts by `npm run build:wasm`): the same equations as
 * propagate.ts (tfjs), which the depth diagnostics use and the tests compare
 * this with, but only what the statistics need leaves the kernel: each
 * layer's Σh and Σh² (float64) and the histogram layers' first inputs.
 *
 *   plain, t = 0 … T−1:
 *     forward   s^t = BN?(z^t W^t),  z^{t+1} = f(s^t)                        (G&B eqs. 1–2)
 *     backward  ∂L/∂s^t = f'(s^t) ⊙ ∂L/∂z^{t+1},  ∂L/∂z^t = BN'(∂L/∂s^t) W^tᵀ  (G&B eq. 3)
 *   residual, t = 0 … T−1:
 *     forward   x_0 = x W_in,  x_{t+1} = x_t + α·BN?(f(x_t) W_t)              (seed 003, eq. 2)
 *     backward  ∂L/∂x_t = ∂L/∂x_{t+1} + α·f'(x_t) ⊙ (BN'(∂L/∂x_{t+1}) W_tᵀ)
 *
 * Why not tfjs (bench/README.md, "Signals at initialisation"): at the figure's
 * size (T = 50, d = 100, N = 256) a layer is a [256, 100] × [100, 100]
 * product, 5 MFLOP, and tfjs-wasm spent several times that layer's
 * arithmetic on dispatching its ops, a tensor per intermediate, and reading
 * every layer back to JavaScript for its sums; its tanh alone ran at about
 * 30 ns a value. Here the layers stay in the kernel's memory.
 *
 * Everything here is synchronous once the kernel is compiled, so two draws
 * never share its memory at once.
 */
import { BATCH_NORM_EPSILON } from '../tfjs-fixes/batch-norm';
import type { Activation } from '../models/types';
import type { SignalNetwork } from './network';
import { wasmBuild, type WasmLevel } from '../wasm-build';
import { signalsWasm } from './signals-wasm-bytes';

interface SignalsExports {
  memory: WebAssembly.Memory;
  heapBase(): number;
  matMul(a: number, w: number, out: number, Np: number, dp: number): void;
  transpose(w: number, wt: number, dp: number): void;
  activate(kind: number, h: number, out: number, n: number): void;
  multiplySlope(kind: number, h: number, fh: number, g: number, out: number, n: number): void;
  batchNormForward(u: number, N: number, d: number, dp: number, eps: number, invStd: number): void;
  batchNormBackward(
    dy: number,
    y: number,
    invStd: number,
    out: number,
    N: number,
    d: number,
    dp: number,
  ): void;
  addScaled(x: number, b: number, alpha: number, n: number): void;
  moments(v: number, N: number, d: number, dp: number, sums: number): void;
}

/** The kernel's activation codes (assembly/signals.ts). */
const ACTIVATION_CODE: Record<Activation, number> = {
  linear: 0,
  relu: 1,
  tanh: 2,
  sigmoid: 3,
  selu: 4,
};

/** What one draw's pass measured. */
export interface SignalPassResult {
  /** Per layer h_t: Σh and Σh² over units and inputs, in float64. */
  forwardSum: number[];
  forwardSumSq: number[];
  /** The same for ∂L/∂h_t. */
  backwardSum: number[];
  backwardSumSq: number[];
  /**
   * Per histogram layer: h_t, ∂L/∂h_t and f(h_t) of the first histogramInputs
   * inputs, [inputs, d]; views into one buffer.
   */
  signal: Float32Array[];
  gradient: Float32Array[];
  activation: Float32Array[];
  /** ms spent copying into and out of the kernel's memory (the rest is the pass). */
  copyMs: number;
}

const PAGE = 65536;
/** wasm32's whole address space. */
const MAX_BYTES = 4 * 1024 ** 3;
const roundUp = (n: number, to: number): number => Math.ceil(n / to) * to;

/** Floats of one draw's histogram samples: h_t, f(h_t) and ∂L/∂h_t of each histogram layer. */
export function signalSampleLength(layers: number, inputs: number, width: number): number {
  return 3 * layers * inputs * width;
}

/** The kernel of each build asked for ('auto': wasmBuild's choice). */
const kernels = new Map<WasmLevel | 'auto', Promise<SignalsExports>>();

/** Compile and instantiate a build once (async: browsers refuse large sync compiles). */
function signalsKernel(level?: WasmLevel): Promise<SignalsExports> {
  let kernel = kernels.get(level ?? 'auto');
  if (!kernel) {
    kernel = WebAssembly.instantiate(wasmBuild(signalsWasm, level).bytes, {
      env: {
        abort: () => {
          throw new Error('signals.wasm aborted');
        },
      },
    }).then(({ instance }) => instance.exports as unknown as SignalsExports);
    kernels.set(level ?? 'auto', kernel);
  }
  return kernel;
}

/**
 * The forward and backward pass of `network` for one draw's weights.
 *
 * @param weights per weight layer in forward order (weightNames), [d, d] row-major ([in, out])
 * @param input [N, d], the inputs x
 * @param topGradient [N, d]: G, ∂L/∂(last hidden output)
 * @param histogramLayers indices (into the layers h_t) whose values come back
 * @param histogramInputs how many of the first inputs of those layers come back
 */
export async function signalPass(options: {
  network: SignalNetwork;
  weights: readonly Float32Array[];
  input: Float32Array;
  topGradient: Float32Array;
  batch: number;
  histogramLayers: readonly number[];
  histogramInputs: number;
  /**
   * Where the samples go, at least signalSampleLength floats (a worker
   * reuses one per draw); default a new array.
   */
  samples?: Float32Array;
  /** Which build of the kernel (default: the relaxed-SIMD one where the engine takes it). */
  wasmLevel?: WasmLevel;
}): Promise<SignalPassResult> {
  const wasm = await signalsKernel(options.wasmLevel);
  const { network, weights, batch: N, histogramInputs } = options;
  const { depth: T, width: d, batchNorm } = network;
  const residual = network.residualAlpha !== null;
  const alpha = Math.fround(network.residualAlpha ?? 1);
  const kind = ACTIVATION_CODE[network.activation];
  const layers = T + (residual ? 1 : 0);
  if (weights.length !== layers)
    throw new Error(`signalPass: ${layers} weight matrices expected, got ${weights.length}`);
  if (options.input.length !== N * d || options.topGradient.length !== N * d)
    throw new Error(`signalPass: the input and top gradient must be [${N}, ${d}]`);

  // Byte offsets in the kernel's memory, 16-byte aligned.
  const Np = roundUp(N, 4);
  const dp = roundUp(d, 4);
  const size = Np * dp;
  let at = roundUp(wasm.heapBase(), 16);
  const take = (floats: number): number => {
    const p = at;
    at += roundUp(floats * 4, 16);
    return p;
  };
  const W = take(layers * dp * dp);
  const Wt = take(dp * dp);
  /** Every layer's h_t (the backward pass needs f'(h_t)). */
  const H = take(layers * size);
  /** Residual with BN: each block's BN output y, which BN's gradient needs (plain: y = h_t). */
  const Y = residual && batchNorm ? take(T * size) : 0;
  const invStd = batchNorm ? take(T * dp) : 0;
  /**
   * f(h_t) of every layer where the slope needs it (tanh, sigmoid, SELU:
   * computing it once costs less than a second time), else one layer's.
   */
  const keepActivations = kind >= ACTIVATION_CODE.tanh;
  const F = take((keepActivations ? layers : 1) * size);
  const input = take(size);
  const G = take(size);
  const G2 = take(size);
  const G3 = take(size);
  const sums = take(4);
  if (at > MAX_BYTES)
    throw new RangeError(
      `signals: ${Math.round(at / 1024 ** 2)} MB of layers (T = ${T}, d = ${d}, N = ${N}) exceed WebAssembly's 4 GB`,
    );
  const missing = at - wasm.memory.buffer.byteLength;
  if (missing > 0) {
    try {
      wasm.memory.grow(Math.ceil(missing / PAGE));
    } catch (e) {
      throw new RangeError(
        `signals: could not allocate ${Math.round(at / 1024 ** 2)} MB for T = ${T}, d = ${d}, N = ${N}`,
        { cause: e },
      );
    }
  }
  const heap = new Float32Array(wasm.memory.buffer);
  const sum64 = new Float64Array(wasm.memory.buffer, sums, 4);

  let copyMs = 0;
  const copyStart = performance.now();
  /** Copy [rows, cols] row-major into [., stride] at byte offset p, padding with zeros. */
  const put = (values: Float32Array, p: number, rows: number, cols: number, stride: number) => {
    const base = p / 4;
    if (cols === stride) heap.set(values, base);
    else
      for (let i = 0; i < rows; i++)
        heap.set(values.subarray(i * cols, (i + 1) * cols), base + i * stride);
  };
  const clear = (p: number, floats: number) => heap.fill(0, p / 4, p / 4 + floats);
  // Zero the weights' and inputs' padding (the memory is reused between draws).
  if (dp !== d) clear(W, layers * dp * dp);
  weights.forEach((w, l) => put(w, W + l * dp * dp * 4, d, d, dp));
  if (dp !== d || Np !== N) {
    clear(input, size);
    clear(G, size);
  }
  put(options.input, input, N, d, dp);
  put(options.topGradient, G, N, d, dp);

  const histogramSlot = new Map(options.histogramLayers.map((l, i) => [l, i]));
  const signal: Float32Array[] = new Array<Float32Array>(histogramSlot.size);
  const gradient: Float32Array[] = new Array<Float32Array>(histogramSlot.size);
  const activation: Float32Array[] = new Array<Float32Array>(histogramSlot.size);
  // Every histogram sample of the draw in one array, the histograms' views
  // into it: Chromium allocates an ArrayBuffer slowly (0.4–2 ms for 100 kB
  // when loaded), and 18 per draw cost as much as the pass.
  const sampleSize = histogramInputs * d;
  const sampleLength = signalSampleLength(histogramSlot.size, histogramInputs, d);
  if (options.samples && options.samples.length < sampleLength)
    throw new RangeError(
      `signalPass: ${sampleLength} samples do not fit in ${options.samples.length}`,
    );
  const samples = options.samples ?? new Float32Array(sampleLength);
  let nextSample = 0;
  /** The first histogramInputs rows and d columns of the layer at byte offset p. */
  const take2d = (p: number): Float32Array => {
    const start = performance.now();
    const out = samples.subarray(nextSample, nextSample + sampleSize);
    nextSample += sampleSize;
    const base = p / 4;
    if (dp === d) out.set(heap.subarray(base, base + sampleSize));
    else
      for (let i = 0; i < histogramInputs; i++)
        out.set(heap.subarray(base + i * dp, base + i * dp + d), i * d);
    copyMs += performance.now() - start;
    return out;
  };
  const forwardSum = new Array<number>(layers);
  const forwardSumSq = new Array<number>(layers);
  const backwardSum = new Array<number>(layers);
  const backwardSumSq = new Array<number>(layers);
  const h = (t: number) => H + t * size * 4;
  const f = (t: number) => (keepActivations ? F + t * size * 4 : F);
  copyMs += performance.now() - copyStart;

  /** h_t's sums, f(h_t), and h_t's and f(h_t)'s histogram samples. */
  const recordForward = (t: number) => {
    wasm.moments(h(t), N, d, dp, sums);
    forwardSum[t] = sum64[0]!;
    forwardSumSq[t] = sum64[1]!;
    wasm.activate(kind, h(t), f(t), size);
    const slot = histogramSlot.get(t);
    if (slot !== undefined) {
      signal[slot] = take2d(h(t));
      activation[slot] = take2d(f(t));
    }
  };
  const recordBackward = (t: number, g: number) => {
    wasm.moments(g, N, d, dp, sums);
    backwardSum[t] = sum64[0]!;
    backwardSumSq[t] = sum64[1]!;
    const slot = histogramSlot.get(t);
    if (slot !== undefined) gradient[slot] = take2d(g);
  };
  const eps = BATCH_NORM_EPSILON;

  if (!residual) {
    // Forward: h_t = s^t = BN?(z^t W^t), f(h_t) = z^{t+1}.
    for (let t = 0; t < T; t++) {
      wasm.matMul(t === 0 ? input : f(t - 1), W + t * dp * dp * 4, h(t), Np, dp);
      if (batchNorm) wasm.batchNormForward(h(t), N, d, dp, eps, invStd + t * dp * 4);
      recordForward(t);
    }
    // Backward: G holds ∂L/∂z^{t+1}, G2 gets ∂L/∂s^t.
    for (let t = T - 1; t >= 0; t--) {
      wasm.multiplySlope(kind, h(t), f(t), G, G2, size);
      recordBackward(t, G2);
      if (t === 0) break;
      let back = G2;
      if (batchNorm) {
        wasm.batchNormBackward(G2, h(t), invStd + t * dp * 4, G3, N, d, dp);
        back = G3;
      }
      wasm.transpose(W + t * dp * dp * 4, Wt, dp);
      wasm.matMul(back, Wt, G, Np, dp);
    }
  } else {
    // Forward: h_t = x_t; branch_t = BN?(f(x_t) W_t) into Y[t] (or G2), x_{t+1} = x_t + α·branch_t.
    wasm.matMul(input, W, h(0), Np, dp);
    for (let t = 0; t < T; t++) {
      recordForward(t);
      const branch = batchNorm ? Y + t * size * 4 : G2;
      wasm.matMul(f(t), W + (t + 1) * dp * dp * 4, branch, Np, dp);
      if (batchNorm) wasm.batchNormForward(branch, N, d, dp, eps, invStd + t * dp * 4);
      heap.copyWithin(h(t + 1) / 4, h(t) / 4, h(t) / 4 + size);
      wasm.addScaled(h(t + 1), branch, alpha, size);
    }
    recordForward(T);
    // Backward: G holds ∂L/∂x_{t+1}; G3 = BN'(G)·W_tᵀ, then G += α·f'(x_t) ⊙ G3.
    recordBackward(T, G);
    for (let t = T - 1; t >= 0; t--) {
      let back = G;
      if (batchNorm) {
        wasm.batchNormBackward(G, Y + t * size * 4, invStd + t * dp * 4, G2, N, d, dp);
        back = G2;
      }
      wasm.transpose(W + (t + 1) * dp * dp * 4, Wt, dp);
      wasm.matMul(back, Wt, G3, Np, dp);
      wasm.multiplySlope(kind, h(t), f(t), G3, G3, size);
      wasm.addScaled(G, G3, alpha, size);
      recordBackward(t, G);
    }
  }
  return {
    forwardSum,
    forwardSumSq,
    backwardSum,
    backwardSumSq,
    signal,
    gradient,
    activation,
    copyMs,
  };
}
