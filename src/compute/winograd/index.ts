/**
 * Winograd F(2×2, 3×3) convolution as the wasm backend's Conv2D and
 * FusedConv2D kernels, for 3×3, stride-1, dilation-1 NHWC float32
 * convolutions with at least 4 input channels; every other convolution goes
 * to tfjs's own kernel, saved when ours is installed. Measured against it in
 * bench/winograd-bench.ts (bench/README.md).
 *
 * Conv2D is what runs under a gradient tape (training, Hessian-vector
 * products); our Conv2D gradient (tfjs-fixes/conv2d-gradient.ts) is written
 * with forward convolutions, so the input gradient of a 3×3 stride-1
 * convolution, itself a 3×3 stride-1 convolution with the rotated filter,
 * comes here too. FusedConv2D (bias + linear / relu) is what inference runs
 * (models/graph.ts fuses when nothing is recorded). Strided FusedConv2Ds
 * (the ResNets' stride-2 3×3 convolutions and 1×1 projections, in
 * inference) go to a direct kernel of ours, im2col and the same product
 * micro-kernel: 1.6–2.3× tfjs's speed in bench/winograd-bench.ts.
 *
 *   installed by backend.ts when the wasm backend starts, unless turned off
 *   (initBackend({ winograd: false }), SKIPSCAPE_WINOGRAD=0 in Node,
 *   PUBLIC_SKIPSCAPE_WINOGRAD=0 when the site is built)
 */
import * as tf from '@tensorflow/tfjs-core';
import type { WasmLevel } from '../wasm-build';
import { WinogradKernel, type WinogradTile } from './kernel';

export { WinogradKernel, tilesPerBlock, type Conv3x3Options, type WinogradTile } from './kernel';

/**
 * F(2×2, 3×3) or F(4×4, 3×3) for a convolution with C input and K output
 * channels, as measured on one core of the 2-core AMD EPYC (batch 128,
 * FusedConv2D + bias + ReLU, CPU time, best of 20, session 6): since
 * F(4×4)'s transforms go through a small buffer in L1 instead of twice
 * through its 36 planes, F(4×4) takes 0.69× F(2×2)'s time at 28×28×16 → 16,
 * 0.82× at 14×14×32 → 32 and 0.62× at 7×7×64 → 64 (before: 0.81×, 0.93×,
 * 0.65×, when F(4×4) was kept to ≥ 48 channels). Below 16 channels, which
 * the models only have in narrow widths, F(2×2) stays (not re-measured):
 * there the transforms, dearer per tile in F(4×4), weigh more against the
 * products it saves.
 *
 * That is for inference (FusedConv2D, `fused`). Conv2D, which runs under a
 * gradient tape (training, Hessian-vector products), keeps F(4×4) to ≥ 48
 * channels as before: F(4×4) rounds a few times more than F(2×2), and a
 * ResNet-20's input gradient in training mode, which a ReLU at its kink can
 * move by percents (see tests/unit/winograd.test.ts), moved by 3 % against
 * tfjs's with F(4×4) at 16 and 32 channels (1e-5 with F(2×2) there).
 */
export function tileFor(C: number, K: number, fused = true): WinogradTile {
  return Math.min(C, K) >= (fused ? 16 : 48) ? 4 : 2;
}

/** The parts of tfjs-backend-wasm's BackendWasm the kernels use. */
interface WasmBackendLike {
  makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo;
  disposeData(dataId: tf.DataId): boolean;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array;
  getMemoryOffset(dataId: tf.DataId): number;
  /** The Emscripten module: its memory (asm.memory, or wasmMemory in the threaded build) and allocator. */
  wasm: {
    asm?: { memory?: WebAssembly.Memory };
    wasmMemory?: WebAssembly.Memory;
    _malloc(bytes: number): number;
    _free(pointer: number): void;
  };
}

let kernel: WinogradKernel | null = null;
/** The build useWinograd was asked for ('auto': wasmBuild's choice). */
let kernelRequest: WasmLevel | 'auto' = 'auto';
/** Convolutions with fewer input channels go to tfjs (see useWinograd). */
let minInChannels = 4;
/** F(tile×tile, 3×3), or 'auto' for tileFor's choice (see useWinograd). */
let tile: WinogradTile | 'auto' = 'auto';
/** Strided convolutions in inference by the direct kernel (see useWinograd). */
let strided = true;
/** tfjs's own kernels, restored by stopWinograd and called for what we do not cover. */
const originals = new Map<string, tf.KernelConfig>();

interface ConvAttrs {
  strides: number | [number, number];
  pad: tf.Conv2DAttrs['pad'];
  dilations: number | [number, number];
  dataFormat: string;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  activation?: string;
}

const pair = (v: number | [number, number]): [number, number] =>
  typeof v === 'number' ? [v, v] : v;

/**
 * The geometry of a float32 NHWC convolution with dilation 1 and at least
 * minInChannels input channels, what both our kernels need; else null.
 */
function plainConv(
  x: tf.TensorInfo,
  filter: tf.TensorInfo,
  a: ConvAttrs,
): tf.backend_util.Conv2DInfo | null {
  if (x.dtype !== 'float32' || filter.dtype !== 'float32') return null;
  if (x.shape.length !== 4 || filter.shape.length !== 4) return null;
  if (filter.shape[2]! < minInChannels) return null;
  if (a.dataFormat !== 'NHWC' && a.dataFormat !== 'channelsLast') return null;
  const [dh, dw] = pair(a.dilations ?? 1);
  if (dh !== 1 || dw !== 1) return null;
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filter.shape as [number, number, number, number],
    pair(a.strides),
    [1, 1],
    a.pad,
    a.dimRoundingMode,
  );
  return info.outHeight > 0 && info.outWidth > 0 ? info : null;
}

/** The geometry when the Winograd kernel covers this convolution (3×3, stride 1), else null. */
function covered(
  x: tf.TensorInfo,
  filter: tf.TensorInfo,
  a: ConvAttrs,
): tf.backend_util.Conv2DInfo | null {
  if (filter.shape[0] !== 3 || filter.shape[1] !== 3) return null;
  const [sh, sw] = pair(a.strides);
  return sh === 1 && sw === 1 ? plainConv(x, filter, a) : null;
}

/**
 * The geometry when the direct kernel covers this FusedConv2D (a strided
 * convolution, any filter size), else null.
 */
function coveredStrided(
  x: tf.TensorInfo,
  filter: tf.TensorInfo,
  a: ConvAttrs,
): tf.backend_util.Conv2DInfo | null {
  const [sh, sw] = pair(a.strides);
  return strided && (sh !== 1 || sw !== 1) ? plainConv(x, filter, a) : null;
}

/** The direct kernel in the backend's memory; null where it cannot work there. */
function runStrided(
  backend: WasmBackendLike,
  info: tf.backend_util.Conv2DInfo,
  x: tf.TensorInfo,
  filter: tf.TensorInfo,
  bias: tf.TensorInfo | null,
  relu: boolean,
): tf.TensorInfo | null {
  const memory = backend.wasm.asm?.memory ?? backend.wasm.wasmMemory;
  if (memory === undefined) return null;
  const out = backend.makeOutput(info.outShape as number[], 'float32');
  const done = kernel!.convDirectInPlace({
    memory,
    malloc: (bytes) => backend.wasm._malloc(bytes),
    free: (pointer) => backend.wasm._free(pointer),
    x: backend.getMemoryOffset(x.dataId),
    xShape: [info.batchSize, info.inHeight, info.inWidth, info.inChannels],
    filter: backend.getMemoryOffset(filter.dataId),
    filterShape: [info.filterHeight, info.filterWidth, info.inChannels, info.outChannels],
    strides: [info.strideHeight, info.strideWidth],
    bias: bias ? backend.getMemoryOffset(bias.dataId) : 0,
    relu,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
    outHeight: info.outHeight,
    outWidth: info.outWidth,
    out: backend.getMemoryOffset(out.dataId),
  });
  if (done) return out;
  backend.disposeData(out.dataId);
  return null;
}

function run(
  backend: WasmBackendLike,
  info: tf.backend_util.Conv2DInfo,
  x: tf.TensorInfo,
  filter: tf.TensorInfo,
  bias: tf.TensorInfo | null,
  relu: boolean,
  fused: boolean,
): tf.TensorInfo {
  const out = backend.makeOutput(info.outShape as number[], 'float32');
  const chosenTile = tile === 'auto' ? tileFor(info.inChannels, info.outChannels, fused) : tile;
  const memory = backend.wasm.asm?.memory ?? backend.wasm.wasmMemory;
  const inPlace =
    memory !== undefined &&
    kernel!.conv3x3InPlace({
      memory,
      malloc: (bytes) => backend.wasm._malloc(bytes),
      free: (pointer) => backend.wasm._free(pointer),
      x: backend.getMemoryOffset(x.dataId),
      xShape: [info.batchSize, info.inHeight, info.inWidth, info.inChannels],
      filter: backend.getMemoryOffset(filter.dataId),
      outChannels: info.outChannels,
      bias: bias ? backend.getMemoryOffset(bias.dataId) : 0,
      relu,
      padTop: info.padInfo.top,
      padLeft: info.padInfo.left,
      outHeight: info.outHeight,
      outWidth: info.outWidth,
      out: backend.getMemoryOffset(out.dataId),
      tile: chosenTile,
    });
  if (inPlace) return out;
  // makeOutput may grow the wasm heap, so the views are taken after it.
  kernel!.conv3x3({
    x: backend.typedArrayFromHeap(x),
    xShape: [info.batchSize, info.inHeight, info.inWidth, info.inChannels],
    filter: backend.typedArrayFromHeap(filter),
    outChannels: info.outChannels,
    bias: bias ? backend.typedArrayFromHeap(bias) : null,
    relu,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
    outHeight: info.outHeight,
    outWidth: info.outWidth,
    out: backend.typedArrayFromHeap(out),
    tile: chosenTile,
  });
  return out;
}

function original(name: string): tf.KernelConfig {
  const k = originals.get(name);
  if (!k) throw new Error(`no saved wasm ${name} kernel`);
  return k;
}

const conv2dConfig = (saved: tf.KernelConfig): tf.KernelConfig => ({
  kernelName: tf.Conv2D,
  backendName: 'wasm',
  // The engine runs setupFunc when a wasm backend initialises; tfjs's kernel
  // binds its C function there, and ours delegates to it.
  ...(saved.setupFunc ? { setupFunc: saved.setupFunc } : {}),
  ...(saved.disposeFunc ? { disposeFunc: saved.disposeFunc } : {}),
  kernelFunc: (args) => {
    const { x, filter } = args.inputs as { x: tf.TensorInfo; filter: tf.TensorInfo };
    const info = kernel ? covered(x, filter, args.attrs as unknown as ConvAttrs) : null;
    if (!info) return original(tf.Conv2D).kernelFunc(args);
    return run(args.backend as unknown as WasmBackendLike, info, x, filter, null, false, false);
  },
});

const fusedConv2dConfig = (saved: tf.KernelConfig): tf.KernelConfig => ({
  kernelName: tf.FusedConv2D,
  backendName: 'wasm',
  ...(saved.setupFunc ? { setupFunc: saved.setupFunc } : {}),
  ...(saved.disposeFunc ? { disposeFunc: saved.disposeFunc } : {}),
  kernelFunc: (args) => {
    const inputs = args.inputs as {
      x: tf.TensorInfo;
      filter: tf.TensorInfo;
      bias?: tf.TensorInfo;
      preluActivationWeights?: tf.TensorInfo;
    };
    const attrs = args.attrs as unknown as ConvAttrs;
    const activation = attrs.activation ?? 'linear';
    const bias = inputs.bias ?? null;
    const simple =
      (activation === 'linear' || activation === 'relu') &&
      !inputs.preluActivationWeights &&
      (bias === null || (bias.shape.length === 1 && bias.dtype === 'float32'));
    const backend = args.backend as unknown as WasmBackendLike;
    const relu = activation === 'relu';
    const info = kernel && simple ? covered(inputs.x, inputs.filter, attrs) : null;
    if (info && (!bias || bias.shape[0] === info.outChannels)) {
      return run(backend, info, inputs.x, inputs.filter, bias, relu, true);
    }
    const direct = kernel && simple ? coveredStrided(inputs.x, inputs.filter, attrs) : null;
    if (direct && (!bias || bias.shape[0] === direct.outChannels)) {
      const out = runStrided(backend, direct, inputs.x, inputs.filter, bias, relu);
      if (out) return out;
    }
    return original(tf.FusedConv2D).kernelFunc(args);
  },
});

/** True while our kernels are the wasm backend's Conv2D and FusedConv2D. */
export function winogradInUse(): boolean {
  return originals.size > 0;
}

export interface UseWinogradOptions {
  /**
   * Convolutions with fewer input channels than this stay with tfjs. With one
   * or three input channels (a network's first layer on Fashion-MNIST or
   * CIFAR-10) the 16 products have a depth of 1 or 3, padded to the 4 SIMD
   * lanes, and tfjs's direct convolution is faster (0.46× and 0.77× for ours
   * in bench/winograd-bench.ts); from 4 channels on ours is faster. Default
   * 4; tests pass 1 to cover every channel count.
   */
  minInChannels?: number;
  /** F(2×2, 3×3), F(4×4, 3×3), or 'auto' (default): tileFor's choice per convolution. */
  tile?: WinogradTile | 'auto';
  /**
   * Strided FusedConv2Ds (inference: the ResNets' stride-2 3×3 convolutions
   * and 1×1 projections) by our direct kernel, im2col and the products'
   * micro-kernel (default true); false leaves them to tfjs. Conv2D, which
   * runs under a gradient tape, always leaves them to tfjs.
   */
  strided?: boolean;
  /**
   * Which build of the kernel (src/compute/wasm-build.ts); default the
   * relaxed-SIMD one where the engine takes it. Tests run both.
   */
  wasmLevel?: WasmLevel;
}

/**
 * Install the Winograd kernels for the wasm backend (idempotent; a second
 * call only updates the options). Call after @tensorflow/tfjs-backend-wasm is
 * imported (its kernels registered), before or after the backend is set.
 */
export async function useWinograd(options: UseWinogradOptions = {}): Promise<void> {
  minInChannels = options.minInChannels ?? 4;
  tile = options.tile ?? 'auto';
  strided = options.strided ?? true;
  const request = options.wasmLevel ?? 'auto';
  if (!kernel || request !== kernelRequest) {
    kernel = await WinogradKernel.create(options.wasmLevel);
    kernelRequest = request;
  }
  if (winogradInUse()) return;
  for (const [name, make] of [
    [tf.Conv2D, conv2dConfig],
    [tf.FusedConv2D, fusedConv2dConfig],
  ] as const) {
    const saved = tf.getKernel(name, 'wasm');
    if (!saved)
      throw new Error(`the wasm backend has no ${name} kernel to replace (import it first)`);
    originals.set(name, saved);
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel(make(saved));
  }
}

/** Put tfjs's own kernels back (benchmarks and tests compare the two). */
export function stopWinograd(): void {
  for (const [name, saved] of originals) {
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel(saved);
  }
  originals.clear();
}
