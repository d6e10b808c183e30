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
import { createRng, deriveSeed } from '../random';

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
 * The standard normals behind Gaussian weights, in float64, so a new σ_w²
 * (the slider) only rescales them: w = z·σ_w/√fan-in, the very product
 * initialValues rounds to float32. Kaiming weights (σ_w² fixed at 2) keep
 * none: sampled straight into float32 (initialValues itself, the same
 * numbers), since a float64 array filled per matrix is fresh memory, which
 * cost Chromium's workers as much as the sampling itself
 * (`node bench/signals-trace.ts --cold --profile`).
 */
const cachedNormals = lru<Float64Array>(4_000_000);

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
      if (init.kind !== 'gaussian') return initialValues({ init, shape: [d, d], seed: s, name });
      // initialValues draws N(0, 1)·std from the stream of (seed, name), as here.
      const std = init.sigmaW / Math.sqrt(d);
      const z = cachedNormals(`${d}|${s}|${name}`, () => {
        const rng = createRng(deriveSeed(s, name));
        const out = new Float64Array(d * d);
        rng.fillNormal(out);
        return out;
      });
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
