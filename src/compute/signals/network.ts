/**
 * The networks the signal labs look at: the MLP of DESIGN.md ("Models: MLP")
 * at initialisation, square (every layer width d, the input too), biases zero,
 * and its weights for several independent seeded draws.
 *
 *   plain:     s^t = z^t W^t  [s^t ← BN(s^t)],  z^{t+1} = f(s^t),        t = 0 … T−1, z^0 = x
 *   residual:  x_0 = x W_in,  x_{t+1} = x_t + α · [BN](f(x_t) W_t),      t = 0 … T−1   (seed 003, eq. 2)
 *
 * Row vectors, as in Glorot & Bengio's eqs. (1)–(2) and src/compute/models/mlp.ts.
 * The weights are drawn exactly as `createModel(mlpSpec(network)).init(drawSeed(seed, k))`
 * draws them (same initialisation, tensor names and streams), so draw k of a
 * signal run is the tfjs model with that seed, parameter for parameter.
 */
import { mlpWeightInit } from '../models/mlp';
import { initialValues } from '../models/init';
import type { Activation, MlpInit, MlpSpec } from '../models/types';
import { createRng, deriveSeed, type Rng } from '../random';

export type { Activation, MlpInit } from '../models/types';

export const ACTIVATIONS: readonly Activation[] = ['linear', 'relu', 'tanh', 'sigmoid', 'selu'];
export const INITS: readonly MlpInit[] = ['gaussian', 'glorot', 'kaiming', 'orthogonal'];

/** One network at initialisation. */
export interface SignalNetwork {
  /** d: units in every layer (and in the input). */
  width: number;
  /** T: hidden layers (plain) or residual blocks (residual). */
  depth: number;
  activation: Activation;
  init: MlpInit;
  /**
   * σ_w² = n·Var[w] for 'gaussian' (Var[w] = σ_w²/fan-in) and the squared gain
   * of 'orthogonal'; ignored by 'glorot' (σ_w² = 1 on square layers) and
   * 'kaiming' (σ_w² = 2).
   */
  sigmaW2: number;
  /** α of x_{t+1} = x_t + α·W_t f(x_t); null for the plain network. */
  residualAlpha: number | null;
  /** Batch normalisation (batch statistics, γ = 1, β = 0) after every weight layer. */
  batchNorm: boolean;
}

/**
 * n·Var[w] of one square weight matrix: Glorot & Bengio's per-layer slope
 * (eq. 5), Hayou's γ² (seed 003: W ~ N(0, γ²/d)).
 */
export function weightGain(network: Pick<SignalNetwork, 'init' | 'sigmaW2'>): number {
  switch (network.init) {
    case 'kaiming':
      return 2;
    case 'glorot':
      // U(±√(6/(n+n))) has variance 2/(n+n) = 1/n.
      return 1;
    case 'gaussian':
    case 'orthogonal':
      return network.sigmaW2;
  }
}

/** α = 1/√T, Hayou's scaled blocks. */
export function inverseSqrtAlpha(depth: number): number {
  return 1 / Math.sqrt(Math.max(1, depth));
}

/** The seed of draw k of a run seeded `seed`: the tfjs model with this seed has the same weights. */
export function drawSeed(seed: number, draw: number): number {
  return deriveSeed(seed, `signals.draw.${draw}`);
}

/** The tfjs model spec of a signal network (for cross-checks against src/compute/models). */
export function mlpSpec(network: SignalNetwork): MlpSpec {
  return {
    kind: 'mlp',
    width: network.width,
    depth: network.depth,
    activation: network.activation,
    init: network.init,
    sigmaW: Math.sqrt(network.sigmaW2),
    residualAlpha: network.residualAlpha,
    batchNorm: network.batchNorm,
    inputSize: network.width,
    classes: network.width,
  };
}

/** Names of the weight matrices in forward order, as mlp.ts names them. */
export function weightNames(network: Pick<SignalNetwork, 'depth' | 'residualAlpha'>): string[] {
  const names = Array.from({ length: network.depth }, (_, t) => `layers.${t}.weight`);
  return network.residualAlpha === null ? names : ['input.weight', ...names];
}

export function validateNetwork(network: SignalNetwork): void {
  const { width, depth, sigmaW2, residualAlpha } = network;
  if (!Number.isInteger(width) || width < 1) throw new Error(`width must be ≥ 1, got ${width}`);
  if (!Number.isInteger(depth) || depth < 1) throw new Error(`depth must be ≥ 1, got ${depth}`);
  if (!(sigmaW2 > 0) || !Number.isFinite(sigmaW2))
    throw new Error(`σ_w² must be positive, got ${sigmaW2}`);
  if (residualAlpha !== null && !Number.isFinite(residualAlpha))
    throw new Error(`α must be finite, got ${residualAlpha}`);
  if (!ACTIVATIONS.includes(network.activation))
    throw new Error(`unknown activation '${network.activation}'`);
  if (!INITS.includes(network.init)) throw new Error(`unknown initialisation '${network.init}'`);
}

/**
 * Recently drawn weight matrices, so moving a slider that keeps the weights
 * (activation, α, BN, a deeper network) redraws none: sampling 4 million
 * Gaussians costs more than the pass itself. Bounded by MAX_CACHED values.
 */
/** A small LRU of arrays, bounded by the number of values it holds. */
function lru<A extends Float32Array | Float64Array>(maxValues: number) {
  const entries = new Map<string, A>();
  let held = 0;
  return (key: string, make: () => A): A => {
    const hit = entries.get(key);
    if (hit) {
      entries.delete(key);
      entries.set(key, hit);
      return hit;
    }
    const values = make();
    entries.set(key, values);
    held += values.length;
    for (const [oldKey, old] of entries) {
      if (held <= maxValues) break;
      entries.delete(oldKey);
      held -= old.length;
    }
    return values;
  };
}

/** Scaled weights W and Wᵀ, as the pass uses them. */
const cachedWeights = lru<Float32Array>(16_000_000);
/**
 * The standard normals of one weight stream (a draw's seed and a layer's
 * name), as many as asked for so far, in float64: a d×d matrix is
 * w_ij = z_{i·d+j}·σ_w/√d, the very product initialValues rounds to float32,
 * so a new σ_w² (the slider) only rescales them, and since a d×d matrix takes
 * the first d² normals of its stream, a wider network (the width slider) draws
 * only the 2d + 1 more that each step up adds, a narrower one none. Drawing
 * them is most of a new network's cost: 4 million Gaussians (Box–Muller, two
 * logarithms, a cosine and a sine a pair) for 8 draws of 50 layers of width
 * 100.
 */
interface NormalStream {
  rng: Rng;
  /** values[0, drawn) are the stream's first normals; the rest is room to grow. */
  values: Float64Array;
  drawn: number;
}

/** Streams by key, least recently used first, bounded by the values they hold. */
const streams = new Map<string, NormalStream>();
let streamValues = 0;
/** 64 MB of float64 a worker: every draw's normals at width 100 and depth 50 fit several times. */
const MAX_STREAM_VALUES = 8_000_000;

/** The width each Kaiming stream was last drawn at, oldest first (bounded). */
const kaimingWidths = new Map<string, number>();

/**
 * Whether to draw a matrix from its kept stream of normals. Gaussian weights
 * always are (σ_w² rescales them). Kaiming weights (σ_w² fixed) only once
 * their stream is kept or a second width asks for it: a new seed's are drawn
 * straight into float32 (initialValues, the same numbers), since a fresh
 * float64 array for each of them cost Chromium's workers about 20 ms of the
 * 200 a new network takes (bench/signals.ts, cold), and only the width slider
 * needs the normals again.
 */
function keepsNormals(gaussian: boolean, key: string, d: number): boolean {
  if (gaussian || streams.has(key)) return true;
  const last = kaimingWidths.get(key);
  kaimingWidths.delete(key);
  kaimingWidths.set(key, d);
  if (kaimingWidths.size > 100_000) kaimingWidths.delete(kaimingWidths.keys().next().value!);
  return last !== undefined && last !== d;
}

/** The first n normals of the stream `key` of (seed s, name): a view, not to be written to. */
function standardNormals(key: string, s: number, name: string, n: number): Float64Array {
  let stream = streams.get(key);
  if (stream) streams.delete(key);
  else {
    stream = { rng: createRng(deriveSeed(s, name)), values: new Float64Array(0), drawn: 0 };
  }
  streams.set(key, stream);
  if (n > stream.drawn) {
    if (n > stream.values.length) {
      // Room for a few more steps of the width slider before the next copy.
      const grown = new Float64Array(Math.ceil(n * 1.25));
      grown.set(stream.values.subarray(0, stream.drawn));
      streamValues += grown.length - stream.values.length;
      stream.values = grown;
    }
    // fillNormal continues the stream where the last fill stopped (spare normal included).
    stream.rng.fillNormal(stream.values.subarray(stream.drawn, n));
    stream.drawn = n;
  }
  for (const [oldKey, old] of streams) {
    if (streamValues <= MAX_STREAM_VALUES || old === stream) break;
    streams.delete(oldKey);
    streamValues -= old.values.length;
  }
  return stream.values.subarray(0, n);
}

/**
 * Every weight matrix of draw `draw`, in forward order ({@link weightNames}),
 * each [d, d] row-major ([in, out]). The arrays may be shared with a cache:
 * do not write to them.
 */
export function drawWeights(options: {
  network: SignalNetwork;
  seed: number;
  draw: number;
  /** Wᵀ instead of W. */
  transposed?: boolean;
}): Float32Array[] {
  const { network, seed, draw } = options;
  const d = network.width;
  const init = mlpWeightInit(network.init, Math.sqrt(network.sigmaW2));
  const s = drawSeed(seed, draw);
  return weightNames(network).map((name) => {
    const key = `${JSON.stringify(init)}|${d}|${s}|${name}`;
    const w = cachedWeights(key, () => {
      // initialValues draws N(0, 1)·std from the stream of (seed, name), as here, with std
      // computed the same way (fan-in d).
      const std =
        init.kind === 'gaussian'
          ? init.sigmaW / Math.sqrt(d)
          : init.kind === 'kaimingNormal'
            ? Math.sqrt(2 / d)
            : null;
      const stream = `${s}|${name}`;
      if (std === null || !keepsNormals(init.kind === 'gaussian', stream, d))
        return initialValues({ init, shape: [d, d], seed: s, name });
      const z = standardNormals(stream, s, name, d * d);
      const out = new Float32Array(d * d);
      for (let i = 0; i < out.length; i++) out[i] = z[i]! * std;
      return out;
    });
    if (!options.transposed) return w;
    return cachedWeights(`${key}|T`, () => {
      const t = new Float32Array(d * d);
      for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) t[j * d + i] = w[i * d + j]!;
      return t;
    });
  });
}
