/**
 * The Winograd F(2×2, 3×3) convolution kernel (assembly/winograd.ts, built
 * into wasm-bytes.ts by `npm run build:wasm`) behind a plain typed-array
 * interface: x, filter and bias in, the output written into a given array.
 *
 * The module has its own memory. Each call copies x and the filter in and
 * the output out, O(n) against the convolution's O(n·C·K), and transforms
 * the filter (U = G g Gᵀ, 16·C·K values) every time: inference folds batch
 * norm into a fresh filter tensor for every batch, so there is no stable
 * weight identity to cache by, and the transform costs 1/(tiles) of the rest.
 */
import { winogradWasmBase64 } from './wasm-bytes';

interface WinogradExports {
  memory: WebAssembly.Memory;
  heapBase(): number;
  scratchFloats(Tb: number, cols: number): number;
  filterTransform(g: number, C: number, K: number, u: number, Cp: number, Kp: number): void;
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
}

const PAGE = 65536;
const roundUp = (n: number, to: number): number => Math.ceil(n / to) * to;

function decodeBase64(s: string): Uint8Array<ArrayBuffer> {
  const text = atob(s);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

/**
 * Tiles per block: the block's transformed input (16·Tb·Cp floats) and
 * products (16·Tb·Kp) together stay near 256 KiB, inside a core's L2.
 */
export function tilesPerBlock(Cp: number, Kp: number): number {
  return Math.max(4, Math.min(256, Math.floor(4096 / (Cp + Kp) / 4) * 4));
}

export class WinogradKernel {
  private constructor(private readonly wasm: WinogradExports) {}

  /** Compile and instantiate the module (async: browsers refuse large sync compiles). */
  static async create(): Promise<WinogradKernel> {
    const { instance } = await WebAssembly.instantiate(decodeBase64(winogradWasmBase64), {
      env: {
        abort: () => {
          throw new Error('winograd.wasm aborted');
        },
      },
    });
    return new WinogradKernel(instance.exports as unknown as WinogradExports);
  }

  /** Grow the module's memory to at least `bytes` and return a fresh float view. */
  private heap(bytes: number): Float32Array {
    const memory = this.wasm.memory;
    const missing = bytes - memory.buffer.byteLength;
    if (missing > 0) memory.grow(Math.ceil(missing / PAGE));
    return new Float32Array(memory.buffer);
  }

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
    const Cp = roundUp(C, 4);
    const Kp = roundUp(K, 4);
    const Tb = tilesPerBlock(Cp, Kp);
    // Byte offsets of each buffer, 16-byte aligned.
    let at = roundUp(this.wasm.heapBase(), 16);
    const take = (floats: number): number => {
      const p = at;
      at += roundUp(floats * 4, 16);
      return p;
    };
    const g = take(9 * C * K);
    const u = take(16 * Cp * Kp);
    const bias = o.bias ? take(Kp) : 0;
    const v = take(this.wasm.scratchFloats(Tb, Cp));
    const m = take(this.wasm.scratchFloats(Tb, Kp));
    const x = take(N * H * W * C);
    const out = take(N * OH * OW * K);
    const heap = this.heap(at);
    heap.set(o.filter, g / 4);
    if (o.bias) {
      if (o.bias.length !== K) throw new Error(`bias has ${o.bias.length} values, expected ${K}`);
      heap.set(o.bias, bias / 4);
    }
    heap.set(o.x, x / 4);
    this.wasm.filterTransform(g, C, K, u, Cp, Kp);
    this.wasm.conv3x3(
      x,
      N,
      H,
      W,
      C,
      u,
      K,
      Cp,
      Kp,
      bias,
      o.relu ? 1 : 0,
      out,
      OH,
      OW,
      o.padTop,
      o.padLeft,
      v,
      m,
      Tb,
    );
    o.out.set(heap.subarray(out / 4, out / 4 + o.out.length));
  }
}
