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
 * run one at a time ({@link measureSignalDraw}: the pass in pass.ts's
 * WebAssembly kernel), and their raw sums and samples are summarised in
 * summary.ts (plain JavaScript), so several workers can each measure a slice
 * of the draws and the page sums them;
 * between draws the statistics so far go to `onPartial`, so a cancelled run
 * keeps what it finished.
 *
 * Sums of squares are taken in float64: a residual stream at α = 1 reaches
 * 2^64 after 128 blocks, whose square would overflow float32. Beyond about
 * 250 blocks h itself overflows float32, and those layers are reported as null.
 */
import { createRng, deriveSeed, normalArray } from '../random';
import { drawWeights, validateNetwork, type SignalNetwork } from './network';
import { signalPass } from './pass';
import {
  sampleMoments,
  signalLayout,
  summariseSignals,
  type SignalDraw,
  type SignalLayout,
  type SignalStatistics,
  type SignalTiming,
} from './summary';

export * from './summary';

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

/** Checks the run's sizes; a message names the first that does not fit. */
function validateRun(options: { network: SignalNetwork; batch: number; draws: number }): void {
  validateNetwork(options.network);
  const { batch, draws } = options;
  if (!Number.isInteger(batch) || batch < 2) throw new Error(`batch must be ≥ 2, got ${batch}`);
  if (!Number.isInteger(draws) || draws < 1) throw new Error(`draws must be ≥ 1, got ${draws}`);
}

/** The inputs x ~ N(0, I), [N, d], shared by every draw of a run seeded `seed`. */
function signalInputs(layout: SignalLayout): Float32Array {
  return normalArray(
    layout.batch * layout.network.width,
    createRng(deriveSeed(layout.seed, 'signals.input')),
  );
}

/**
 * Measure draw `draw` of a run: its forward and backward pass, every layer's
 * sums, and the histogram layers' samples. Leaves tf.memory().numTensors as
 * it found it.
 */
export async function measureSignalDraw(options: {
  layout: SignalLayout;
  draw: number;
  /** The run's inputs (signalInputs), if the caller keeps them between draws. */
  input?: Float32Array;
  /** Where the histogram samples go (signalSampleLength floats; a worker reuses it), else a new array. */
  samples?: Float32Array;
}): Promise<SignalDraw> {
  const { layout, draw } = options;
  const { network, batch, seed, histogramLayers, histogramInputs } = layout;
  const d = network.width;
  const input = options.input ?? signalInputs(layout);
  const timing: SignalTiming = { weightsMs: 0, passMs: 0, readMs: 0, statsMs: 0 };
  let mark = performance.now();
  const lap = (into: keyof SignalTiming) => {
    const now = performance.now();
    timing[into] += now - mark;
    mark = now;
  };
  const weights = drawWeights({ network, seed, draw });
  const top = normalArray(batch * d, createRng(deriveSeed(seed, `signals.top.${draw}`)));
  lap('weightsMs');
  // The pass in the WebAssembly kernel (pass.ts): every layer's sums in
  // float64 and the histogram layers' first inputs come back, nothing else.
  const pass = await signalPass({
    network,
    weights,
    input,
    topGradient: top,
    batch,
    histogramLayers,
    histogramInputs,
    ...(options.samples ? { samples: options.samples } : {}),
  });
  lap('passMs');
  timing.passMs -= pass.copyMs;
  timing.readMs += pass.copyMs;
  const result: SignalDraw = {
    draw,
    forwardSum: pass.forwardSum,
    forwardSumSq: pass.forwardSumSq,
    backwardSum: pass.backwardSum,
    backwardSumSq: pass.backwardSumSq,
    activationMoments: sampleMoments(pass.activation),
    signal: pass.signal,
    gradient: pass.gradient,
    activation: pass.activation,
    timing,
  };
  lap('statsMs');
  return result;
}

/**
 * Measure draws [from, to) of a run, one at a time, each sent to `onDraw` as
 * it is done; stops between draws when `signal` aborts and resolves with the
 * draws finished. Leaves tf.memory().numTensors as it found it.
 */
export async function measureSignalDraws(options: {
  layout: SignalLayout;
  from: number;
  to: number;
  signal?: AbortSignal;
  onDraw?: (draw: SignalDraw) => void;
  /** Where draw k's histogram samples go (a worker reuses its buffers), else new arrays. */
  samples?: (draw: number) => Float32Array;
}): Promise<SignalDraw[]> {
  const { layout, from, to, signal } = options;
  validateRun(layout);
  if (!(
    Number.isInteger(from) &&
    Number.isInteger(to) &&
    0 <= from &&
    from < to &&
    to <= layout.draws
  ))
    throw new Error(`draws [${from}, ${to}) are not a slice of 0 … ${layout.draws}`);
  const input = signalInputs(layout);
  const done: SignalDraw[] = [];
  // A macrotask first, so a worker sees a cancel sent right after the start
  // (a slider dragged supersedes runs faster than one draw takes) before it
  // begins a draw it would have to finish.
  if (signal) await new Promise((resolve) => setTimeout(resolve, 0));
  for (let k = from; k < to && !signal?.aborted; k++) {
    const samples = options.samples?.(k);
    const draw = await measureSignalDraw({
      layout,
      draw: k,
      input,
      ...(samples ? { samples } : {}),
    });
    done.push(draw);
    options.onDraw?.(draw);
    // A macrotask between draws, so a worker sees a cancel that arrived meanwhile
    // (the pass itself never yields).
    if (signal && k + 1 < to) await new Promise((resolve) => setTimeout(resolve, 0));
  }
  return done;
}

/**
 * Measure every layer's signals of `network` at initialisation. Leaves
 * tf.memory().numTensors as it found it; resolves with what was measured when
 * `signal` aborts (possibly zero draws).
 */
export async function measureSignals(options: SignalOptions): Promise<SignalStatistics> {
  validateRun(options);
  const start = performance.now();
  const layout = signalLayout(options);
  const { draws, signal } = options;
  let lastPartial = performance.now();
  const done: SignalDraw[] = [];
  await measureSignalDraws({
    layout,
    from: 0,
    to: draws,
    ...(signal ? { signal } : {}),
    onDraw: (draw) => {
      done.push(draw);
      options.onProgress?.({
        drawsDone: done.length,
        draws,
        elapsedMs: performance.now() - start,
      });
      // Partial results: after the first draw (a quick first picture), then at most
      // once a second, since each one re-bins every histogram sample so far.
      if (
        done.length < draws &&
        options.onPartial &&
        (done.length === 1 || performance.now() - lastPartial > 1000)
      ) {
        lastPartial = performance.now();
        options.onPartial(summariseSignals(layout, done, performance.now() - start));
      }
    },
  });
  return summariseSignals(layout, done, performance.now() - start);
}
