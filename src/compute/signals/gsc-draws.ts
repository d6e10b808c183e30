/**
 * The parts of a GSC run (gsc.ts) that need no tfjs: the layers it
 * measures, what one weight draw gives, and the run's result from its draws.
 * Draws are independent, so workers measure slices of them (measureGscDraws,
 * the `gsc-draws` job) and whoever holds them all, the command line's main
 * thread or a page, merges them here in draw order: the one-thread result
 * bit for bit.
 */
import type { SignalNetwork } from './network';

/** Probe names of h_0 … h_n and of the top layer h_L, as src/compute/models/mlp.ts names them. */
export function depthLayers(n: Pick<SignalNetwork, 'depth' | 'residualAlpha'>): {
  layers: string[];
  top: string;
} {
  const top = `layers.${n.depth - 1}.output`;
  if (n.residualAlpha === null)
    return { layers: Array.from({ length: n.depth }, (_, t) => `layers.${t}.preActivation`), top };
  return {
    layers: ['input.output', ...Array.from({ length: n.depth }, (_, t) => `layers.${t}.output`)],
    top,
  };
}

export interface GscResult {
  network: SignalNetwork;
  seed: number;
  inputs: number;
  projections: number;
  draws: number;
  /** Probe names of h_0 … h_n, and of the top layer h_L. */
  layers: string[];
  top: string;
  /**
   * GSC(k, L) for k = 0 … n, the mean over draws and projections; its spread is
   * the std over draws of each draw's mean (over projections with one draw).
   */
  gscToTop: number[];
  gscToTopSpread: number[];
  /** ‖h_k‖ = √(E_x‖h_k(x)‖²). */
  layerNorm: number[];
  preActivationStd: number[];
  signDiversity: number[];
  /** With options.pairs: gsc[l][k] = GSC(k, l) for k ≤ l (1 on the diagonal), null above it. */
  gscPairs?: (number | null)[][];
}

/**
 * Passes per draw: one to the top, and with `pairs` one more per layer above
 * the first (the progress of gradientScaleCoefficients counts these).
 */
export function gscPassesPerDraw(network: SignalNetwork, pairs: boolean): number {
  return 1 + (pairs ? depthLayers(network).layers.length - 1 : 0);
}

/** A GSC run: the network and what is drawn for it (gsc.ts's GscOptions add how it runs). */
export interface GscRunOptions {
  network: SignalNetwork;
  /**
   * Inputs x ~ N(0, I_d) and projections drawn from this seed; the weights of
   * draw k are the signal labs' draw k (createModel(mlpSpec(network)).init(drawSeed(seed, k))).
   */
  seed: number;
  /** Default 256. */
  inputs?: number;
  /** Random projections u per weight draw (default 4). */
  projections?: number;
  /**
   * Independent weight draws k = 0 … draws − 1 (seeds drawSeed(seed, k), as the
   * signal labs draw them); the measures are their means (default 1).
   */
  draws?: number;
  /** Also GSC(k, l) for every pair, one backward pass per top l (n passes; default false). */
  pairs?: boolean;
}

/**
 * The result of a run from every one of its draws' measures (any order: they
 * are taken in draw order, so the means are summed in one fixed order).
 */
export function combineGscDraws(options: GscRunOptions, measured: readonly GscDraw[]): GscResult {
  const { network, seed } = options;
  const inputs = options.inputs ?? 256;
  const projections = options.projections ?? 4;
  const draws = options.draws ?? 1;
  const perDraw = [...measured].sort((a, b) => a.draw - b.draw);
  if (perDraw.length !== draws || perDraw.some((m, k) => m.draw !== k))
    throw new Error(`combineGscDraws: draws 0 … ${draws - 1} expected, each once`);
  const { layers, top } = depthLayers(network);
  const average = (pick: (m: DrawMeasures) => number[]) =>
    layers.map((_, k) => mean(perDraw.map((m) => pick(m)[k]!)));
  const result: GscResult = {
    network,
    seed,
    inputs,
    projections,
    draws,
    layers,
    top,
    gscToTop: average((m) => m.gscToTop),
    // Over draws the spread is the draw-to-draw one; with one draw, that of the projections.
    gscToTopSpread:
      draws > 1
        ? layers.map((_, k) => std(perDraw.map((m) => m.gscToTop[k]!)))
        : perDraw[0]!.projectionSpread,
    layerNorm: average((m) => m.layerNorm),
    preActivationStd: average((m) => m.preActivationStd),
    signDiversity: average((m) => m.signDiversity),
  };
  if (options.pairs) {
    result.gscPairs = layers.map((_, l) =>
      layers.map((_, k) => (k > l ? null : mean(perDraw.map((m) => m.pairs![l]![k]!)))),
    );
  }
  return result;
}

/** What one weight draw gives (its arrays are plain numbers: a worker posts it back as it is). */
export interface GscDraw extends DrawMeasures {
  /** k: its weights are the signal labs' draw k. */
  draw: number;
}

export interface DrawMeasures {
  /** GSC(k, L), mean over projections, and the std of the per-projection values. */
  gscToTop: number[];
  projectionSpread: number[];
  layerNorm: number[];
  preActivationStd: number[];
  signDiversity: number[];
  pairs?: number[][];
}

export function mean(v: number[]): number {
  return v.reduce((a, b) => a + b, 0) / v.length;
}

export function std(v: number[]): number {
  const m = mean(v);
  return Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / v.length);
}
