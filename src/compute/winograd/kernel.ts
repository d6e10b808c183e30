/**
 * The Winograd F(2×2, 3×3) convolution kernel (assembly/winograd.ts, built
 * into wasm-bytes.ts by `npm run build:wasm`), two ways:
 *
 * - in place (conv3x3InPlace): an instance of the module on the tfjs wasm
 *   backend's own memory reads x, the filter and the bias where the tensors
 *   are and writes the output tensor, with scratch from the backend's malloc.
 *   No copies: at ResNet-56's first stage (batch 128, 28×28×16) copying x in
 *   and the output out took about a seventh of the convolution's time.
 * - copying (conv3x3): typed arrays in, a typed array out, through a memory
 *   of the module's own; the fallback where the backend's memory cannot be
 *   imported (tfjs's threaded build shares its memory, this module's is not
 *   declared shared) and what tests and benchmarks call directly.
 *
 * The filter is transformed (U = G g Gᵀ, 16·C·K values) at every call:
 * inference folds batch norm into a fresh filter tensor for every batch, so
 * there is no stable weight identity to cache by, and the transform costs
 * 1/(tiles) of the rest.
 */
import { wasmBuild, type WasmLevel } from '../wasm-build';
import { winogradWasm } from './wasm-bytes';

interface WinogradExports {
  heapBase(): number;
  scratchFloats(Tb: number, cols: number): number;
  filterTransform(g: number, C: number, K: number, u: number, Cp: number, Kp: number): void;
  scratchFloats36(Tb: number, cols: number): number;
  filterFloats(planes: number, Cp: number, Kp: number): number;
  filterTransform4(g: number, C: number, K: number, u: number, Cp: number, Kp: number): void;
  conv3x3f4: WinogradExports['conv3x3'];
  filterPad(g: number, D: number, K: number, u: number, Kp: number): void;
  directScratchFloats(Tb: number, cols: number): number;
  convDirect(
    x: number,
    N: number,
    H: number,
    W: number,
    C: number,
    u: number,
    K: number,
    Kp: number,
    kh: number,
    kw: number,
    sh: number,
    sw: number,
    bias: number,
    relu: number,
    out: number,
    OH: number,
    OW: number,
    padTop: number,
    padLeft: number,
    v: number,
    m: number,
    Tb: number,
  ): void;
  conv3x3(
    x: number,
    N: number,
    H: number,
    W: number,
    C: number,
    u: number,
    K: number,
    Cp: number,
    Kp: number,
    bias: number,
    relu: number,
    out: number,
    OH: number,
    OW: number,
    padTop: number,
    padLeft: number,
    v: number,
    m: number,
    Tb: number,
  ): void;
}

/** One 3×3, stride-1, dilation-1 NHWC convolution. */
export interface Conv3x3Options {
  /** [batch, height, width, inChannels], row-major. */
  x: Float32Array;
  xShape: readonly [number, number, number, number];
  /** [3, 3, inChannels, outChannels], tfjs's filter layout. */
  filter: Float32Array;
  outChannels: number;
  /** outChannels values added to every output, or null. */
  bias?: Float32Array | null;
  /** max(0, ·) after the bias. */
  relu?: boolean;
  /** Zero rows above / columns left of the input (tfjs's padInfo.top / left). */
  padTop: number;
  padLeft: number;
  /** Output height and width; bottom and right padding follow from them. */
  outHeight: number;
  outWidth: number;
  /** Receives [batch, outHeight, outWidth, outChannels]. */
  out: Float32Array;
  /** F(2×2, 3×3) (default) or F(4×4, 3×3). */
  tile?: WinogradTile;
}

const PAGE = 65536;
const roundUp = (n: number, to: number): number => Math.ceil(n / to) * to;

/**
 * Output tile side m of F(m×m, 3×3): 2 (16 products per tile, 2.25× less
 * arithmetic than direct convolution) or 4 (36 products, 4× less).
 */
export type WinogradTile = 2 | 4;

/** Transform planes of F(m×m, 3×3): (m + 2)². */
const planesOf = (tile: WinogradTile): number => (tile + 2) ** 2;

/**
 * Tiles per block: the block's transformed input (planes·Tb·Cp floats) and
 * products (planes·Tb·Kp) together stay near 256 KiB, inside a core's L2.
 */
export function tilesPerBlock(Cp: number, Kp: number, tile: WinogradTile = 2): number {
  const floats = (16 * 4096) / planesOf(tile);
  return Math.max(4, Math.min(256, Math.floor(floats / (Cp + Kp) / 4) * 4));
}

/**
 * A convolution whose tensors already lie in `memory` (byte addresses): what
 * the wasm backend's kernels pass, with its malloc and free for scratch.
 */
export interface Conv3x3InPlaceOptions {
  memory: WebAssembly.Memory;
  malloc(bytes: number): number;
  free(pointer: number): void;
  x: number;
  xShape: readonly [number, number, number, number];
  filter: number;
  outChannels: number;
  /** Address of outChannels floats, or 0 for none. */
  bias: number;
  relu: boolean;
  padTop: number;
  padLeft: number;
  outHeight: number;
  outWidth: number;
  out: number;
  /** F(2×2, 3×3) (default) or F(4×4, 3×3). */
  tile?: WinogradTile;
}

/**
 * A convolution for the direct kernel (convDirect in assembly/winograd.ts:
 * im2col and one matrix product), any filter size and stride, dilation 1.
 * Addresses in the wasm backend's memory, as for Conv3x3InPlaceOptions.
 */
export interface ConvDirectInPlaceOptions {
  memory: WebAssembly.Memory;
  malloc(bytes: number): number;
  free(pointer: number): void;
  x: number;
  xShape: readonly [number, number, number, number];
  /** [kh, kw, inChannels, outChannels] at `filter`. */
  filter: number;
  filterShape: readonly [number, number, number, number];
  strides: readonly [number, number];
  /** Address of outChannels floats, or 0 for none. */
  bias: number;
  relu: boolean;
  padTop: number;
  padLeft: number;
  outHeight: number;
  outWidth: number;
  out: number;
}

/**
 * Output pixels per block of the direct kernel: V [Tb][D] and M [Tb][Kp]
 * together near 128 KiB, so that they stay in L2 beside the filter matrix.
 */
export function pixelsPerBlock(D: number, Kp: number): number {
  return Math.max(4, Math.min(256, Math.floor(32768 / (D + Kp) / 4) * 4));
}

/** The direct kernel's scratch: u [D][Kp], then V and M for a block, byte offsets. */
function directLayout(
  wasm: WinogradExports,
  D: number,
  K: number,
): { Kp: number; Tb: number; u: number; v: number; m: number; bytes: number } {
  const Kp = roundUp(K, 4);
  const Tb = pixelsPerBlock(D, Kp);
  const u = 0;
  const v = u + roundUp(D * Kp * 4, 64);
  const m = v + roundUp(wasm.directScratchFloats(Tb, D) * 4, 64);
  const bytes = m + roundUp(wasm.directScratchFloats(Tb, Kp) * 4, 64);
  return { Kp, Tb, u, v, m, bytes };
}

/** An instance on a foreign memory and the scratch it has taken there. */
interface Guest {
  wasm: WinogradExports;
  scratch: number;
  scratchBytes: number;
}

/**
 * Grow a guest's scratch to `bytes`, kept between calls and grown to the
 * largest convolution seen: the ResNets' largest, 64 → 64 channels, needs
 * about 0.5 MB.
 */
function reserve(
  g: Guest,
  bytes: number,
  o: { malloc(bytes: number): number; free(pointer: number): void },
): void {
  if (g.scratchBytes >= bytes) return;
  if (g.scratch !== 0) o.free(g.scratch);
  g.scratch = 0;
  g.scratchBytes = 0;
  const p = o.malloc(bytes + 64);
  if (p === 0) throw new Error(`winograd: the wasm backend could not allocate ${bytes} bytes`);
  g.scratch = p;
  g.scratchBytes = bytes;
}

/** The scratch one call needs: U, then V and M for a block of tiles, byte offsets from its start. */
function scratchLayout(
  wasm: WinogradExports,
  C: number,
  K: number,
  tile: WinogradTile,
): { Cp: number; Kp: number; Tb: number; u: number; v: number; m: number; bytes: number } {
  const Cp = roundUp(C, 4);
  const Kp = roundUp(K, 4);
  const Tb = tilesPerBlock(Cp, Kp, tile);
  const scratch = tile === 4 ? wasm.scratchFloats36 : wasm.scratchFloats;
  const u = 0;
  const v = u + roundUp(wasm.filterFloats(planesOf(tile), Cp, Kp) * 4, 64);
  const m = v + roundUp(scratch(Tb, Cp) * 4, 64);
  const bytes = m + roundUp(scratch(Tb, Kp) * 4, 64);
  return { Cp, Kp, Tb, u, v, m, bytes };
}

/** filterTransform then conv3x3 of F(tile×tile, 3×3), all addresses in the instance's memory. */
function convolve(
  wasm: WinogradExports,
  tile: WinogradTile,
  a: {
    x: number;
    xShape: readonly [number, number, number, number];
    filter: number;
    K: number;
    bias: number;
    relu: boolean;
    out: number;
    outHeight: number;
    outWidth: number;
    padTop: number;
    padLeft: number;
    scratch: number;
  },
): void {
  const [N, H, W, C] = a.xShape;
  const s = scratchLayout(wasm, C, a.K, tile);
  const u = a.scratch + s.u;
  if (tile === 4) wasm.filterTransform4(a.filter, C, a.K, u, s.Cp, s.Kp);
  else wasm.filterTransform(a.filter, C, a.K, u, s.Cp, s.Kp);
  (tile === 4 ? wasm.conv3x3f4 : wasm.conv3x3)(
    a.x,
    N,
    H,
    W,
    C,
    u,
    a.K,
    s.Cp,
    s.Kp,
    a.bias,
    a.relu ? 1 : 0,
    a.out,
    a.outHeight,
    a.outWidth,
    a.padTop,
    a.padLeft,
    a.scratch + s.v,
    a.scratch + s.m,
    s.Tb,
  );
}

export class WinogradKernel {
  /** Instances on other modules' memories, and whether one could be made at all. */
  private readonly guests = new WeakMap<WebAssembly.Memory, Guest | null>();

  private constructor(
    private readonly module: WebAssembly.Module,
    private readonly wasm: WinogradExports,
    private readonly memory: WebAssembly.Memory,
    /** Which build runs (src/compute/wasm-build.ts). */
    readonly level: WasmLevel,
  ) {}

  /**
   * Compile and instantiate the module (async: browsers refuse large sync
   * compiles): the relaxed-SIMD build where the engine takes it, unless
   * `level` says which.
   */
  static async create(level?: WasmLevel): Promise<WinogradKernel> {
    const build = wasmBuild(winogradWasm, level);
    const module = await WebAssembly.compile(build.bytes);
    const memory = new WebAssembly.Memory({ initial: 1 });
    const instance = await WebAssembly.instantiate(module, { env: { memory } });
    return new WinogradKernel(
      module,
      instance.exports as unknown as WinogradExports,
      memory,
      build.level,
    );
  }

  /**
   * An instance working in `memory`, made on first use (a synchronous
   * instantiation of the already compiled module); null when the memory's
   * type does not match the module's import (a shared memory).
   */
  private guest(memory: WebAssembly.Memory): Guest | null {
    let g = this.guests.get(memory);
    if (g === undefined) {
      try {
        const instance = new WebAssembly.Instance(this.module, { env: { memory } });
        g = { wasm: instance.exports as unknown as WinogradExports, scratch: 0, scratchBytes: 0 };
      } catch {
        g = null;
      }
      this.guests.set(memory, g);
    }
    return g;
  }

  /**
   * Convolve where the tensors are (see Conv3x3InPlaceOptions); false, with
   * nothing done, when no instance can work in that memory (the caller then
   * copies through conv3x3).
   */
  conv3x3InPlace(o: Conv3x3InPlaceOptions): boolean {
    const g = this.guest(o.memory);
    if (g === null) return false;
    const [N, , , C] = o.xShape;
    const K = o.outChannels;
    if (N * o.outHeight * o.outWidth * K === 0) return true;
    const tile = o.tile ?? 2;
    const s = scratchLayout(g.wasm, C, K, tile);
    reserve(g, s.bytes, o);
    convolve(g.wasm, tile, {
      x: o.x,
      xShape: o.xShape,
      filter: o.filter,
      K,
      bias: o.bias,
      relu: o.relu,
      out: o.out,
      outHeight: o.outHeight,
      outWidth: o.outWidth,
      padTop: o.padTop,
      padLeft: o.padLeft,
      scratch: roundUp(g.scratch, 64),
    });
    return true;
  }

  /**
   * The direct kernel where the tensors are (see ConvDirectInPlaceOptions);
   * false, with nothing done, when no instance can work in that memory.
   */
  convDirectInPlace(o: ConvDirectInPlaceOptions): boolean {
    const g = this.guest(o.memory);
    if (g === null) return false;
    const [N, H, W, C] = o.xShape;
    const [kh, kw, , K] = o.filterShape;
    if (N * o.outHeight * o.outWidth * K === 0) return true;
    const s = directLayout(g.wasm, kh * kw * C, K);
    reserve(g, s.bytes, o);
    const scratch = roundUp(g.scratch, 64);
    g.wasm.filterPad(o.filter, kh * kw * C, K, scratch + s.u, s.Kp);
    g.wasm.convDirect(
      o.x,
      N,
      H,
      W,
      C,
      scratch + s.u,
      K,
      s.Kp,
      kh,
      kw,
      o.strides[0],
      o.strides[1],
      o.bias,
      o.relu ? 1 : 0,
      o.out,
      o.outHeight,
      o.outWidth,
      o.padTop,
      o.padLeft,
      scratch + s.v,
      scratch + s.m,
      s.Tb,
    );
    return true;
  }

  /** Grow the module's own memory to at least `bytes` and return a fresh float view. */
  private heap(bytes: number): Float32Array {
    const missing = bytes - this.memory.buffer.byteLength;
    if (missing > 0) this.memory.grow(Math.ceil(missing / PAGE));
    return new Float32Array(this.memory.buffer);
  }

  /** Convolve typed arrays, copying them through the module's own memory. */
  conv3x3(o: Conv3x3Options): void {
    const [N, H, W, C] = o.xShape;
    const K = o.outChannels;
    const { outHeight: OH, outWidth: OW } = o;
    if (o.filter.length !== 9 * C * K) {
      throw new Error(`filter has ${o.filter.length} values, expected 3·3·${C}·${K}`);
    }
    if (o.x.length !== N * H * W * C) throw new Error('x does not match xShape');
    if (o.out.length !== N * OH * OW * K) throw new Error('out does not match the output shape');
    if (o.out.length === 0) return;
    const tile = o.tile ?? 2;
    const s = scratchLayout(this.wasm, C, K, tile);
    // Byte offsets of each buffer, 16-byte aligned.
    let at = roundUp(this.wasm.heapBase(), 64);
    const take = (bytes: number): number => {
      const p = at;
      at += roundUp(bytes, 64);
      return p;
    };
    const scratch = take(s.bytes);
    const g = take(9 * C * K * 4);
    const bias = o.bias ? take(K * 4) : 0;
    const x = take(N * H * W * C * 4);
    const out = take(N * OH * OW * K * 4);
    const heap = this.heap(at);
    heap.set(o.filter, g / 4);
    if (o.bias) {
      if (o.bias.length !== K) throw new Error(`bias has ${o.bias.length} values, expected ${K}`);
      heap.set(o.bias, bias / 4);
    }
    heap.set(o.x, x / 4);
    convolve(this.wasm, tile, {
      x,
      xShape: o.xShape,
      filter: g,
      K,
      bias,
      relu: o.relu ?? false,
      out,
      outHeight: OH,
      outWidth: OW,
      padTop: o.padTop,
      padLeft: o.padLeft,
      scratch,
    });
    o.out.set(heap.subarray(out / 4, out / 4 + o.out.length));
  }
}
