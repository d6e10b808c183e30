/**
 * The statistics of a signal run from its draws' raw measurements, in plain
 * JavaScript (no tfjs): per layer, the variance and mean square pooled over
 * units, inputs and draws, each draw's own variance (the band), and the
 * histograms over a range that depends on every draw.
 *
 * Why a separate step: the draws are independent, so a figure measures them in
 * several workers at once (one per core) and sums on the page what each sent
 * back (statistics.ts measures them; signals-job.ts runs a slice of them).
 * The draws are taken in index order whoever measured them, so the result is
 * the same, bit for bit, however they were split.
 *
 * The histograms are binned where the samples are, in two steps, because
 * their range depends on every draw: each draw's sums and its activation
 * samples' moments (small) go to the page, which takes the ranges from them
 * (histogramRanges); each worker then bins its own draws' samples over those
 * ranges (binSamples) and sends back only the counts, which add up exactly
 * (addBins). So 3.7 million samples per run at the benchmark size stay in the
 * workers. summariseSignals does all three steps in one place (the command
 * line, the tests); assembleSignals puts the page's pieces together.
 *
 *   worker: pass ──▶ SignalDraw (sums + samples) ── sums, sample moments ──▶ page
 *   page:   histogramRanges(all draws' sums) ── ranges ──▶ each worker
 *   worker: binSamples(its draws, ranges) ── counts ──▶ page: addBins, assembleSignals
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
  /**
   * Assembling the draw's measurements in JavaScript, and counting its
   * histogram samples (binSamples, in the worker).
   */
  statsMs: number;
}

/**
 * Per histogram layer of one draw, Σv², the count of finite values, the
 * largest |v| and whether any v < 0 over its activation samples f(h_t): what
 * the activation histograms' range needs (sampleRange).
 */
export interface SampleMoments {
  sumSq: number[];
  count: number[];
  extreme: number[];
  negative: boolean[];
}

/** One weight draw's sums, as a worker sends them to the page (its samples stay behind). */
export interface SignalDrawSums {
  /** k: its weights are drawWeights({ seed, draw: k }). */
  draw: number;
  /** Per layer: Σh and Σh² over units and inputs, in float64 (no overflow of squares). */
  forwardSum: number[];
  forwardSumSq: number[];
  /** The same for ∂L/∂h_t. */
  backwardSum: number[];
  backwardSumSq: number[];
  /** Of the activation samples of each histogram layer (sampleMoments). */
  activationMoments: SampleMoments;
  timing: SignalTiming;
}

/** One weight draw's raw measurements: its sums and its histogram samples. */
export interface SignalDraw extends SignalDrawSums {
  /** Per histogram layer: h_t, ∂L/∂h_t and f(h_t) of the first histogramInputs inputs. */
  signal: Float32Array[];
  gradient: Float32Array[];
  activation: Float32Array[];
}

/** A draw's sums without its samples (what crosses from a worker). */
export function drawSums(draw: SignalDrawSums): SignalDrawSums {
  const { draw: k, forwardSum, forwardSumSq, backwardSum, backwardSumSq } = draw;
  const { activationMoments, timing } = draw;
  return {
    draw: k,
    forwardSum,
    forwardSumSq,
    backwardSum,
    backwardSumSq,
    activationMoments,
    timing,
  };
}

/** The three histograms' ranges, [lo, hi] each, over which every draw is binned. */
export interface HistogramRanges {
  signal: { lo: number; hi: number };
  gradient: { lo: number; hi: number };
  activation: { lo: number; hi: number };
}

/** Counts of some draws' samples over HistogramRanges: per histogram layer (outer), `bins` counts. */
export interface HistogramBins {
  signal: { counts: number[][]; outside: number[] };
  gradient: { counts: number[][]; outside: number[] };
  activation: { counts: number[][]; outside: number[] };
  /** The draws counted. */
  draws: number[];
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

/**
 * Count `values` in `bins` equal bins over [lo, hi] into `counts`; returns how
 * many fell outside (or were not finite). A value equal to hi goes in the last bin.
 */
function binInto(values: Float32Array, lo: number, hi: number, counts: Int32Array): number {
  const bins = counts.length;
  const width = (hi - lo) / bins;
  let out = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    const b = Math.floor((v - lo) / width);
    if (b >= 0 && b < bins) counts[b]!++;
    else if (v === hi) counts[bins - 1]!++;
    else out++;
  }
  return out;
}

/** A symmetric range ±4 × the largest root mean square among the histogram layers. */
function histogramRange(meanSquare: (number | null)[], layers: number[]): number {
  const rms = layers.map((l) => Math.sqrt(meanSquare[l] ?? 0)).filter(Number.isFinite);
  const r = 4 * Math.max(0, ...rms);
  return r > 0 ? r : 1;
}

/** Σv², finite count, largest |v| and any v < 0 of each layer's samples (one draw's). */
export function sampleMoments(layers: readonly Float32Array[]): SampleMoments {
  const m: SampleMoments = { sumSq: [], count: [], extreme: [], negative: [] };
  for (const values of layers) {
    let sumSq = 0;
    let n = 0;
    let extreme = 0;
    let negative = false;
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if (!Number.isFinite(v)) continue;
      sumSq += v * v;
      n++;
      if (v < 0) negative = true;
      const a = Math.abs(v);
      if (a > extreme) extreme = a;
    }
    m.sumSq.push(sumSq);
    m.count.push(n);
    m.extreme.push(extreme);
    m.negative.push(negative);
  }
  return m;
}

/**
 * ±R with R the smaller of 4 × the largest root mean square and the largest |value| (so a
 * bounded activation such as tanh fills the axis), or [0, R] when no value is negative;
 * from the draws' sample moments, added in draw order.
 */
function sampleRange(
  moments: readonly SampleMoments[],
  layers: number,
): { lo: number; hi: number } {
  let largest = 0;
  let extreme = 0;
  let negative = false;
  for (let l = 0; l < layers; l++) {
    let sumSq = 0;
    let n = 0;
    for (const m of moments) {
      sumSq += m.sumSq[l]!;
      n += m.count[l]!;
      if (m.negative[l]) negative = true;
      if (m.extreme[l]! > extreme) extreme = m.extreme[l]!;
    }
    if (n > 0) largest = Math.max(largest, Math.sqrt(sumSq / n));
  }
  const r = largest > 0 ? Math.min(4 * largest, extreme) : 1;
  return { lo: negative ? -r : 0, hi: r };
}

const byDraw = <D extends { draw: number }>(draws: readonly D[]): D[] =>
  [...draws].sort((a, b) => a.draw - b.draw);

/** The pooled and per-draw moments of every layer, forward and backward, from the draws' sums. */
function layerStatistics(layout: SignalLayout, draws: readonly SignalDrawSums[]) {
  const perDraw = layout.batch * layout.network.width;
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
  return { f, b };
}

/**
 * The histograms' ranges for these draws (any subset, in any order): h_t and
 * ∂L/∂h_t over ±4 × the largest pooled root mean square (resp. standard
 * deviation) among the histogram layers, f(h_t) over sampleRange.
 */
export function histogramRanges(
  layout: SignalLayout,
  measured: readonly SignalDrawSums[],
): HistogramRanges {
  const draws = byDraw(measured);
  const { f, b } = layerStatistics(layout, draws);
  const layers = layout.histogramLayers;
  const rs = histogramRange(f.meanSquare, layers);
  const rg = histogramRange(b.variance, layers);
  return {
    signal: { lo: -rs, hi: rs },
    gradient: { lo: -rg, hi: rg },
    activation: sampleRange(
      draws.map((d) => d.activationMoments),
      layers.length,
    ),
  };
}

/**
 * Count these draws' histogram samples over `ranges` (where the samples are:
 * in a worker, for its own draws). Counts add up exactly over draws (addBins).
 */
export function binSamples(
  draws: readonly SignalDraw[],
  ranges: HistogramRanges,
  bins: number,
): HistogramBins {
  const kind = (
    pick: (d: SignalDraw) => Float32Array[],
    { lo, hi }: { lo: number; hi: number },
  ) => {
    const layers = draws[0] ? pick(draws[0]).length : 0;
    const counts: number[][] = [];
    const outside: number[] = [];
    for (let l = 0; l < layers; l++) {
      const c = new Int32Array(bins);
      let out = 0;
      for (const d of draws) out += binInto(pick(d)[l]!, lo, hi, c);
      counts.push(Array.from(c));
      outside.push(out);
    }
    return { counts, outside };
  };
  return {
    signal: kind((d) => d.signal, ranges.signal),
    gradient: kind((d) => d.gradient, ranges.gradient),
    activation: kind((d) => d.activation, ranges.activation),
    draws: draws.map((d) => d.draw).sort((a, b) => a - b),
  };
}

/** The counts of several disjoint sets of draws, added (parts with no draws add nothing). */
export function addBins(parts: readonly HistogramBins[]): HistogramBins {
  const add = (pick: (p: HistogramBins) => { counts: number[][]; outside: number[] }) => {
    const filled = parts.filter((p) => p.draws.length > 0).map(pick);
    const first = filled[0];
    if (!first) return { counts: [], outside: [] };
    return {
      counts: first.counts.map((c, l) =>
        c.map((_, i) => filled.reduce((sum, p) => sum + p.counts[l]![i]!, 0)),
      ),
      outside: first.outside.map((_, l) => filled.reduce((sum, p) => sum + p.outside[l]!, 0)),
    };
  };
  const draws = parts.flatMap((p) => p.draws).sort((a, b) => a - b);
  if (new Set(draws).size !== draws.length) throw new Error('addBins: a draw was counted twice');
  return {
    signal: add((p) => p.signal),
    gradient: add((p) => p.gradient),
    activation: add((p) => p.activation),
    draws,
  };
}

/**
 * The statistics of the draws measured so far (any subset, in any order: they
 * are taken in draw order), from their sums and their samples' counts over
 * histogramRanges(layout, measured). `binMs`: the time spent binning, counted
 * in timing.statsMs.
 */
export function assembleSignals(
  layout: SignalLayout,
  measured: readonly SignalDrawSums[],
  ranges: HistogramRanges,
  bins: HistogramBins,
  elapsedMs: number,
  binMs = 0,
): SignalStatistics {
  const draws = byDraw(measured);
  const drawIds = draws.map((d) => d.draw);
  if (drawIds.length !== bins.draws.length || drawIds.some((k, i) => bins.draws[i] !== k))
    throw new Error(
      `assembleSignals: histograms of draws ${bins.draws.join(', ')} for draws ${drawIds.join(', ')}`,
    );
  const { network, histogramLayers: layers, histogramBins: binCount } = layout;
  const { f, b } = layerStatistics(layout, draws);
  const histogram = (
    { lo, hi }: { lo: number; hi: number },
    counted: { counts: number[][]; outside: number[] },
  ): Histograms =>
    // No draw at all: every layer's bins empty.
    draws.length === 0
      ? {
          lo,
          hi,
          counts: layers.map(() => new Array<number>(binCount).fill(0)),
          outside: layers.map(() => 0),
        }
      : { lo, hi, counts: counted.counts, outside: counted.outside };
  const theory = theoryCurves(network);
  const timing: SignalTiming = { weightsMs: 0, passMs: 0, readMs: 0, statsMs: binMs };
  for (const d of draws)
    for (const k of Object.keys(timing) as (keyof SignalTiming)[]) timing[k] += d.timing[k];
  return {
    network,
    batch: layout.batch,
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
      signal: histogram(ranges.signal, bins.signal),
      gradient: histogram(ranges.gradient, bins.gradient),
      activation: histogram(ranges.activation, bins.activation),
    },
    elapsedMs,
    timing,
  };
}

/**
 * The statistics of the draws measured so far (any subset, in any order),
 * samples at hand: the ranges, the counts and the summary in one place, as
 * the command line and the tests use it. The figure does the same in two
 * steps over its workers.
 */
export function summariseSignals(
  layout: SignalLayout,
  measured: readonly SignalDraw[],
  elapsedMs: number,
): SignalStatistics {
  const ranges = histogramRanges(layout, measured);
  const start = performance.now();
  const bins = binSamples(measured, ranges, layout.histogramBins);
  return assembleSignals(layout, measured, ranges, bins, elapsedMs, performance.now() - start);
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
