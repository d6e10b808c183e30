/**
 * Per-layer signal statistics of a network at initialisation (DESIGN.md,
 * "Signals"; Glorot & Bengio's figures 6–7 in spirit): over a batch of N
 * inputs x ~ N(0, I) and K seeded weight draws, the variance and mean square
 * of every layer's signal h_t (plain: the pre-activation s^t; residual: the
 * stream x_t) and the variance of the backpropagated gradient ∂L/∂h_t, for
 * L = Σ G ⊙ (last hidden output) with G ~ N(0, I); histograms of both; the
 * mean-field theory curves beside them (theory.ts).
 *
 * Variances pool every unit, input and draw; each draw's own value is kept
 * too (the band over draws, and the spread of a finite-width network). Draws
 * run one at a time; between them the statistics so far go to `onPartial`,
 * so a cancelled run keeps what it finished.
 *
 * Sums of squares are taken in float64: a residual stream at α = 1 reaches
 * 2^64 after 128 blocks, whose square would overflow float32. Beyond about
 * 250 blocks h itself overflows float32, and those layers are reported as null.
 */
import * as tf from '@tensorflow/tfjs-core';
import { createRng, deriveSeed, normalArray } from '../random';
import { drawWeights, validateNetwork, type SignalNetwork } from './network';
import { propagate } from './propagate';
import { theoryCurves } from './theory';

export interface SignalOptions {
  network: SignalNetwork;
  /** N: inputs per draw. */
  batch: number;
  /** K: independent weight draws. */
  draws: number;
  seed: number;
  /** Bins of each histogram (default 41). */
  histogramBins?: number;
  /** The first inputs of each draw that the histograms count (default: all of them). */
  histogramInputs?: number;
  /** How many layers get a histogram, evenly spaced, first and last included (default 6). */
  histogramLayers?: number;
  signal?: AbortSignal;
  onProgress?: (progress: SignalProgress) => void;
  onPartial?: (partial: SignalStatistics) => void;
}

export interface SignalProgress {
  drawsDone: number;
  draws: number;
  elapsedMs: number;
}

/** Counts of values in equal bins over [lo, hi]. */
export interface Histograms {
  lo: number;
  hi: number;
  /** Per histogram layer, `bins` counts. */
  counts: number[][];
  /** Per histogram layer, values outside [lo, hi] (or not finite). */
  outside: number[];
}

/** What {@link measureSignals} returns: per-layer arrays, index i ↔ layer t[i]. */
export interface SignalStatistics {
  network: SignalNetwork;
  batch: number;
  /** Draws measured (fewer than asked for when cancelled). */
  draws: number;
  drawsRequested: number;
  seed: number;
  /**
   * Layer index of each entry: plain 1 … T (h = pre-activation of layer t),
   * residual 0 … T (h = x_t after t blocks).
   */
  t: number[];
  /** Var[h_t], pooled over units, inputs and draws; null where it overflowed. */
  forwardVariance: (number | null)[];
  /** E[h_t²]. */
  forwardMeanSquare: (number | null)[];
  /** Var[∂L/∂h_t]. */
  backwardVariance: (number | null)[];
  /** Per draw (outer) and layer (inner): Var[h_t] within that draw. */
  forwardVarianceDraws: (number | null)[][];
  backwardVarianceDraws: (number | null)[][];
  /** Mean-field E[h_t²] and Var[∂L/∂h_t] (theory.ts). */
  theoryForward: number[];
  theoryBackward: number[];
  histograms: {
    /** Indices into t of the layers with a histogram. */
    layers: number[];
    /** Values per histogram: draws × histogram inputs × width. */
    values: number;
    signal: Histograms;
    gradient: Histograms;
    /**
     * f(h_t), Glorot & Bengio's "activation values" (figure 6): the outputs of
     * the nonlinearity, on [0, R] when none is negative (ReLU, sigmoid).
     */
    activation: Histograms;
  };
  elapsedMs: number;
  /**
   * Where the time went, in ms summed over draws: sampling the weights (or
   * finding them cached), the tfjs forward and backward pass with the first
   * read-back, reading the gradients back, and the moments and histograms in JS.
   */
  timing: { weightsMs: number; passMs: number; readMs: number; statsMs: number };
}

export const DEFAULT_HISTOGRAM_BINS = 41;

/** Evenly spaced indices 0 … n−1, `count` of them, first and last included. */
export function spreadIndices(n: number, count: number): number[] {
  if (n <= count) return Array.from({ length: n }, (_, i) => i);
  const out = new Set<number>();
  for (let i = 0; i < count; i++) out.add(Math.round((i * (n - 1)) / (count - 1)));
  return [...out];
}

/** Per layer (outer) and draw (inner): Σh and Σh², in float64. */
interface Moments {
  sum: number[][];
  sumSq: number[][];
}

function emptyMoments(layers: number): Moments {
  return {
    sum: Array.from({ length: layers }, () => []),
    sumSq: Array.from({ length: layers }, () => []),
  };
}

/** Append one draw's Σh and Σh² per layer, summed in float64 (no overflow of squares). */
function addMoments(layers: readonly Float32Array[], into: Moments): void {
  layers.forEach((values, l) => {
    let sum = 0;
    let sumSq = 0;
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      sum += v;
      sumSq += v * v;
    }
    into.sum[l]!.push(sum);
    into.sumSq[l]!.push(sumSq);
  });
}

const finiteOrNull = (v: number): number | null => (Number.isFinite(v) ? v : null);

/** Pooled and per-draw variance and mean square from the moments. */
function summariseMoments(m: Moments, perDraw: number) {
  const variance: (number | null)[] = [];
  const meanSquare: (number | null)[] = [];
  const draws: (number | null)[][] = m.sum[0]?.map(() => []) ?? [];
  m.sum.forEach((sums, l) => {
    const sqs = m.sumSq[l]!;
    const total = sums.length * perDraw;
    const mean = sums.reduce((a, b) => a + b, 0) / total;
    const ms = sqs.reduce((a, b) => a + b, 0) / total;
    variance.push(finiteOrNull(ms - mean * mean));
    meanSquare.push(finiteOrNull(ms));
    sums.forEach((s, j) => {
      const mj = s / perDraw;
      draws[j]!.push(finiteOrNull(sqs[j]! / perDraw - mj * mj));
    });
  });
  return { variance, meanSquare, draws };
}

function histogram(values: Float32Array[], lo: number, hi: number, bins: number): Histograms {
  const width = (hi - lo) / bins;
  const counts: number[][] = [];
  const outside: number[] = [];
  for (const layer of values) {
    const c = new Array<number>(bins).fill(0);
    let out = 0;
    for (let i = 0; i < layer.length; i++) {
      const b = Math.floor((layer[i]! - lo) / width);
      if (b >= 0 && b < bins) c[b]!++;
      else if (layer[i] === hi) c[bins - 1]!++;
      else out++;
    }
    counts.push(c);
    outside.push(out);
  }
  return { lo, hi, counts, outside };
}

/** A symmetric range ±4 × the largest root mean square among the histogram layers. */
function histogramRange(meanSquare: (number | null)[], layers: number[]): number {
  const rms = layers.map((l) => Math.sqrt(meanSquare[l] ?? 0)).filter(Number.isFinite);
  const r = 4 * Math.max(0, ...rms);
  return r > 0 ? r : 1;
}

/**
 * ±R with R the smaller of 4 × the largest root mean square and the largest |value| (so a
 * bounded activation such as tanh fills the axis), or [0, R] when no value is negative.
 */
function sampleRange(layers: readonly Float32Array[]): { lo: number; hi: number } {
  let largest = 0;
  let extreme = 0;
  let negative = false;
  for (const values of layers) {
    let sumSq = 0;
    let n = 0;
    for (const v of values) {
      if (!Number.isFinite(v)) continue;
      sumSq += v * v;
      n++;
      if (v < 0) negative = true;
      extreme = Math.max(extreme, Math.abs(v));
    }
    if (n > 0) largest = Math.max(largest, Math.sqrt(sumSq / n));
  }
  const r = largest > 0 ? Math.min(4 * largest, extreme) : 1;
  return { lo: negative ? -r : 0, hi: r };
}

/**
 * Measure every layer's signals of `network` at initialisation. Leaves
 * tf.memory().numTensors as it found it; resolves with what was measured when
 * `signal` aborts (possibly zero draws).
 */
export async function measureSignals(options: SignalOptions): Promise<SignalStatistics> {
  const { network, batch, draws, seed, signal } = options;
  validateNetwork(network);
  if (!Number.isInteger(batch) || batch < 2) throw new Error(`batch must be ≥ 2, got ${batch}`);
  if (!Number.isInteger(draws) || draws < 1) throw new Error(`draws must be ≥ 1, got ${draws}`);
  const start = performance.now();
  const d = network.width;
  const layerCount = network.depth + (network.residualAlpha === null ? 0 : 1);
  const bins = options.histogramBins ?? DEFAULT_HISTOGRAM_BINS;
  const histInputs = Math.min(batch, options.histogramInputs ?? batch);
  const histLayers = spreadIndices(layerCount, options.histogramLayers ?? 6);
  const theory = theoryCurves(network);
  const t = Array.from({ length: layerCount }, (_, i) =>
    network.residualAlpha === null ? i + 1 : i,
  );

  // The inputs, shared by every draw, and each draw's top gradient G.
  const input = normalArray(batch * d, createRng(deriveSeed(seed, 'signals.input')));

  const forward = emptyMoments(layerCount);
  const backward = emptyMoments(layerCount);
  const signalSamples: Float32Array[][] = histLayers.map(() => []);
  const gradientSamples: Float32Array[][] = histLayers.map(() => []);
  const activationSamples: Float32Array[][] = histLayers.map(() => []);
  let done = 0;
  let lastPartial = performance.now();
  const timing = { weightsMs: 0, passMs: 0, readMs: 0, statsMs: 0 };

  const summary = (): SignalStatistics => {
    const perDraw = batch * d;
    const f = summariseMoments(forward, perDraw);
    const b = summariseMoments(backward, perDraw);
    const concat = (parts: Float32Array[]) => {
      const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
      let at = 0;
      for (const p of parts) {
        out.set(p, at);
        at += p.length;
      }
      return out;
    };
    const signalValues = signalSamples.map(concat);
    const gradientValues = gradientSamples.map(concat);
    const activationValues = activationSamples.map(concat);
    const ra = sampleRange(activationValues);
    const rs = histogramRange(f.meanSquare, histLayers);
    const rg = histogramRange(b.variance, histLayers);
    return {
      network,
      batch,
      draws: done,
      drawsRequested: draws,
      seed,
      t,
      forwardVariance: f.variance,
      forwardMeanSquare: f.meanSquare,
      backwardVariance: b.variance,
      forwardVarianceDraws: f.draws,
      backwardVarianceDraws: b.draws,
      theoryForward: theory.forward,
      theoryBackward: theory.backward,
      histograms: {
        layers: histLayers,
        values: done * histInputs * d,
        signal: histogram(signalValues, -rs, rs, bins),
        gradient: histogram(gradientValues, -rg, rg, bins),
        activation: histogram(activationValues, ra.lo, ra.hi, bins),
      },
      elapsedMs: performance.now() - start,
      timing: { ...timing },
    };
  };

  while (done < draws && !signal?.aborted) {
    let mark = performance.now();
    const lap = (into: keyof typeof timing) => {
      const now = performance.now();
      timing[into] += now - mark;
      mark = now;
    };
    const weightArrays = drawWeights({ network, seed, draw: done });
    const transposedArrays = drawWeights({ network, seed, draw: done, transposed: true });
    const top = normalArray(batch * d, createRng(deriveSeed(seed, `signals.top.${done}`)));
    lap('weightsMs');
    const [signalTensors, activationTensors, gradientTensors] = tf.tidy(() => {
      const pass = propagate({
        network,
        weights: weightArrays.map((w) => tf.tensor2d(w, [d, d])),
        transposedWeights: transposedArrays.map((w) => tf.tensor2d(w, [d, d])),
        input: tf.tensor2d(input, [batch, d]),
        topGradient: tf.tensor2d(top, [batch, d]),
      });
      return [pass.signals, pass.activations, pass.gradients];
    });
    // Every layer's values come back to JavaScript (5 MB per quantity in the
    // benchmark case): its moments in float64 and its histograms over every
    // value cost less there than tfjs-wasm's reductions over the stacked layers.
    const held = [...signalTensors!, ...activationTensors!, ...gradientTensors!];
    try {
      const read = async (layers: tf.Tensor2D[]) =>
        (await Promise.all(layers.map((t) => t.data()))) as Float32Array[];
      const signals = await read(signalTensors!);
      lap('passMs');
      const gradients = await read(gradientTensors!);
      // Of the activations only the histogram layers come back.
      const activations = await read(histLayers.map((l) => activationTensors![l]!));
      lap('readMs');
      addMoments(signals, forward);
      addMoments(gradients, backward);
      histLayers.forEach((l, i) => {
        signalSamples[i]!.push(signals[l]!.slice(0, histInputs * d));
        gradientSamples[i]!.push(gradients[l]!.slice(0, histInputs * d));
        activationSamples[i]!.push(activations[i]!.slice(0, histInputs * d));
      });
      lap('statsMs');
    } finally {
      tf.dispose(held);
    }
    done++;
    options.onProgress?.({ drawsDone: done, draws, elapsedMs: performance.now() - start });
    // A macrotask between draws, so a worker sees a cancel that arrived meanwhile
    // (tfjs-wasm's data() resolves without one).
    if (signal && done < draws) await new Promise((resolve) => setTimeout(resolve, 0));
    // Partial results: after the first draw (a quick first picture), then at most
    // once a second, since each one re-bins every histogram sample so far.
    if (
      done < draws &&
      options.onPartial &&
      (done === 1 || performance.now() - lastPartial > 1000)
    ) {
      lastPartial = performance.now();
      options.onPartial(summary());
    }
  }
  return summary();
}

/** One row per layer, with the names the command line prints (`skipscape signals --json`). */
export interface SignalLayerRow {
  t: number;
  forwardVariance: number | null;
  forwardMeanSquare: number | null;
  backwardVariance: number | null;
  theoryForward: number;
  theoryBackward: number;
  /** Smallest and largest per-draw Var[h_t] and Var[∂L/∂h_t]: the band over draws. */
  forwardVarianceRange: [number | null, number | null];
  backwardVarianceRange: [number | null, number | null];
}

function range(values: (number | null)[]): [number | null, number | null] {
  const v = values.filter((x): x is number => x !== null);
  return v.length > 0 ? [Math.min(...v), Math.max(...v)] : [null, null];
}

export function signalLayerRows(stats: SignalStatistics): SignalLayerRow[] {
  return stats.t.map((t, i) => ({
    t,
    forwardVariance: stats.forwardVariance[i]!,
    forwardMeanSquare: stats.forwardMeanSquare[i]!,
    backwardVariance: stats.backwardVariance[i]!,
    theoryForward: stats.theoryForward[i]!,
    theoryBackward: stats.theoryBackward[i]!,
    forwardVarianceRange: range(stats.forwardVarianceDraws.map((d) => d[i] ?? null)),
    backwardVarianceRange: range(stats.backwardVarianceDraws.map((d) => d[i] ?? null)),
  }));
}
