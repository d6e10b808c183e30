/**
 * The statistics of a signal run from its draws' raw measurements, in plain
 * JavaScript (no tfjs): per layer, the variance and mean square pooled over
 * units, inputs and draws, each draw's own variance (the band), and the
 * histograms over a range that depends on every draw.
 *
 * Why a separate step: the draws are independent, so a figure measures them in
 * several workers at once (one per core) and sums here, on the page, what each
 * sent back (statistics.ts measures them; signals-job.ts runs a slice of them).
 * The draws are taken in index order whoever measured them, so the result is
 * the same, bit for bit, however they were split.
 */
import { theoryCurves } from './theory';
import type { SignalNetwork } from './network';

export const DEFAULT_HISTOGRAM_BINS = 41;

/** What a signal run measures, fixed before any draw: the layers, the histograms' layers and size. */
export interface SignalLayout {
  network: SignalNetwork;
  /** N: inputs per draw. */
  batch: number;
  seed: number;
  /** K: draws asked for. */
  draws: number;
  /**
   * Layer index of each entry: plain 1 … T (h = pre-activation of layer t),
   * residual 0 … T (h = x_t after t blocks).
   */
  t: number[];
  /** Indices into t of the layers with a histogram. */
  histogramLayers: number[];
  /** The first inputs of each draw that the histograms count. */
  histogramInputs: number;
  histogramBins: number;
}

export function signalLayout(options: {
  network: SignalNetwork;
  batch: number;
  draws: number;
  seed: number;
  /** Bins of each histogram (default 41). */
  histogramBins?: number;
  /** The first inputs of each draw that the histograms count (default: all of them). */
  histogramInputs?: number;
  /** How many layers get a histogram, evenly spaced, first and last included (default 6). */
  histogramLayers?: number;
}): SignalLayout {
  const { network, batch, draws, seed } = options;
  const residual = network.residualAlpha !== null;
  const layerCount = network.depth + (residual ? 1 : 0);
  return {
    network,
    batch,
    seed,
    draws,
    t: Array.from({ length: layerCount }, (_, i) => (residual ? i : i + 1)),
    histogramLayers: spreadIndices(layerCount, options.histogramLayers ?? 6),
    histogramInputs: Math.min(batch, options.histogramInputs ?? batch),
    histogramBins: options.histogramBins ?? DEFAULT_HISTOGRAM_BINS,
  };
}

/** Where one draw's time went, in ms (summed over draws in SignalStatistics.timing). */
export interface SignalTiming {
  /** Sampling the weights (or finding them cached). */
  weightsMs: number;
  /** The forward and backward pass with every layer's sums (pass.ts's kernel). */
  passMs: number;
  /** Copying the weights and inputs into the kernel and the histogram samples out. */
  readMs: number;
  /** Assembling the draw's measurements in JavaScript. */
  statsMs: number;
}

/** One weight draw's raw measurements, as a worker sends them back. */
export interface SignalDraw {
  /** k: its weights are drawWeights({ seed, draw: k }). */
  draw: number;
  /** Per layer: Σh and Σh² over units and inputs, in float64 (no overflow of squares). */
  forwardSum: number[];
  forwardSumSq: number[];
  /** The same for ∂L/∂h_t. */
  backwardSum: number[];
  backwardSumSq: number[];
  /** Per histogram layer: h_t, ∂L/∂h_t and f(h_t) of the first histogramInputs inputs. */
  signal: Float32Array[];
  gradient: Float32Array[];
  activation: Float32Array[];
  timing: SignalTiming;
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

/** What a signal run measured: per-layer arrays, index i ↔ layer t[i]. */
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
  /** Wall time of the run, from its start to this summary. */
  elapsedMs: number;
  /** Where the time went, summed over draws (CPU time when workers ran at once). */
  timing: SignalTiming;
}

/** Evenly spaced indices 0 … n−1, `count` of them, first and last included. */
export function spreadIndices(n: number, count: number): number[] {
  if (n <= count) return Array.from({ length: n }, (_, i) => i);
  const out = new Set<number>();
  for (let i = 0; i < count; i++) out.add(Math.round((i * (n - 1)) / (count - 1)));
  return [...out];
}

/** Σv and Σv² of each layer's values, in float64. */
export function layerMoments(layers: readonly Float32Array[]): { sum: number[]; sumSq: number[] } {
  const sum: number[] = [];
  const sumSq: number[] = [];
  for (const values of layers) {
    let s = 0;
    let s2 = 0;
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      s += v;
      s2 += v * v;
    }
    sum.push(s);
    sumSq.push(s2);
  }
  return { sum, sumSq };
}

const finiteOrNull = (v: number): number | null => (Number.isFinite(v) ? v : null);

/** Pooled and per-draw variance and mean square from the draws' sums (draws outer, layers inner). */
function summariseMoments(sums: number[][], sumSqs: number[][], layers: number, perDraw: number) {
  const variance: (number | null)[] = [];
  const meanSquare: (number | null)[] = [];
  const draws: (number | null)[][] = sums.map(() => []);
  for (let l = 0; l < layers; l++) {
    const total = sums.length * perDraw;
    let sum = 0;
    let sumSq = 0;
    sums.forEach((s, j) => {
      sum += s[l]!;
      sumSq += sumSqs[j]![l]!;
      const mj = s[l]! / perDraw;
      draws[j]!.push(finiteOrNull(sumSqs[j]![l]! / perDraw - mj * mj));
    });
    const mean = sum / total;
    const ms = sumSq / total;
    variance.push(finiteOrNull(ms - mean * mean));
    meanSquare.push(finiteOrNull(ms));
  }
  return { variance, meanSquare, draws };
}

/** Per histogram layer (outer), the counts of every draw's values (inner) in `bins` bins over [lo, hi]. */
function histogram(layers: Float32Array[][], lo: number, hi: number, bins: number): Histograms {
  const width = (hi - lo) / bins;
  const counts: number[][] = [];
  const outside: number[] = [];
  for (const parts of layers) {
    const c = new Array<number>(bins).fill(0);
    let out = 0;
    for (const values of parts) {
      for (let i = 0; i < values.length; i++) {
        const v = values[i]!;
        const b = Math.floor((v - lo) / width);
        if (b >= 0 && b < bins) c[b]!++;
        else if (v === hi) c[bins - 1]!++;
        else out++;
      }
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
function sampleRange(layers: Float32Array[][]): { lo: number; hi: number } {
  let largest = 0;
  let extreme = 0;
  let negative = false;
  for (const parts of layers) {
    let sumSq = 0;
    let n = 0;
    for (const values of parts) {
      for (let i = 0; i < values.length; i++) {
        const v = values[i]!;
        if (!Number.isFinite(v)) continue;
        sumSq += v * v;
        n++;
        if (v < 0) negative = true;
        const a = Math.abs(v);
        if (a > extreme) extreme = a;
      }
    }
    if (n > 0) largest = Math.max(largest, Math.sqrt(sumSq / n));
  }
  const r = largest > 0 ? Math.min(4 * largest, extreme) : 1;
  return { lo: negative ? -r : 0, hi: r };
}

/**
 * The statistics of the draws measured so far (any subset, in any order: they
 * are taken in draw order).
 */
export function summariseSignals(
  layout: SignalLayout,
  measured: readonly SignalDraw[],
  elapsedMs: number,
): SignalStatistics {
  const draws = [...measured].sort((a, b) => a.draw - b.draw);
  const { network, batch, histogramLayers: layers, histogramBins: bins } = layout;
  const perDraw = batch * network.width;
  const f = summariseMoments(
    draws.map((d) => d.forwardSum),
    draws.map((d) => d.forwardSumSq),
    layout.t.length,
    perDraw,
  );
  const b = summariseMoments(
    draws.map((d) => d.backwardSum),
    draws.map((d) => d.backwardSumSq),
    layout.t.length,
    perDraw,
  );
  const perLayer = (pick: (d: SignalDraw) => Float32Array[]) =>
    layers.map((_, i) => draws.map((d) => pick(d)[i]!));
  const activation = perLayer((d) => d.activation);
  const ra = sampleRange(activation);
  const rs = histogramRange(f.meanSquare, layers);
  const rg = histogramRange(b.variance, layers);
  const theory = theoryCurves(network);
  const timing: SignalTiming = { weightsMs: 0, passMs: 0, readMs: 0, statsMs: 0 };
  for (const d of draws)
    for (const k of Object.keys(timing) as (keyof SignalTiming)[]) timing[k] += d.timing[k];
  return {
    network,
    batch,
    draws: draws.length,
    drawsRequested: layout.draws,
    seed: layout.seed,
    t: layout.t,
    forwardVariance: f.variance,
    forwardMeanSquare: f.meanSquare,
    backwardVariance: b.variance,
    forwardVarianceDraws: f.draws,
    backwardVarianceDraws: b.draws,
    theoryForward: theory.forward,
    theoryBackward: theory.backward,
    histograms: {
      layers,
      values: draws.length * layout.histogramInputs * network.width,
      signal: histogram(
        perLayer((d) => d.signal),
        -rs,
        rs,
        bins,
      ),
      gradient: histogram(
        perLayer((d) => d.gradient),
        -rg,
        rg,
        bins,
      ),
      activation: histogram(activation, ra.lo, ra.hi, bins),
    },
    elapsedMs,
    timing,
  };
}

/** Contiguous slices of draws 0 … K−1 for `lanes` workers: [from, to) each, none empty. */
export function splitDraws(draws: number, lanes: number): [number, number][] {
  const n = Math.max(1, Math.min(lanes, draws));
  return Array.from({ length: n }, (_, i) => [
    Math.floor((i * draws) / n),
    Math.floor(((i + 1) * draws) / n),
  ]);
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
